"""Tracks that play on one MIDI channel share its state, as a player plays them.

A channel has one program, one sustain pedal, one volume and one pitch wheel, whichever
track (MTrk chunk) of the file sets them, but symusic gives each track only what the track
itself holds, and the writers put each track on a channel of its own: a piano's left hand
in a track of its own on the right hand's channel, the pedal in the right hand's track (as
notation programs export a grand staff), was read and rendered without the pedal; a
"Strings 2" track on the channel "Strings 1" sets to program 48 was read, rendered and
orchestrated as a piano (program 0); a pedal in a track of controllers alone was lost.

So before symusic reads the tracks (``score_io``), ``shared_channels`` gives a track
playing on a channel the program in force there at its first note (where it sets none
before it), and every controller (0-119) and the pitch wheel that other tracks move on that
channel and it does not move itself. ``inherited_programs`` is the program half, which
``smf_edit`` reads the file's notes with.
"""

from __future__ import annotations

from collections import defaultdict

from .smf_read import Events, without_end

_END_OF_TRACK = b"\xff\x2f\x00"


def inherited_programs(tracks: list[Events]) -> list[dict[int, tuple[int, int]]]:
    """Per track, channel -> (index of the track's first note-on there, program) for each
    channel the track plays on without a program change of its own before its first note,
    where another track sets that channel's program before that note (the latest such
    change; at the note's tick, one of a track before it; see ``shared_channels``)."""
    firsts: list[dict[int, int]] = []
    changes: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)  # channel -> (tick, track, index, program)
    for t, events in enumerate(tracks):
        first: dict[int, int] = {}
        for index, (tick, raw) in enumerate(events):
            kind, channel = raw[0] & 0xF0, raw[0] & 0x0F
            if kind == 0x90 and raw[2] > 0:
                first.setdefault(channel, index)
            elif kind == 0xC0:
                changes[channel].append((tick, t, index, raw[1]))
        firsts.append(first)
    out = []
    for t, events in enumerate(tracks):
        found = {}
        for channel, at in firsts[t].items():
            if any(track == t and index < at for _, track, index, _ in changes[channel]):
                continue  # the track sets its own program before it plays
            tick = events[at][0]  # a player plays one tick's events track by track
            before = [c for c in changes[channel] if c[1] != t and (c[0], c[1]) < (tick, t)]
            if before:
                found[channel] = (at, max(before)[3])
        out.append(found)
    return out


def shared_channels(tracks: list[Events]) -> list[Events | None]:
    """Per track, its events with the program and controllers of the channels it plays on
    that other tracks set (see the module doc), or None where it needs none."""
    if len(tracks) < 2:
        return [None] * len(tracks)
    programs = inherited_programs(tracks)
    moves: dict[tuple, list[tuple[int, bytes]]] = defaultdict(list)  # (channel, controller) -> events
    owns: list[set[tuple]] = []
    plays: list[set[int]] = []
    for events in tracks:
        own, channels = set(), set()
        for tick, raw in events:
            kind = raw[0] & 0xF0
            key = _controller(raw)
            if key is not None:
                own.add(key)
                moves[key].append((tick, raw))
            elif kind == 0x90 and raw[2] > 0:
                channels.add(raw[0] & 0x0F)
        owns.append(own)
        plays.append(channels)
    out: list[Events | None] = []
    for t, events in enumerate(tracks):
        added = [event for key in sorted(moves, key=repr) if key[0] in plays[t] and key not in owns[t]
                 for event in moves[key]]
        before = {at: (events[at][0], bytes([0xC0 | channel, program]))
                  for channel, (at, program) in programs[t].items()}
        if not added and not before:
            out.append(None)
            continue
        body, end = without_end(events)
        own = [e for index, event in enumerate(body) for e in ([before[index]] if index in before else []) + [event]]
        # at one tick, what the other tracks set comes before this track's own events
        merged = sorted([(tick, 0, k, raw) for k, (tick, raw) in enumerate(added)]
                        + [(tick, 1, k, raw) for k, (tick, raw) in enumerate(own)])
        out.append([(tick, raw) for tick, _, _, raw in merged] + [(max(end, merged[-1][0]), _END_OF_TRACK)])
    return out


def _controller(raw: bytes) -> tuple | None:
    """(channel, controller number) of a control change (not a channel mode message,
    120-127), (channel, "bend") of a pitch bend, else None."""
    kind = raw[0] & 0xF0
    if kind == 0xB0 and raw[1] < 120:
        return raw[0] & 0x0F, raw[1]
    if kind == 0xE0:
        return raw[0] & 0x0F, "bend"
    return None
