"""MusicXML is read at sounding pitch: a part with a ``<transpose>`` element (clarinet in
B-flat, double bass) is heard where it sounds, not where it is written."""

from __future__ import annotations

import json
from pathlib import Path

import music21
from click.testing import CliRunner

from scorefarm.cli.errors import ComposeGroup
from scorefarm.cli.harmony_commands import COMMANDS
from scorefarm.symbolic.voices import load_any_score, music21_to_score

CLARINET = ("-1", "-2", None)  # <transpose>: diatonic, chromatic, octave-change (B-flat: a tone down)
CLARINET_IN_A = ("-2", "-3", None)
OCTAVE_DOWN = ("0", "0", "-1")  # double bass, guitar
STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _note(name: str) -> str:
    """``D5``, ``F#5`` as a quarter-note ``<note>``."""
    step, alter, octave = name[0], {"#": 1, "b": -1}.get(name[1], 0), name[-1]
    alter_xml = f"<alter>{alter}</alter>" if alter else ""
    return (f"<note><pitch><step>{step}</step>{alter_xml}<octave>{octave}</octave></pitch>"
            "<duration>1</duration><type>quarter</type></note>")


def _midi(name: str) -> int:
    return 12 * (int(name[-1]) + 1) + STEPS[name[0]] + {"#": 1, "b": -1}.get(name[1], 0)


def _part_xml(ident: str, clef: str, bars: list[tuple[tuple | None, list[str]]]) -> str:
    """One part: each bar a (``<transpose>`` to state at its start or None, four notes)."""
    sign, line, octave = {"treble": ("G", 2, None), "bass": ("F", 4, None), "treble-8vb": ("G", 2, -1)}[clef]
    clef_xml = (f"<clef><sign>{sign}</sign><line>{line}</line>"
                + (f"<clef-octave-change>{octave}</clef-octave-change>" if octave else "") + "</clef>")
    measures = []
    for number, (transpose, notes) in enumerate(bars, start=1):
        attributes = ("<divisions>1</divisions><time><beats>4</beats><beat-type>4</beat-type></time>" + clef_xml
                      if number == 1 else "")
        if transpose is not None:
            diatonic, chromatic, octave_change = transpose
            attributes += (f"<transpose><diatonic>{diatonic}</diatonic><chromatic>{chromatic}</chromatic>"
                           + (f"<octave-change>{octave_change}</octave-change>" if octave_change else "")
                           + "</transpose>")
        head = f"<attributes>{attributes}</attributes>" if attributes else ""
        measures.append(f'<measure number="{number}">{head}{"".join(_note(n) for n in notes)}</measure>')
    return f'<part id="{ident}">{"".join(measures)}</part>'


def _score_xml(parts: list[tuple[str, str, int, str, list]]) -> str:
    """Parts as (name, instrument name, GM program 1-128, clef, bars)."""
    listing = "".join(
        f'<score-part id="P{i}"><part-name>{name}</part-name>'
        f'<score-instrument id="P{i}-I1"><instrument-name>{instrument}</instrument-name></score-instrument>'
        f'<midi-instrument id="P{i}-I1"><midi-channel>{i}</midi-channel><midi-program>{program}</midi-program>'
        f'</midi-instrument></score-part>'
        for i, (name, instrument, program, _, _) in enumerate(parts, start=1))
    body = "".join(_part_xml(f"P{i}", clef, bars) for i, (_, _, _, clef, bars) in enumerate(parts, start=1))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="3.1">'
            f"<part-list>{listing}</part-list>{body}</score-partwise>")


def _write(tmp_path: Path, parts, name: str = "score.musicxml") -> Path:
    path = tmp_path / name
    path.write_text(_score_xml(parts), encoding="utf-8")
    return path


def _pitches(path: Path) -> dict[str, list[int]]:
    score, _, _ = load_any_score(path)
    return {track.name: [note.pitch for note in track.notes] for track in score.tracks}


# a clarinet in B-flat written a tone above the flute, sounding with it; a cello line
# between the double bass's written and sounding octaves
FLUTE = ["C5", "D5", "E5", "F5"]
CLARINET_WRITTEN = ["D5", "E5", "F#5", "G5"]
CELLO = ["G2", "A2", "B2", "C3"]
BASS_WRITTEN = ["C3", "D3", "E3", "F3"]


def test_transposing_parts_are_read_at_sounding_pitch(tmp_path):
    """Clarinet in B-flat written D5 sounds C5; double bass written C3 sounds C2; a flute and
    a cello without a ``<transpose>`` are read as written."""
    path = _write(tmp_path, [("Flute", "Flute", 74, "treble", [(None, FLUTE)]),
                             ("Clarinet in B♭", "Clarinet in B♭", 72, "treble", [(CLARINET, CLARINET_WRITTEN)]),
                             ("Cello", "Cello", 43, "bass", [(None, CELLO)]),
                             ("Double Bass", "Double Bass", 44, "bass", [(OCTAVE_DOWN, BASS_WRITTEN)])])
    pitches = _pitches(path)
    assert pitches["Clarinet in B♭"] == [_midi(n) for n in FLUTE] == [72, 74, 76, 77]
    assert pitches["Double Bass"] == [_midi(n) - 12 for n in BASS_WRITTEN] == [36, 38, 40, 41]
    assert pitches["Flute"] == [72, 74, 76, 77] and pitches["Cello"] == [43, 45, 47, 48]


