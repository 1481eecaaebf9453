"""The melody lane across the tune's rests: the left hand's octaves are not the tune."""

from __future__ import annotations

import numpy as np
import pytest

from scorefarm.arrange.lanes import left_hand_breaks, tune_rests
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


# Bars 5-8 of the Maple Leaf Rag and bar 9's first beat (music21 corpus), 2/4: in bar 7 the
# right hand rests and the left hand plays its one-bar break alone, a run up from A flat 1,
# and the right hand comes back on A flat 4 in bar 8 over the run's last A flat 3.
RAG_RIGHT = [(0.25, 0.25, 75), (0.25, 0.25, 63), (0.75, 0.25, 68), (1.0, 0.25, 71), (1.25, 0.25, 76),
             (1.25, 0.25, 64), (1.75, 0.25, 75), (1.75, 0.25, 63), (2.25, 0.25, 75), (2.25, 0.25, 63),
             (2.75, 0.25, 68), (3.0, 0.25, 71), (3.25, 0.25, 76), (3.25, 0.25, 64), (3.75, 0.25, 75),
             (3.75, 0.25, 63), (6.75, 0.25, 68), (7.0, 0.25, 71), (7.25, 0.25, 80), (7.75, 0.25, 80),
             (8.0, 0.25, 83), (8.25, 0.25, 92), (8.5, 0.5, 92), (8.5, 0.5, 80)]
RAG_LEFT = [(0.0, 0.5, 51), (0.0, 0.5, 39), (0.5, 1.0, 52), (0.5, 1.0, 40), (1.5, 0.5, 51), (1.5, 0.5, 39),
            (2.0, 0.5, 51), (2.0, 0.5, 39), (2.5, 1.0, 52), (2.5, 1.0, 40), (3.5, 0.5, 51), (3.5, 0.5, 39),
            (4.5, 0.5, 32), (4.75, 0.25, 44), (5.0, 0.25, 47), (5.25, 0.25, 56), (5.5, 0.5, 44),
            (5.75, 0.25, 56), (6.0, 0.25, 59), (6.25, 0.25, 68), (6.5, 0.5, 56), (7.5, 0.5, 68),
            (8.5, 0.5, 71), (8.5, 0.5, 68), (8.5, 0.5, 65), (8.5, 0.5, 62)]
RAG_BREAK = [note for note in RAG_LEFT if 4.5 <= note[0] <= 6.5]  # bar 7 and bar 8's first beat


def rag(make_score, hands: str):
    if hands == "one track":
        return make_score([(*note, 80) for note in RAG_RIGHT + RAG_LEFT], time_signature=(2, 4))
    score = make_score([(*note, 80) for note in RAG_RIGHT], time_signature=(2, 4))
    score.tracks.append(make_score([(*note, 80) for note in RAG_LEFT], time_signature=(2, 4)).tracks[0])
    return score


@pytest.mark.parametrize("hands", ["one track", "two tracks"])
def test_a_rags_left_hand_break_is_the_bass_line_not_the_melody(make_score, hands):
    result = orchestrate(rag(make_score, hands), OrchestrateOptions(ensemble="full-orchestra"))
    lane = {(int(n[0]), int(n[2])): int(k) for n, k in zip(result.source_notes, result.lane_of_source)}
    run = [(round(beat * TPQ), pitch) for beat, _, pitch in RAG_BREAK]
    assert [lane[key] for key in run] == [3] * len(run)  # one line, on the bass's instrument
    flutes = [p for p in result.placed if result.ensemble.parts[p.part].instrument.key == "flute"]
    assert flutes and not {(p.doubles.time, p.doubles.pitch) for p in flutes} & set(run)
    melody = {key for key, k in lane.items() if k == 0}
    tops = {}
    for beat, _, pitch in RAG_RIGHT:
        tops[round(beat * TPQ)] = max(pitch, tops.get(round(beat * TPQ), 0))
    if hands == "one track":  # the tune before the break and coming back after it
        assert {(t, p) for t, p in tops.items() if t < 7.5 * TPQ} <= melody
    else:  # the hands say whose notes are whose: the tune is all there (the A flat 5 struck over the
        # left hand's A flat 4 too) and none of the left hand's notes is in it
        assert set(tops.items()) <= melody
        assert not melody & {(round(beat * TPQ), pitch) for beat, _, pitch in RAG_LEFT if beat < 8.5}


def breaks_after(make_score, labelled: list[tuple[float, float, int, int]], hands: list[int] | None = None) -> tuple:
    """``left_hand_breaks`` on notes given with their labels, (beat, beats, pitch, lane) each,
    in 2/4 (each note's track from ``hands``, else one track): (onset beat, pitch) -> lane,
    before and after."""
    score = make_score([(beat, length, pitch, 80) for beat, length, pitch, _ in labelled], time_signature=(2, 4))
    notes, _, _, _ = _collect(score)
    given = {(round(beat * TPQ), pitch): (lane, hand) for (beat, _, pitch, lane), hand in
             zip(labelled, hands or [0] * len(labelled))}
    lanes = np.array([given[(int(n[0]), int(n[2]))][0] for n in notes], np.int8)
    tracks = np.array([given[(int(n[0]), int(n[2]))][1] for n in notes], np.int16)
    out = left_hand_breaks(notes, lanes, tracks, TPQ, BAR, np.zeros(len(notes), bool))
    key = [(int(n[0]) / TPQ, int(n[2])) for n in notes]
    return dict(zip(key, lanes.tolist())), dict(zip(key, out.tolist()))


