"""The melody lane across the tune's rests: the left hand's octaves are not the tune."""

from __future__ import annotations

import numpy as np
import pytest

from scorefarm.arrange.lanes import tune_rests
from scorefarm.arrange.orchestrate import OrchestrateOptions, _collect, orchestrate

TPQ = 480
BAR = 2 * TPQ  # 2/4, a rag's metre


def lanes_after(make_score, labelled: list[tuple[float, float, int, int]], fixed_pitches=()) -> tuple[dict, dict]:
    """``tune_rests`` on notes given with their labels, (beat, beats, pitch, lane) each:
    (onset beat, pitch) -> lane, before and after."""
    score = make_score([(beat, length, pitch, 80) for beat, length, pitch, _ in labelled], time_signature=(2, 4))
    notes, _, _, _ = _collect(score)
    given = {(round(beat * TPQ), pitch): lane for beat, _, pitch, lane in labelled}
    lanes = np.array([given[(int(n[0]), int(n[2]))] for n in notes], np.int8)
    fixed = np.isin(notes[:, 2], list(fixed_pitches))
    out = tune_rests(notes, lanes, TPQ, BAR, fixed)
    key = [(int(n[0]) / TPQ, int(n[2])) for n in notes]
    return dict(zip(key, lanes.tolist())), dict(zip(key, out.tolist()))


def oom_pah(beat: float, bass: int, chord: tuple[int, ...] = (52, 55, 60)) -> list[tuple[float, float, int, int]]:
    """A bar of a rag's left hand from ``beat``: a bass octave (separated as bass and inner),
    then a chord."""
    return [(beat, 0.5, bass, 3), (beat, 0.5, bass + 12, 2), *[(beat + 1, 0.5, p, 2) for p in chord[:-1]],
            (beat + 1, 0.5, chord[-1], 1)]


def test_the_left_hands_octaves_in_a_rest_of_the_tune_leave_the_melody(make_score):
    tune = [(0, 0.5, 76, 0), (0.5, 0.5, 79, 0), (1, 0.5, 84, 0), (1.5, 0.5, 79, 0),  # then rests a beat
            (2.75, 0.25, 79, 0), (3, 0.5, 84, 0), (3.5, 0.5, 81, 0),
            (4.25, 0.5, 77, 1),  # struck while the left hand's octave held the melody: pushed off it
            (4.75, 0.25, 76, 0), (5, 1, 72, 0)]
    left = oom_pah(0, 36) + [(2, 0.5, 36, 3), (2, 0.5, 48, 0), (2.5, 0.25, 38, 3), (2.5, 0.25, 50, 0)]
    left += [(3, 0.5, 43, 3), (3, 0.5, 55, 2), (4, 0.5, 36, 3), (4, 0.5, 48, 0)] + oom_pah(5, 36)[:2]
    before, after = lanes_after(make_score, tune + left)
    moved = {key for key in before if before[key] != after[key]}
    assert moved == {(2, 48), (2.5, 50), (4, 48), (4.25, 77)}
    assert after[(2, 48)] in (1, 2) and after[(2.5, 50)] in (1, 2) and after[(4, 48)] in (1, 2)
    assert after[(4.25, 77)] == 0  # the tune's own note back in the melody


def test_a_tune_handed_to_the_left_hand_for_a_phrase_stays_the_melody(make_score):
    tune = [(0, 0.5, 76, 0), (0.5, 0.5, 79, 0), (1, 1, 84, 0), (10, 1, 84, 0)]
    # four bars of the tune in left-hand octaves, the right hand silent
    left = [(2 + k / 2, 0.5, pitch, lane) for k, p in enumerate([48, 50, 52, 53, 55, 53, 52, 50] * 2)
            for pitch, lane in ((p - 12, 3), (p, 0))]
    before, after = lanes_after(make_score, tune + left)
    assert before == after


def test_a_tunes_own_leap_down_a_fifth_and_an_octave_back_stays_the_melody(make_score):
    # a chorale's cadence: B4, E4 over an octave bass, then the next phrase from E5, legato
    chorale = [(0, 1, 71, 0), (0, 1, 51, 3), (1, 1, 64, 0), (1, 1, 52, 3), (2, 1, 76, 0), (2, 1, 45, 3)]
    before, after = lanes_after(make_score, chorale)
    assert before == after
    # the same E4 in a rest of the tune (the B4 cut to a dotted eighth) is the left hand's
    before, after = lanes_after(make_score, [(0, 0.75, 71, 0)] + chorale[1:])
    assert after[(1, 64)] in (1, 2)


def test_a_melody_tracks_notes_keep_their_lane(make_score):
    tune = [(0, 0.5, 76, 0), (0.5, 0.5, 79, 0), (1, 0.5, 84, 0), (2.75, 0.25, 79, 0), (3, 0.5, 84, 0)]
    left = [(2, 0.5, 36, 3), (2, 0.5, 48, 0)]
    before, after = lanes_after(make_score, tune + left, fixed_pitches=[48])
    assert before == after


