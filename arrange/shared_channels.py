"""One note per key on a MIDI channel, across the tracks that share it.

A General MIDI player has fifteen pitched channels; a full orchestra has more parts
than that, so ``smf_tracks.assign_channels`` puts parts on the same program on one
channel (Clarinet 2 on Clarinet 1's), and a second port only takes what still does not
fit (a GM player, FluidSynth's own among them, ignores ports: a part there would take
over a channel of another instrument). Each part is still a track of its own, as a DAW
wants. But a channel has one note per key: where two parts on one channel play a
unison (two clarinets doubling a second violin and a viola that meet on one pitch), the
second note-on re-strikes the key and the first note-off silences both.

``one_note_per_key`` writes such a unison once on its channel, keeping the sound the
two parts make together:

- struck together: the longer note stays (the first part's on equal lengths), at the
  louder of the two velocities, and the other part's note is left out;
- struck while the other part holds the pitch and ending within it: left out (the held
  note already sounds it);
- struck while the other part holds the pitch and lasting past it: the held note ends
  where the new one is struck;
- on the drum channel every note is a stroke: a later stroke is never left out, the
  earlier note ends where it is struck (and the later lasts as long as either).

A player that reads track by track (FluidSynth's does) sends, at one tick, the events
of a lower-numbered track first: a note ending on the tick where a lower track strikes
the same key would end the new note too, so it ends one tick earlier.

The MusicXML and the rendered stems are not affected: both parts still play the note
there (the renderer gives every track a channel of its own, ``render.synth``).
"""

from __future__ import annotations

from dataclasses import dataclass

from scorefarm.symbolic.smf_read import chunk, encode_track, header, read_chunks, track_events

_DRUM_CHANNEL = 9
_PORT_META = b"\xff\x21\x01"


@dataclass
class _Note:
    on: int
    off: int
    velocity: int
    track: int
    on_at: int  # index of the note-on in its track's events
    off_at: int  # index of the note-off

    def __post_init__(self):
        self.written = (self.off, self.velocity)  # as the file had them


def _notes_by_key(tracks: list[list[tuple[int, bytes]]]) -> dict[tuple[int, int, int], list[_Note]]:
    """Every note of the file by (port, channel, key), note-ons paired first in, first out."""
    by_key: dict[tuple[int, int, int], list[_Note]] = {}
    for index, events in enumerate(tracks):
        port, pending = 0, {}
        for at, (tick, raw) in enumerate(events):
            if raw[:3] == _PORT_META and len(raw) > 3:
                port = raw[3]
                continue
            kind = raw[0] & 0xF0
            if kind not in (0x80, 0x90):
                continue
            key = (port, raw[0] & 0x0F, raw[1])
            if kind == 0x90 and raw[2] > 0:
                pending.setdefault(key, []).append((tick, raw[2], at))
            elif pending.get(key):
                on, velocity, on_at = pending[key].pop(0)
                by_key.setdefault(key, []).append(_Note(on, tick, velocity, index, on_at, at))
    return by_key


def _resolve(notes: list[_Note], drums: bool) -> tuple[list[_Note], list[_Note]]:
    """(kept, left out): the notes of one key on one channel, none overlapping another."""
    kept: list[_Note] = []
    dropped: list[_Note] = []
    for note in sorted(notes, key=lambda n: (n.on, -n.off, n.track, n.on_at)):
        held = kept[-1] if kept else None
        if held is None or note.on >= held.off:
            kept.append(note)
        elif note.on == held.on:  # struck together: the longer (sorted first) stays
            held.velocity = max(held.velocity, note.velocity)
            dropped.append(note)
        elif drums:
            note.off = max(note.off, held.off)
            held.off = note.on
            kept.append(note)
        elif note.off <= held.off:
            dropped.append(note)
        else:
            held.off = note.on
            kept.append(note)
    for before, after in zip(kept, kept[1:]):
        if after.on == before.off and after.track < before.track and before.off - before.on > 1:
            before.off -= 1
    return kept, dropped


def one_note_per_key(data: bytes, name: str = "MIDI data") -> bytes:
    """``data`` (a format 1 SMF) with no two notes of one key sounding at once on one
    channel of one port (see the module doc). A file that needs no change comes back as is."""
    fmt, tpq, bodies = read_chunks(data, name)
    if fmt != 1:
        return data
    tracks = [list(track_events(body, name)) for body in bodies]
    edits: dict[int, dict[int, tuple[int, bytes] | None]] = {}  # track -> event index -> new event or None
    for key, notes in _notes_by_key(tracks).items():
        kept, dropped = _resolve(notes, key[1] == _DRUM_CHANNEL)
        for note in dropped:
            edits.setdefault(note.track, {}).update({note.on_at: None, note.off_at: None})
        for note in kept:
            events, (off, velocity) = tracks[note.track], note.written
            if note.velocity != velocity:
                tick, raw = events[note.on_at]
                edits.setdefault(note.track, {})[note.on_at] = (tick, raw[:2] + bytes([note.velocity]))
            if note.off != off:
                edits.setdefault(note.track, {})[note.off_at] = (note.off, events[note.off_at][1])
    if not edits:
        return data
    out = []
    for index, (body, events) in enumerate(zip(bodies, tracks)):
        if index not in edits:
            out.append(body)
            continue
        changed = edits[index]
        end = max(tick for tick, _ in events)  # the end-of-track's tick: the track keeps its length
        moved = []
        for at, event in enumerate(events):
            event = changed.get(at, event)
            if event is None or event[1][:2] == b"\xff\x2f":
                continue
            # a note-off moved earlier goes first at its new tick; everything else keeps its order
            moved.append((event[0], -1 if at in changed and event[0] != events[at][0] else at, event))
        moved.sort(key=lambda item: item[:2])
        out.append(encode_track([event for _, _, event in moved], end))
    return header(1, len(out), tpq) + b"".join(chunk(b"MTrk", body) for body in out)
