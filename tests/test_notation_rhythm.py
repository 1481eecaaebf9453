"""A staff's notes as one line of chords: a note held while others of its part move goes on,
tied, in the chords after it, instead of being cut at the next onset (the homecoming demo's
full-orchestra score lost a beat or more of 20 of its 128 notes that way)."""

from __future__ import annotations

from fractions import Fraction as F
from types import SimpleNamespace

import music21

from scorefarm.arrange.notation import musicxml_bytes
from scorefarm.arrange.notation_rhythm import slices
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate

TPQ = 480


def _notes(*spec):
    """(onset in beats, length in beats, pitch) -> notes as the orchestration places them."""
    return [SimpleNamespace(time=round(onset * TPQ), duration=round(length * TPQ), pitch=pitch)
            for onset, length, pitch in spec]


def _lines(notes, end=F(4), hold=True):
    return [(start, length, [p.pitch for p in struck], ties)
            for start, length, struck, ties in slices(notes, TPQ, end, hold=hold)]


def test_a_held_note_goes_on_tied_under_the_notes_that_move():
    # C4 held a whole bar while E4 F4 G4 A4 move above it in quarters
    notes = _notes((0, 4, 60), (0, 1, 64), (1, 1, 65), (2, 1, 67), (3, 1, 69))
    assert _lines(notes) == [
        (F(0), F(1), [64, 60], [(60, "start"), (64, None)]),
        (F(1), F(1), [65], [(60, "continue"), (65, None)]),
        (F(2), F(1), [67], [(60, "continue"), (67, None)]),
        (F(3), F(1), [69], [(60, "stop"), (69, None)])]


def test_a_chord_of_unequal_notes_keeps_the_longer_one():
    # a half note and a quarter struck together, then silence: the half note's second beat
    # stays (it was a rest), tied on alone, with nothing struck
    assert _lines(_notes((0, 2, 60), (0, 1, 64))) == [
        (F(0), F(1), [64, 60], [(60, "start"), (64, None)]),
        (F(1), F(1), [], [(60, "stop")])]


def test_a_legato_overlap_and_a_restruck_pitch_cut_the_note():
    # C4 running a tenth of a beat into D4 is cut there (a player's legato); a pitch struck
    # again ends the note before it; percussion keeps a group as long as its shortest note
    assert _lines(_notes((0, 1.1, 60), (1, 1, 62)), end=F(2)) == [
        (F(0), F(1), [60], [(60, None)]), (F(1), F(1), [62], [(62, None)])]
    assert _lines(_notes((0, 2, 60), (1, 1, 60)), end=F(2)) == [
        (F(0), F(1), [60], [(60, None)]), (F(1), F(1), [60], [(60, None)])]
    assert _lines(_notes((0, 2, 36), (0, 1, 42), (1, 1, 42)), end=F(2), hold=False) == [
        (F(0), F(1), [42, 36], [(36, None), (42, None)]), (F(1), F(1), [42], [(42, None)])]


def test_the_score_writes_a_held_note_as_tied_notes_in_its_part(make_score):
    from scorefarm.arrange.placement import Placed

    result = orchestrate(make_score([(beat, 1, 60, 80) for beat in range(8)]),
                         OrchestrateOptions(ensemble="string-quartet"))
    viola = next(i for i, p in enumerate(result.ensemble.parts) if p.instrument.key == "viola")
    result.placed = [p for p in result.placed if p.part != viola]
    # the viola holds C4 for six beats, across the bar line, while it moves in quarters above
    result.placed.append(Placed(0, 6 * 480, 60, 80, viola, -1, "sustained", 3))
    for beat, pitch in enumerate((64, 65, 67, 69, 67, 65, 64, 62)):
        result.placed.append(Placed(beat * 480, 480, pitch, 80, viola, -1, "melody", 3))
    data = musicxml_bytes(result)
    score = music21.converter.parseData(data.decode("utf-8"), format="musicxml")
    staff = next(p for p in score.parts if p.partName == result.ensemble.parts[viola].label)
    held = [(chord.quarterLength, n.tie.type if n.tie else None)
            for chord in staff.recurse().getElementsByClass(music21.chord.Chord) for n in chord if n.pitch.midi == 60]
    assert held == [(1.0, "start")] + [(1.0, "continue")] * 4 + [(1.0, "stop")]
    assert [n.pitch.midi for n in staff.flatten().notes if isinstance(n, music21.note.Note)] == [64, 62]
    for measure in staff.getElementsByClass(music21.stream.Measure):
        assert measure.duration.quarterLength == measure.barDuration.quarterLength


def test_a_short_note_written_onto_the_last_bar_line_gets_a_bar_of_its_own(make_score):
    # two notes of 10 and 8 ticks just before the bar line (ticks 1910 and 1912 of a 4/4 bar)
    # go onto it on the notation's grid: the score runs to the next bar line so they are
    # written, not dropped
    score = make_score([(0, 1, 60, 80), (1, 1, 62, 80)])
    score.tracks[0].notes.append(type(score.tracks[0].notes[0])(1910, 10, 64, 80))
    score.tracks[0].notes.append(type(score.tracks[0].notes[0])(1912, 8, 65, 80))
    result = orchestrate(score, OrchestrateOptions(ensemble="piano"))
    written = music21.converter.parseData(musicxml_bytes(result).decode("utf-8"), format="musicxml")
    pitches = sorted(n.pitch.midi for el in written.flatten().notes for n in (el.notes if el.isChord else [el]))
    assert pitches == sorted(p.pitch for p in result.placed)
    for part in written.parts:
        for measure in part.getElementsByClass(music21.stream.Measure):
            assert measure.duration.quarterLength == measure.barDuration.quarterLength
