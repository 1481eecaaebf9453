"""One DAW track per instrument, with program changes where its articulation switches.

symusic keeps one program per track (and splits a track at every program change
when it reads a file), so an orchestration is built with one track per instrument
*and* articulation program, all with the instrument's name: "Violins I" at
program 48 and "Violins I" at program 45 (pizzicato). A DAW or a notation program
wants one track per instrument, so ``merge_named_tracks`` folds the tracks that
share a name into the first of them, on its channel, and puts a program change
before each note whose program differs from the one sounding. Reading the merged
file with symusic splits it back the same way, so the renderer sees the variant
programs.
"""

from __future__ import annotations

from .score_io import _chunk, _encode_track, _header, _read_chunks, _read_vlq, _track_events

_END_OF_TRACK_STATUS = b"\xff\x2f"


def _track_name(events: list[tuple[int, bytes]], name: str) -> str | None:
    for _, raw in events:
        if raw[:2] == b"\xff\x03":
            length, at = _read_vlq(raw, 2, name)
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
    fmt, tpq, bodies = _read_chunks(data, name)
    if fmt != 1 or len(bodies) < 3:
        return data
    tracks = [list(_track_events(body, name)) for body in bodies]
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
    return _header(1, len(out), tpq) + b"".join(_chunk(b"MTrk", body) for body in out)


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
    return _encode_track(events, end)
