"""The fixer's inner voices as a teacher marks them (``vl_cost.line_penalties``).

The checker does not judge a line, so among re-voicings it finds as good the fixer
prefers the smoother inner voices: a leap beyond a fourth costs, a harsh one (tritone,
seventh, augmented) more, and a leap straight back to its note most; a leap should be
left by a step back. The lines never outweigh the checker: where the smooth re-voicing
leaves more faults than the plain one, the plain one is kept.
"""

from __future__ import annotations

import numpy as np
import pytest

from scorefarm.symbolic.chords import parse_pitch
from scorefarm.symbolic.vl_cost import LineWeights, line_penalties
from scorefarm.symbolic.vl_examples import examples, planted_faults_voices
from scorefarm.symbolic.vl_fix import FixOptions, fault_weight, fix_voices
from scorefarm.symbolic.voices import SATB, Part, VNote, Voices

UNMARKED = LineWeights(leap=0.0, harsh_leap=0.0, leap_return=0.0, unrecovered=0.0, skip_return=0.0)  # the old choice
F4, G4, C5 = 65, 67, 72


def mark(before: int, now: int, after: int, minor_tonic: int = -1, written=None,
         w: LineWeights = LineWeights()) -> float:
    """What one inner voice's move now -> after, having come from ``before``, costs."""
    row = lambda pitch: np.array([[72, pitch, 48]])  # noqa: E731
    moving = np.array([False, True, False])
    given = None if written is None else tuple(np.array([72, p, 48]) for p in written)
    return float(line_penalties(row(before), row(now), row(after), moving, w, minor_tonic, given)[0, 0])


def test_teachers_marks():
    w = LineWeights()
    assert mark(60, 62, 64) == 0  # steps
    assert mark(-1, 60, 65) == 0  # a fourth is no leap to mark
    assert mark(-1, 60, 67) == w.leap  # a fifth is
    assert mark(60, 67, 65) == 0  # left by a step back
    assert mark(60, 67, 69) == mark(60, 67, 67) == w.unrecovered  # left by a step on, or held
    assert mark(F4, C5, F4) == w.leap + w.leap_return  # and straight back: the worst
    assert mark(F4, 70, F4) == w.skip_return  # a fourth and back, a little
    for harsh in (66, 70, 71, 75):  # tritone, minor and major seventh, beyond an octave
        assert mark(-1, 60, harsh) == w.harsh_leap
    assert mark(-1, 60, 72) == w.leap  # the octave is a plain leap


def test_augmented_intervals_in_minor():
    w = LineWeights()
    a_minor = 9
    assert mark(-1, 65, 68, a_minor) == w.harsh_leap  # F4-G#4: the augmented second
    assert mark(-1, 60, 68, a_minor) == w.harsh_leap  # C4-G#4: the augmented fifth
    assert mark(-1, 68, 72, a_minor) == w.harsh_leap  # G#4-C5: the diminished fourth
    assert mark(-1, 65, 68) == 0  # F-Ab is a minor third in a major key
    assert mark(-1, 64, 72) == w.leap  # E4-C5: a minor sixth


def test_the_lines_as_written_are_not_marked():
    assert mark(F4, C5, F4, written=(F4, C5, F4)) == 0
    assert mark(F4, C5, F4, written=(60, C5, F4)) == LineWeights().leap_return  # the figure is the fixer's
    assert mark(F4, C5, F4, written=(F4, G4, F4)) == LineWeights().leap + LineWeights().leap_return


def test_outer_and_held_voices_are_not_judged():
    P, Q = np.array([[72, 65, 48]]), np.array([[84, 72, 36]])
    assert line_penalties(np.array([[60, 60, 60]]), P, Q, np.array([False, False, False]), LineWeights())[0, 0] == 0


def satb(chords: list[list[str]]) -> Voices:
    parts = [Part(name, [VNote(i * 480, (i + 1) * 480, parse_pitch(chord[v])) for i, chord in enumerate(chords)])
             for v, name in enumerate(SATB)]
    return Voices(480, parts, [(0, 4, 4)])


def _quavers(table: dict[str, str], unit: int = 240) -> Voices:
    """Voices from onset:length:pitch per part, in units of ``unit`` ticks (a quaver)."""
    return Voices(480, [Part(name, [VNote(on * unit, (on + length) * unit, pitch)
                                    for on, length, pitch in (map(int, note.split(":")) for note in row.split())])
                        for name, row in table.items()], [(0, 4, 4)])


# BWV 126.6 bar 20 (the music21 corpus), in quavers: the soprano's G5 over the alto's E4 on beat 3 is a wide spacing
BWV126_6_BAR20 = {
    "Soprano": "0:2:77 2:2:76 4:1:79 5:1:77 6:2:76",
    "Alto": "0:1:69 1:1:67 2:1:67 3:1:65 4:1:64 5:1:65 6:2:67",
    "Tenor": "0:1:57 1:1:59 2:4:60 6:2:60",
    "Bass": "0:2:48 2:1:48 3:1:50 4:1:52 5:1:50 6:1:52 7:1:53",
}

# BWV 126.6 bar 26, in semiquavers: the tenor's lower neighbour E3 lies 13 semitones under the alto's F4
BWV126_6_BAR26 = {
    "Soprano": "0:4:69 4:4:71 8:4:72 12:4:71",
    "Alto": "0:2:60 2:1:62 3:1:64 4:4:65 8:6:64 14:1:65 15:1:67",
    "Tenor": "0:6:53 6:1:52 7:1:53 8:2:55 10:2:57 12:4:59",
    "Bass": "0:4:52 4:4:50 8:2:52 10:2:53 12:4:55",
}


