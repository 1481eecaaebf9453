"""Orchestrate a piano reduction for an ensemble.

The reduction's pitched notes are separated into four voices by the learned model
(``separate``: 0 = melody, 1 and 2 = inner voices, 3 = bass). Each voice has a lane:
the ensemble's main section (strings where there are strings) seated top to bottom.
Every source note goes to its lane's part when that part can play it (professional
range, notes at once), else to the nearest part that can, else it is moved by
octaves into the nearest range and reported. That is the whole of ``strict`` mode:
each source note on exactly one instrument, nothing added.

A sketch on several tracks says more than a piano reduction, and three things are read
from its tracks: a track written for an instrument the ensemble has is played by that
instrument's parts, and every line stays on one part (``seating``: the separator alone
would hand a horn tune under a string pad from part to part, and trumpet stabs to the
violas); a tune with a track of its own stays the melody for as long as it plays
(``lanes.melody_track_leads``); and each note's dynamic comes from its own track's
velocities (``dynamic_levels``), so loud brass stays loud over soft strings. A single
pitched track is orchestrated as a reduction.

Without ``strict`` the texture follows the dynamics, as orchestration manuals teach
(Adler, *The Study of Orchestration*, ch. on scoring for full orchestra): the bass in
cellos and basses an octave apart, the melody doubled in octaves by flutes and
oboes from *mp* and by trumpets and horns from *f*, sustained inner notes held by
horns, pads or clarinets, arpeggiated figures doubled by the harp when it is quiet.
Doublings are skipped where an instrument cannot play them (and on the parts a sketch's
track was seated on, which play that track alone, doubling only its notes they could not
play: a bass line's notes under the cello's C, played by the basses, an octave up in the
cellos); source notes never are. The lanes are
first read as an orchestrator reads a piano part: a note sounding alone carries the melody
(``lanes.lone_notes_lead``), where the tune rests for a moment the melody rests with it
rather than take up the left hand's octaves and chords (``lanes.tune_rests``), and the left
hand's break played alone (a rag's run up from the bass) is the bass's line
(``lanes.left_hand_breaks``).
Then ``articulate`` chooses articulations and writes the CC1/CC11 dynamics.

The sketch's drum-kit notes go to the ensemble's percussion parts by family (kick to
the bass drum, snare to the snare drum, crashes to the cymbals: ``DRUM_FAMILIES``),
keeping their GM sounds; hi-hats, rides and whatever else no part plays stay on the
kit's own track.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import symusic

from scorefarm.errors import ScoreError
from scorefarm.symbolic.voices import bar_starts_of, beat_length, score_signatures, signature_at

from .catalogue import Ensemble, EnsemblePart, load_ensemble
from .dynamics import dynamic_levels, marked_levels, velocity_around
from .lanes import left_hand_breaks, lone_notes_lead, melody_line, melody_track_leads, tune_rests
from .seating import Seat, seat_tracks, seating_report

LANES = ("melody", "upper", "lower", "bass")
_MAIN_SECTIONS = ("strings", "choir", "keys", "woodwinds", "brass", "synths")


@dataclass(frozen=True)
class OrchestrateOptions:
    ensemble: str = "full-orchestra"
    strict: bool = False
    ensemble_files: tuple[str, ...] = ()


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


@dataclass
class Orchestration:
    ensemble: Ensemble
    source: symusic.Score  # the reduction as read (tempo map, metre, key signatures)
    source_notes: np.ndarray  # (n, 4) int64: time, duration, pitch, velocity
    track_of_source: np.ndarray  # int16 per source note: its track's index in ``source.tracks``
    lane_of_source: np.ndarray  # int8 per source note: the separated voice
    part_of_source: np.ndarray  # int16 per source note: the part that plays it
    placed: list[Placed]
    drums: list[symusic.core.TrackTick]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _Occupancy:
    """Notes sounding per part, to respect each part's ``max_notes``."""

    def __init__(self, parts: tuple[EnsemblePart, ...]):
        self.limit = [p.max_notes for p in parts]
        self.spans: list[list[tuple[int, int, int]]] = [[] for _ in parts]  # (start, end, note), by start
        self.longest = [0 for _ in parts]

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


