"""The rhythm a staff is written in: onsets and lengths quantized to eighths-of-a-beat or
sixths-of-a-beat (whichever is nearer), a note stopping just short of the next onset or
eighth written up to it, and the part's notes as one line of chords (``slices``), a note
held while others move going on tied in the chords after it."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction


def quantize(value: float) -> Fraction:
    """``value`` (quarters) on the nearer of the grids of eighths and sixths of a beat."""
    eighth, sixth = Fraction(round(value * 8), 8), Fraction(round(value * 6), 6)
    return eighth if abs(eighth - value) <= abs(sixth - value) else sixth


_LEGATO_GAP = Fraction(1, 4)  # quarters: a shorter gap before the next note is closed in the score
_LEGATO_SHARE = Fraction(3, 4)


def written_length(onset: Fraction, length: Fraction, limit: Fraction) -> Fraction:
    """A note's length in the score, at most ``limit`` (to the next onset): up to the
    next eighth, or to ``limit``, when it stops just short of it."""
    eighth = Fraction(1, 2)
    grid = -((onset + length) // -eighth) * eighth - onset  # the eighth-note grid line after its end
    for target in sorted({limit, grid}):
        if target <= limit and target - length < _LEGATO_GAP and length >= _LEGATO_SHARE * target:
            return target
    return min(length, limit)


def slices(notes: list, tpq: int, end: Fraction, *, hold: bool):
    """A staff's notes as a single line of chords: (start, length, the notes struck there
    (highest first; none where held notes go on alone), (written-pitch key, tie) of each
    note sounding). Each note is quantized (``quantize``), cut at the first later onset of
    its part it does not hold across -- one it reaches less than ``_LEGATO_GAP`` past (a
    player's legato overlap), one on its own pitch, or any, when not ``hold`` (percussion,
    whose group lasts as long as its shortest note) -- and written up to it when it stops just
    short (``written_length``). A note held across later onsets, or longer than the notes
    struck with it, goes on as tied notes in the chords after (a horn holding its note while
    the other horn moves), its tie "start", "continue" or "stop", None for a note in one
    chord; where nothing is held the chords are the notes struck at each onset, as long as
    they sound."""
    groups: dict[Fraction, list] = defaultdict(list)
    for placed in notes:
        groups[quantize(placed.time / tpq)].append(placed)
    onsets = sorted(groups)
    pitches_at = {onset: {p.pitch for p in group} for onset, group in groups.items()}
    spans: dict[tuple[Fraction, int], tuple[Fraction, object]] = {}  # (onset, pitch) -> (stop, note)
    for i, onset in enumerate(onsets):
        group = groups[onset]
        stops = []
        for placed in group:
            length = max(quantize(placed.duration / tpq), Fraction(1, 8))
            limit = next((later for later in onsets[i + 1:] if not hold or later > onset + length - _LEGATO_GAP
                          or placed.pitch in pitches_at[later]), end)
            stops.append(onset + written_length(onset, length, limit - onset))
        if not hold:
            stops = [min(stops)] * len(stops)
        for placed, stop in zip(group, stops):  # a pitch struck twice at one onset: the longer
            if stops and spans.get((onset, placed.pitch), (Fraction(-1),))[0] < stop:
                spans[(onset, placed.pitch)] = (stop, placed)
    starting: dict[Fraction, list] = defaultdict(list)
    for (onset, pitch), (stop, placed) in spans.items():
        starting[onset].append((onset, stop, placed))
    bounds = sorted(set(starting) | {stop for stop, _ in spans.values()})
    sounding: list = []
    for start, stop in zip(bounds, bounds[1:]):
        sounding = [span for span in sounding if span[1] > start] + starting.get(start, [])
        if not sounding:
            continue
        sounding.sort(key=lambda span: span[2].pitch)
        struck = sorted((span[2] for span in starting.get(start, [])), key=lambda p: -p.pitch)
        ties = [(span[2].pitch, None if (span[0], span[1]) == (start, stop) else "start" if span[0] == start
                 else "stop" if span[1] == stop else "continue") for span in sounding]
        yield start, stop - start, struck, ties