# a bar of tune over an oom-pah, then the left hand alone (its run labelled all over), then the tune
TUNE = [(0, 0.5, 76, 0), (0.5, 0.5, 79, 0), (1, 0.5, 77, 0), (1.5, 0.5, 76, 0)]
OOM_PAH = oom_pah(0, 36)
RUN = [(2, 0.25, 31, 3), (2.25, 0.25, 43, 2), (2.5, 0.25, 47, 3), (2.75, 0.25, 55, 0), (3, 0.25, 43, 3),
       (3.25, 0.25, 55, 2), (3.5, 0.25, 59, 0), (3.75, 0.25, 67, 0)]
TUNE_BACK = [(4, 0.5, 72, 0), (4.5, 0.5, 76, 0), (5, 1, 79, 0), (5, 0.5, 36, 3), (5, 0.5, 48, 2)]


def test_the_left_hands_break_leaves_the_melody_for_the_bass(make_score):
    before, after = breaks_after(make_score, TUNE + OOM_PAH + RUN + TUNE_BACK)
    moved = {key for key in before if before[key] != after[key]}
    assert moved == {(2.25, 43), (2.75, 55), (3.25, 55), (3.5, 59), (3.75, 67)}
    assert all(after[(beat, pitch)] == 3 for beat, _, pitch, _ in RUN)
    # the hands on two tracks say the same
    labelled = TUNE + OOM_PAH + RUN + TUNE_BACK
    hands = [0] * len(TUNE) + [1] * len(OOM_PAH + RUN) + [0, 0, 0, 1, 1]
    assert breaks_after(make_score, labelled, hands)[1] == after


def test_a_tune_coming_back_over_the_runs_last_note_is_the_melody_again(make_score):
    # the right hand comes back over the run's held last note; the separator put it in an inner voice
    run = RUN[:-1] + [(3.75, 0.75, 55, 3)]
    back = [(4, 0.5, 67, 1), (4.5, 0.5, 72, 0), (5, 1, 79, 0), (5, 0.5, 36, 3), (5, 0.5, 48, 2)]
    hands = [0] * len(TUNE) + [1] * len(OOM_PAH + run) + [0, 0, 0, 1, 1]
    before, after = breaks_after(make_score, TUNE + OOM_PAH + run + back, hands)
    assert after[(4, 67)] == 0 and all(after[(beat, pitch)] == 3 for beat, _, pitch, _ in run)


def later(notes: list[tuple[float, float, int, int]], beats: float) -> list[tuple[float, float, int, int]]:
    return [(beat + beats, length, pitch, lane) for beat, length, pitch, lane in notes]


@pytest.mark.parametrize("case", ["down by step", "a pickup", "a hand-over", "a solo tune", "over the bass"])
def test_a_melody_moving_low_is_not_a_break(make_score, case):
    hands = None
    if case == "down by step":  # the tune goes on alone down in thirds, from the right hand into the left
        left = [(0, 1.5, 36, 3), *OOM_PAH[1:]]  # the bass held into the tune's run
        steps = [(1.5 + k / 8, 0.125, p, 0) for k, p in enumerate([74, 71, 67, 64, 60, 57, 53, 50, 47, 43, 40, 36])]
        labelled = TUNE[:3] + left + steps + TUNE_BACK
        hands = [0] * 3 + [1] * len(left) + [int(p <= 43) for _, _, p, _ in steps] + [0, 0, 0, 1, 1]
    elif case == "a pickup":  # two low notes alone into the next phrase
        labelled = TUNE + OOM_PAH + [(2, 0.5, 43, 0), (2.5, 0.5, 48, 0)] + TUNE_BACK
    elif case == "a hand-over":  # the run goes on for two bars before the tune comes back
        run = [(2 + k / 4, 0.25, p, k % 2 * 3) for k, p in enumerate([31, 43, 47, 55] * 4)]
        labelled = TUNE + OOM_PAH + run + later(TUNE_BACK, 2)
    elif case == "a solo tune":  # alone for a bar, the tune leaps down after its rest
        solo = [(2 + k / 2, 0.5, p, 0) for k, p in enumerate([74, 72, 71, 69])]
        labelled = TUNE + OOM_PAH + solo + later(RUN[:4], 2) + later(TUNE_BACK, 2)
    else:  # the line begins over the bass's register: an inner voice's or the tune's, not the bass's
        labelled = TUNE + OOM_PAH + [(2 + k / 4, 0.25, p, 0) for k, p in enumerate([48, 52, 55, 60])] + TUNE_BACK
    before, after = breaks_after(make_score, labelled, hands)
    assert before == after
