"""The sketch's drum-kit notes on the ensemble's percussion parts.

Kit notes go to the ensemble's percussion parts by family (kick to the bass drum, snare
to the snare drum, crashes to the cymbals: ``DRUM_FAMILIES``), keeping their GM sounds;
hi-hats, rides and whatever else no part plays stay on the kit's own track. A part's
dynamic follows its strokes' velocities, and a stroke well over them is an accent
(``percussion_notes``).
"""

from __future__ import annotations

import numpy as np

from .catalogue import Ensemble
from .dynamics import marked_levels, velocity_around
from .placement import Placed


# The GM Level 1 percussion key map (notes 35-81) grouped by the orchestral instrument
# that plays them: a kit note goes to the ensemble's part of its family. Hi-hats, ride
# cymbals and Latin percussion are kit sounds with no orchestral part: they stay on the
# drum-kit track.
DRUM_FAMILIES: dict[str, frozenset[int]] = {
    "bass drum": frozenset({35, 36}),
    "snare drum": frozenset({37, 38, 40}),
    "toms": frozenset({41, 43, 45, 47, 48, 50}),
    "cymbal": frozenset({49, 52, 55, 57}),
    "tambourine": frozenset({54}),
    "triangle": frozenset({80, 81}),
}


ACCENT_ABOVE = 16  # velocity over a percussion part's local mean that reads as an accent


def drum_family(note: int) -> str | None:
    return next((family for family, notes in DRUM_FAMILIES.items() if note in notes), None)


def route_drums(ensemble: Ensemble, drums: list, tpq: int, beats_per_bar: float) -> tuple[list[Placed], list]:
    """The kit's notes on the ensemble's percussion parts (the part whose own GM note is
    the same sound first, else the first part of the family), keeping each note's GM
    sound (``percussion_notes``); the notes no part plays stay on their drum tracks
    (emptied tracks dropped)."""
    parts = ensemble.parts
    by_note = {p.instrument.gm_drum_note: i for i, p in reversed(list(enumerate(parts))) if p.instrument.unpitched}
    by_family: dict[str, int] = {}
    for i, p in enumerate(parts):
        family = drum_family(p.instrument.gm_drum_note) if p.instrument.unpitched else None
        if family is not None:
            by_family.setdefault(family, i)
    by_part: dict[int, list] = {}
    left = []
    for track in drums:
        rest = track.copy()
        rest.notes.clear()
        for n in track.notes:
            part = by_note.get(n.pitch, by_family.get(drum_family(n.pitch)))
            if part is None:
                rest.notes.append(n)
            else:
                by_part.setdefault(part, []).append((n.time, n.duration, n.pitch, n.velocity))
        if rest.note_num():
            left.append(rest)
    placed: list[Placed] = []
    for part, strokes in sorted(by_part.items()):
        placed += percussion_notes(strokes, part, tpq, beats_per_bar)
    return placed, left


def percussion_notes(strokes: list[tuple[int, int, int, int]], part: int, tpq: int,
                     beats_per_bar: float) -> list[Placed]:
    """Drum strokes (time, duration, GM note, velocity) as one part's notes: the dynamic
    follows the velocities over a bar either side (as a pitched part's does), and a
    stroke ``ACCENT_ABOVE`` over that is marked as an accent, not a new dynamic."""
    strokes = sorted(strokes)
    if not strokes:
        return []
    rows = np.asarray(strokes, dtype=np.int64)
    around = velocity_around(rows, tpq, beats_per_bar)
    levels = marked_levels(rows, around, int(tpq * beats_per_bar))
    return [Placed(t, d, pitch, v, part, -1, "percussion", int(level),
                   "accent" if v >= mean + ACCENT_ABOVE else "sustain")
            for (t, d, pitch, v), level, mean in zip(strokes, levels, around)]


def drum_report(ensemble: Ensemble, on_parts: list[Placed], left: list) -> str:
    counts: dict[str, int] = {}
    for p in on_parts:
        label = ensemble.parts[p.part].label
        counts[label] = counts.get(label, 0) + 1
    where = [f"{label} {n}" for label, n in counts.items()]
    kit = sum(t.note_num() for t in left)
    if kit:
        where.append(f"drum kit track {kit}")
    return f"{len(on_parts) + kit} drum notes kept as percussion: {', '.join(where)}"
