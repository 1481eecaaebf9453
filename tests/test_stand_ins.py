"""A SoundFont that lacks a program: the stand-in comes from the program's own section
(stem) when the SoundFont has one there; when only another section's preset can stand
in, the track is filed under the stem of what sounds, and the render warns of it.

The SoundFonts here are real ones, built by `tiny_soundfont`: a looped sine sample
behind the presets asked for, which FluidSynth loads like any other."""

from __future__ import annotations

import csv
import json
import struct

import numpy as np
import pytest
import symusic

from scorefarm.arrange.sections import section_for_program
from scorefarm.errors import RenderError, SoundFontError
from scorefarm.render.farm import FarmOptions, render_film
from scorefarm.render.single import render_score_file
from scorefarm.render.soundfonts import resolve_soundfont
from scorefarm.render.synth import RenderOptions, fallback_program, render_stems, score_sections
from scorefarm.symbolic.cuelist import load_cue_list

# piano, a harp (in the violin's GM family 40-47, but seated with the keys), a string ensemble
PRESETS = [(0, 0, "Piano"), (0, 46, "Harp"), (0, 48, "Strings"), (128, 0, "Kit")]


def _chunk(name: bytes, data: bytes) -> bytes:
    return name + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)


def _name(text: str) -> bytes:
    return text.encode("ascii")[:19].ljust(20, b"\0")


def tiny_soundfont(presets: list[tuple[int, int, str]]) -> bytes:
    """A SoundFont 2.01 file: one instrument, a looped sine (one period of 100 frames
    at 44 kHz: A4 = 440 Hz at its root key 69), behind each (bank, program, name)."""
    period = 100
    wave = np.rint(np.sin(2 * np.pi * np.arange(20 * period) / period) * 12000).astype("<i2")
    frames = len(wave)
    info = _chunk(b"LIST", b"INFO" + _chunk(b"ifil", struct.pack("<HH", 2, 1)) + _chunk(b"isng", b"EMU8000\0")
                  + _chunk(b"INAM", b"Tiny\0\0"))
    sdta = _chunk(b"LIST", b"sdta" + _chunk(b"smpl", wave.tobytes() + b"\0" * 92))  # 46 zero frames after
    phdr = pbag = pgen = b""
    for i, (bank, program, name) in enumerate(sorted(presets, key=lambda p: p[:2])):
        phdr += _name(name) + struct.pack("<HHHIII", program, bank, i, 0, 0, 0)
        pbag += struct.pack("<HH", i, 0)
        pgen += struct.pack("<HH", 41, 0)  # instrument 0
    count = len(presets)
    phdr += _name("EOP") + struct.pack("<HHHIII", 0, 0, count, 0, 0, 0)
    pbag += struct.pack("<HH", count, 0)
    pgen += struct.pack("<HH", 0, 0)
    inst = _name("Sine") + struct.pack("<H", 0) + _name("EOI") + struct.pack("<H", 1)
    ibag = struct.pack("<HHHH", 0, 0, 2, 0)
    igen = struct.pack("<HHHHHH", 54, 1, 53, 0, 0, 0)  # loop continuously; sample 0 (last, as required)
    shdr = (_name("sine") + struct.pack("<IIIIIBbHH", 0, frames, period, frames - period, 440 * period, 69, 0, 0, 1)
            + _name("EOS") + bytes(26))
    pdta = _chunk(b"LIST", b"pdta" + b"".join(_chunk(k, v) for k, v in (
        (b"phdr", phdr), (b"pbag", pbag), (b"pmod", bytes(10)), (b"pgen", pgen), (b"inst", inst),
        (b"ibag", ibag), (b"imod", bytes(10)), (b"igen", igen), (b"shdr", shdr))))
    body = b"sfbk" + info + sdta + pdta
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "Tiny Strings.sf2"
    path.write_bytes(tiny_soundfont(PRESETS))
    return resolve_soundfont(str(path))


def _score(parts: list[tuple[str, int, int]]) -> symusic.Score:
    """One two-beat note a track, at 120 bpm: (name, program, pitch)."""
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 120.0))
    for name, program, pitch in parts:
        track = symusic.Track(name, program, False)
        track.notes.append(symusic.Note(0, 960, pitch, 100))
        score.tracks.append(track)
    return score


VIOLIN_FLUTE_PIANO = [("Violin", 40, 69), ("Flute", 73, 76), ("Piano", 0, 57)]


@pytest.mark.parametrize("program, available, expected", [
    (40, {0, 46, 48}, 48),  # violin: the string ensemble, not the harp of its GM family (keys)
    (41, {0, 40, 46}, 40),  # viola: a violin, its family and its section
    (73, {0, 48}, 0),  # flute, no woodwind: the piano, another section
    (73, {0, 48, 71}, 71),  # flute: the clarinet, its section in another family
    (24, {0, 23, 32}, 0),  # guitar, no guitar: the piano leads the keys
    (47, {45, 112}, 112),  # timpani: a percussion program before the strings of its family
    (47, {45}, 45),  # ... and the family when no percussion program is there
    (60, {40, 42}, None),  # trumpet: no brass, no family, no program 0
])
def test_a_stand_in_comes_from_the_programs_section_first(program, available, expected):
    assert fallback_program(program, available, section_for_program) == expected


