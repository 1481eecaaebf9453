"""The voice-leading checker and fixer: planted faults, clean progressions, fixes."""

from __future__ import annotations

from pathlib import Path

import pytest
import symusic

from scorefarm.errors import ScoreError
from scorefarm.symbolic.chords import parse_pitch
from scorefarm.symbolic.vl_examples import clean_voices, examples, planted_faults_voices
from scorefarm.symbolic.vl_fix import FixOptions, fix_file, fix_voices
from scorefarm.symbolic.voiceleading import KINDS, CheckOptions, check_file, check_score, check_voices
from scorefarm.symbolic.voices import SATB, Part, VNote, Voices, load_voices, voices_from_score, voices_to_score


def satb(chords: list[list[str]], beats: float = 1.0, tpq: int = 480) -> Voices:
    step = int(beats * tpq)
    parts = [Part(name, [VNote(i * step, (i + 1) * step, parse_pitch(chord[v])) for i, chord in enumerate(chords)])
             for v, name in enumerate(SATB)]
    return Voices(tpq, parts, [(0, 4, 4)])


def faults(report) -> set[tuple]:
    return {(f.kind, f.bar, f.beat, f.voices) for f in report.faults}


def test_every_planted_fault_is_found_and_nothing_else():
    voices, expected = planted_faults_voices()
    report = check_voices(voices)
    assert faults(report) == set(expected)
    assert {e[0] for e in expected} == set(KINDS)  # every rule is exercised


def test_clean_textbook_progressions_have_no_faults():
    voices, _ = clean_voices()
    assert check_voices(voices).faults == []


@pytest.mark.parametrize("passage", examples()["faults"], ids=lambda p: p["name"])
def test_each_passage_alone_plants_its_fault(passage):
    report = check_voices(satb(passage["chords"]), CheckOptions(key=(0, "major")))
    want = {(e["kind"], 1, float(e["chord"]), tuple(e["voices"])) for e in passage["expect"]}
    assert faults(report) == want


def test_fault_reports_bar_beat_and_motion():
    # C5-F3 -> D5-G3 in the outer voices, arriving in bar 2 on beat 4
    voices = satb([["E5", "G4", "C4", "C3"]] * 6 + [["C5", "A4", "F4", "F3"], ["D5", "B4", "D4", "G3"]])
    report = check_voices(voices, CheckOptions(key=(0, "major")))
    par = [f for f in report.faults if f.kind == "parallel_fifths"]
    assert [(f.bar, f.beat, f.voices) for f in par] == [(2, 4.0, ("Soprano", "Bass"))]
    assert "C5-F3 -> D5-G3" in par[0].detail
    assert "bar 2 beat 4: parallel fifths (Soprano / Bass)" in par[0].describe()


def test_repeated_or_held_notes_do_not_make_parallels():
    # the alto/tenor fifth is held while the bass and soprano move
    voices = satb([["E5", "G4", "C4", "C3"], ["E5", "G4", "C4", "A2"]])
    assert not [f for f in check_voices(voices).faults if f.kind.startswith("parallel")]


def test_nothing_moves_across_a_rest():
    a = satb([["D5", "G4", "B3", "G2"]])
    b = satb([["E5", "A4", "C4", "A2"]])
    parts = [Part(p.name, p.notes + [VNote(n.start + 960, n.end + 960, n.pitch) for n in q.notes])
             for p, q in zip(a.parts, b.parts)]
    assert check_voices(Voices(480, parts)).faults == []


def test_grid_checking_finds_the_same_parallels():
    voices, expected = planted_faults_voices()
    grid = check_voices(voices, CheckOptions(grid_ticks=120, kinds=frozenset({"parallel_fifths", "parallel_octaves"})))
    want = {e for e in expected if e[0] in ("parallel_fifths", "parallel_octaves")}
    assert faults(grid) == want
    assert grid.transitions > check_voices(voices).transitions


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown fault kinds"):
        CheckOptions(kinds=frozenset({"parallel_sixths"}))


def test_block_chords_in_one_track_are_split_into_voices(make_score):
    notes = []
    for i, chord in enumerate([["C5", "G4", "E4", "C3"], ["D5", "A4", "F4", "D3"]]):
        notes += [(i, 1, parse_pitch(p), 80) for p in chord]
    report = check_score(make_score(notes))
    assert report.voices == list(SATB)
    assert ("parallel_octaves", 1, 2.0, ("Tenor", "Bass")) not in faults(report)  # E4/C3 -> F4/D3: no octave
    assert ("parallel_fifths", 1, 2.0, ("Alto", "Tenor")) not in faults(report)
    assert ("parallel_fifths", 1, 2.0, ("Alto", "Bass")) in faults(report)


def test_unsplittable_track_is_refused(make_score):
    notes = [(0, 1, 60, 80), (0, 1, 64, 80), (1, 1, 62, 80)]
    with pytest.raises(ScoreError, match="cannot be told apart"):
        voices_from_score(make_score(notes), "x.mid")


