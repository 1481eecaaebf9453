"""A melody to harmonize: one line out of whatever score was given, cut into beats.

Bad input is dealt with here and said aloud: several tracks or chords become
the top line (the highest note sounding), a melody outside the soprano range
is moved by whole octaves, a score without pitched notes is refused.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import symusic.core

from scorefarm.errors import InputError

from .chords import pitch_name
from .metre import counting_signature_at
from .voices import bar_ticks, beat_length, beats_of, clean_signatures, score_signatures

HARMONIC_RHYTHMS = ("beat", "half-bar", "bar")


class HarmonizeError(InputError):
    """A melody that cannot be harmonized as given."""


@dataclass(frozen=True)
class Slot:
    """One beat of harmony: [start, end) in ticks, and the soprano over it."""

    start: int
    end: int
    sop: int | None  # soprano pitch at the start of the beat (None: a rest)
    sop_long: int  # 0: its note ends inside the beat, 1: lasts the beat, 2: two beats or more
    downbeat: int  # 1 on the first beat of a bar
    sop_low: int | None = None  # the lowest soprano pitch sounding during the beat
    sop_mid: int | None = None  # the soprano pitch sounding half-way through the beat
    beat_in_bar: int = 0  # 0 on the downbeat, then 1, 2, ...


@dataclass
class Melody:
    notes: list[tuple[int, int, int]]  # (start, end, pitch), monophonic
    velocities: list[int]
    tpq: int
    time_signatures: list[tuple[int, int, int]]
    notes_said: list[str]
    # the key signature at the first note, if any: (sharps > 0 or flats < 0, whether it says minor)
    signature: tuple[int, bool] | None = None


def extract_melody(score, soprano_range: tuple[int, int], name: str = "melody") -> Melody:
    """The top line of ``score``, moved by octaves into ``soprano_range`` if needed."""
    if not isinstance(score, symusic.core.ScoreTick):
        score = score.to("tick")
    said: list[str] = []
    tracks = [t for t in score.tracks if t.note_num() > 0]
    drums = [t for t in tracks if t.is_drum]
    pitched = [t for t in tracks if not t.is_drum]
    if drums:
        said.append(f"ignored {len(drums)} drum track(s)")
    raw = sorted(
        ((n.time, n.time + n.duration, n.pitch, n.velocity) for t in pitched for n in t.notes if n.duration > 0),
        key=lambda n: (n[0], -n[2], n[1], n[3]),
    )
    if not raw:
        raise HarmonizeError(
            f"has no pitched notes to harmonize (read {len(score.tracks)} track(s), "
            f"{len(drums)} of them drums); a melody of at least one note is needed",
            name,
        )
    if len(pitched) > 1:
        said.append(f"the score has {len(pitched)} tracks; harmonizing their top line")
    notes, under, chords, chord_notes = _skyline(raw)
    if chords:
        said.append(
            f"the melody has {chords} chord(s) (notes starting together); took the top note of each "
            f"and left out the {chord_notes} note(s) under them"
        )
    if under:
        said.append(f"{under} note(s) sounded under a higher one and were left out of the melody")
    velocities = [n[3] for n in notes]
    notes = _fit_range([n[:3] for n in notes], soprano_range, said)
    first = notes[0][0]
    signatures = [ks for ks in score.key_signatures if ks.time <= first] or list(score.key_signatures)[:1]
    signature = (int(signatures[-1].key), bool(signatures[-1].tonality)) if signatures else None
    return Melody(notes, velocities, score.tpq, clean_signatures(score_signatures(score)), said, signature)


def _skyline(raw: list[tuple[int, int, int, int]]) -> tuple[list[tuple[int, ...]], int, int, int]:
    """Keep the highest note sounding: a note starting under a higher one still
    sounding is dropped; one starting above cuts it. Returns (notes, dropped under
    a held note, chords, notes dropped from those chords)."""
    out: list[list[int]] = []
    dropped = chords = chord_notes = 0
    last_chord_start = None
    for start, end, pitch, velocity in raw:
        if out and out[-1][0] == start:
            chord_notes += 1
            if last_chord_start != start:
                chords += 1
                last_chord_start = start
            continue
        if out and out[-1][1] > start:
            if out[-1][2] > pitch:
                dropped += 1
                continue
            out[-1][1] = start
        out.append([start, end, pitch, velocity])
    return [tuple(n) for n in out if n[1] > n[0]], dropped, chords, chord_notes


def _fit_range(notes, soprano_range, said):
    low, high = soprano_range
    pitches = [p for _, _, p in notes]

    def outside(shift: int) -> int:
        return sum(1 for p in pitches if not low <= p + shift <= high)

    centre = (low + high) / 2
    mid = (min(pitches) + max(pitches)) / 2
    shifts = [12 * k for k in range(-5, 6) if 0 <= min(pitches) + 12 * k and max(pitches) + 12 * k <= 127]
    best = min(shifts, key=lambda s: (outside(s), abs(mid + s - centre), abs(s)))
    if outside(0) and best != 0:
        octaves = abs(best) // 12
        said.append(
            f"the melody ({pitch_name(min(pitches))}-{pitch_name(max(pitches))}) lies outside the soprano "
            f"range {pitch_name(low)}-{pitch_name(high)}; moved it {'up' if best > 0 else 'down'} "
            f"{octaves} octave{'s' if octaves > 1 else ''}"
        )
    else:
        best = 0
    left = outside(best)
    if left:
        said.append(
            f"{left} melody note(s) stay outside the soprano range {pitch_name(low)}-{pitch_name(high)}: the melody "
            f"spans {pitch_name(min(pitches) + best)}-{pitch_name(max(pitches) + best)} and no octave shift fits it all"
        )
    return [(s, e, p + best) for s, e, p in notes]


def beat_grid(melody: Melody) -> list[tuple[int, int, int, int]]:
    """(start, end, downbeat, beat in bar) of every beat (``voices.beats_of``) from the first
    note's beat to the last note's end."""
    first = melody.notes[0][0]
    end = max(e for _, e, _ in melody.notes)
    return [(start, stop, int(index == 0), index)
            for start, stop, index in beats_of(melody.time_signatures, melody.tpq, end) if stop > first]


def melody_slots(melody: Melody) -> list[Slot]:
    """The melody cut into beats; a beat starting in a rest takes the first note inside it.
    The melody's last note starting inside a beat (a jig's final tonic on the beat's second
    eighth) cuts that beat in two, so that the last note has a chord of its own."""
    slots: list[Slot] = []
    notes = melody.notes
    final = notes[-1][0]
    for start, end, downbeat, beat_in_bar in beat_grid(melody):
        if start < final < end:
            slots.append(_slot(notes, start, final, downbeat, beat_in_bar))
            slots.append(_slot(notes, final, end, 0, beat_in_bar))
        else:
            slots.append(_slot(notes, start, end, downbeat, beat_in_bar))
    while slots and slots[-1].sop is None:
        slots.pop()
    return slots


def _slot(notes, start: int, end: int, downbeat: int, beat_in_bar: int) -> Slot:
    """The soprano over [start, end), a beat or part of one."""
    j = bisect.bisect_right(notes, (start, 1 << 62, 1 << 62))  # notes starting at or before ``start``
    j = j - 1 if j and notes[j - 1][1] > start else j
    if j >= len(notes) or notes[j][0] >= end:
        return Slot(start, end, None, 0, downbeat, beat_in_bar=beat_in_bar)
    note = notes[j]
    remaining = note[1] - max(start, note[0])
    step = end - start
    sop_long = 2 if remaining >= 2 * step else (1 if remaining >= step else 0)
    inside = notes[j:bisect.bisect_left(notes, (end,))]  # the notes sounding from ``start`` or struck before ``end``
    low = min(n[2] for n in inside)
    middle = start + step // 2
    mid = next((n[2] for n in inside if n[0] <= middle < n[1]), None)
    return Slot(start, end, note[2], sop_long, downbeat, low, mid, beat_in_bar)


def _half_bar_starts(beats: int) -> set[int]:
    """Where a bar of ``beats`` beats splits in two: 2+2 in 4/4, 3+2 in 5/4, 3+3 in 6/4 and
    12/8, each beat in 2/4 and 6/8; a bar of three (3/4, 9/8) or one is not split."""
    if beats in (1, 3):
        return {0}
    return {0, (beats + 1) // 2}


def chord_spans(melody: Melody, slots: list[Slot], rhythm: str) -> list[list[int]]:
    """The beats (indices into ``slots``) grouped into the spans that keep one chord: a
    chord on every beat (``"beat"``), every bar (``"bar"``) or every half bar
    (``"half-bar"``). A span never crosses a bar line; an upbeat is grouped as the end
    of its bar would be (three beats before a 4/4 bar: one, then two). Cadences
    quicken the rhythm: a phrase's last melody note (the melody's last, or one before
    a rest) starts a span of its own, and the beat before it gets a chord of its own
    too (V on the last beat of a 3/4 bar before I); the melody's last note keeps one
    chord to the end."""
    if rhythm not in HARMONIC_RHYTHMS:
        raise HarmonizeError(f"unknown harmonic rhythm {rhythm!r}; allowed: {', '.join(HARMONIC_RHYTHMS)}")
    sigs = melody.time_signatures
    spans: list[list[int]] = []
    for i, slot in enumerate(slots):
        num, den = counting_signature_at(sigs, melody.tpq, slot.start)
        beats = max(1, bar_ticks(melody.tpq, num, den) // beat_length(melody.tpq, num, den))
        starts = _half_bar_starts(beats) if rhythm == "half-bar" else {0}
        if not spans or rhythm == "beat" or slot.downbeat or slot.beat_in_bar in starts:
            spans.append([i])
        else:
            spans[-1].append(i)
    if rhythm == "beat":
        return spans
    spans = _quicken_cadences(spans, _phrase_ends(melody, slots))
    final = last_note_beat(melody, slots)
    last = next(k for k in range(len(spans) - 1, -1, -1) if spans[k][0] <= final)
    return spans[:last] + [[i for span in spans[last:] for i in span]]  # the final note keeps its chord


def last_note_beat(melody: Melody, slots: list[Slot]) -> int:
    """The beat where the melody's last note starts."""
    return _beats_of(slots, [melody.notes[-1][0]])[0]


