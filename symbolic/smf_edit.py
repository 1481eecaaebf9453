"""Replacing some notes of a standard MIDI file in its own events.

``compose check --fix`` changes a few notes of a composer's file and must leave the
rest as it was. Written back through symusic, a file loses what symusic does not
keep: the channels (numbered afresh, one per track), a track's program changes
(symusic reads each program of a track as a track of its own, and writes it so),
system-exclusive and text events, names in another encoding than UTF-8. So the
notes are replaced in the file's own track chunks instead: the note-on and note-off
events of each changed note are taken out and the new notes' events put in, on the
same channel, with the same velocity and the same kind of note-off; every other
event, and every track chunk without a changed note, stays byte for byte.

A note of the score (as ``score_io.load_score`` reads it) is found among the file's
events by reading them as symusic does: per track chunk, a note-off ends the oldest
sounding note of its channel and key, and a note no note-off ends is held to its key's
last release after it, or to the end of the file (``smf_read.hanging_offs``). A track of the score is the notes of one
channel of one chunk, or of one program of that channel (symusic reads each program
as a track of its own; the reader may keep a channel that changes program one track,
at the program of its first note): it is matched to the first such group holding the
same notes (start, length, pitch, velocity) at its program, none of them taken. A file
read at a finer resolution than its own (``score_io``'s ``MIN_TPQ``) is matched with its
ticks scaled so. ``replace_notes`` returns None where a track or a note cannot be found
so: the caller then writes the score through symusic.
"""

from __future__ import annotations

import struct
from collections import defaultdict, deque
from dataclasses import dataclass

from .smf_channels import inherited_programs
from .smf_read import chunk, encode_track, read_chunks, release_balance, riff_midi, track_events

_END_OF_TRACK = b"\xff\x2f\x00"

NewNote = tuple[int, int, int]  # (start, end, pitch) in ticks


@dataclass
class _RawNote:
    chunk: int  # which MTrk
    on: int  # index of its note-on among the chunk's events
    off: int  # index of its note-off; -1 where none of its own ends it (``smf_read.hanging_offs``)
    start: int
    end: int
    pitch: int
    velocity: int

    def key(self) -> tuple[int, int, int, int]:
        return self.start, self.end - self.start, self.pitch, self.velocity


def _groups(bodies: list[bytes], name: str, factor: int) -> tuple[list[list[tuple[int, bytes]]], dict[tuple, list]]:
    """Each chunk's events, and the notes (ticks times ``factor``) of each (chunk, channel,
    program) and each (chunk, channel, None) in the order they begin, the groups in the
    order of their first note; a group's program: its channel's when its first note began
    (where the chunk sets none before, the one another chunk sets: ``smf_channels``)."""
    events = [list(track_events(body, name)) for body in bodies]
    file_end = max((chunk_events[-1][0] for chunk_events in events if chunk_events), default=0)
    inherited = inherited_programs(events)
    groups: dict[tuple, list[_RawNote]] = {}
    for at, chunk_events in enumerate(events):
        programs = {channel: program for channel, (_, program) in inherited[at].items()}
        sounding: dict[tuple[int, int], deque] = defaultdict(deque)
        released: dict[tuple[int, int], tuple[int, int]] = {}  # key -> (index, tick) of its last note-off
        began: list[tuple[int, int, _RawNote]] = []
        # a doubled region's copies end with their twin, as ``smf_read.hanging_offs`` reads them
        twin_ended: dict[tuple[tuple[int, int], int], tuple[int, int]] = {}  # (key, tick) -> (index, tick) of a copy's release
        balance = release_balance(chunk_events)  # key -> notes struck less releases
        for index, (tick, raw) in enumerate(chunk_events):
            kind, channel = raw[0] & 0xF0, raw[0] & 0x0F
            if raw[0] >= 0xF0:
                continue
            key = (channel, raw[1]) if len(raw) > 1 else None
            if kind == 0xC0:
                programs[channel] = raw[1]
            elif kind == 0x90 and raw[2] > 0:
                note = _RawNote(at, index, -1, tick * factor, -1, raw[1], raw[2])
                for copy in [copy for copy in sounding[key] if balance[key] > 0 and copy.start != note.start
                             and twin_ended.get((key, copy.start), (-1, 0))[0] > copy.on]:
                    copy.end = twin_ended[(key, copy.start)][1]  # no note-off of its own: ended with its twin
                    sounding[key].remove(copy)
                sounding[key].append(note)
                began.append((channel, programs.get(channel, 0), note))
            elif kind in (0x80, 0x90):
                released[key] = (index, tick)
                if sounding[key]:
                    note = sounding[key].popleft()
                    note.off, note.end = index, tick * factor
                    if balance[key] > 0:
                        twin_ended.setdefault((key, note.start), (index, tick * factor))
        for key, left in sounding.items():
            for copy in left:
                if copy.off < 0 and twin_ended.get((key, copy.start), (-1, 0))[0] > copy.on:
                    copy.end = twin_ended[(key, copy.start)][1]
        first: dict[int, int] = {}
        for channel, program, note in began:
            first.setdefault(channel, program)
            if note.off < 0 and note.end < 0:  # no note-off of its own: ended as the reader ends it
                index, tick = released.get((channel, note.pitch), (-1, file_end))
                note.end = (tick if index > note.on else file_end) * factor
            groups.setdefault((at, channel, None, first[channel]), []).append(note)
            groups.setdefault((at, channel, program, program), []).append(note)
    return events, groups


