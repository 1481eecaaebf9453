"""Which separated voice (lane) carries the melody, read as an orchestrator reads a
piano part: the separator's labels (``separate``: 0 = melody, 1 and 2 = inner
voices, 3 = bass) are adjusted where the sketch says more than the notes alone.

- A sketch's tune on a track of its own stays the melody (``melody_track_leads``).
- A note sounding alone carries the melody (``lone_notes_lead``).
- Where the tune rests for a moment, the melody rests with it rather than take up
  the left hand's octaves and chords (``tune_rests``).
- A break, the left hand alone for a moment while the tune rests (a rag's one-bar run up
  from the bass), is the bass's line, not the melody's (``left_hand_breaks``).
"""

from __future__ import annotations

import numpy as np

from .seating import is_line, joined_at_onset

# a line track (``seating.is_line``) is the sketch's tune when the separator puts this share
# of its notes in the melody (``melody_track_leads``)
LINE_MELODY = 0.2
# ``tune_rests`` (semitones): a melody note struck with a bass this far over it or less is
# the left hand's stroke; strokes lying this far or more under the tune on both sides (a
# fifth: the tune's own dips lie nearer) ...
LEFT_HAND = 12
UNDER_TUNE = 7
# ... and more than this far under it on one side (a tune leaps an octave at most), or
# where the tune rests, holds or comes back around them, are the accompaniment ...
TUNE_LEAP = 12
# ... when the tune is away for less than this many bars: longer, the left hand has the tune
HAND_OVER_BARS = 2
# ``left_hand_breaks``: a break is a run of this many notes or more (one or two notes alone
# before the next phrase are the tune's pickup)
BREAK_NOTES = 3


def lone_notes_lead(notes: np.ndarray, lanes: np.ndarray) -> np.ndarray:
    """A note that sounds alone (a solo line, a pickup before the chords) and was
    separated as an inner voice carries the melody: orchestrate it as the melody.
    (Strict mode keeps the separation as it is: that is the benchmark.)"""
    if not len(notes):
        return lanes
    onsets, ends = notes[:, 0], notes[:, 0] + np.maximum(notes[:, 1], 1)
    sorted_onsets = np.sort(onsets)
    started = np.searchsorted(sorted_onsets, ends, side="left")  # notes starting before each ends
    before = np.searchsorted(sorted_onsets, onsets, side="left")
    # alone: nothing else starts inside it, no other note at its onset, nothing earlier still sounds
    alone = (started - before == 1) & ~joined_at_onset(onsets, ends)
    out = lanes.copy()
    out[alone & ((lanes == 1) | (lanes == 2))] = 0
    return out


