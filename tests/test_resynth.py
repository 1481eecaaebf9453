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

SR_MODEL = 32_000


@pytest.fixture(scope="module")
def build_tiny_model(musicgen_builder):
    return musicgen_builder


@pytest.fixture(scope="module")
def tiny_dir(tiny_musicgen_dir):
    return tiny_musicgen_dir


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


SHORT_STEM = tones(1.6, 48_000, [220.0, 330.0])  # two windows, one crossfade


@pytest.fixture(scope="module")
def replaced(tiny_dir):
    """The short stem re-synthesized with the default test options (seed 7)."""
    return resynthesize(SHORT_STEM, 48_000, options(tiny_dir)).audio


def test_same_seed_same_audio_other_seed_other_audio(tiny_dir, replaced):
    mono = SHORT_STEM[:, 0].copy()  # mono, 1-D: the same layer as from the stereo stem
    again = resynthesize(mono, 48_000, options(tiny_dir)).audio
    other = resynthesize(mono, 48_000, options(tiny_dir, seed=8)).audio
    assert replaced.shape == again.shape == (76_800, 2)
    assert np.array_equal(replaced, again)
    assert not np.allclose(replaced, other, atol=1e-4)


def test_mix_mode_keeps_the_original_under_the_layer(tiny_dir, replaced):
    mixed = resynthesize(SHORT_STEM, 48_000, options(tiny_dir, mode="mix", mix_level_db=-6.0)).audio
    assert corr(mixed[:, 0], SHORT_STEM[:, 0]) > 0.8
    # exactly the original plus the same layer at -6 dB
    np.testing.assert_allclose(mixed, SHORT_STEM + replaced * 10 ** (-6 / 20), atol=1e-5)


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


def test_stereo_model_gives_two_different_channels(build_tiny_model, tmp_path):
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


def test_crossfade_keeps_power_for_uncorrelated_and_identical_blocks():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 1, 200_000))
    joined = equal_power_crossfade(a, b)
    middle = joined[:, 90_000:110_000]
    assert abs(middle.var() - 1.0) < 0.05  # no dip where both are at half way
    assert abs(joined.var() - 1.0) < 0.02
    same = equal_power_crossfade(a, a.copy())
    np.testing.assert_allclose(same, a, atol=1e-9)  # no +3 dB bump for identical material
    ramp = equal_power_crossfade(np.ones((1, 4)), np.zeros((1, 4)))[0]
    assert ramp[0] > 0.98 and ramp[-1] < 0.15 and np.all(np.diff(ramp) < 0)


def test_window_plan_covers_the_cue():
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


def test_the_same_seed_gives_the_same_audio_on_any_thread_count(tiny_dir, replaced):
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1 if threads > 1 else 2)
        other_threads = resynthesize(SHORT_STEM, 48_000, options(tiny_dir)).audio
    finally:
        torch.set_num_threads(threads)
    assert np.array_equal(replaced, other_threads)
