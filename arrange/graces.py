"""Grace notes: read from a sketch, put on the parts that play the notes they lead to,
written as grace notes in the score and as short notes just before the beat in the MIDI.

A grace note arrives as a note of no length: music21 writes its note-off first, and
``score_io`` reads it struck at the onset of the note it leads to. Which note that is
(``place_graces``): the next note with a length of its own track at or after its onset,
at most a quarter later; where a chord is struck there, the chord note nearest in pitch
to the grace (the higher of two as near). The notes of no length one track strikes at
one tick before one principal are a group, in the order the track has them. A group is
taken as grace notes only when every note of it lies within an octave of its principal:
music21 writes a chord symbol as a chord of no length too (Monteverdi's madrigals, read
from its corpus, have triads of no length two octaves under the Canto), and those are
no grace notes of the line; they are left out, and said.

Where a grace goes: to every part that plays its principal as the orchestration placed
it -- the part the principal was put on (or the player a unison was given to), and each
part that doubles it in octaves -- moved by the octaves that part's note was moved by, so
the grace keeps its step to the principal in every register. A part whose range does not
reach the grace goes without it there; a principal the orchestration could not place
takes its graces with it. Only source notes and their octave doublings carry graces (a
timpani note under the bass doubles no note). Grace notes of a drum kit (flams) are left
as the sketch has them, notes of no length on the kit's track or its percussion part.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

GRACE_REACH = 12  # semitones: every grace of a group lies within an octave of its principal
# A grace sounds this long in the MIDI, at most a 32nd note: quick, as players take an
# acciaccatura, yet long enough for a sample library's note to speak.
GRACE_SECONDS = 0.06


@dataclass
class Grace:
    """One grace note on one part, at sounding pitch."""

    part: int  # index into ensemble.parts
    pitch: int
    order: int  # its place in the group before the principal (0 first)
    group: int  # how many graces the group has
    principal: object = field(repr=False, compare=False)  # the Placed note it leads to


def place_graces(ensemble, score, notes: np.ndarray, tracks: np.ndarray, part_of_source: np.ndarray,
                 placed: list) -> tuple[list[Grace], list[str]]:
    """The grace notes of ``score`` (its pitched tracks' notes of no length) on the parts
    that play their principals (``notes``/``tracks``: the source notes with a length and
    their tracks, ``part_of_source`` where each went, ``placed`` the orchestration's notes
    once final). Returns the graces, in a fixed order, and the report's lines."""
    tpq = score.tpq
    own = {p.source: p for p in placed if p.source >= 0}
    doubled: dict[int, list] = defaultdict(list)
    at: dict[tuple[int, int], list] = defaultdict(list)  # (part, onset) -> the notes struck there
    for p in placed:
        at[(p.part, p.time)].append(p)
        if p.doubles is not None:
            doubled[id(p.doubles)].append(p)
    out: list[Grace] = []
    missed: Counter = Counter()
    written = 0
    for track, onset, group in _groups(score):
        principal = _principal(notes, tracks, track, onset, group[-1], tpq)
        if principal is None or any(abs(pitch - notes[principal, 2]) > GRACE_REACH for pitch in group):
            missed["far"] += len(group)
            continue
        source = _placed_source(own, at, principal, notes, part_of_source)
        if source is None:
            missed["dropped"] += len(group)
            continue
        for target in [source] + doubled.get(id(source), []):
            shift = target.pitch - int(notes[principal, 2])
            if shift % 12:
                continue
            instrument = ensemble.parts[target.part].instrument
            reach = [instrument.in_range(pitch + shift) for pitch in group]
            if target is source:
                written += sum(reach)
                missed["range"] += len(group) - sum(reach)
            out += [Grace(target.part, pitch + shift, k, len(group), target)
                    for k, (pitch, fits) in enumerate(zip(group, reach)) if fits]
    unique = {(g.part, g.principal.time, g.order, g.pitch): g for g in out}
    graces = [unique[key] for key in sorted(unique)]
    return graces, _report(ensemble, graces, written, missed)


def _groups(score):
    """(track index, onset, pitches in the track's order) of each group of notes of no
    length that a pitched track strikes at one tick."""
    for index, track in enumerate(score.tracks):
        if track.is_drum or not track.note_num():
            continue
        a = track.notes.numpy()
        zero = np.flatnonzero(a["duration"] == 0)
        zero = zero[np.argsort(a["time"][zero], kind="stable")]
        for onset in np.unique(a["time"][zero]).tolist():
            yield index, onset, [int(p) for p in a["pitch"][zero][a["time"][zero] == onset]]


def _principal(notes: np.ndarray, tracks: np.ndarray, track: int, onset: int, last: int, tpq: int) -> int | None:
    """The source note a group of graces at ``onset`` of ``track`` leads to: the track's next
    note at or after it, at most a quarter later, the one of a chord there nearest ``last``
    (the group's last grace), the higher of two as near. None where there is none."""
    start = int(np.searchsorted(notes[:, 0], onset, side="left"))
    ahead = np.flatnonzero((tracks[start:] == track) & (notes[start:, 0] <= onset + tpq)) + start
    if not len(ahead):
        return None
    first = ahead[notes[ahead, 0] == notes[ahead[0], 0]]
    return int(min(first, key=lambda i: (abs(int(notes[i, 2]) - last), -int(notes[i, 2]))))


def _placed_source(own: dict, at: dict, principal: int, notes: np.ndarray, part_of_source: np.ndarray):
    """The placed note playing source note ``principal``: its own, else (a unison given to
    the player already sounding it, or merged with another note of its part) the note of
    the part it went to struck with it at its pitch or an octave of it. None if dropped."""
    if principal in own:
        return own[principal]
    part = int(part_of_source[principal])
    if part < 0:
        return None
    pitch = int(notes[principal, 2])
    same = [p for p in at.get((part, int(notes[principal, 0])), []) if (p.pitch - pitch) % 12 == 0]
    return min(same, key=lambda p: (abs(p.pitch - pitch), p.pitch)) if same else None


def _report(ensemble, graces: list[Grace], written: int, missed: Counter) -> list[str]:
    lines = []
    if graces:
        by_part = Counter(ensemble.parts[g.part].label for g in graces)
        listing = ", ".join(f"{label} {count}" for label, count in sorted(by_part.items(), key=lambda kv: -kv[1]))
        doubled = f" ({len(graces)} with the parts doubling their notes)" if len(graces) > written else ""
        lines.append(f"{written} grace note(s) written before the notes they lead to{doubled}: {listing}")
    said = {"far": "note(s) of no length left out: no note of their track within a quarter after them and "
                   "an octave of them (a chord symbol as music21 writes one, not a grace note)",
            "dropped": "grace note(s) left out: the note they lead to could not be placed",
            "range": "grace note(s) left out: outside the range of the part playing the note they lead to"}
    lines += [f"{missed[key]} {text}" for key, text in said.items() if missed[key]]
    return lines


# ---------------------------------------------------------------- in the MIDI


def grace_ticks(tempos, tpq: int, tick: int) -> int:
    """How long a grace sounds at ``tick``: ``GRACE_SECONDS`` at the tempo there (120 bpm
    before the first tempo), at most a 32nd note, at least a tick."""
    times = [t.time for t in tempos]
    k = bisect.bisect_right(times, tick) - 1
    qpm = tempos[k].qpm if k >= 0 else 120.0
    return max(1, min(tpq // 8, round(GRACE_SECONDS * qpm / 60 * tpq)))


def sounding_graces(graces: list[Grace], notes: list, tempos, tpq: int):
    """One part's graces as MIDI notes, and what they change in its ``notes`` (Placed).

    A DAW user expects a grace to sound, and the principal on the beat where the rest of
    the orchestra plays it (a doubling in another section, the harmony under it): so the
    graces are played just before the beat, one after another, each ``grace_ticks`` long,
    the last ending on the principal's onset, as a player takes an acciaccatura, and the
    time comes from the note before: a note of the part that would still sound into them
    (one ending by the principal's onset, or one on a grace's own key) is cut where they
    begin. They take at most half the time since the part's last onset, so a short note
    before keeps half its length (before a part's first note, the rest before it). Where
    there is no time before (the principal at the very start, or struck right after
    another), the graces are played on the beat and their principals start after them
    (shorter by as much).

    Returns (graces as (time, duration, pitch, principal), {id(note): its new start},
    {id(note): the latest it may end})."""
    sounding, starts, ends = [], {}, {}
    if not graces:
        return sounding, starts, ends
    onsets = sorted({n.time for n in notes})
    by_onset: dict[int, list[Grace]] = defaultdict(list)
    for grace in graces:
        by_onset[grace.principal.time].append(grace)
    for onset in sorted(by_onset):
        group = by_onset[onset]
        slots = max(g.group for g in group)
        step = grace_ticks(tempos, tpq, onset)
        k = bisect.bisect_left(onsets, onset)
        room = (onset - onsets[k - 1]) // 2 if k > 0 else onset  # the part's first note: the rest before
        before = room >= slots
        if before:
            step = min(step, room // slots)
            begin = onset - slots * step
        else:
            shortest = min(g.principal.duration for g in group)
            step = max(1, min(step, shortest // (slots + 1)))
            begin = onset
            for g in group:
                starts[id(g.principal)] = onset + slots * step
        for g in group:
            slot = g.order + slots - g.group  # a shorter group ends with the longer ones
            sounding.append((begin + slot * step, step, g.pitch, g.principal))
        keys = {g.pitch for g in group}
        for n in notes:
            end = n.time + n.duration
            if n.time < begin < end and (end <= onset or n.pitch in keys):
                ends[id(n)] = min(ends.get(id(n), begin), begin)
    return sounding, starts, ends


# ---------------------------------------------------------------- in the score


def grace_elements(graces: list[Grace], spell, transposition: int) -> list:
    """The music21 grace notes written before one onset of a part: one grace note (or a
    chord, where the part plays its principal in octaves) per place in the group. A single
    grace is an eighth with a slash (acciaccatura), a group sixteenths under one beam,
    without a slash, as notation programs write them. ``spell``: written MIDI pitch to a
    music21 pitch."""
    from music21 import chord, note

    by_order: dict[int, set[int]] = defaultdict(set)
    for grace in graces:
        by_order[grace.order].add(grace.pitch - transposition)
    single = len(by_order) == 1
    elements = []
    for index, order in enumerate(sorted(by_order)):
        written = [spell(pitch) for pitch in sorted(by_order[order])]
        element = note.Note(written[0]) if len(written) == 1 else chord.Chord(written)
        element.duration.type = "eighth" if single else "16th"
        element = element.getGrace()
        element.duration.slash = single
        if not single:
            where = "start" if index == 0 else "stop" if index == len(by_order) - 1 else "continue"
            element.beams.fill("16th", where)
        elements.append(element)
    return elements
