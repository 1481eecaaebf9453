"""The audio files composers actually have: WAVs from DAWs and streaming writers,
RF64/BW64, AIFF and FLAC, surround layouts, and files that are not audio at all.
Each is read (or refused in one line) and mastered to what the standard says,
measured independently (pyloudnorm on the channels it weighs by place, soundfile)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile

from scorefarm.errors import AudioInputError, InputError
from scorefarm.render.master import MasterOptions, channel_layout, integrated_loudness, master_file
from scorefarm.render.wavio import read_wav, write_wav

FS = 48000


def music(seconds: float = 2.0, channels: int = 2, rate: int = FS, seed: int = 0) -> np.ndarray:
    """Tones and a little noise, different in each channel, faded in and out."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = np.stack([np.sin(2 * np.pi * (110.0 * (ch + 2)) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t + ch))
                    + 0.05 * rng.standard_normal(t.size) for ch in range(channels)], axis=1)
    out *= 0.3 / np.max(np.abs(out))
    ramp = np.linspace(0.0, 1.0, int(0.02 * rate))[:, None]
    out[: ramp.size] *= ramp
    out[-ramp.size :] *= ramp[::-1]
    return out


def chunk(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def fmt_pcm(channels: int, bits: int = 24, rate: int = FS) -> bytes:
    align = channels * bits // 8
    return struct.pack("<HHIIHH", 1, channels, rate, rate * align, align, bits)


def pcm24(audio: np.ndarray) -> bytes:
    ints = np.clip(np.rint(audio * 2**23), -(2**23), 2**23 - 1).astype("<i4")
    return ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def riff(*chunks: bytes, magic: bytes = b"RIFF", size: int | None = None) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return magic + struct.pack("<I", len(body) if size is None else size) + body


def lsb24_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and float(np.max(np.abs(a - b))) <= 2.0**-23


# ------------------------------------------------------------------ reading


@pytest.mark.parametrize("fmt, subtype, depth, kind", [
    ("WAVEX", "PCM_24", 24, "pcm"), ("WAVEX", "FLOAT", 32, "float"), ("WAV", "PCM_16", 16, "pcm"),
    ("WAV", "PCM_U8", 8, "pcm"), ("WAV", "PCM_32", 32, "pcm"), ("WAV", "DOUBLE", 64, "float"),
    ("RF64", "PCM_24", 24, "pcm"), ("AIFF", "PCM_24", 24, "pcm"), ("AIFF", "FLOAT", 32, "float"),
    ("FLAC", "PCM_24", 24, "pcm"), ("W64", "PCM_16", 16, "pcm"), ("CAF", "PCM_24", 24, "pcm"),
])
def test_every_daw_encoding_reads_as_soundfile_reads_it(tmp_path: Path, fmt, subtype, depth, kind):
    """What Pro Tools, Logic, Cubase and Reaper export; AIFF (Logic's default) and FLAC
    are lossless audio a composer has, so they are read too (refused before: 'not a WAV')."""
    path = tmp_path / f"mix.{fmt.lower()}"
    soundfile.write(str(path), music(0.5), 44100, format=fmt, subtype=subtype)
    back = read_wav(path)
    theirs, _ = soundfile.read(str(path), dtype="float64", always_2d=True)
    assert (back.sample_rate, back.bit_depth, back.sample_format) == (44100, depth, kind)
    assert np.array_equal(back.audio, theirs)


def test_wave_format_extensible_keeps_its_speaker_mask(tmp_path: Path):
    path = tmp_path / "surround.wav"
    soundfile.write(str(path), music(0.5, channels=6), FS, format="WAVEX", subtype="PCM_24")
    back = read_wav(path)
    assert back.audio.shape == (FS // 2, 6) and back.channel_mask == 0x3F


def test_24_bit_in_32_bit_words_reads_as_24_bit(tmp_path: Path):
    audio = music(0.5)
    ints = np.clip(np.rint(audio * 2**23), -(2**23), 2**23 - 1).astype("<i4") << 8
    guid = struct.pack("<IHH", 1, 0, 0x10) + bytes.fromhex("800000aa00389b71")
    fmt = struct.pack("<HHIIHH", 0xFFFE, 2, FS, FS * 8, 8, 32) + struct.pack("<HHI", 22, 24, 3) + guid
    path = tmp_path / "cubase.wav"
    path.write_bytes(riff(chunk(b"fmt ", fmt), chunk(b"data", ints.tobytes())))
    back = read_wav(path)
    assert back.bit_depth == 24 and back.encoding == "24-bit PCM in 32-bit words"
    assert lsb24_equal(back.audio, audio)


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF])
def test_a_streaming_writers_unset_data_size_reads_to_the_end(tmp_path: Path, size):
    """ffmpeg to a pipe, a crashed recorder: the sizes were never filled in. Before, size
    0 read as no audio and was refused as 'the mix is silent'."""
    audio = music(1.0)
    path = tmp_path / "streamed.wav"
    body = pcm24(audio)
    path.write_bytes(riff(chunk(b"fmt ", fmt_pcm(2)), b"data" + struct.pack("<I", size) + body, size=size))
    back = read_wav(path)
    assert lsb24_equal(back.audio, audio)
    assert back.notes and "streaming writer" in back.notes[0] and str(len(body)) in back.notes[0]


