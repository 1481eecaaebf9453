"""Which separated voice (lane) carries the melody, read as an orchestrator reads a
piano part: the separator's labels (``separate``: 0 = melody, 1 and 2 = inner
voices, 3 = bass) are adjusted where the sketch says more than the notes alone.

- A sketch's tune on a track of its own stays the melody (``melody_track_leads``).
- A note sounding alone carries the melody (``lone_notes_lead``).
- Where the tune rests for a moment, the melody rests with it rather than take up
  the left hand's octaves and chords (``tune_rests``).
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
        rests = ends[prev] + tpq // 4 <= start  # silent for a sixteenth or more before it
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
