"""Neural re-synthesis, end to end on a tiny random MusicGen-Melody built here.

The published weights are never needed (nor reachable): the test saves a tiny model,
tokenizer and chroma configuration to a folder and loads them the way a user's
checkpoint folder is loaded, with the network blocked.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers reads it
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from scorefarm.errors import AudioInputError, InputError  # noqa: E402
from scorefarm.render import resynth  # noqa: E402
from scorefarm.render.resynth import (  # noqa: E402
    LICENCE_NOTICE,
    ResynthOptions,
    chroma_features,
    equal_power_crossfade,
    load_resynth_model,
    plan_windows,
    resynthesize,
)

WORDS = "tense low strings distant brass warm calm dark".split()
SR_MODEL = 32_000
# The published melody checkpoint's chroma front end (preprocessor_config.json).
FEATURES = {
    "feature_extractor_type": "MusicgenMelodyFeatureExtractor",
    "processor_class": "MusicgenMelodyProcessor",
    "feature_size": 12, "sampling_rate": SR_MODEL, "hop_length": 4096, "n_fft": 16384,
    "num_chroma": 12, "chunk_length": 30, "padding_value": 0.0,
    "return_attention_mask": False, "stem_indices": [3, 2],
}


def build_tiny_model(folder, *, audio_channels: int = 1) -> None:
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
    codec = EncodecConfig(sampling_rate=SR_MODEL, audio_channels=1, num_filters=4, hidden_size=16,
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
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)] + [("\u2581" + w, -3.0) for w in WORDS]
    T5Tokenizer(vocab=vocab, extra_ids=0).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(FEATURES, indent=2))


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("musicgen-melody-tiny")
    build_tiny_model(folder)
    return folder


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"re-synthesis tried to reach the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def tones(seconds: float, sample_rate: int, pitches_hz: list[float], channels: int = 2) -> np.ndarray:
    """Equal-length sine segments, one per pitch, shaped (frames, channels)."""
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    which = np.minimum((t / seconds * len(pitches_hz)).astype(int), len(pitches_hz) - 1)
    wave = 0.3 * np.sin(2 * np.pi * np.asarray(pitches_hz)[which] * t)
    return np.repeat(wave[:, None], channels, axis=1).astype(np.float32)


def options(folder, **changes) -> ResynthOptions:
    base = ResynthOptions(model_dir=folder, prompt="tense low strings", seed=7, top_k=50,
                          window_seconds=1.0, overlap_seconds=0.25, device="cpu")
    return dataclasses.replace(base, **changes)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def test_end_to_end_windowed_output_is_stereo_48k_and_as_long_as_the_stem(tiny_dir):
    stem = tones(3.0, 44_100, [220.0])
    calls = []
    result = resynthesize(stem, 44_100, options(tiny_dir), progress=lambda done, total: calls.append((done, total)))
    assert result.audio.shape == (144_000, 2)
    assert result.audio.dtype == np.float32
    assert np.all(np.isfinite(result.audio))
    assert result.audio.std(axis=0).min() > 1e-4  # moves, not just an offset
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]  # 3 s in 1 s windows, 0.25 s overlap
    assert result.notes[0] == LICENCE_NOTICE
    assert any("4 windows" in note for note in result.notes)
    # replace mode holds none of the original
    assert abs(corr(result.audio[:, 0], resynth._resample(stem[:, 0], 44_100, 48_000))) < 0.3


def test_same_seed_same_audio_other_seed_other_audio(tiny_dir):
    stem = tones(2.0, 48_000, [220.0, 330.0], channels=1)[:, 0]  # mono, 1-D
    first = resynthesize(stem, 48_000, options(tiny_dir, seed=11)).audio
    again = resynthesize(stem, 48_000, options(tiny_dir, seed=11)).audio
    other = resynthesize(stem, 48_000, options(tiny_dir, seed=12)).audio
    assert first.shape == (96_000, 2)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other, atol=1e-4)


def test_mix_mode_keeps_the_original_under_the_layer(tiny_dir):
    stem = tones(2.0, 48_000, [220.0])
    replaced = resynthesize(stem, 48_000, options(tiny_dir)).audio
    mixed = resynthesize(stem, 48_000, options(tiny_dir, mode="mix", mix_level_db=-6.0)).audio
    assert corr(mixed[:, 0], stem[:, 0]) > 0.8
    # exactly the original plus the same layer at -6 dB
    np.testing.assert_allclose(mixed, stem + replaced * 10 ** (-6 / 20), atol=1e-5)


def test_each_window_gets_its_own_chroma_and_continues_the_previous_tail(tiny_dir, monkeypatch):
    bundle = load_resynth_model(tiny_dir, "cpu")
    seen = []
    real_generate = bundle.model.generate

    def spy(**kwargs):
        audio = real_generate(**kwargs)
        seen.append((kwargs, audio[0].numpy().copy()))
        return audio

    monkeypatch.setattr(bundle.model, "generate", spy)
    # A (220 Hz) for the first half, E (329.63 Hz) for the second; C is chroma bin 0.
    stem = tones(3.0, SR_MODEL, [220.0, 329.63], channels=1)
    resynthesize(stem, SR_MODEL, options(tiny_dir))
    assert len(seen) == 4
    hop, overlap = bundle.hop_length, 12  # 0.25 s at 50 frames/s, rounded
    spans = plan_windows(150, 50, overlap)
    assert spans == [(0, 50), (38, 88), (76, 126), (114, 150)]
    first_chroma = seen[0][0]["input_features"][0].argmax(-1)
    last_chroma = seen[-1][0]["input_features"][0].argmax(-1)
    assert set(first_chroma.tolist()) == {9}  # A
    assert set(last_chroma.tolist()) == {4}  # E
    assert "decoder_input_ids" not in seen[0][0]
    assert seen[0][0]["max_new_tokens"] == 50 + 4 - 1 == options(tiny_dir).max_new_tokens(bundle.frame_rate, 4)
    for k in range(1, 4):
        kwargs, _ = seen[k]
        start, end = spans[k]
        previous = seen[k - 1][1][:, -overlap * hop:]
        codes = bundle.model.audio_encoder.encode(torch.from_numpy(previous)[None]).audio_codes[0, 0]
        assert torch.equal(kwargs["decoder_input_ids"], codes)  # the previous window's tail, as codes
        assert kwargs["max_new_tokens"] == (end - start - overlap) + 4 - 1


def test_stereo_model_gives_two_different_channels(tmp_path):
    build_tiny_model(tmp_path, audio_channels=2)
    result = resynthesize(tones(2.0, 48_000, [220.0]), 48_000, options(tmp_path))
    assert result.audio.shape == (96_000, 2)
    assert not np.allclose(result.audio[:, 0], result.audio[:, 1])
    assert not any("model is mono" in note for note in result.notes)


def test_models_are_cached_per_process(tiny_dir):
    assert load_resynth_model(tiny_dir, "cpu") is load_resynth_model(tiny_dir, "cpu")


def one_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    assert isinstance(excinfo.value, InputError) and excinfo.value.exit_code == 2
    return message


def test_missing_folder_is_a_one_line_input_error(tmp_path):
    with pytest.raises(InputError) as excinfo:
        load_resynth_model(tmp_path / "nowhere")
    assert one_line_error(excinfo) == f"{tmp_path / 'nowhere'}: re-synthesis model folder not found"


def test_folder_without_weights_is_incomplete(tmp_path, tiny_dir):
    for name in ("config.json", "tokenizer.json", "preprocessor_config.json"):
        (tmp_path / name).write_bytes((tiny_dir / name).read_bytes())
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle is never read")
    with pytest.raises(InputError) as excinfo:
        load_resynth_model(tmp_path)
    message = one_line_error(excinfo)
    assert message.startswith(str(tmp_path))
    assert "incomplete: missing model.safetensors or model.safetensors.index.json" in message


def test_corrupt_weights_are_a_one_line_input_error(tmp_path, tiny_dir):
    for path in tiny_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    with pytest.raises(InputError) as excinfo:
        load_resynth_model(tmp_path)
    assert "re-synthesis model cannot be loaded" in one_line_error(excinfo)


def test_other_model_types_are_refused(tmp_path, tiny_dir):
    for path in tiny_dir.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "musicgen"}))
    with pytest.raises(InputError) as excinfo:
        load_resynth_model(tmp_path)
    assert "not a MusicGen-Melody model" in one_line_error(excinfo)


@pytest.mark.parametrize("changes, words", [
    ({"mode": "layer"}, "mode must be one of replace, mix; got 'layer'"),
    ({"overlap_seconds": 1.0}, "overlap_seconds must be > 0 and < window_seconds"),
    ({"device": "tpu"}, "device must be one of cpu, cuda, auto"),
    ({"temperature": 0.0}, "temperature must be > 0"),
    ({"guidance_scale": 0.5}, "guidance_scale must be >= 1.0"),
])
def test_bad_options_say_what_was_allowed(tmp_path, changes, words):
    with pytest.raises(InputError, match=words):
        options(tmp_path, **changes)


def test_window_longer_than_the_melody_conditioning_is_refused(tiny_dir):
    with pytest.raises(InputError, match="longer than the model's melody conditioning"):
        resynthesize(tones(3.0, 48_000, [220.0]), 48_000, options(tiny_dir, window_seconds=2.0))


@pytest.mark.parametrize("audio", [np.zeros((0, 2), np.float32), np.full((100, 2), np.nan, np.float32),
                                   np.zeros((100, 3), np.float32), np.zeros((100, 2), np.int16)])
def test_unusable_audio_is_an_audio_input_error(tiny_dir, audio):
    with pytest.raises(AudioInputError):
        resynthesize(audio, 48_000, options(tiny_dir))


def test_equal_power_crossfade_keeps_power_and_plan_covers_the_cue():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 1, 200_000))
    joined = equal_power_crossfade(a, b)
    assert abs(joined.var() - 1.0) < 0.02
    assert np.isclose(equal_power_crossfade(np.ones((1, 4)), np.zeros((1, 4)))[0, 0], np.cos(np.pi / 16))
    spans = plan_windows(1000, 300, 50)
    assert spans[0][0] == 0 and spans[-1][1] == 1000
    assert all(s2 == e1 - 50 for (_, e1), (s2, _) in zip(spans, spans[1:]))
    assert plan_windows(10, 300, 50) == [(0, 10)]


def test_chroma_matches_the_feature_extractor_when_torchaudio_is_there():
    pytest.importorskip("torchaudio")
    from transformers import MusicgenMelodyFeatureExtractor

    wave = tones(4.0, SR_MODEL, [261.63, 392.0, 440.0], channels=1)[:, 0]
    expected = MusicgenMelodyFeatureExtractor()(wave, sampling_rate=SR_MODEL, return_tensors="pt").input_features
    assert torch.equal(chroma_features(wave, resynth.ChromaParams()), expected)


def test_the_same_seed_gives_the_same_audio_on_any_thread_count(tiny_dir):
    stem = tones(2.0, 48_000, [220.0, 261.63])
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = resynthesize(stem, 48_000, options(tiny_dir, seed=5)).audio
        torch.set_num_threads(max(2, threads))
        several = resynthesize(stem, 48_000, options(tiny_dir, seed=5)).audio
    finally:
        torch.set_num_threads(threads)
    assert np.array_equal(single, several)
