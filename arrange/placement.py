"""Placing a reduction's notes on an ensemble's parts.

Every source note goes to a part that can play it: a seated track's notes to its seat's
parts first (``seating``), the others to their lane's part, else the nearest part that
reaches the note, else moved by octaves into the nearest range. Each part plays at most
its ``max_notes`` at once (``Occupancy``); where a part that reaches a note is full, the
note it still holds from before is cut, as an orchestrator shortens a reduction's held
note. A unison already sounding is given to the player sounding it. Afterwards no part
sounds one pitch twice at once (``one_note_per_pitch``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from .catalogue import Ensemble, EnsemblePart
from .seating import Seat


@dataclass
class Placed:
    """One note of the orchestration, at sounding pitch."""

    time: int
    duration: int
    pitch: int
    velocity: int
    part: int  # index into ensemble.parts
    source: int  # index of the source note, -1 for a doubling
    role: str  # melody, upper, lower, bass, figure, sustained, percussion
    level: int  # index into LEVELS
    articulation: str = "sustain"
    program: int = -1  # -1: the part's own program
    doubles: "Placed | None" = field(default=None, repr=False, compare=False)  # a doubling's source note
    # a seated track's note: its seat's parts it may move among (``Seat.movable``); None when unseated
    seat: tuple[int, ...] | None = field(default=None, repr=False, compare=False)
    unisons: list[int] = field(default_factory=list, repr=False, compare=False)  # source notes merged into it


class Occupancy:
    """Notes sounding per part, to respect each part's ``max_notes``; and, once the source
    notes are placed (``place_sources``), the part each plays on (``part_of_source``), for
    the stages that move notes between parts to keep (``players.players_top_down``)."""

    def __init__(self, parts: tuple[EnsemblePart, ...]):
        self.limit = [p.max_notes for p in parts]
        self.spans: list[list[tuple[int, int, int]]] = [[] for _ in parts]  # (start, end, note), by start
        self.longest = [0 for _ in parts]
        self.part_of_source: np.ndarray | None = None

    def free(self, part: int, start: int, end: int) -> bool:
        """Whether one more note fits in ``part`` over [start, end)."""
        spans = self.spans[part]
        lo = bisect.bisect_left(spans, (start - self.longest[part], -1, -1))
        hi = bisect.bisect_left(spans, (end, -1, -1))
        edges = []
        for s, e, _ in spans[lo:hi]:
            if e > start:
                edges += [(max(s, start), 1), (e, -1)]
        if len(edges) // 2 < self.limit[part]:
            return True
        edges.sort()
        count = 0
        for _, step in edges:  # at a shared tick, endings (-1) come before starts
            count += step
            if count >= self.limit[part]:
                return False
        return True

    def take(self, part: int, start: int, end: int, note: int = -1) -> None:
        bisect.insort(self.spans[part], (start, end, note))
        self.longest[part] = max(self.longest[part], end - start)

    def refill(self, part: int, placed: list[Placed]) -> None:
        """Take ``part``'s notes again from ``placed`` (notes moved between parts)."""
        self.spans[part] = sorted((p.time, p.time + max(p.duration, 1), k if p.source >= 0 else -1)
                                  for k, p in enumerate(placed) if p.part == part)
        self.longest[part] = max((end - start for start, end, _ in self.spans[part]), default=0)

    def cut_held(self, part: int, start: int) -> int | None:
        """Shorten the note of ``part`` that began before ``start`` and sounds longest
        past it, so that it ends at ``start``; return that note's index."""
        spans = self.spans[part]
        lo = bisect.bisect_left(spans, (start - self.longest[part], -1, -1))
        hi = bisect.bisect_left(spans, (start, -1, -1))
        held = [(e, k) for k, (s, e, note) in enumerate(spans[lo:hi], lo) if e > start and note >= 0]
        if not held:
            return None
        _, k = max(held)
        s, _, note = spans[k]
        spans[k] = (s, start, note)
        return note


def place_sources(ensemble: Ensemble, occupancy: Occupancy, notes: np.ndarray, seats: list[Seat | None],
                   lane_of: list[int], roles: list[str], levels: np.ndarray) -> tuple[list[Placed], np.ndarray, dict]:
    """Each source note on a part: the notes of seated tracks first, on their seat's
    parts (``_on_seat``); the others, and those their seat cannot play, on their lane's
    part when it can play them, else the nearest part that can (``_place``). Returns
    the placed notes, each source note's part (-1: dropped) and the placement counts."""
    placed: list[Placed] = []
    part_of_source = np.full(len(notes), -1, np.int16)
    counts = dict(moved=0, crowded=0, rerouted=0, cut=0, merged=0, dropped=0, unseated=0)
    occupancy.part_of_source = part_of_source
    playing: dict[tuple[int, int], int] = {}  # (onset, pitch) -> the placed note playing it
    rows = notes.tolist()
    for i in sorted(range(len(rows)), key=lambda k: seats[k] is None):
        onset, duration, pitch, velocity = rows[i]
        end = onset + max(duration, 1)
        part, sounding, reachable = None, pitch, []
        if seats[i] is not None:
            part = _on_seat(ensemble, occupancy, placed, seats[i].parts, pitch, onset, end, counts)
            counts["unseated"] += part is None
        seated = part is not None
        if not seated:
            part, sounding = _place(ensemble, occupancy, lane_of[i], pitch, onset, end)
            if part is None or sounding != pitch:
                # a part that could play the pitch is full: cut the note it still holds
                reachable = _reaching(ensemble, lane_of[i], pitch)
                fits = _cut_to_fit(occupancy, placed, reachable, onset, end, counts)
                if fits is not None:
                    part, sounding = fits, pitch
        if (part is None or sounding != pitch) and (onset, pitch) in playing:
            player = placed[playing[(onset, pitch)]]  # a unison already sounding: one player takes both
            part_of_source[i] = player.part
            player.unisons.append(i)
            counts["merged"] += 1
            continue
        if part is None:
            counts["dropped"] += 1
            continue
        if sounding != pitch:
            counts["crowded" if reachable else "moved"] += 1
        counts["rerouted"] += not seated and part != lane_of[i]
        occupancy.take(part, onset, end, len(placed))
        part_of_source[i] = part
        playing.setdefault((onset, sounding), len(placed))
        placed.append(Placed(onset, duration, sounding, velocity, part, i, roles[i], int(levels[i]),
                             seat=seats[i].movable if seats[i] is not None else None))
    return placed, part_of_source, counts


