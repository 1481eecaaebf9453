"""Shared fixtures: tests build their own small MIDI files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import symusic

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever fetched from a hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def build_score(
    notes: list[tuple[float, float, int, int]] | None = None,
    *,
    tpq: int = 480,
    bpm: float = 120.0,
    program: int = 0,
    name: str = "Piano",
    time_signature: tuple[int, int] = (4, 4),
    is_drum: bool = False,
) -> symusic.Score:
    """A one-track score from (start_beats, duration_beats, pitch, velocity) tuples."""
    if notes is None:
        notes = [(i * 1.0, 1.0, p, 80) for i, p in enumerate([60, 62, 64, 65, 67, 65, 64, 62])]
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, bpm))
    score.time_signatures.append(symusic.TimeSignature(0, *time_signature))
    track = symusic.Track(name, program, is_drum)
    for start, dur, pitch, vel in notes:
        track.notes.append(symusic.Note(int(round(start * tpq)), int(round(dur * tpq)), pitch, vel))
    score.tracks.append(track)
    return score


@pytest.fixture
def make_score():
    return build_score


@pytest.fixture
def score_file(tmp_path: Path) -> Path:
    path = tmp_path / "sketch.mid"
    build_score().dump_midi(str(path))
    return path


# -- a tiny MusicGen-Melody for re-synthesis tests (the published weights are never needed)
MUSICGEN_WORDS = "tense low strings distant brass warm calm dark".split()
# The published melody checkpoint's chroma front end (preprocessor_config.json).
MUSICGEN_FEATURES = {
    "feature_extractor_type": "MusicgenMelodyFeatureExtractor",
    "processor_class": "MusicgenMelodyProcessor",
    "feature_size": 12, "sampling_rate": 32_000, "hop_length": 4096, "n_fft": 16384,
    "num_chroma": 12, "chunk_length": 30, "padding_value": 0.0,
    "return_attention_mask": False, "stem_indices": [3, 2],
}


def build_tiny_musicgen(folder, *, audio_channels: int = 1) -> None:
    """A tiny randomly initialised MusicGen-Melody folder (model, tokenizer, chroma
    configuration) loaded the way a user's checkpoint folder is."""
    import torch
    from transformers import (
        EncodecConfig,
        MusicgenMelodyConfig,
        MusicgenMelodyDecoderConfig,
        MusicgenMelodyForConditionalGeneration,
        T5Config,
        T5Tokenizer,
    )

    torch.manual_seed(0)
    text = T5Config(vocab_size=32, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    # 32 kHz, hop 640 (50 frames/s) like the real EnCodec; 64 codes x 4 codebooks at 1.2 kbps.
    codec = EncodecConfig(sampling_rate=32_000, audio_channels=1, num_filters=4, hidden_size=16,
                          upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[1.2], codebook_size=64,
                          num_lstm_layers=1, use_causal_conv=False, normalize=False, use_conv_shortcut=False)
    decoder = MusicgenMelodyDecoderConfig(vocab_size=64, max_position_embeddings=256, num_hidden_layers=2,
                                          ffn_dim=64, num_attention_heads=2, hidden_size=32,
                                          num_codebooks=4 * audio_channels, audio_channels=audio_channels,
                                          pad_token_id=64, bos_token_id=64)
    config = MusicgenMelodyConfig(text_encoder=text, audio_encoder=codec, decoder=decoder, chroma_length=10)
    model = MusicgenMelodyForConditionalGeneration(config).eval()
    # EnCodec codebooks start at zero (they are learnt); without this every code decodes alike.
    with torch.no_grad():
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)
    model.generation_config.decoder_start_token_id = 64
    model.generation_config.pad_token_id = 64
    model.save_pretrained(folder, safe_serialization=True)
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)] + [("\u2581" + w, -3.0) for w in MUSICGEN_WORDS]
    T5Tokenizer(vocab=vocab, extra_ids=0).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(MUSICGEN_FEATURES, indent=2))




@pytest.fixture(scope="session")
def musicgen_builder():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return build_tiny_musicgen


@pytest.fixture(scope="session")
def tiny_musicgen_dir(tmp_path_factory, musicgen_builder):
    folder = tmp_path_factory.mktemp("musicgen-melody-tiny")
    musicgen_builder(folder)
    return folder


def _files_under(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for a folder)."""
    return {str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes()) for p in sorted(folder.rglob("*"))}


def _refused(args: list[str], folder: Path, *names: str, text: str = "") -> str:
    """Run ``compose ARGS`` in ``folder``; it must exit 2 with one line on stderr
    naming each of ``names`` (and saying ``text``), no traceback, and leave ``folder``
    as it was, byte for byte. Returns the line."""
    from click.testing import CliRunner

    from scorefarm.cli.main import cli

    before = _files_under(folder)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("compose: error: "), result.stderr
    assert "Traceback" not in result.output
    for name in names:
        assert name in lines[0], lines[0]
    assert text in lines[0], lines[0]
    assert _files_under(folder) == before, "something was written"
    return lines[0]


@pytest.fixture
def files_under():
    """``files_under(folder)``: every path under it with its bytes, to see that nothing was written."""
    return _files_under


@pytest.fixture
def refused():
    """``refused(args, folder, *names, text="")``: ``compose ARGS`` run in ``folder`` is
    refused as bad input (exit 2, one line naming ``names``, nothing written)."""
    return _refused
