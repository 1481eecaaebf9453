"""One DAW track per instrument, with program changes where its articulation switches.

symusic keeps one program per track (and splits a track at every program change
when it reads a file), so an orchestration is built with one track per instrument
*and* articulation program, all with the instrument's name: "Violins I" at
program 48 and "Violins I" at program 45 (pizzicato). A DAW or a notation program
wants one track per instrument, so ``merge_named_tracks`` folds the tracks that
share a name into the first of them, on its channel, and puts a program change
before each note whose program differs from the one sounding. ``score_io`` reads
such a track back as one track (one line) and returns its program changes beside
the score; ``split_programs`` splits it again for a renderer that plays one program
per track.

A General MIDI player has 16 channels, one program each, and channel 10 is the
drum kit. ``assign_channels`` gives every track that plays notes a channel of its
own while there are enough; past 15 pitched tracks, tracks holding one and the
same program share one (Flute 2 on Flute 1's channel: the right sound, though
their CC1/CC11 curves then meet on one channel), and what still does not fit goes
to a second MIDI port (the SMF "MIDI port" meta-event, which DAWs read) rather
than onto a channel playing another instrument. Empty tracks (parts of the
ensemble with nothing to play) take channels only after every sounding track.
"""

from __future__ import annotations

from bisect import bisect_right

import symusic

from .score_io import ProgramChanges
from .smf_read import chunk, encode_track, header, read_chunks, read_vlq, track_events

_END_OF_TRACK_STATUS = b"\xff\x2f"
_DRUM_CHANNEL = 9
_PITCHED_CHANNELS = tuple(c for c in range(16) if c != _DRUM_CHANNEL)


def _track_name(events: list[tuple[int, bytes]], name: str) -> str | None:
    for _, raw in events:
        if raw[:2] == b"\xff\x03":
            length, at = read_vlq(raw, 2, name)
            return raw[at:at + length].decode("latin-1")
    return None


def _program(events: list[tuple[int, bytes]]) -> int:
    return next((raw[1] for _, raw in events if 0xC0 <= raw[0] < 0xD0), 0)


def _channel(events: list[tuple[int, bytes]]) -> int | None:
    return next((raw[0] & 0x0F for _, raw in events if 0x80 <= raw[0] < 0xF0), None)


def _rank(raw: bytes) -> int:
    """Order at one tick: note-offs, then metas and controllers, then notes-on."""
    kind = raw[0] & 0xF0
    if kind == 0x80 or (kind == 0x90 and raw[2] == 0):
        return 0
    return 2 if kind == 0x90 else 1


def merge_named_tracks(data: bytes, name: str = "MIDI data") -> bytes:
    """Fold the tracks (after the conductor) that share a name into one each."""
    fmt, tpq, bodies = read_chunks(data, name)
    if fmt != 1 or len(bodies) < 3:
        return data
    tracks = [list(track_events(body, name)) for body in bodies]
    groups: dict[str, list[int]] = {}
    plan: list[int | str] = [0]
    for index in range(1, len(tracks)):
        track_name = _track_name(tracks[index], name)
        if track_name is None:
            plan.append(index)
        elif track_name in groups:
            groups[track_name].append(index)
        else:
            groups[track_name] = [index]
            plan.append(track_name)
    if all(len(members) == 1 for members in groups.values()):
        return data
    out = []
    for item in plan:
        if isinstance(item, int):
            out.append(bodies[item])
        elif len(groups[item]) == 1:
            out.append(bodies[groups[item][0]])
        else:
            out.append(_merge([tracks[i] for i in groups[item]]))
    return header(1, len(out), tpq) + b"".join(chunk(b"MTrk", body) for body in out)


def _merge(members: list[list[tuple[int, bytes]]]) -> bytes:
    channel = next((c for c in map(_channel, members) if c is not None), 0)
    merged: list[tuple[int, int, int, int, bytes]] = []  # tick, rank, member, order, raw
    end = 0
    for member, events in enumerate(members):
        for order, (tick, raw) in enumerate(events):
            if raw[:2] == _END_OF_TRACK_STATUS:
                end = max(end, tick)
                continue
            if 0xC0 <= raw[0] < 0xD0:
                continue  # programs are re-issued before the notes that need them
            if member and raw[0] == 0xFF:
                continue  # the first member's name and metas stand for the track
            if 0x80 <= raw[0] < 0xF0:
                raw = bytes([raw[0] & 0xF0 | channel]) + raw[1:]
            merged.append((tick, _rank(raw), member, order, raw))
    merged.sort(key=lambda event: event[:4])
    programs = [_program(events) for events in members]
    events: list[tuple[int, bytes]] = [(0, bytes([0xC0 | channel, programs[0]]))]
    sounding = programs[0]
    for tick, rank, member, _, raw in merged:
        if rank == 2 and programs[member] != sounding:
            sounding = programs[member]
            events.append((tick, bytes([0xC0 | channel, sounding])))
        events.append((tick, raw))
    # metas (the track name) first, then the opening program change
    events.sort(key=lambda event: (event[0], 0 if event[1][0] == 0xFF else 1))
    return encode_track(events, end)