def _match_tracks(score, groups: dict[tuple, list[_RawNote]]) -> list[tuple | None]:
    """The group (``_groups``) each track of ``score`` was read from: the first holding the
    same notes at the track's program and drum flag, none of them taken by a track before;
    None for a track found in none."""
    taken: set[int] = set()
    found: list[tuple | None] = []
    contents = {group: sorted(n.key() for n in notes) for group, notes in groups.items()}
    for track in score.tracks:
        mine = sorted((n.time, n.duration, n.pitch, n.velocity) for n in track.notes)
        match = next((g for g in groups if g[3] == track.program and (g[1] == 9) == bool(track.is_drum)
                      and contents[g] == mine and not any(id(n) in taken for n in groups[g])), None)
        if match is not None:
            taken |= {id(n) for n in groups[match]}
        found.append(match)
    return found


def replace_notes(data: bytes, score, edits: dict[int, dict[int, list[NewNote]]], name: str) -> bytes | None:
    """``data`` (the MIDI file ``score`` was read from) with, for each track index of
    ``edits``, each of its notes (by index into ``track.notes``) replaced by the new notes
    given, on the old note's channel and with its velocity. None where a changed track or
    note cannot be told among the file's events. A RIFF MIDI file (``.rmi``) comes back as
    the standard MIDI file it wraps."""
    data = riff_midi(data, name)
    if not edits:
        return data
    _, tpq, bodies = read_chunks(data, name)
    if score.tpq % tpq:
        return None
    factor = score.tpq // tpq
    events, groups = _groups(bodies, name, factor)
    homes = _match_tracks(score, groups)
    removed: dict[int, set[int]] = defaultdict(set)
    added: dict[int, list[tuple[int, int, bytes]]] = defaultdict(list)  # chunk -> (tick, order, event)
    for t, changes in sorted(edits.items()):
        home = homes[t]
        if home is None:
            return None
        chunk, channel = home[:2]
        free: dict[tuple, deque] = defaultdict(deque)
        # of two alike notes, one without a note-off of its own goes first: the other's note-off,
        # which may end both (``smf_read.hanging_offs``), then stays
        for note in sorted(groups[home], key=lambda n: n.off >= 0):
            free[note.key()].append(note)
        notes = score.tracks[t].notes
        for i, pieces in sorted(changes.items()):
            old = notes[i]
            candidates = free[(old.time, old.duration, old.pitch, old.velocity)]
            if not candidates or any(tick % factor for piece in pieces for tick in piece[:2]):
                return None
            raw = candidates.popleft()
            removed[chunk] |= {raw.on, raw.off} - {-1}
            off = events[chunk][raw.off][1] if raw.off >= 0 else bytes([0x80 | channel, raw.pitch, 0])
            for start, end, pitch in pieces:
                added[chunk].append((start // factor, 2, bytes([0x90 | channel, pitch, raw.velocity])))
                added[chunk].append((end // factor, 0, bytes([off[0], pitch, off[2]])))
    bodies = list(bodies)
    for chunk in removed.keys() | added.keys():
        bodies[chunk] = _rewrite(events[chunk], removed[chunk], added[chunk])
    return _with_bodies(data, bodies)


def _rewrite(events: list[tuple[int, bytes]], removed: set[int], added: list[tuple[int, int, bytes]]) -> bytes:
    """A chunk's events without ``removed``, with ``added`` (tick, order, event): at one tick the
    new note-offs (order 0) come before the events there, the new note-ons (2) after them."""
    end = max((tick for tick, raw in events if raw == _END_OF_TRACK), default=events[-1][0] if events else 0)
    kept = [(tick, 1, index, raw) for index, (tick, raw) in enumerate(events)
            if index not in removed and raw != _END_OF_TRACK]
    new = [(tick, order, index, raw) for index, (tick, order, raw) in enumerate(added)]
    merged = sorted(kept + new, key=lambda e: e[:3])
    return encode_track([(tick, raw) for tick, _, _, raw in merged], max([end] + [e[0] for e in merged]))


def _with_bodies(data: bytes, bodies: list[bytes]) -> bytes:
    """``data`` with its MTrk chunks' bodies replaced, in order; the header, other chunks and
    any bytes after the last track as they were."""
    (header_len,) = struct.unpack(">I", data[4:8])
    pos = 8 + header_len
    out = [data[:pos]]
    for body in bodies:
        while data[pos:pos + 4] != b"MTrk":  # a chunk of another kind, kept
            (length,) = struct.unpack(">I", data[pos + 4:pos + 8])
            out.append(data[pos:pos + 8 + length])
            pos += 8 + length
        (length,) = struct.unpack(">I", data[pos + 4:pos + 8])
        out.append(chunk(b"MTrk", body))
        pos += 8 + length
    out.append(data[pos:])
    return b"".join(out)