def _collect(score: symusic.Score) -> tuple[np.ndarray, np.ndarray, list, int]:
    """The pitched notes (time, duration, pitch, velocity) with each track's sustain pedal
    applied, each note's track index, the drum tracks, and how many notes the pedal
    lengthened."""
    rows, owners, drums, lengthened = [], [], [], 0
    for index, track in enumerate(score.tracks):
        if track.is_drum:
            if track.note_num():
                drums.append(track.copy())
            continue
        if track.note_num():
            a = track.notes.numpy()
            row = np.stack([a["time"], a["duration"], a["pitch"], a["velocity"]], axis=1).astype(np.int64)
            lengthened += _apply_sustain(row, track.controls.numpy())
            rows.append(row)
            owners.append(np.full(len(row), index, np.int16))
    notes = np.concatenate(rows) if rows else np.zeros((0, 4), np.int64)
    tracks = np.concatenate(owners) if owners else np.zeros(0, np.int16)
    order = np.lexsort((-notes[:, 2], notes[:, 0])) if len(notes) else np.zeros(0, np.int64)
    return notes[order], tracks[order], drums, lengthened


def _apply_sustain(notes: np.ndarray, controls: dict) -> int:
    """Lengthen, in place, the notes of one track whose key is released while its sustain
    pedal (CC64 >= 64) is down: each sounds until the pedal is released, but not past the
    next onset of its pitch (a re-struck key cuts it). A pedal never released holds to the
    end of the track's last note. Returns how many notes were lengthened."""
    pedal = controls["number"] == 64
    if not pedal.any():
        return 0
    order = np.argsort(controls["time"][pedal], kind="stable")
    times = controls["time"][pedal][order].astype(np.int64)
    down = controls["value"][pedal][order] >= 64
    was_down = np.concatenate([[False], down[:-1]])
    presses, lifts = times[down & ~was_down], times[~down & was_down]
    if not len(presses):
        return 0
    releases = notes[:, 0] + notes[:, 1]
    if len(lifts) < len(presses):
        lifts = np.append(lifts, max(int(releases.max()), int(presses[-1])))
    held = np.searchsorted(presses, releases, side="right") - 1
    lift = np.where(held >= 0, lifts[np.maximum(held, 0)], 0)
    sustained = (held >= 0) & (releases < lift)
    # the next onset of the same pitch, found in the notes sorted by pitch then time
    span = int(releases.max()) + 2
    keys = np.sort(notes[:, 2] * span + notes[:, 0])
    after = np.searchsorted(keys, notes[:, 2] * span + notes[:, 0], side="right")
    next_key = keys[np.minimum(after, len(keys) - 1)]
    restruck = (after < len(keys)) & (next_key // span == notes[:, 2])
    next_onset = np.where(restruck, next_key - notes[:, 2] * span, lift)
    ends = np.where(sustained, np.maximum(releases, np.minimum(lift, next_onset)), releases)
    notes[:, 1] = ends - notes[:, 0]
    return int((ends > releases).sum())


def reduction_key(notes: np.ndarray) -> tuple[int, str]:
    """The key of the whole reduction (rows time, duration, pitch, velocity): the
    project's key finder over the duration-weighted pitch classes; C major when empty."""
    from scorefarm.symbolic.keyfinding import best_key

    if not len(notes):
        return 0, "major"
    return best_key(np.bincount(notes[:, 2] % 12, weights=notes[:, 1], minlength=12).astype(np.float64))


def _lanes(ensemble: Ensemble) -> list[int]:
    """The part index of each of the four voices, from the ensemble's main section."""
    pitched = [i for i, p in enumerate(ensemble.parts) if not p.instrument.unpitched]
    if not pitched:
        raise ScoreError(f"ensemble {ensemble.name!r} has no pitched instrument to orchestrate for",
                         ensemble.source)
    for section in _MAIN_SECTIONS:
        main = [i for i in pitched if ensemble.parts[i].instrument.section == section]
        if main:
            break
    main.sort(key=lambda i: -ensemble.parts[i].centre)
    if len(main) > 4:
        # The bass is led by the lowest part sounding at its written octave (the cellos, not
        # the basses that double them an octave down; a tuba, not a horn), the three upper
        # voices by the highest parts above it (the fourth part from the top, violas II in an
        # ensemble with divided violas, would take the bass otherwise).
        at_pitch = [i for i in main if not ensemble.parts[i].instrument.sounds_octave_down]
        above = main[:main.index(at_pitch[-1])] if at_pitch else []
        if len(above) >= 3:
            return above[:3] + [at_pitch[-1]]
    if len(main) >= 4:
        return main[:4]
    return [main[round(k * (len(main) - 1) / 3)] for k in range(4)]


def _separate_pinned(separate, notes: np.ndarray, tpq: int, beats_per_bar: float):
    """The separation on one torch thread: float sums in another order (2 threads
    in this process, 1 in a Ray worker) could tip a near-tie and break the farm's
    byte-identical outputs. One thread is fast enough (100 bars in ~0.2 s)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return separate([tuple(map(int, row[:3])) for row in notes], tpq, beats_per_bar=beats_per_bar)
    finally:
        torch.set_num_threads(threads)



def _one_bass_line(ensemble: Ensemble, lanes: np.ndarray, tracks: np.ndarray, seats: dict[int, Seat],
                   lane_parts: list[int]) -> np.ndarray:
    """Where a line without an instrument of its own sits on the bass lane's part (the
    cellos, whose line the basses double an octave below), that line is the bass: the
    notes of the other such lines, seated on the parts above or on another section's
    (``seating._off_the_strings``: a chamber ensemble's horn), that were separated as the
    bass take the lower inner voice. (Five lines struck together fill four voices: the
    separator may put two in the bass, and the basses would double the violas' line too.)"""
    bass = lane_parts[3]
    if not any(seat.parts == (bass,) and not seat.instrument for seat in seats.values()):
        return lanes
    section = ensemble.parts[bass].instrument.section
    above = [t for t, seat in seats.items() if not seat.instrument and seat.parts[0] != bass
             and (seat.parts[0] in lane_parts or ensemble.parts[seat.parts[0]].instrument.section != section)]
    out = lanes.copy()
    out[np.isin(tracks, above) & (lanes == 3)] = 2
    return out


def _roles(notes: np.ndarray, lanes: np.ndarray, tpq: int, beats_per_bar: float) -> list[str]:
    """melody and bass as separated; an inner note is a 'sustained' chord tone when it
    lasts two beats or more, part of a 'figure' when its voice moves in notes of half
    a beat or less through the bar, else the inner voice it was separated into."""
    roles = [LANES[v] for v in lanes]
    bar = tpq * beats_per_bar
    for voice in (1, 2):
        idx = np.flatnonzero(lanes == voice)
        if not len(idx):
            continue
        bars = (notes[idx, 0] // bar).astype(np.int64)
        for b in np.unique(bars):
            members = idx[bars == b]
            short = np.median(notes[members, 1]) <= tpq / 2 and len(members) >= 4
            for i in members:
                if short:
                    roles[i] = "figure"
                elif notes[i, 1] >= 2 * tpq:
                    roles[i] = "sustained"
    return roles


def orchestrate(score: symusic.Score, options: OrchestrateOptions = OrchestrateOptions(),
                name: str | None = None) -> Orchestration:
    """Place every pitched note of ``score`` on the ensemble's instruments."""
    from .separate import separate

    started = time.perf_counter()
    ensemble = load_ensemble(options.ensemble, options.ensemble_files)
    if not isinstance(score, symusic.core.ScoreTick):
        score = score.to("tick")
    tpq = score.tpq
    beats_per_bar = bar_quarters(score)
    notes, tracks, drums, sustained = _collect(score)
    report: list[str] = [f"sustain pedal applied: {sustained} notes lengthened"] if sustained else []
    if not len(notes):
        raise ScoreError("has only drum notes: nothing pitched to orchestrate" if drums
                         else "has no notes to orchestrate", name)
    separation = _separate_pinned(separate, notes, tpq, beats_per_bar)
    separated = separation.labels.astype(np.int8)
    tune = melody_line(notes, tracks, separated, tpq)
    lanes = melody_track_leads(notes, tracks, separated, tune)
    if not options.strict:
        lanes = lone_notes_lead(notes, lanes)
        beat = beat_length(tpq, *signature_at(score_signatures(score), int(notes[0, 0])))
        fixed = tracks == tune if tune is not None else np.zeros(len(notes), bool)
        lanes = tune_rests(notes, lanes, tpq, round(tpq * beats_per_bar), fixed, beat=beat)
        lanes = left_hand_breaks(notes, lanes, tracks, tpq, round(tpq * beats_per_bar), fixed)
    levels = dynamic_levels(notes, tpq, beats_per_bar, tracks)
    lane_parts = _lanes(ensemble)
    names = [track.name for track in score.tracks]
    seats = seat_tracks(ensemble, names, [track.program for track in score.tracks], notes, tracks, lanes,
                        lane_parts, tpq)
    lanes = _one_bass_line(ensemble, lanes, tracks, seats, lane_parts)
    roles = _roles(notes, lanes, tpq, beats_per_bar)
    occupancy = _Occupancy(ensemble.parts)
    seat_of_note = [seats.get(t) for t in tracks.tolist()]
    placed, part_of_source, counts = _place_sources(
        ensemble, occupancy, notes, seat_of_note, [lane_parts[v] for v in lanes], roles, levels)
    report += seating_report(ensemble, names, seats, counts.pop("unseated"))
    report += _placement_report(counts, ensemble.name)
    if not options.strict:
        from .doubling import add_doublings

        # the parts a sketch's track sits on play that track and nothing else: its instrument's
        # parts, and the one part a line without an instrument of its own keeps; they double
        # only the track's notes played off them (the cellos a bass line's notes under their C)
        own = frozenset(i for seat in seats.values() for i in seat.parts)
        away = {i: seat.parts for i, seat in enumerate(seat_of_note)
                if seat is not None and part_of_source[i] not in seat.parts}
        report += add_doublings(ensemble, occupancy, placed, lane_parts, tpq, beats_per_bar, _key_pcs(notes), own,
                                bar_lines(score), away)
    placed, unisons = _one_note_per_pitch(placed)
    if unisons:
        report.append(f"{unisons} notes on an instrument already sounding their pitch: merged when struck "
                      "together, else the held one cut")
    from .articulate import articulate

    articulate(ensemble, placed, score)
    if drums:
        on_parts, drums = _route_drums(ensemble, drums, tpq, beats_per_bar)
        placed += on_parts
        report.append(_drum_report(ensemble, on_parts, drums))
    orchestration = Orchestration(ensemble, score, notes, tracks, lanes, part_of_source, placed, drums, report)
    orchestration.seconds = time.perf_counter() - started
    return orchestration


def _place_sources(ensemble: Ensemble, occupancy: _Occupancy, notes: np.ndarray, seats: list[Seat | None],
                   lane_of: list[int], roles: list[str], levels: np.ndarray) -> tuple[list[Placed], np.ndarray, dict]:
    """Each source note on a part: the notes of seated tracks first, on their seat's
    parts (``_on_seat``); the others, and those their seat cannot play, on their lane's
    part when it can play them, else the nearest part that can (``_place``). Returns
    the placed notes, each source note's part (-1: dropped) and the placement counts."""
    placed: list[Placed] = []
    part_of_source = np.full(len(notes), -1, np.int16)
    counts = dict(moved=0, crowded=0, rerouted=0, cut=0, merged=0, dropped=0, unseated=0)
    playing: dict[tuple[int, int], int] = {}  # (onset, pitch) -> the part playing it
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
            part_of_source[i] = playing[(onset, pitch)]  # a unison already sounding: one player takes both
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
        playing.setdefault((onset, sounding), part)
        placed.append(Placed(onset, duration, sounding, velocity, part, i, roles[i], int(levels[i])))
    return placed, part_of_source, counts


def _on_seat(ensemble: Ensemble, occupancy: _Occupancy, placed: list[Placed], parts: tuple[int, ...],
             pitch: int, start: int, end: int, counts: dict[str, int]) -> int | None:
    """The first of a seat's ``parts`` that reaches ``pitch`` and has room for it, else
    the first that has once the note it holds is cut (``_cut_to_fit``); None if none."""
    reach = [i for i in parts if ensemble.parts[i].instrument.in_range(pitch)]
    free = next((i for i in reach if occupancy.free(i, start, end)), None)
    return free if free is not None else _cut_to_fit(occupancy, placed, reach, start, end, counts)


def _cut_to_fit(occupancy: _Occupancy, placed: list[Placed], candidates: list[int], start: int, end: int,
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


def _route_drums(ensemble: Ensemble, drums: list, tpq: int, beats_per_bar: float) -> tuple[list[Placed], list]:
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


def _drum_report(ensemble: Ensemble, on_parts: list[Placed], left: list) -> str:
    counts: dict[str, int] = {}
    for p in on_parts:
        label = ensemble.parts[p.part].label
        counts[label] = counts.get(label, 0) + 1
    where = [f"{label} {n}" for label, n in counts.items()]
    kit = sum(t.note_num() for t in left)
    if kit:
        where.append(f"drum kit track {kit}")
    return f"{len(on_parts) + kit} drum notes kept as percussion: {', '.join(where)}"


def _one_note_per_pitch(placed: list[Placed]) -> tuple[list[Placed], int]:
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


def _placement_report(counts: dict[str, int], ensemble: str) -> list[str]:
    said = {
        "moved": "notes outside every instrument of {e!r} moved by octaves",
        "crowded": "notes moved by octaves: the instruments that reach them were all playing their most notes",
        "merged": "unison notes given to the player already sounding that pitch",
        "dropped": "notes NOT placed: every instrument of {e!r} was playing its most notes at once",
        "cut": "held notes shortened to make room for a later note",
        "rerouted": "notes given to a neighbouring instrument (range or notes at once)",
    }
    return [f"{counts[key]} {text.format(e=ensemble)}" for key, text in said.items() if counts[key]]


def _place(ensemble: Ensemble, occupancy: _Occupancy, lane_part: int, pitch: int,
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


def bar_lines(score: symusic.Score) -> list[int]:
    """Every bar line of ``score`` in ticks, through its time signatures (a pickup
    written as a short bar is a bar of its own)."""
    return bar_starts_of(score_signatures(score), score.tpq, score.end() + 1)


def bar_quarters(score: symusic.Score) -> float:
    """The length in quarters of the bars that take up most of the score (4 without a time
    signature): a pickup written as a bar of 1/4 does not make every bar a quarter long."""
    lines = bar_lines(score)
    lengths = Counter(b - a for a, b in zip(lines, lines[1:]))
    if not lengths:
        numerator, denominator = signature_at(score_signatures(score), 0)
        return numerator * 4 / denominator
    most = max(lengths.items(), key=lambda kv: (kv[0] * kv[1], kv[0]))[0]
    return most / score.tpq


def _key_pcs(notes: np.ndarray) -> tuple[int, int]:
    """(tonic, dominant) pitch classes of the whole reduction (``reduction_key``):
    timpani are tuned to them."""
    tonic, _ = reduction_key(notes)
    return tonic, (tonic + 7) % 12