def assign_channels(data: bytes, name: str = "MIDI data") -> bytes:
    """Move each track's channel messages to a channel of its own (see the module
    doc); drum tracks stay on channel 10. A file that needs no change comes back as is."""
    fmt, tpq, bodies = read_chunks(data, name)
    if fmt != 1:
        return data
    tracks = [list(track_events(body, name)) for body in bodies]
    pitched, empty = [], []
    for index, events in enumerate(tracks):
        channels = {raw[0] & 0x0F for _, raw in events if 0x80 <= raw[0] < 0xF0}
        if not channels or channels == {_DRUM_CHANNEL}:
            continue
        sounding = any(raw[0] & 0xF0 == 0x90 and raw[2] > 0 for _, raw in events)
        (pitched if sounding else empty).append(index)
    groups = [[index] for index in pitched]
    programs = [_programs(tracks[index]) for index in pitched]
    while len(groups) > len(_PITCHED_CHANNELS):
        pair = next(((a, b) for b in range(len(groups)) for a in range(b)
                     if len(programs[a]) == 1 and programs[a] == programs[b]), None)
        if pair is None:
            break
        a, b = pair
        groups[a] += groups.pop(b)
        programs.pop(b)
    plan: dict[int, tuple[int, int]] = {}  # track -> (port, channel)
    for k, group in enumerate(groups):
        for index in group:
            plan[index] = divmod(k, len(_PITCHED_CHANNELS))
    used = len(groups)
    for index in empty:
        shared = next((k for k, prog in enumerate(programs) if prog == _programs(tracks[index])), None)
        if shared is not None and used >= len(_PITCHED_CHANNELS):
            plan[index] = divmod(shared, len(_PITCHED_CHANNELS))
        else:
            plan[index] = divmod(used, len(_PITCHED_CHANNELS))
            used += 1
    out = []
    changed = False
    for index, (body, events) in enumerate(zip(bodies, tracks)):
        if index not in plan:
            out.append(body)
            continue
        port, k = plan[index]
        channel = _PITCHED_CHANNELS[k]
        moved, end = [], 0
        for tick, raw in events:
            if raw[:2] == _END_OF_TRACK_STATUS:
                end = max(end, tick)
                continue
            if 0x80 <= raw[0] < 0xF0 and raw[0] & 0x0F != channel:
                raw = bytes([raw[0] & 0xF0 | channel]) + raw[1:]
                changed = True
            moved.append((tick, raw))
        if port:
            moved.insert(0, (0, b"\xff\x21\x01" + bytes([port])))
            changed = True
        moved.sort(key=lambda event: (event[0], 0 if event[1][0] == 0xFF else 1))
        out.append(encode_track(moved, end))
    if not changed:
        return data
    return header(1, len(out), tpq) + b"".join(chunk(b"MTrk", body) for body in out)


def _programs(events: list[tuple[int, bytes]]) -> frozenset[int]:
    return frozenset(raw[1] for _, raw in events if 0xC0 <= raw[0] < 0xD0)


def split_programs(score: symusic.Score, programs: ProgramChanges) -> symusic.Score:
    """The score as a renderer of one program per track plays it: each track with program
    changes (``score_io.load_score_bytes_and_programs``) replaced by one track per program
    it plays, in the order they are first heard, all with its name and drum flag. A note
    goes to the program in force at its start; every part has all the track's controllers,
    pitch bends and pedals, so each channel playing a part is where the one channel was
    (its volume, expression, sustain, bend). ``score`` itself is not changed."""
    if not programs:
        return score
    out = score.copy()
    tracks = []
    for index, track in enumerate(out.tracks):
        changes = programs.get(index)
        if not changes:
            tracks.append(track)
            continue
        ticks = [tick for tick, _ in changes]
        sounding = [track.program, *(program for _, program in changes)]
        notes: dict[int, list] = {program: [] for program in sounding}
        for note in track.notes:
            notes[sounding[bisect_right(ticks, note.time)]].append(note)
        for program, played in notes.items():
            if not played:
                continue
            part = symusic.Track(track.name, program, track.is_drum)
            if program == track.program:
                part.lyrics.extend(track.lyrics)  # words are the track's, sung once
            part.notes.extend(played)
            part.controls.extend(track.controls)
            part.pitch_bends.extend(track.pitch_bends)
            part.pedals.extend(track.pedals)
            tracks.append(part)
    out.tracks = tracks
    return out
