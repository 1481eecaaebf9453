"""Broadcast WAV writing and WAV reading."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile

from scorefarm.errors import AudioInputError, RenderError
from scorefarm.render import wavio
from scorefarm.render.wavio import Bext, read_wav, write_wav

FS = 48000
CUE_AT_23H = 23 * 3600 * FS  # 3_974_400_000: above 2**31, below 2**32


def noise(frames: int = 4800, channels: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.99, 0.99, (frames, channels))


def chunks(raw: bytes) -> list[tuple[bytes, int, int]]:
    """(id, body offset, size) of each top-level chunk."""
    out, offset = [], 12
    while offset + 8 <= len(raw):
        tag, size = raw[offset : offset + 4], struct.unpack_from("<I", raw, offset + 4)[0]
        out.append((tag, offset + 8, size))
        offset += 8 + size + size % 2
    return out


@pytest.mark.parametrize("bit_depth", [16, 24])
def test_round_trip_within_one_lsb(tmp_path: Path, bit_depth: int):
    audio = noise()
    path = tmp_path / "x.wav"
    assert write_wav(path, audio, FS, bit_depth) == 0
    back = read_wav(path)
    assert (back.sample_rate, back.bit_depth, back.sample_format) == (FS, bit_depth, "pcm")
    assert back.audio.dtype == np.float64 and back.audio.shape == audio.shape
    lsb = 2.0 ** -(bit_depth - 1)
    assert np.max(np.abs(back.audio - audio)) <= 0.5 * lsb + 1e-15
    assert back.bext is None


def test_soundfile_reads_pcm24_at_48k_with_equal_samples(tmp_path: Path):
    audio = noise(frames=10_001)
    path = tmp_path / "x.wav"
    write_wav(path, audio, FS)
    info = soundfile.info(str(path))
    assert (info.format, info.subtype, info.samplerate, info.channels, info.frames) == (
        "WAV", "PCM_24", FS, 2, 10_001
    )
    theirs, _ = soundfile.read(str(path), dtype="float64", always_2d=True)
    assert np.array_equal(theirs, read_wav(path).audio)
    ints, _ = soundfile.read(str(path), dtype="int32", always_2d=True)
    assert np.array_equal(ints >> 8, np.rint(audio * 2**23).astype(np.int32))


def test_python_wave_module_sees_a_valid_file(tmp_path: Path):
    audio = noise(frames=2001)
    path = tmp_path / "x.wav"
    write_wav(path, audio, FS, 24, Bext(description="1M1 Opening", time_reference=CUE_AT_23H))
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (
            2, 3, FS, 2001
        )
        frames = w.readframes(2001)
    raw = path.read_bytes()
    (_, data_at, size), = [c for c in chunks(raw) if c[0] == b"data"]
    assert frames == raw[data_at : data_at + size]


def test_layout_riff_bext_before_fmt_and_data(tmp_path: Path):
    path = tmp_path / "x.wav"
    write_wav(path, noise(frames=3, channels=1), FS, 24, Bext(coding_history="A=PCM\r\n"))
    raw = path.read_bytes()
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE"
    assert struct.unpack_from("<I", raw, 4)[0] == len(raw) - 8
    found = chunks(raw)
    assert [c[0] for c in found] == [b"bext", b"fmt ", b"data"]
    bext_at, bext_size = found[0][1], found[0][2]
    assert bext_size == 602 + 8  # 7 history bytes, NUL-padded to even
    assert struct.unpack_from("<H", raw, bext_at + 346)[0] == 1  # Version
    assert raw[bext_at + 348 : bext_at + 602] == bytes(254)  # UMID + reserved
    fmt_at = found[1][1]
    assert struct.unpack_from("<HHIIHH", raw, fmt_at) == (1, 1, FS, FS * 3, 3, 24)
    assert found[2][2] == 9 and len(raw) % 2 == 0  # odd data padded


def test_bext_fields_read_back(tmp_path: Path):
    bext = Bext(
        description="1M1 Opening — harbour at dawn".replace("—", "-"),
        originator="scorefarm",
        originator_reference="HL-1M1-v3",
        origination_date="2024-05-17",
        origination_time="09:30:00",
        time_reference=CUE_AT_23H,
        coding_history="A=PCM,F=48000,W=24,M=stereo,T=scorefarm\r\n",
    )
    path = tmp_path / "x.wav"
    write_wav(path, noise(), FS, 24, bext)
    back = read_wav(path).bext
    assert back == bext
    assert back.time_reference == 3_974_400_000 > 2**31


def test_time_reference_is_a_64_bit_value(tmp_path: Path):
    at_96k = 23 * 3600 * 96000  # 7_948_800_000 > 2**32: needs the high word
    path = tmp_path / "x.wav"
    write_wav(path, noise(channels=2), 96000, 24, Bext(time_reference=at_96k))
    raw = path.read_bytes()
    low, high = struct.unpack_from("<II", raw, 12 + 8 + 338)
    assert (high << 32) | low == at_96k and high == 1
    assert read_wav(path).bext.time_reference == at_96k


def test_quantisation_rounds_half_to_even_and_clips(tmp_path: Path):
    lsb = 2.0**-23
    audio = np.array([0.5 * lsb, 1.5 * lsb, -2.5 * lsb, 1.0, -1.0, 1.7, -1.7, 0.0])[:, None]
    path = tmp_path / "x.wav"
    assert write_wav(path, audio, FS) == 3  # +1.0, +1.7 and -1.7
    ints, _ = soundfile.read(str(path), dtype="int32")
    assert (ints >> 8).tolist() == [0, 2, -2, 2**23 - 1, -(2**23), 2**23 - 1, -(2**23), 0]


def test_same_audio_gives_the_same_bytes(tmp_path: Path):
    audio, bext = noise(), Bext(description="x", time_reference=5)
    write_wav(tmp_path / "a.wav", audio, FS, 24, bext)
    write_wav(tmp_path / "b.wav", audio, FS, 24, bext)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_six_channels_are_extensible_5_1(tmp_path: Path):
    audio = noise(channels=6)
    path = tmp_path / "x.wav"
    write_wav(path, audio, FS)
    raw = path.read_bytes()
    fmt_at = [c for c in chunks(raw) if c[0] == b"fmt "][0][1]
    tag, channels = struct.unpack_from("<HH", raw, fmt_at)
    assert (tag, channels) == (0xFFFE, 6)
    assert struct.unpack_from("<HHI", raw, fmt_at + 16) == (22, 24, 0x3F)
    info = soundfile.info(str(path))
    assert (info.channels, info.subtype) == (6, "PCM_24")
    theirs, _ = soundfile.read(str(path), dtype="float64")
    assert np.array_equal(theirs, read_wav(path).audio)


def test_mono_vector_writes_one_channel(tmp_path: Path):
    path = tmp_path / "x.wav"
    write_wav(path, np.linspace(-0.5, 0.5, 100), FS, 16)
    assert read_wav(path).audio.shape == (100, 1)


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch):
    real = wavio._pack_samples
    calls = []

    def fail_on_second_block(block, bit_depth):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(block, bit_depth)

    monkeypatch.setattr(wavio, "_pack_samples", fail_on_second_block)
    target = tmp_path / "out" / "1M1_mix.wav"
    with pytest.raises(Exception, match="No space left"):
        write_wav(target, noise(frames=wavio._CHUNK_FRAMES + 10), FS)
    assert len(calls) == 2
    assert list((tmp_path / "out").iterdir()) == []


def test_non_finite_audio_is_refused_before_writing(tmp_path: Path):
    audio = noise()
    audio[100, 1] = np.nan
    with pytest.raises(RenderError, match="NaN"):
        write_wav(tmp_path / "x.wav", audio, FS)
    assert list(tmp_path.iterdir()) == []


def test_bext_validation_names_the_field():
    with pytest.raises(ValueError, match="description holds at most 256"):
        Bext(description="x" * 257)
    with pytest.raises(ValueError, match="originator must be ASCII"):
        Bext(originator="Zoë")
    with pytest.raises(ValueError, match="origination_date"):
        Bext(origination_date="17/05/2024")
    with pytest.raises(ValueError, match="time_reference"):
        Bext(time_reference=-1)


def test_reads_foreign_wavs_through_soundfile(tmp_path: Path):
    audio = noise() * 0.5
    for subtype, depth, kind in [("FLOAT", 32, "float"), ("PCM_32", 32, "pcm"),
                                 ("PCM_U8", 8, "pcm"), ("PCM_16", 16, "pcm")]:
        path = tmp_path / f"{subtype}.wav"
        soundfile.write(str(path), audio, 44100, subtype=subtype)
        back = read_wav(path)
        assert (back.sample_rate, back.bit_depth, back.sample_format) == (44100, depth, kind)
        tolerance = 2.0**-24 if kind == "float" else 2.0 ** -(depth - 1)  # float32 / 1 LSB
        assert np.max(np.abs(back.audio - audio)) <= tolerance


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda raw: b"OggS" + raw[4:], "not a WAV file"),
        (lambda raw: raw[:-1000], "data chunk is truncated"),
        (lambda raw: raw[:30], "truncated"),
        (lambda raw: b"", "not a WAV file"),
    ],
)
def test_corrupt_input_is_refused_naming_the_file(tmp_path: Path, damage, message):
    good = tmp_path / "good.wav"
    write_wav(good, noise(), FS)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(damage(good.read_bytes()))
    with pytest.raises(AudioInputError, match=message) as info:
        read_wav(bad)
    assert str(bad) in str(info.value)


def test_missing_file_is_refused(tmp_path: Path):
    with pytest.raises(AudioInputError, match="no such file"):
        read_wav(tmp_path / "nope.wav")


def test_reads_chunks_in_any_order_with_unknown_chunks(tmp_path: Path):
    """A colleague's file: fmt, LIST, data, then a v2 bext at the end."""
    ours = tmp_path / "ours.wav"
    bext = Bext(description="foreign", time_reference=CUE_AT_23H)
    write_wav(ours, noise(), FS, 16, bext)
    raw = ours.read_bytes()
    parts = {tag: raw[at - 8 : at + size + size % 2] for tag, at, size in chunks(raw)}
    v2 = bytearray(parts[b"bext"])
    struct.pack_into("<Hh", v2, 8 + 346, 2, -2300)  # Version 2, LoudnessValue -23.00
    info = b"INFOISFT" + struct.pack("<I", 5) + b"abcd\0"  # 17 bytes: odd, so padded
    listing = b"LIST" + struct.pack("<I", len(info)) + info + b"\0"
    body = b"WAVE" + parts[b"fmt "] + listing + parts[b"data"] + bytes(v2)
    foreign = tmp_path / "foreign.wav"
    foreign.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    back = read_wav(foreign)
    assert back.bext == bext
    assert np.array_equal(back.audio, read_wav(ours).audio)