def test_a_change_of_transposition_mid_part_applies_from_its_bar(tmp_path):
    """Clarinet in B-flat for bar 1, in A from bar 2 (a ``<transpose>`` restated there)."""
    path = _write(tmp_path, [("Clarinet", "Clarinet in B♭", 72, "treble",
                              [(CLARINET, CLARINET_WRITTEN), (CLARINET_IN_A, ["C5", "D5", "E5", "F5"])])])
    assert _pitches(path)["Clarinet"] == [72, 74, 76, 77, 69, 71, 73, 74]


def test_without_a_transpose_element_the_written_pitch_is_the_sounding_pitch(tmp_path):
    """A part named and programmed as a clarinet in B-flat but without ``<transpose>`` is a
    concert-pitch part (music21 knows the clarinet's transposition from the name alone);
    a tenor's treble-8vb clef shows notes an octave up but does not move their pitch."""
    path = _write(tmp_path, [("Clarinet in B♭", "Clarinet in B♭", 72, "treble", [(None, CLARINET_WRITTEN)]),
                             ("Tenor", "Tenor", 53, "treble-8vb", [(None, ["C4", "D4", "E4", "F4"])])])
    pitches = _pitches(path)
    assert pitches["Clarinet in B♭"] == [74, 76, 78, 79]
    assert pitches["Tenor"] == [60, 62, 64, 65]


def test_the_callers_stream_is_left_at_written_pitch(tmp_path):
    path = _write(tmp_path, [("Double Bass", "Double Bass", 44, "bass", [(OCTAVE_DOWN, BASS_WRITTEN)])])
    stream = music21.converter.parse(str(path))
    score, _, _ = music21_to_score(stream)
    assert [n.pitch for n in score.tracks[0].notes] == [36, 38, 40, 41]
    assert [n.pitch.midi for n in stream.flatten().notes] == [48, 50, 52, 53]  # as written, untouched


def test_check_takes_the_double_bass_as_the_bass(tmp_path):
    """Written, the double bass (C3-F3) lies over the cello (G2-C3); sounding (C2-F2) it is
    the bass line, and `compose check` orders the voices so."""
    path = _write(tmp_path, [("Clarinet in B♭", "Clarinet in B♭", 72, "treble", [(CLARINET, CLARINET_WRITTEN)]),
                             ("Cello", "Cello", 43, "bass", [(None, CELLO)]),
                             ("Double Bass", "Double Bass", 44, "bass", [(OCTAVE_DOWN, BASS_WRITTEN)])])
    compose = ComposeGroup(name="compose", commands=list(COMMANDS))
    result = CliRunner().invoke(compose, ["check", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["voices"] == ["Clarinet in B♭", "Cello", "Double Bass"]
    crossings = [f for f in report["faults"] if f["kind"] in ("voice_crossing", "voice_overlap")]
    assert not crossings, crossings


def test_our_orchestrations_read_back_at_the_pitches_they_sound(make_score, tmp_path):
    """The MusicXML `compose orchestrate --musicxml` writes (clarinet in B-flat, horn in F,
    double bass at written pitch with ``<transpose>``) reads back, part by part, at the
    sounding pitches the orchestration placed."""
    from scorefarm.arrange.notation import musicxml_bytes
    from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate

    chords = [(72, 67, 64, 48), (74, 69, 65, 50), (76, 67, 64, 43), (72, 64, 60, 36)]
    sketch = make_score([(4 * bar + beat, 1.0, pitch, 100) for bar, chord in enumerate(chords)
                         for beat in range(4) for pitch in chord])
    result = orchestrate(sketch, OrchestrateOptions(ensemble="chamber"))
    path = tmp_path / "chamber.musicxml"
    path.write_bytes(musicxml_bytes(result))
    score, _, _ = load_any_score(path)
    read = {track.name: sorted({(note.time * 4 // score.tpq, note.pitch) for note in track.notes})
            for track in score.tracks}
    transposing = set()
    for index, part in enumerate(result.ensemble.parts):
        placed = sorted({(p.time * 4 // sketch.tpq, p.pitch) for p in result.placed if p.part == index})
        if placed:
            assert read[part.label] == placed, part.label
            transposing |= {part.instrument.key} if part.instrument.transposition else set()
    assert {"clarinet", "horn", "double-bass"} <= transposing  # the test reads transposing parts