def test_check_file_reads_midi_and_musicxml(tmp_path: Path):
    voices, expected = planted_faults_voices()
    midi = tmp_path / "faults.mid"
    voices_to_score(voices).dump_midi(str(midi))
    assert faults(check_file(midi)) == set(expected)

    from music21 import chord, meter, stream  # MusicXML: one part per voice, with a pickup beat

    score = stream.Score()
    rows = [["E5", "G4", "C4", "C3"], ["E5", "G4", "C4", "C3"], ["F5", "F4", "D4", "D3"]]
    for v, name in enumerate(SATB):
        part = stream.Part()
        part.partName = name
        pickup = stream.Measure(number=0)
        pickup.append(meter.TimeSignature("4/4"))
        pickup.append(chord.Chord([rows[0][v].replace("b", "-")], quarterLength=1))
        pickup.paddingLeft = 3.0
        full = stream.Measure(number=1)
        for row in rows[1:]:
            full.append(chord.Chord([row[v]], quarterLength=1))
        full.append(chord.Chord([rows[-1][v]], quarterLength=2))
        part.append([pickup, full])
        score.insert(0, part)
    xml = tmp_path / "exercise.musicxml"
    score.write("musicxml", fp=str(xml))
    report = check_file(xml)
    assert ("parallel_octaves", 1, 2.0, ("Tenor", "Bass")) in faults(report)  # bar numbers as the score's
    loaded, _ = load_voices(xml)
    assert loaded.first_bar == 0 and loaded.names == list(SATB)


def test_fix_removes_inner_faults_and_keeps_outer_voices():
    voices = satb([["E5", "G4", "C4", "C3"], ["F5", "A4", "D4", "D3"]])  # parallel 5ths and 8ves
    before = check_voices(voices)
    assert before.count({"parallel_fifths", "parallel_octaves"}) >= 2
    result = fix_voices(voices)
    assert result.after.count({"parallel_fifths", "parallel_octaves"}) == 0
    assert [n.pitch for n in result.voices.parts[0].notes] == [76, 77]  # soprano untouched
    assert [n.pitch for n in result.voices.parts[3].notes] == [48, 50]  # bass untouched
    for k in range(2):  # the harmony is the same
        pcs = lambda vs: {p.notes[k].pitch % 12 for p in vs.parts}  # noqa: E731
        assert pcs(result.voices) == pcs(voices)


def test_fix_says_what_it_could_not_fix():
    voices, _ = planted_faults_voices()
    result = fix_voices(voices)
    assert len(result.after.faults) < len(result.before.faults)
    unfixable = [n for n in result.notes if n.startswith("could not fix")]
    assert len(unfixable) == len(result.after.faults) > 0
    assert any("Soprano" in n for n in unfixable)
    # the outer voices were left alone, so the faults that remain involve them
    assert all(set(f.voices) & {"Soprano", "Bass"} for f in result.after.faults)


def test_fix_bass_may_move_the_bass_by_octaves():
    voices = satb([["E5", "G4", "C4", "C3"], ["E5", "G4", "C4", "C2"]])  # C2 below the bass range
    kept = fix_voices(voices)
    moved = fix_voices(voices, FixOptions(move_bass=True))
    assert kept.after.count({"range"}) == 1
    assert moved.after.count({"range"}) == 0
    assert moved.voices.parts[3].notes[-1].pitch % 12 == 0


def test_fix_file_writes_midi_deterministically(tmp_path: Path):
    voices = satb([["E5", "G4", "C4", "C3"], ["F5", "A4", "D4", "D3"]])
    source = tmp_path / "in.mid"
    voices_to_score(voices).dump_midi(str(source))
    fix_file(source, tmp_path / "a.mid")
    fix_file(source, tmp_path / "b.mid")
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    out = symusic.Score(str(tmp_path / "a.mid"))
    assert [t.name for t in out.tracks] == list(SATB)


def test_a_melody_colour_tone_does_not_make_a_held_voice_a_seventh():
    # C minor held for two beats (tenor G3) while the melody moves G4 -> A4, then the
    # tenor leaps to C4 under F minor: A over C-E-flat-G is a colour tone, not A half-diminished
    lower = [("Eb4", "G3", "C3"), ("Eb4", "G3", "C3"), ("F4", "C4", "F2")]
    voices = satb([[top, *chord] for top, chord in zip(("G4", "A4", "Ab4"), lower)])
    voices = voices.with_parts([voices.parts[0]] + [
        Part(p.name, [VNote(0, 960, p.notes[0].pitch), p.notes[2]]) for p in voices.parts[1:]])
    kinds = {"unresolved_seventh"}
    assert check_voices(voices, CheckOptions(kinds=kinds, key=(0, "minor"))).faults == []
    # a real seventh in an inner voice is still caught: G7 with the alto's F leaping up to A
    real = satb([["D5", "F4", "B3", "G2"], ["C5", "A4", "C4", "F2"]])
    report = check_voices(real, CheckOptions(kinds=kinds, key=(0, "major")))
    assert [(f.kind, f.voices) for f in report.faults] == [("unresolved_seventh", ("Alto",))]
    # and so is one under the chord's root struck with it on top: V6/5 (G5 over F4-D4-B3), F rising
    struck = satb([["G5", "F4", "D4", "B3"], ["G5", "G4", "E4", "C4"]])
    report = check_voices(struck, CheckOptions(kinds=kinds, key=(0, "major")))
    assert [(f.kind, f.voices) for f in report.faults] == [("unresolved_seventh", ("Alto",))]
