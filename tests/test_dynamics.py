"""Dynamic levels from a sketch's velocities (arrange/dynamics.py)."""

from __future__ import annotations

import numpy as np

from scorefarm.arrange.dynamics import LEVELS, dynamic_levels, loudness_around
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate


def voiced(beats: int, melody: int, chords: int) -> list[tuple[float, float, int, int]]:
    """A piano texture: a tune at ``melody`` over three-note chords at ``chords``, a beat each."""
    notes = []
    for beat in range(beats):
        notes.append((float(beat), 1.0, (72, 74, 76, 77)[beat % 4], melody))
        notes += [(float(beat), 1.0, pitch, chords) for pitch in (55, 60, 64)]
    return notes


def rows(notes) -> np.ndarray:
    return np.array(sorted((int(s * 480), int(d * 480), p, v) for s, d, p, v in notes), dtype=np.int64)


def test_a_voiced_climax_is_marked_by_its_tune():
    # a pianist's forte: the tune at 110 over chords at 60 (their mean, 72.5, is mf)
    levels = dynamic_levels(rows(voiced(16, 110, 60)), 480)
    assert {LEVELS[k] for k in levels} == {"ff"}
    assert loudness_around(rows(voiced(4, 110, 60)), 480, 4.0).tolist() == [110.0] * 16


def test_even_velocities_keep_their_level():
    for velocity, level in ((50, "p"), (80, "mf"), (96, "f")):
        assert {LEVELS[k] for k in dynamic_levels(rows(voiced(8, velocity, velocity)), 480)} == {level}


def test_a_crescendo_in_the_tune_reaches_forte_in_the_orchestra(make_score):
    # four bars p, four bars f in the tune; the chords stay soft throughout
    notes = [n if n[0] < 16 or n[2] < 70 else (n[0], n[1], n[2], 100) for n in voiced(32, 50, 40)]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="full-orchestra"))
    levels = {(p.time // (4 * 480), LEVELS[p.level]) for p in result.placed if p.source >= 0}
    assert {level for bar, level in levels if bar < 3} == {"p"}
    assert {level for bar, level in levels if bar >= 5} == {"f"}  # chords too: the passage is forte


def test_a_held_tune_note_keeps_its_loudness_over_the_chords_under_it():
    # bar 1: the tune in quarters at 70 over chords at 46; bar 2: the tune holds a whole
    # note at 70 while the chords go on: still mp, not the chords' p
    notes = []
    for beat in range(8):
        if beat < 4 or beat == 4:
            notes.append((float(beat), 1.0 if beat < 4 else 4.0, 72 + beat % 4, 70))
        notes += [(float(beat), 1.0, pitch, 46) for pitch in (55, 60, 64)]
    levels = dynamic_levels(rows(notes), 480)
    assert {LEVELS[k] for k in levels} == {"mp"}


def test_a_chord_held_for_bars_does_not_keep_a_quiet_tune_loud():
    # a pedalled chord at 110 held three bars under a tune at 40: loud for its first bar only
    notes = [(0.0, 12.0, pitch, 110) for pitch in (48, 55, 64)]
    notes += [(float(beat), 1.0, 72 + beat % 3, 40) for beat in range(12)]
    levels = dynamic_levels(rows(notes), 480)
    tune = [LEVELS[k] for k, (_, _, pitch, _) in zip(levels, sorted(notes)) if pitch >= 72]
    assert tune[-4:] == ["p"] * 4  # bar 3: the tune's own level (40)