def test_the_tiny_soundfont_plays_a4_at_440_hz(tiny):
    """The tiny SoundFont sounds as built: A4 at 440 Hz (its root key and sample rate)."""
    mix = render_stems(_score([("Piano", 0, 69)]), tiny, RenderOptions(tail_seconds=0.0)).mix[:48000, 0]
    spectrum = np.abs(np.fft.rfft(mix))
    assert np.argmax(spectrum) * 48000 / len(mix) == pytest.approx(440.0, abs=1.0)


def test_the_part_is_filed_under_the_stem_of_what_sounds(tiny):
    score = _score(VIOLIN_FLUTE_PIANO)
    assert score_sections(score) == ["strings", "woodwinds", "keys"]  # the programs asked for
    assert score_sections(score, tiny) == ["strings", "keys"]  # what this SoundFont plays
    result = render_stems(score, tiny, RenderOptions(tail_seconds=0.5))
    assert list(result.stems) == ["strings", "keys"]
    assert result.fallbacks == [
        "track 0 'Violin': program 40 is not in Tiny Strings; using 48 (Strings)",
        "track 1 'Flute': program 73 is not in Tiny Strings; using 0 (Piano) in the keys stem: "
        "Tiny Strings has no woodwinds program",
    ]
    # the keys stem is the piano and the flute played by the piano, as if the flute asked for it
    as_piano = _score([("Violin", 48, 69), ("Flute", 0, 76), ("Piano", 0, 57)])
    expected = render_stems(as_piano, tiny, RenderOptions(tail_seconds=0.5))
    assert result.stems["keys"].tobytes() == expected.stems["keys"].tobytes()
    assert result.stems["strings"].tobytes() == expected.stems["strings"].tobytes()
    again = render_stems(score, tiny, RenderOptions(tail_seconds=0.5))
    assert again.mix.tobytes() == result.mix.tobytes()


def test_a_stem_rendered_alone_follows_the_stand_in(tiny):
    score = _score(VIOLIN_FLUTE_PIANO)
    alone = render_stems(score, tiny, RenderOptions(tail_seconds=0.5), sections=["keys"])
    assert list(alone.stems) == ["keys"] and len(alone.fallbacks) == 1 and "Flute" in alone.fallbacks[0]
    with pytest.raises(RenderError, match="the score has no woodwinds section to render"):
        render_stems(score, tiny, RenderOptions(tail_seconds=0.5), sections=["woodwinds"])


def test_no_stand_in_at_all_is_said(tmp_path):
    path = tmp_path / "Strings Only.sf2"
    path.write_bytes(tiny_soundfont([(0, 48, "Strings")]))
    with pytest.raises(RenderError, match=r"track 0 'Trumpet': Strings Only has no program 56, none in its "
                                          r"section or family and no program 0 \(bank 0\)"):
        render_stems(_score([("Trumpet", 56, 60)]), resolve_soundfont(str(path)))


def test_a_rendered_score_names_its_stems_by_what_sounds_and_warns(tiny, tmp_path):
    sketch = tmp_path / "sketch.mid"
    _score(VIOLIN_FLUTE_PIANO).dump_midi(str(sketch))
    product = render_score_file(sketch, tmp_path / "out", soundfont=str(tiny.path))
    assert sorted(product.files) == ["sketch.mid", "sketch_keys.wav", "sketch_mix.wav", "sketch_strings.wav"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["warnings"] == [
        "track 0 'Violin': program 40 is not in Tiny Strings; using 48 (Strings)",
        "track 1 'Flute': program 73 is not in Tiny Strings; using 0 (Piano) in the keys stem: "
        "Tiny Strings has no woodwinds program",
    ]
    assert set(manifest["warnings"]) <= set(manifest["notes"])
    again = render_score_file(sketch, tmp_path / "again", soundfont=str(tiny.path))
    assert again.files == product.files  # byte-identical


def test_a_film_warns_of_its_stand_ins_rendered_or_up_to_date(tiny, tmp_path):
    (tmp_path / "sk").mkdir()
    _score(VIOLIN_FLUTE_PIANO).dump_midi(str(tmp_path / "sk" / "a.mid"))
    (tmp_path / "film.toml").write_text(
        f'[film]\ntitle = "QA"\nframe_rate = 24\nsoundfont = {json.dumps(str(tiny.path))}\n'
        '\n[[cues]]\nid = "1M1"\nsketch = "sk/a.mid"\nstart = "01:00:00:00"\n')
    out = tmp_path / "out"
    for state in ("rendered", "cached"):
        report = render_film(load_cue_list(tmp_path / "film.toml"), out, FarmOptions(serial=True))
        assert [o.state for o in report.outcomes] == [state]
        assert report.warnings == [
            "cue 1M1: track 0 'Violin': program 40 is not in Tiny Strings; using 48 (Strings)",
            "cue 1M1: track 1 'Flute': program 73 is not in Tiny Strings; using 0 (Piano) in the keys stem: "
            "Tiny Strings has no woodwinds program",
        ]
    [row] = csv.DictReader((out / "cue_sheet.csv").open())
    assert row["stems"] == "1M1_keys.wav 1M1_strings.wav"
    assert sorted(p.name for p in (out / "1M1").glob("*.wav")) == ["1M1_keys.wav", "1M1_mix.wav", "1M1_strings.wav"]


def test_the_default_soundfont_needs_no_stand_in():
    """FluidR3_GM has all 128 programs: every track stays in its own program's stem."""
    try:
        font = resolve_soundfont("FluidR3_GM")
    except SoundFontError as exc:
        pytest.skip(str(exc))
    score = _score(VIOLIN_FLUTE_PIANO)
    assert score_sections(score, font) == score_sections(score) == ["strings", "woodwinds", "keys"]