def _beats_of(slots: list[Slot], ticks: list[int]) -> list[int]:
    """The beat (index into ``slots``) each tick falls in."""
    starts = [slot.start for slot in slots]
    return [max(0, bisect.bisect_right(starts, tick) - 1) for tick in ticks]


def _phrase_ends(melody: Melody, slots: list[Slot]) -> set[int]:
    """The beats where a phrase's last note starts: the melody's last note, and each
    note followed by a silent beat."""
    note_starts = [start for start, _, _ in melody.notes]
    finals = {melody.notes[-1][0]}
    for i in range(1, len(slots)):
        if slots[i].sop is None and slots[i - 1].sop is not None:
            finals.add(note_starts[bisect.bisect_left(note_starts, slots[i].start) - 1])
    return set(_beats_of(slots, sorted(finals)))


def _quicken_cadences(spans: list[list[int]], ends: set[int]) -> list[list[int]]:
    """``spans`` split so that each phrase end, and the beat before it, starts a span."""
    cuts = {i for end in ends for i in (end, end - 1)}
    out: list[list[int]] = []
    for span in spans:
        out.append([span[0]])
        for i in span[1:]:
            if i in cuts:
                out.append([i])
            else:
                out[-1].append(i)
    return out


def join_slots(beats: list[Slot]) -> Slot:
    """One slot spanning ``beats``: its soprano is the first note sounding in it, its
    lowest soprano pitch the lowest of all of them."""
    first = beats[0]
    head = next((b for b in beats if b.sop is not None), first)
    lows = [b.sop_low for b in beats if b.sop_low is not None]
    return Slot(first.start, beats[-1].end, head.sop, head.sop_long, first.downbeat, min(lows) if lows else None,
                head.sop_mid, first.beat_in_bar)