def _on_seat(ensemble: Ensemble, occupancy: Occupancy, placed: list[Placed], parts: tuple[int, ...],
             pitch: int, start: int, end: int, counts: dict[str, int]) -> int | None:
    """The first of a seat's ``parts`` that reaches ``pitch`` and has room for it, else
    the first that has once the note it holds is cut (``_cut_to_fit``); None if none."""
    reach = [i for i in parts if ensemble.parts[i].instrument.in_range(pitch)]
    free = next((i for i in reach if occupancy.free(i, start, end)), None)
    return free if free is not None else _cut_to_fit(occupancy, placed, reach, start, end, counts)


def _cut_to_fit(occupancy: Occupancy, placed: list[Placed], candidates: list[int], start: int, end: int,
                counts: dict[str, int]) -> int | None:
    """Cut the note each candidate part still holds from before ``start`` (a held note of
    a reduction), as an orchestrator would, until one has room: that part, or None."""
    for candidate in candidates:
        held = occupancy.cut_held(candidate, start)
        if held is not None:
            placed[held].duration = start - placed[held].time
            counts["cut"] += 1
            if occupancy.free(candidate, start, end):
                return candidate
    return None


def _place(ensemble: Ensemble, occupancy: Occupancy, lane_part: int, pitch: int,
           start: int, end: int) -> tuple[int | None, int]:
    """(part, sounding pitch): the lane's part, else the nearest part that can play
    the note, else the note moved by octaves into the nearest range."""
    parts = ensemble.parts
    if parts[lane_part].instrument.in_range(pitch) and occupancy.free(lane_part, start, end):
        return lane_part, pitch
    candidates = sorted(
        (i for i, p in enumerate(parts) if not p.instrument.unpitched),
        key=lambda i: (parts[i].instrument.section != parts[lane_part].instrument.section,
                       abs(parts[i].centre - pitch), i))
    for i in candidates:
        if parts[i].instrument.in_range(pitch) and occupancy.free(i, start, end):
            return i, pitch
    for shift in (12, -12, 24, -24, 36, -36, 48, -48):
        for i in candidates:
            if parts[i].instrument.in_range(pitch + shift) and occupancy.free(i, start, end):
                return i, pitch + shift
    return None, pitch


def _reaching(ensemble: Ensemble, lane_part: int, pitch: int) -> list[int]:
    """The parts that can play ``pitch``, the lane's own first."""
    parts = ensemble.parts
    reach = [i for i, p in enumerate(parts) if not p.instrument.unpitched and p.instrument.in_range(pitch)]
    return sorted(reach, key=lambda i: (i != lane_part, abs(parts[i].centre - pitch)))


def one_note_per_pitch(placed: list[Placed]) -> tuple[list[Placed], int]:
    """No part sounds one pitch twice at once (a MIDI channel has one note per key: the
    first note-off would silence both). Two notes of a part struck together on one
    pitch become one, the source note kept at the longer length; a note still held
    when the part strikes its pitch again is cut there; a doubling of a note merged away
    doubles the note it was merged into. Returns (notes, how many changed)."""
    order = sorted(range(len(placed)), key=lambda k: (placed[k].part, placed[k].pitch, placed[k].time,
                                                       placed[k].source < 0, k))
    gone: set[int] = set()
    into: dict[int, Placed] = {}  # id of a note merged away -> the note it was merged into
    changed = 0
    last: Placed | None = None
    for k in order:
        note = placed[k]
        if last is None or (last.part, last.pitch) != (note.part, note.pitch) or \
                last.time + last.duration <= note.time:
            last = note
            continue
        changed += 1
        if last.time == note.time:
            last.duration = max(last.duration, note.duration)
            gone.add(k)
            into[id(note)] = last
        else:
            last.duration = note.time - last.time
            last = note
    kept = [p for k, p in enumerate(placed) if k not in gone]
    for p in kept:
        if p.doubles is not None and id(p.doubles) in into:
            p.doubles = into[id(p.doubles)]
    return kept, changed


def placement_report(counts: dict[str, int], ensemble: str) -> list[str]:
    said = {
        "moved": "notes outside every instrument of {e!r} moved by octaves",
        "crowded": "notes moved by octaves: the instruments that reach them were all playing their most notes",
        "merged": "unison notes given to the player already sounding that pitch",
        "dropped": "notes NOT placed: every instrument of {e!r} was playing its most notes at once",
        "cut": "held notes shortened to make room for a later note",
        "rerouted": "notes given to a neighbouring instrument (range or notes at once)",
    }
    return [f"{counts[key]} {text.format(e=ensemble)}" for key, text in said.items() if counts[key]]
