"""Clefs in the MusicXML score: a passage lying far outside a staff's clef is written in
another its players read, bar by bar (a cello's melody in tenor or treble clef), not a
note or two; the change falls in a rest where there is one."""

from __future__ import annotations

import music21

from scorefarm.arrange.catalogue import instruments
from scorefarm.arrange.notation import musicxml_bytes
from scorefarm.arrange.notation_clefs import bar_clefs, clef_options, ledger_lines
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate


def test_ledger_lines_are_counted_from_each_clefs_staff():
    assert [ledger_lines(p, "treble") for p in (64, 77, 79, 81, 84, 62, 60, 57)] == [0, 0, 0, 1, 2, 0, 1, 2]
    assert [ledger_lines(p, "bass") for p in (43, 57, 59, 60, 64, 67, 40, 36)] == [0, 0, 0, 1, 2, 3, 1, 2]
    assert [ledger_lines(p, "tenor") for p in (50, 64, 67, 71)] == [0, 0, 1, 2]
    assert [ledger_lines(p, "alto") for p in (53, 67, 69, 71, 74, 50, 47)] == [0, 0, 0, 1, 2, 1, 2]


def test_a_passage_takes_another_clef_a_note_does_not():
    catalogue = instruments()
    cello = clef_options(catalogue["cello"])
    assert cello == ("bass", "tenor", "treble")
    low, high = [48, 50, 52, 53], [76, 77, 79, 81]  # C3-F3; E5-A5: four to six ledger lines over bass clef
    # a melody up high for two bars is in treble clef, changed in the silent bar before it and after
    assert bar_clefs(cello, [low, [], high, high, [], low]) == ["bass", "treble", "treble", "treble", "bass", "bass"]
    # without a rest, on the bar that calls for it
    assert bar_clefs(cello, [low, high, high, low]) == ["bass", "treble", "treble", "bass"]
    # one E4 (two ledger lines) or a single high note among low ones: no change
    assert bar_clefs(cello, [low, low + [64], low + [74], low]) == ["bass"] * 4
    # a tune around F4-B4 reads in tenor clef
    assert bar_clefs(cello, [[65, 67, 69, 71]] * 3) == ["tenor"] * 3
    assert bar_clefs(clef_options(catalogue["viola"]), [[79, 81, 83, 84]] * 2) == ["treble"] * 2
    assert clef_options(catalogue["tuba"]) == ("bass",) and clef_options(catalogue["flute"]) == ("treble",)


def test_a_cellos_melody_up_high_is_written_in_treble_clef(make_score):
    from scorefarm.arrange.placement import Placed

    # two bars low, two bars of the tune at C5-G5 (the Maple Leaf Rag's cello in a winds
    # ensemble was written in bass clef, four to seven ledger lines up), two bars low
    result = orchestrate(make_score([(beat, 1, 48, 80) for beat in range(24)]),
                         OrchestrateOptions(ensemble="string-quartet"))
    cello = next(i for i, p in enumerate(result.ensemble.parts) if p.instrument.key == "cello")
    result.placed = [p for p in result.placed if p.part != cello]
    tune = [48, 50, 52, 50] * 2 + [72, 74, 76, 79] * 2 + [48, 52, 55, 52] * 2
    for beat, pitch in enumerate(tune):
        result.placed.append(Placed(beat * 480, 480, pitch, 80, cello, -1, "melody", 3))
    score = music21.converter.parseData(musicxml_bytes(result).decode("utf-8"), format="musicxml")
    staff = next(p for p in score.parts if p.partName == result.ensemble.parts[cello].label)
    clefs = [(c.measureNumber, type(c).__name__) for c in staff.recurse().getElementsByClass(music21.clef.Clef)]
    assert clefs == [(1, "BassClef"), (3, "TrebleClef"), (5, "BassClef")]
    for note in staff.recurse().notes:
        assert ledger_lines(note.pitch.midi, "treble" if 3 <= note.measureNumber < 5 else "bass") <= 1