def test_a_stroke_lasts_a_beat_or_less_of_the_metre(make_score):
    # 6/8: the left hand's octave held a dotted quarter in the tune's rest is a stroke (a beat
    # of 6/8); counted in quarters it would be too long for one, and stay the melody
    labelled = [(0, 0.5, 76, 0), (1, 1.5, 36, 3), (1, 1.5, 48, 0), (3, 1, 79, 0)]
    score = make_score([(beat, length, pitch, 80) for beat, length, pitch, _ in labelled], time_signature=(6, 8))
    notes, _, _, _ = _collect(score)
    given = {(round(beat * TPQ), pitch): lane for beat, _, pitch, lane in labelled}
    lanes = np.array([given[(int(n[0]), int(n[2]))] for n in notes], np.int8)
    fixed = np.zeros(len(notes), bool)
    octave = int(np.flatnonzero(notes[:, 2] == 48)[0])
    assert tune_rests(notes, lanes, TPQ, 3 * TPQ, fixed)[octave] == 0  # a quarter's beat: not a stroke
    assert tune_rests(notes, lanes, TPQ, 3 * TPQ, fixed, beat=TPQ * 3 // 2)[octave] in (1, 2)


# Bars 17-20 of Joplin's Maple Leaf Rag (music21 corpus), 2/4: the right hand rests on the
# first beat of bar 18 while the left hand plays its octaves, A and B flat.
RIGHT = [(0.5, 0.25, 63), (0.5, 0.25, 72), (0.75, 0.25, 68), (1.0, 0.5, 63), (1.0, 0.5, 70), (1.5, 0.5, 63),
         (1.5, 0.5, 68), (2.75, 0.25, 79), (3.0, 0.25, 75), (3.0, 0.25, 87), (3.25, 0.25, 79), (3.5, 0.25, 82),
         (3.75, 0.5, 74), (3.75, 0.5, 86), (4.25, 0.25, 79), (4.5, 0.25, 73), (4.5, 0.25, 85), (4.75, 0.25, 79),
         (5.0, 0.25, 82), (5.25, 0.5, 72), (5.25, 0.5, 84), (5.75, 0.25, 75), (6.0, 0.25, 70), (6.0, 0.25, 82),
         (6.25, 0.25, 75), (6.75, 0.25, 72), (7.0, 0.25, 68), (7.0, 0.25, 80), (7.25, 0.25, 72), (7.5, 0.25, 75),
         (7.75, 0.5, 65), (7.75, 0.5, 77)]
LEFT = [(0.0, 0.5, 39), (0.0, 0.5, 51), (0.5, 0.5, 51), (0.5, 0.5, 56), (0.5, 0.5, 60), (1.0, 0.5, 51),
        (1.0, 0.5, 55), (1.0, 0.5, 61), (1.5, 0.5, 56), (1.5, 0.5, 60), (2.0, 0.5, 45), (2.0, 0.5, 57),
        (2.5, 0.25, 46), (2.5, 0.25, 58), (3.0, 0.5, 51), (3.0, 0.5, 55), (3.0, 0.5, 61), (3.5, 0.5, 39),
        (3.5, 0.5, 51), (4.0, 0.5, 51), (4.0, 0.5, 55), (4.0, 0.5, 61), (4.5, 0.5, 46), (4.5, 0.5, 58),
        (5.0, 0.5, 51), (5.0, 0.5, 55), (5.0, 0.5, 61), (5.5, 0.5, 39), (5.5, 0.5, 51), (6.0, 0.5, 43),
        (6.0, 0.5, 55), (6.5, 0.5, 44), (6.5, 0.5, 56), (7.0, 0.5, 51), (7.0, 0.5, 56), (7.0, 0.5, 60),
        (7.5, 0.5, 39), (7.5, 0.5, 51)]


@pytest.mark.parametrize("hands", ["one track", "two tracks"])
def test_the_flutes_do_not_follow_a_rags_left_hand(make_score, hands):
    if hands == "one track":
        score = make_score([(*note, 80) for note in RIGHT + LEFT], time_signature=(2, 4))
    else:
        score = make_score([(*note, 80) for note in RIGHT], time_signature=(2, 4))
        score.tracks.append(make_score([(*note, 80) for note in LEFT], time_signature=(2, 4)).tracks[0])
    result = orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))
    left = {(round(beat * TPQ), pitch) for beat, _, pitch in LEFT}
    melody = {(int(n[0]), int(n[2])) for n in result.source_notes[result.lane_of_source == 0]}
    assert not melody & left
    flutes = [p for p in result.placed if result.ensemble.parts[p.part].instrument.key == "flute"]
    assert flutes and not {(p.doubles.time, p.doubles.pitch) for p in flutes} & left
    # the tune itself is all there: the top note of each of the right hand's onsets
    tops = {}
    for beat, _, pitch in RIGHT:
        tops[round(beat * TPQ)] = max(pitch, tops.get(round(beat * TPQ), 0))
    assert set(tops.items()) <= melody