def tune_rests(notes: np.ndarray, lanes: np.ndarray, tpq: int, bar: int, fixed: np.ndarray,
               beat: int | None = None) -> np.ndarray:
    """Where the tune rests for a moment, the melody rests (or holds) with it: it does not
    take up the left hand's octaves or chords an octave or two down (a rag's "oom-pah"
    struck in the right hand's rests, which the separator may label as the melody, and
    which the flutes would then double).

    The left hand's strokes are melody notes of a beat or less (``beat`` ticks: a dotted
    quarter in 6/8; a quarter, ``tpq``, when not given) struck with a bass note an octave
    or less under them (``LEFT_HAND``: one hand's reach). A run of them after a
    tune note, each ``UNDER_TUNE`` or more under it, is the accompaniment when it also lies
    that far under the tune note after it, and either the tune rests, holds or comes back
    off the beat around the run, or the run lies more than ``TUNE_LEAP`` under the tune on
    one side (a tune does not leap a fifth down and more than an octave back, note to
    note). Its notes go to the inner voice whose last note lies nearest
    (``_nearest_inner``), and the tune's notes struck over it that the separator pushed
    off the melody (the run's note still sounded) come back to it. Where the tune is away
    for ``HAND_OVER_BARS`` or more, the left hand has the tune (a hand-over) and keeps the
    melody. ``bar``: a bar's length in ticks. ``fixed``: notes whose lane stays (a melody
    track's). Returns the new lanes."""
    out = lanes.copy()
    onsets, pitches = notes[:, 0], notes[:, 2]
    ends = onsets + np.maximum(notes[:, 1], 1)
    tune = np.flatnonzero(lanes == 0)
    bass_under = np.zeros(len(notes), bool)  # struck with a bass note an octave or less under it
    for b in np.flatnonzero(lanes == 3):
        lo, hi = np.searchsorted(onsets, onsets[b], "left"), np.searchsorted(onsets, onsets[b], "right")
        gap = pitches[lo:hi] - pitches[b]
        bass_under[lo:hi] |= (gap > 0) & (gap <= LEFT_HAND)
    beat = tpq if beat is None else beat
    stroke = bass_under & (notes[:, 1] <= beat) & ~fixed  # a cadence's long note is the tune's
    k = 1  # the tune's first note is the tune's
    while k < len(tune):
        prev = tune[k - 1]  # the tune before the run (or struck with it, above it)
        first = k
        while k < len(tune) and stroke[tune[k]] and pitches[prev] - pitches[tune[k]] >= UNDER_TUNE:
            k += 1
        if k == first:
            k += 1
            continue
        run = tune[first:k]
        later = np.flatnonzero(onsets[tune[k:]] > onsets[run[-1]])
        if not len(later):
            continue  # the tune has ended
        after = tune[k + later[0]]
        top, start, stop = int(pitches[run].max()), onsets[run[0]], int(ends[run].max())
        if min(pitches[prev], pitches[after]) - top < UNDER_TUNE:
            continue
        if onsets[after] - ends[prev] >= HAND_OVER_BARS * bar:
            continue  # a hand-over: the left hand has the tune
        rests = ends[prev] + max(1, tpq // 4) <= start  # silent for a sixteenth or more before it
        holds = ends[prev] - tpq // 8 > start  # still sounding over it (a legato overlap forgiven)
        over = np.flatnonzero((onsets > start) & (onsets < min(stop, onsets[after])) & (pitches > top))
        leap = max(pitches[prev], pitches[after]) - top > TUNE_LEAP
        if not (rests or holds or len(over) or leap):
            continue  # the tune goes on from note to note: a leap of its own
        for i in run:
            out[i] = _nearest_inner(notes, out, i)
        for j in over:  # the tune's own notes struck over the run come back to the melody
            highest = pitches[j] == pitches[onsets == onsets[j]].max()
            melody_sounds = ((onsets < onsets[j]) & (ends > onsets[j]) & (out == 0)).any()
            if out[j] in (1, 2) and not fixed[j] and not bass_under[j] and highest and not melody_sounds:
                out[j] = 0
    return out


def _nearest_inner(notes: np.ndarray, lanes: np.ndarray, i: int) -> int:
    """The inner voice (1 or 2) for note ``i`` out of the melody: one no other note struck
    with it has, then the one whose last note before it lies nearest its pitch (2, the
    lower, when neither has sounded)."""
    onset, pitch = notes[i, 0], notes[i, 2]
    with_it = set(lanes[(notes[:, 0] == onset) & (np.arange(len(notes)) != i)].tolist())

    def distance(lane: int) -> float:
        earlier = np.flatnonzero((notes[:, 0] < onset) & (lanes == lane))
        return abs(int(notes[earlier[-1], 2]) - int(pitch)) if len(earlier) else 128.0

    return min((1, 2), key=lambda lane: (lane in with_it, distance(lane), -lane))


def melody_track_leads(notes: np.ndarray, tracks: np.ndarray, lanes: np.ndarray, line: int | None) -> np.ndarray:
    """A sketch's tune on a track of its own stays the melody.

    The track ``line`` (``melody_line``: of the sketch's pitched tracks that are lines,
    the one with the most notes separated as the melody), when there is one, is the melody
    throughout: all its notes in the melody lane, and the other tracks' notes separated
    as the melody while it sounds (a pad's top line) in the upper lane. Where it rests
    the separation stands. The separator's labels, not the pitch, say which line leads:
    a tune may lie under a held pad (the horn of the demo's 1M1). Strict mode too (the
    benchmark's reductions are one track); a single pitched track is left as separated."""
    if line is None:
        return lanes
    onsets, ends = notes[:, 0], notes[:, 0] + np.maximum(notes[:, 1], 1)
    mine = tracks == line
    reach = np.maximum.accumulate(ends[mine])  # the line's notes are in onset order
    starts_before = np.searchsorted(onsets[mine], ends, side="left")  # line notes starting before each ends
    under = (starts_before > 0) & (reach[np.maximum(starts_before - 1, 0)] > onsets)
    out = lanes.copy()
    out[~mine & under & (lanes == 0)] = 1
    out[mine] = 0
    return out


def melody_line(notes: np.ndarray, tracks: np.ndarray, lanes: np.ndarray, tpq: int) -> int | None:
    """The track that is the sketch's tune (``melody_track_leads``), or None: of two
    pitched tracks or more, the line with the most notes separated as the melody, at
    least ``LINE_MELODY`` of its own."""
    if len(np.unique(tracks)) < 2:
        return None
    line, most = None, 0
    for track in np.unique(tracks):
        mine = tracks == track
        melody = int((lanes[mine] == 0).sum())
        if is_line(notes[mine], tpq) and melody >= LINE_MELODY * mine.sum() and melody > most:
            line, most = int(track), melody
    return line


def left_hand_breaks(notes: np.ndarray, lanes: np.ndarray, tracks: np.ndarray, tpq: int, bar: int,
                     fixed: np.ndarray) -> np.ndarray:
    """A break (the left hand alone for a moment while the tune rests: a rag's one-bar run
    up from the bass) is the bass's line, not the melody's: the separator may hand its
    notes to all four lanes, and the melody instruments would play the left hand's run.

    A break is found by the line it continues. It is a stretch where one note is struck at
    a time over nothing but the stretch's own held notes (``_lone_stretches``), begun with
    nothing sounding. The break begins at its first note that lies more than ``TUNE_LEAP``
    under the tune's last note (no tune goes on from there) and in the bass's register, at
    most ``UNDER_TUNE`` over the bass's last note before the stretch, less than a bar after
    that note (a tune alone for longer is a solo line, not a left hand's break). Its notes are, where the sketch has the hands
    on tracks of their own and the stretch begins on another track than the tune's last
    note (voice continuity), the stretch's notes on that track; else (register continuity)
    those lying more than ``UNDER_TUNE`` under the tune before and after the stretch (the
    first melody note after it), and those between two of them a leap or less from each
    (the run's turns), until two notes in a row at the tune's register say the tune is
    back. A break has ``BREAK_NOTES`` or more, one of them in the melody (else the tune's
    pickup, or a break the separator already kept out of the melody, stays as it is), and
    the tune comes back within ``HAND_OVER_BARS`` (else a hand-over: the left hand has the
    tune, and a melody moving into a low register by its own steps never starts a break).

    A break's notes all go to the bass lane, so one instrument plays the run; the notes
    struck over a break note still sounding that the separator pushed off the melody into
    an inner voice (the tune coming back) return to it. ``notes`` rows are by onset;
    ``tracks``: each note's track; ``bar``: a bar's length in ticks; ``fixed``: notes whose
    lane stays (a melody track's: a stretch with one is left alone). Returns the new lanes."""
    out = lanes.copy()
    onsets, pitches = notes[:, 0], notes[:, 2].astype(np.int64)
    ends = onsets + np.maximum(notes[:, 1], 1)
    for stretch in _lone_stretches(onsets, ends, tpq):
        bass_before = np.flatnonzero((onsets < onsets[stretch[0]]) & (out == 3))
        if not len(bass_before) or fixed[stretch].any():
            continue  # a solo line from the start
        bass = bass_before[-1]  # the left hand's last bass note before it played alone
        tune = np.flatnonzero(out[:stretch[-1] + 1] == 0)
        if not len(tune):
            continue
        # the break begins at the first note of the stretch far under the tune's last note struck
        # before it, and in the bass's register
        before = np.searchsorted(onsets[tune], onsets[stretch], "left") - 1
        tune_before = tune[np.maximum(before, 0)]
        begins = np.flatnonzero((before >= 0) & (pitches[tune_before] - pitches[stretch] > TUNE_LEAP)
                                & (pitches[stretch] - pitches[bass] <= UNDER_TUNE)
                                & (onsets[stretch] - ends[bass] < bar))  # the left hand had not stopped
        if not len(begins):
            continue
        prev, stretch = tune_before[begins[0]], stretch[begins[0]:]
        start = stretch[0]
        tune_after = np.flatnonzero((out == 0) & (onsets > onsets[stretch[-1]]))
        if tracks[start] != tracks[prev]:
            run = stretch[tracks[stretch] == tracks[start]]
        elif len(tune_after):
            low = pitches[stretch] < min(pitches[prev], pitches[tune_after[0]]) - UNDER_TUNE
            back = next((k for k in range(len(stretch) - 1) if not low[k] and not low[k + 1]), len(stretch))
            steps = np.abs(np.diff(pitches[stretch])) <= TUNE_LEAP
            # a note between two of the break's, a leap or less from each, is the break's too
            between = np.zeros(len(stretch), bool)
            between[1:-1] = low[:-2] & low[2:] & steps[:-1] & steps[1:]
            run = stretch[:back][(low | between)[:back]]
        else:
            continue  # the tune has ended: a left hand's close
        rest = stretch[~np.isin(stretch, run)]
        comes_back = np.concatenate([rest, tune_after])
        if len(run) < BREAK_NOTES or not (out[run] == 0).any() or not len(comes_back):
            continue
        if onsets[comes_back].min() - ends[prev] >= HAND_OVER_BARS * bar:
            continue  # a hand-over: the left hand has the tune
        out[run] = 3
        for j in rest[(out[rest] == 1) | (out[rest] == 2)]:
            held = run[(onsets[run] < onsets[j]) & (ends[run] > onsets[j])]
            if len(held) and pitches[j] > pitches[held].max():
                out[j] = 0
    return out


def _lone_stretches(onsets: np.ndarray, ends: np.ndarray, tpq: int) -> list[np.ndarray]:
    """Runs of notes (indices; ``onsets`` sorted) that are one line alone: each struck alone
    (no other note within a 32nd of it) while nothing sounds but the note before it, the
    first while nothing sounds at all (a legato overlap of a 32nd forgiven). Runs of two
    notes or more."""
    tick = max(tpq // 8, 1)
    gaps = np.diff(onsets)
    single = np.ones(len(onsets), bool)
    single[1:] &= gaps >= tick
    single[:-1] &= gaps >= tick
    reach = np.maximum.accumulate(ends - tick)  # how far the notes up to each still sound
    nothing = np.concatenate([[True], reach[:-1] <= onsets[1:]])  # nothing sounds at each onset
    only_last = np.concatenate([[True, True], reach[:-2] <= onsets[2:]])  # nothing but the note before it
    runs, i = [], 0
    while i < len(onsets):
        if not (single[i] and nothing[i]):
            i += 1
            continue
        j = i + 1
        while j < len(onsets) and single[j] and only_last[j]:
            j += 1
        if j - i >= 2:
            runs.append(np.arange(i, j))
        i = j
    return runs