def test_an_empty_data_chunk_followed_by_a_chunk_is_empty_not_streamed(tmp_path: Path):
    path = tmp_path / "empty.wav"
    path.write_bytes(riff(chunk(b"fmt ", fmt_pcm(2)), chunk(b"data", b""), chunk(b"LIST", b"INFO")))
    with pytest.raises(AudioInputError, match="holds no audio"):
        read_wav(path)


@pytest.mark.parametrize("magic", [b"RF64", b"BW64"])
def test_rf64_and_bw64_take_the_data_size_from_ds64(tmp_path: Path, magic):
    """BW64 (ITU-R BS.2088, what ADM/Atmos tools write) was refused as 'not a WAV file';
    the ds64 size is used, so a chunk after the audio is not read as samples."""
    audio = music(1.0)
    raw = pcm24(audio)
    tail = chunk(b"axml", b"<ebuCoreMain/>")
    ds64 = struct.pack("<QQQI", 0, len(raw), len(raw) // 6, 0)
    body = b"WAVE" + chunk(b"ds64", ds64) + chunk(b"fmt ", fmt_pcm(2)) + \
        b"data" + struct.pack("<I", 0xFFFFFFFF) + raw + tail
    path = tmp_path / "long.wav"
    path.write_bytes(magic + struct.pack("<I", 0xFFFFFFFF) + body)
    back = read_wav(path)
    assert back.container == magic.decode() and lsb24_equal(back.audio, audio)


def test_odd_chunks_without_their_pad_byte_and_trailing_garbage(tmp_path: Path):
    """A LIST chunk of odd size written without its pad byte before 'fmt ' (the walk
    lost 'fmt ' and refused the file), and junk after the data."""
    audio = music(0.5)
    info = b"INFOISFT" + struct.pack("<I", 5) + b"abcd\0"  # 17 bytes
    listing = b"LIST" + struct.pack("<I", len(info)) + info  # no pad byte
    path = tmp_path / "sloppy.wav"
    path.write_bytes(riff(listing, chunk(b"fmt ", fmt_pcm(2)), chunk(b"data", pcm24(audio))) + b"\x00\x13junk!")
    assert lsb24_equal(read_wav(path).audio, audio)


@pytest.mark.parametrize("content, what", [
    (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0", "is a MIDI file"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" * 8, "is MPEG audio (MP3/AAC)"),
    (b"\xff\xfb\x90\x64" * 8, "is MPEG audio (MP3/AAC)"),
    (b"OggS\x00\x02" + bytes(40), "is an Ogg file"),
    (b"RIFF\x10\x00\x00\x00RMIDdata", "is a RIFF MIDI file"),
    (b"", "is empty (0 bytes)"),
    (b"hello, not audio\n", "is not a WAV file"),
])
def test_what_is_not_audio_is_refused_saying_what_it_is(tmp_path: Path, content, what):
    path = tmp_path / "mix.wav"
    path.write_bytes(content)
    with pytest.raises(AudioInputError, match=None) as info:
        read_wav(path)
    assert what in str(info.value) and str(path) in str(info.value)


def test_a_real_mp3_named_wav_is_refused_in_one_line(tmp_path: Path, files_under):
    from click.testing import CliRunner

    from scorefarm.cli.main import cli

    path = tmp_path / "mix.wav"
    try:
        soundfile.write(str(path), music(1.0), 44100, format="MP3", subtype="MPEG_LAYER_III")
    except (soundfile.LibsndfileError, TypeError, ValueError):
        pytest.skip("this libsndfile writes no MP3")
    before = files_under(tmp_path)
    result = CliRunner().invoke(cli, ["master", str(path), "-o", str(tmp_path / "out.wav")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{path}: is MPEG audio (MP3/AAC), not a WAV file" in lines[0]
    assert files_under(tmp_path) == before


# ------------------------------------------------------------------ layouts and loudness


def test_surround_layouts_weigh_surrounds_and_leave_out_the_lfe():
    assert channel_layout(6).weights == (1.0, 1.0, 1.0, 0.0, 1.41, 1.41)
    assert channel_layout(8).weights == (1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.41, 1.41)  # back pair 135-150 deg
    assert channel_layout(6, 0x60F).weights == (1.0, 1.0, 1.0, 0.0, 1.41, 1.41)    # 5.1 on the side bits
    assert channel_layout(4).weights == (1.0, 1.0, 1.41, 1.41)                     # quad
    assert channel_layout(5).weights == (1.0, 1.0, 1.0, 1.41, 1.41)                # pyloudnorm's order
    assert channel_layout(4, 0x7 | 0x100).weights == (1.0, 1.0, 1.0, 1.0)          # L R C Cs, as stated
    with pytest.raises(InputError, match="7 channels with no speaker positions"):
        channel_layout(7)


def test_5_1_loudness_is_pyloudnorms_on_its_five_weighted_channels():
    """pyloudnorm weighs L R C Ls Rs by place: the 5.1 measure without its LFE must
    be exactly that, whatever the LFE holds."""
    mix = music(3.0, channels=6)
    mix[:, 3] *= 3.0  # a loud LFE, not measured
    five = mix[:, [0, 1, 2, 4, 5]]
    expected = pyloudnorm.Meter(FS).integrated_loudness(five)
    assert integrated_loudness(mix, FS, channel_layout(6)) == pytest.approx(expected, abs=1e-9)


def test_7_1_loudness_weighs_the_side_pair_as_surrounds():
    mix = music(3.0, channels=8)
    mix[:, [3, 4, 5]] = 0.0  # LFE and the back pair silent: L R C Ls Rs remain
    expected = pyloudnorm.Meter(FS).integrated_loudness(mix[:, [0, 1, 2, 6, 7]])
    assert integrated_loudness(mix, FS, channel_layout(8)) == pytest.approx(expected, abs=1e-9)


def test_quad_without_a_mask_weighs_the_rear_pair_as_surrounds():
    mix = music(3.0, channels=4)
    zero = np.zeros((mix.shape[0], 1))
    expected = pyloudnorm.Meter(FS).integrated_loudness(np.hstack([mix[:, :2], zero, mix[:, 2:]]))
    assert integrated_loudness(mix, FS) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("channels, mask", [(6, 0x3F), (8, 0x63F), (6, 0x60F)])
def test_surround_mixes_master_to_the_target_keeping_their_layout(tmp_path: Path, channels, mask):
    """5.1 and 7.1 mixes were refused ('mastering takes 1 to 5 channels')."""
    source, out = tmp_path / "surround.wav", tmp_path / "out.wav"
    write_wav(source, music(3.0, channels=channels), FS, 24, channel_mask=mask)
    result = master_file(source, out, MasterOptions(loudness_lufs=-24.0, true_peak_dbtp=-2.0))
    back = read_wav(out)
    assert back.audio.shape == (3 * FS, channels) and back.channel_mask == mask
    measured = integrated_loudness(back.audio, FS, channel_layout(channels, mask))
    assert abs(measured - -24.0) <= 0.1 and result.true_peak_dbtp <= -2.0
    assert any("as the file states" in note for note in result.notes)


def test_a_stereo_file_naming_other_speakers_keeps_them(tmp_path: Path):
    """L and LFE (mask 0x9) is measured on L alone; the master was written as plain stereo,
    which reads back (and measures) as L and R. A plain L R mask stays unwritten, as before."""
    for mask, kept in ((0x9, 0x9), (0x3, None)):
        source, out = tmp_path / f"in{mask}.wav", tmp_path / f"out{mask}.wav"
        write_wav(source, music(3.0, channels=2), FS, 24, channel_mask=mask)
        master_file(source, out)
        assert read_wav(out).channel_mask == kept


def test_an_lfe_alone_is_refused_naming_it(tmp_path: Path):
    source = tmp_path / "lfe.wav"
    write_wav(source, music(3.0, channels=1), FS, 24, channel_mask=0x8)
    with pytest.raises(AudioInputError, match=r"holds only an LFE channel \(LFE\)"):
        master_file(source, tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()


def test_seven_channels_without_positions_are_refused_in_one_line(tmp_path: Path, files_under):
    from click.testing import CliRunner

    from scorefarm.cli.main import cli

    source = tmp_path / "seven.wav"
    write_wav(source, music(1.0, channels=7), FS)
    before = files_under(tmp_path)
    result = CliRunner().invoke(cli, ["master", str(source), "-o", str(tmp_path / "out.wav")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"compose: error: {source}: has 7 channels with no speaker positions (a WAVE_FORMAT_EXTENSIBLE "
        "channel mask): BS.1770 loudness needs to know which are surrounds and LFE; masks are assumed "
        "only for 1, 2, 3, 4, 5, 6, 8 channels")
    assert files_under(tmp_path) == before


# ------------------------------------------------------------------ mastering what arrives


def test_a_dc_offset_is_no_click_at_the_start(tmp_path: Path):
    """A mix sitting on +0.25 DC: the 30 Hz high-pass turned the jump from silence into
    a spike of 0.24 full scale in the first samples; now they stay at the music's level."""
    source, out = tmp_path / "dc.wav", tmp_path / "out.wav"
    clean, clean_out = tmp_path / "clean.wav", tmp_path / "clean_out.wav"
    write_wav(source, music(3.0) + 0.25, FS)
    write_wav(clean, music(3.0), FS)
    master_file(source, out, MasterOptions())
    master_file(clean, clean_out, MasterOptions())
    mastered, reference = read_wav(out).audio, read_wav(clean_out).audio
    assert float(np.max(np.abs(mastered[0]))) < 1e-3
    assert float(np.max(np.abs(mastered[: FS // 200] - reference[: FS // 200]))) < 0.01  # first 5 ms
    assert float(np.max(np.abs(mastered.mean(axis=0)))) < 1e-3
    assert abs(pyloudnorm.Meter(FS).integrated_loudness(mastered) - -23.0) <= 0.1


def test_a_dc_only_mix_is_refused_as_nothing_to_master(tmp_path: Path):
    source = tmp_path / "dc_only.wav"
    write_wav(source, np.full((FS, 2), 0.3), FS)
    with pytest.raises(InputError, match="only a DC offset"):
        master_file(source, tmp_path / "out.wav", MasterOptions())
    assert not (tmp_path / "out.wav").exists()


def test_the_pre_roll_touches_only_mixes_that_start_off_zero(monkeypatch):
    """A mix that starts at zero (every render's) is processed exactly as without the
    pre-roll; one that starts on a held chord is processed differently."""
    from scorefarm.render import master as master_module

    starts_at_zero, cut_in = music(2.0), music(2.0)[FS // 2 :]
    with_pre_roll = [master_module.master(m, FS).audio for m in (starts_at_zero, cut_in)]
    monkeypatch.setattr(master_module, "PRE_ROLL_SECONDS", 0.0)
    without = [master_module.master(m, FS).audio for m in (starts_at_zero, cut_in)]
    assert np.array_equal(with_pre_roll[0], without[0])
    assert not np.array_equal(with_pre_roll[1], without[1])


@pytest.mark.parametrize("name, write", [
    ("logic.aif", lambda p, a: soundfile.write(str(p), a, 44100, format="AIFF", subtype="PCM_24")),
    ("mix.flac", lambda p, a: soundfile.write(str(p), a, 96000, format="FLAC", subtype="PCM_24")),
    ("u8.wav", lambda p, a: soundfile.write(str(p), a[:, :1], 22050, subtype="PCM_U8")),
])
def test_other_containers_and_depths_master_to_48k_24_bit(tmp_path: Path, name, write):
    source, out = tmp_path / name, tmp_path / "out.wav"
    write(source, music(2.0))
    info = soundfile.info(str(source))
    result = master_file(source, out, MasterOptions(loudness_lufs=-16.0))
    back = soundfile.info(str(out))
    assert (back.samplerate, back.subtype, back.channels) == (48000, "PCM_24", info.channels)
    assert back.frames == round(info.frames * 48000 / info.samplerate)
    mastered, _ = soundfile.read(str(out), always_2d=True)
    assert abs(pyloudnorm.Meter(FS).integrated_loudness(mastered) - -16.0) <= 0.1
    assert result.true_peak_dbtp <= -1.0
    assert any(note.startswith("input was") for note in result.notes)


def test_resynth_takes_a_logic_aiff_stem(tmp_path: Path, tiny_musicgen_dir):
    """compose resynth reads its stem with read_wav: an AIFF stem at 44.1 kHz (refused
    before, 'not a WAV file') is re-voiced to 48 kHz / 24-bit, exactly as long."""
    from click.testing import CliRunner

    from scorefarm.cli.main import cli

    stem, out = tmp_path / "strings.aif", tmp_path / "voiced.wav"
    soundfile.write(str(stem), music(0.6, channels=1, rate=44100), 44100, format="AIFF", subtype="PCM_24")
    result = CliRunner().invoke(cli, ["resynth", str(stem), "--prompt", "tense low strings", "--model",
                                      str(tiny_musicgen_dir), "-o", str(out), "--device", "cpu",
                                      "--window-seconds", "1", "--overlap-seconds", "0.3"])
    assert result.exit_code == 0, result.output
    info = soundfile.info(str(out))
    assert (info.samplerate, info.subtype, info.channels, info.frames) == (48000, "PCM_24", 2, round(26460 * 48000 / 44100))