def inner_lines(voices: Voices) -> list[list[int]]:
    return [[n.pitch for n in part.notes] for part in voices.parts[1:-1]]


def leaps_and_returns(line: list[int]) -> list[tuple[int, int, int]]:
    return [(a, b, c) for a, b, c in zip(line, line[1:], line[2:]) if abs(b - a) > 5 and c == a]


def test_a_smoother_alto_instead_of_a_leap_and_return():
    # the old choice mended the spacing with the alto's quavers F4-C5-F4 (G4 on the beat, then C5 to avoid
    # octaves with the soprano's F5, then back); the same spacing is mended with G4-C5-G4, no leap beyond a fourth
    voices = _quavers(BWV126_6_BAR20)
    old = fix_voices(voices, FixOptions(lines=UNMARKED))
    new = fix_voices(voices)
    assert inner_lines(old.voices)[0] == [69, 67, 67, F4, C5, F4, G4]
    assert inner_lines(new.voices)[0] == [69, 67, 67, F4, G4, C5, G4]
    assert [f.kind for f in new.before.faults] == ["spacing"]
    assert old.after.faults == new.after.faults == []
    assert not leaps_and_returns(inner_lines(new.voices)[0])


def test_the_lines_never_cost_a_fault_the_plain_choice_fixes():
    # only a seventh up (F3-E4) mends the spacing of bar 26. The smooth choice leaves the E4 by a step down (to
    # D4, a note of the chord) rather than going straight back to F3; with lines weighing more than the fault it
    # would keep the spacing, so the plain choice is kept, F3-E4-F3 and all. (It left it by a fourth, to B3, while
    # the search held the alto's passing E4 over E3-F3 to fall as the seventh of Fmaj7/E, which the checker
    # never asks of a passing note nor of a seventh chord without its fifth off its root.)
    voices = _quavers(BWV126_6_BAR26, unit=120)
    plain = fix_voices(voices, FixOptions(lines=UNMARKED))
    assert [f.kind for f in plain.before.faults] == ["spacing"] and plain.after.faults == []
    assert inner_lines(plain.voices)[1][:3] == [53, 64, 53]
    smooth = fix_voices(voices)
    assert smooth.after.faults == [] and inner_lines(smooth.voices)[1][:3] == [53, 64, 62]
    strict = fix_voices(voices, FixOptions(lines=LineWeights(harsh_leap=1000.0, leap_return=1000.0)))
    assert strict.after.faults == [] and inner_lines(strict.voices) == inner_lines(plain.voices)


@pytest.mark.parametrize("move_bass", [False, True])
@pytest.mark.parametrize("piece", ["planted", "bar20", "bar26"] + [p["name"] for p in examples()["faults"]])
def test_no_more_faults_than_the_plain_choice(piece, move_bass):
    passages = {p["name"]: p["chords"] for p in examples()["faults"]}
    voices = {"planted": lambda: planted_faults_voices()[0], "bar20": lambda: _quavers(BWV126_6_BAR20),
              "bar26": lambda: _quavers(BWV126_6_BAR26, unit=120)}.get(piece, lambda: satb(passages[piece]))()
    smooth = fix_voices(voices, FixOptions(move_bass=move_bass))
    plain = fix_voices(voices, FixOptions(move_bass=move_bass, lines=UNMARKED))
    weight = lambda result: sum(fault_weight(f.kind, FixOptions()) for f in result.after.faults)  # noqa: E731
    assert len(smooth.after.faults) <= len(plain.after.faults)
    assert weight(smooth) <= weight(plain)


def test_the_note_before_is_remembered_across_a_held_note():
    # the alto goes F4 -> C5 or G4 (C5 scores better by itself), holds it while the soprano moves, and comes back
    # to F4: only a programme that remembers the F4 across the held note hears the leap and return
    from scorefarm.symbolic.vl_search import _best_paths
    from scorefarm.symbolic.voicing import Candidates

    def beat(rows: list[list[int]], scores: list[float]) -> Candidates:
        return Candidates(np.zeros(len(rows), dtype=np.int64), np.array(rows), np.array(scores))

    lattice = [beat([[77, F4, 48]], [0.0]), beat([[77, C5, 48], [77, G4, 48]], [0.0, -0.5]),
               beat([[79, C5, 48], [79, G4, 48]], [0.0, 0.0]), beat([[77, F4, 48]], [0.0])]
    starts = [np.array([True] * 3), np.array([False, True, False]), np.array([True, False, False]),
              np.array([True, True, False])]

    def moves(k: int) -> np.ndarray:
        P, Q = lattice[k - 1].pitches, lattice[k].pitches
        held = ~starts[k][1]
        return np.where(held & (P[:, None, 1] != Q[None, :, 1]), -1e6, 0.0)

    def lines(k: int, came_from: np.ndarray) -> np.ndarray:
        return line_penalties(came_from, lattice[k - 1].pitches, lattice[k].pitches,
                              starts[k] & np.array([False, True, False]), returns_only)

    returns_only = LineWeights(leap=0.0, harsh_leap=0.0, leap_return=6.0, unrecovered=0.0, skip_return=0.0)

    smooth, plain = _best_paths(lattice, moves, lines, starts)
    assert plain == [0, 0, 0, 0]  # F4 C5 C5 F4
    assert smooth == [0, 1, 1, 0]  # F4 G4 G4 F4


def test_options_carry_the_line_weights():
    assert FixOptions().lines == LineWeights()
    with pytest.raises(TypeError):
        LineWeights(leaps=1.0)  # a misspelt weight fails loudly
