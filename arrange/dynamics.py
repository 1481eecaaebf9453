"""Dynamic levels (pp ... ff) from a sketch's velocities.

A note's level comes from the loudest notes of its own track around it
(``loudness_around``: per quarter note the loudest ``LOUDEST`` of the notes sounding,
then a median over half a bar either side), mapped onto the usual notation-program playback
values (``_LEVEL_EDGES``), with hysteresis (``marked_levels``) so that a part's marking
changes about once a bar at most: an accent pattern whose mean sits on an edge between
two levels (84 66 66 in 6/8 is 72, the mp/mf edge) keeps one marking, and its loud
notes are accents (``articulate``, ``percussion.percussion_notes``), not new dynamics.

Why the loudest notes: a pianist voices the tune over the chords, so a reduction's climax
is a melody at 110 over chords at 60. The passage is forte, and the orchestra plays it
forte; the softer chords ask for a lighter orchestration, not a softer marking. Their mean
(about 72, mp/mf) had marked a 12-bar crescendo's peak mf, and the brass that joins from
f never came in. A track of even velocities gets the same level either way.
"""

from __future__ import annotations

import numpy as np

LEVELS = ("pp", "p", "mp", "mf", "f", "ff")
# velocity -> dynamic level: the usual notation-program playback values (pp 33 ... ff 112),
# split half-way between neighbours
_LEVEL_EDGES = (40, 56, 72, 88, 104)
# velocity past an edge of _LEVEL_EDGES that changes the dynamic level at once (``marked_levels``):
# an accent pattern averaging on an edge (84/66/66 is 72) keeps one marking
LEVEL_MARGIN = 4
# the share of the notes around a note, loudest first, whose mean velocity sets its dynamic
# (at least one note): one note in four is the tune over three-note chords
LOUDEST = 0.25


def dynamic_levels(notes: np.ndarray, tpq: int, beats_per_bar: float = 4.0,
                   tracks: np.ndarray | None = None) -> np.ndarray:
    """A dynamic level per note from the loudest velocities around it (half a bar either
    side, ``loudness_around``), so one loud accent does not flip the texture, changed
    with hysteresis (``marked_levels``) so a marking lasts about a bar at least. With
    ``tracks`` (a track index per note), only the notes of a note's own track count: a
    sketch's loud brass stays loud over its soft strings."""
    if tracks is None:
        tracks = np.zeros(len(notes), np.int16)
    levels = np.zeros(len(notes), np.int8)
    for track in np.unique(tracks):
        mine = tracks == track
        around = loudness_around(notes[mine], tpq, beats_per_bar)
        levels[mine] = marked_levels(notes[mine], around, int(tpq * beats_per_bar))
    return levels


def velocity_around(notes: np.ndarray, tpq: int, beats_per_bar: float) -> np.ndarray:
    """Per note (rows time, duration, pitch, velocity, by onset), the mean velocity of
    the notes within a bar either side."""
    from .articulate import windowed_mean

    return windowed_mean(notes[:, 0], notes[:, 3].astype(np.float64), int(tpq * beats_per_bar))


def loudness_around(notes: np.ndarray, tpq: int, beats_per_bar: float) -> np.ndarray:
    """Per note (rows time, duration, pitch, velocity, by onset), how loud the music is
    there: in each quarter note, the mean velocity of the loudest ``LOUDEST`` of the notes
    sounding in it, struck there or held into it for up to a bar (at least one: a tune's
    held note keeps its loudness over the chords struck under it; a pedalled chord held for
    bars does not keep a quiet tune loud); then, per note, the median of that
    over the quarters that sound within half a bar either side. A median keeps a sudden
    change where it happens (p to f on the bar line, not a ramp across the bar before)
    and passes over a lone accent."""
    if not len(notes):
        return np.zeros(0)
    step = max(tpq, 1)
    first = notes[:, 0] // step
    last = np.maximum(notes[:, 0] + np.maximum(notes[:, 1], 1) - 1, notes[:, 0]) // step
    last = np.minimum(last, first + max(1, int(np.ceil(beats_per_bar))) - 1)  # held for a bar at most
    sounding: dict[int, list[float]] = {}
    for a, b, velocity in zip(first.tolist(), last.tolist(), notes[:, 3].tolist()):
        for quarter in range(a, b + 1):
            sounding.setdefault(quarter, []).append(float(velocity))
    slots = np.array(sorted(sounding))
    loud = np.empty(len(slots))
    for k, quarter in enumerate(slots.tolist()):
        heard = np.sort(sounding[quarter])
        loud[k] = heard[-max(1, int(np.ceil(LOUDEST * len(heard)))):].mean()
    reach = max(1, int(round(beats_per_bar / 2)))
    lo = np.searchsorted(slots, slots - reach, side="left")
    hi = np.searchsorted(slots, slots + reach, side="right")
    smooth = np.array([np.median(loud[a:b]) for a, b in zip(lo.tolist(), hi.tolist())])
    return smooth[np.searchsorted(slots, first)]


def marked_levels(notes: np.ndarray, mean_velocity: np.ndarray, bar: int) -> np.ndarray:
    """A level per note of one track or part (rows time, duration, ...; by onset) from
    the velocity around it, with hysteresis. The level moves to a note's own
    (``_LEVEL_EDGES``) only when that velocity is ``LEVEL_MARGIN`` past the edge, or when
    it lasts a bar (``bar`` ticks): no note struck within the bar is back at the old
    level, and the track goes on (or still sounds) to the bar's end. A velocity hovering
    on an edge keeps one marking; a loud note is an accent (``articulate``,
    ``percussion.percussion_notes``), not a new dynamic."""
    own = np.searchsorted(_LEVEL_EDGES, mean_velocity, side="right")
    levels = own.astype(np.int8)
    if not len(own):
        return levels
    clear_up = np.searchsorted(_LEVEL_EDGES, mean_velocity - LEVEL_MARGIN, side="right")
    clear_down = np.searchsorted(_LEVEL_EDGES, mean_velocity + LEVEL_MARGIN, side="right")
    onsets = notes[:, 0]
    bar_ends = np.searchsorted(onsets, onsets + max(bar, 1), side="left")
    # the track goes on past the bar from each note: a later note, or a note still sounding
    goes_on = (bar_ends < len(onsets)) | (int((onsets + notes[:, 1]).max()) >= onsets + bar)
    level = int(own[0])
    for k, (mine, bar_end) in enumerate(zip(own.tolist(), bar_ends.tolist())):
        if mine > level and (clear_up[k] > level or goes_on[k] and own[k:bar_end].min() > level):
            level = mine
        elif mine < level and (clear_down[k] < level or goes_on[k] and own[k:bar_end].max() < level):
            level = mine
        levels[k] = level
    return levels
