"""A MIDI file's track events as the reader gives them to symusic.

``score_io.load_score_bytes`` walks each MTrk once into (tick, event bytes) pairs and
lets the functions here rewrite what symusic would read wrongly. Each returns None
when it has nothing to change, and a track none of them changes is parsed from its
own bytes, so a file without these cases reads exactly as symusic reads it.

- ``offs_after_ons``: a grace note written with its note-off first.
- ``utf8_texts``: a track name, marker or lyric not in UTF-8. MIDI declares no
  encoding for its texts; a file from a European Windows program writes them in
  code page 1252 (Latin-1 with curly quotes and dashes), one from a Japanese program
  in Shift-JIS (code page 932), and symusic turns each byte that is not UTF-8 into
  U+FFFD. A text that is valid UTF-8 is left as it is (most are, and plain ASCII is
  both); one that reads as Japanese in Shift-JIS is read so (``_japanese``), any other
  as cp1252 (its five undefined bytes as Latin-1), and handed to symusic in UTF-8:
  ``b"Violine f\\xfcr Anna"`` reads "Violine für Anna", ``b"\\x83s\\x83A\\x83m"``
  reads "ピアノ" (not "ƒsƒAƒm").
- ``one_program_per_line``: a program change in the middle of a channel's notes.
  symusic reads each (channel, program) of an MTrk as a track of its own, the
  controllers and pitch bends that came before the change left in the first (the
  second starts without the channel's volume or sustain): a violin going pizzicato (40 -> 45)
  became two "Violin I" tracks, checked as two voices, extended and written back as
  two. Here the program changes after a channel's first note are taken out, so the
  channel is one track at the program of its first note, and returned as the line's
  program changes: (tick of the first note played with the new program, program).
  ``program_changes`` gives those by index into the score symusic reads.
- ``hanging_offs``: a note-on whose note-off never comes (a recording stopped
  with keys down, a sequencer's export cut at the song's end, a key struck twice and
  released once). symusic drops such a note; a MIDI player holds it until its key is
  released or the file ends, and so it is read: a note-off is added there.
- ``without_escapes``: an F7 event (a system-exclusive message's continuation packet,
  or an "escape" carrying a real-time or song message). symusic reads its length and
  data as delta times, so every later event of the track came a few ticks late (an F7
  packet of 2 bytes moved the notes after it 2 ticks on). symusic keeps no
  system-exclusive data, so these events are taken out.
- ``scaled``: every tick multiplied, for a file coarser than the stages can use.

``riff_midi`` takes the standard MIDI file out of a RIFF MIDI (RMID, ``.rmi``) wrapper,
as Windows writes it; ``read_chunks`` reads through it. What tracks sharing a channel
share is mended across tracks, in ``smf_channels``.

Here too are the SMF byte helpers the reader and the writers share (``score_io``,
``smf_tracks``, ``smf_edit`` import them from here).
"""

from __future__ import annotations

import re
import struct
from collections import defaultdict, deque
from typing import Iterator

import symusic

from scorefarm.errors import ScoreError

Events = list[tuple[int, bytes]]  # (absolute tick, event bytes with their status byte)
ProgramChanges = dict[int, list[tuple[int, int]]]  # track index -> [(tick, program)], in time order

_END_OF_TRACK = b"\xff\x2f\x00"
_TEXT_METAS = (0x03, 0x05, 0x06)  # track name, lyric, marker: the texts symusic reads
_CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"


def offs_after_ons(events: Events) -> Events | None:
    """The track with each note-off that ends no sounding note, and is followed at its tick by
    a note-on of its key that has no note-off of its own (the key's next event is another
    note-on, another grace note's off, or none), moved after that note-on: the note is one of
    no length. music21 writes a grace note so (its off first); read as written, the off was
    dropped and the open note-on took the next off of its key, so every later note of that
    pitch ended one note late and the last was lost. A duplicate off (an explicit off and a
    velocity-0 on where a key is struck again) is left alone: the note after it has its own
    off. None when the track has no such off."""
    notes = [(i, raw[0] & 0x0F, raw[1], raw[0] & 0xF0 == 0x90 and raw[2] > 0) for i, (_, raw) in enumerate(events)
             if len(raw) == 3 and raw[0] & 0xF0 in (0x80, 0x90)]
    # per note event, whether the key's next event is an off that ends a note: an off followed at
    # its own tick by an on of the key is another grace note's (written off first), not one
    owns_off: dict[int, bool] = {}
    next_of: dict[tuple[int, int], tuple[int, bool, bool]] = {}  # key -> (tick, is an on, ends a note)
    for i, channel, key, is_on in reversed(notes):
        k, tick = (channel, key), events[i][0]
        after = next_of.get(k)
        owns_off[i] = after is not None and not after[1] and after[2]
        ends = not is_on and not (after is not None and after[1] and after[0] == tick)
        next_of[k] = (tick, is_on, ends)
    sounding: dict[tuple[int, int], int] = {}
    order: list[float] = list(range(len(events)))
    closed: set[int] = set()  # note-ons a moved off now ends at once
    moved = False
    for i, channel, key, is_on in notes:
        k = (channel, key)
        if is_on:
            if i not in closed:
                sounding[k] = sounding.get(k, 0) + 1
        elif sounding.get(k, 0):
            sounding[k] -= 1
        else:  # an off ending nothing: a note-on of its key at its tick, without an off of its own?
            tick = events[i][0]
            j = i + 1
            while j < len(events) and events[j][0] == tick:
                raw = events[j][1]
                if (len(raw) == 3 and raw[0] == 0x90 | channel and raw[1] == key and raw[2] > 0
                        and not owns_off.get(j, False)):
                    order[i], moved = j + 0.5, True  # read just after that note-on
                    closed.add(j)
                    break
                j += 1
    if not moved:
        return None
    return [events[i] for i in sorted(range(len(events)), key=lambda i: order[i])]


def utf8_texts(events: Events) -> Events | None:
    """The track with each track name, lyric and marker that is not valid UTF-8 read as
    cp1252 and written in UTF-8 (see the module doc); None when every text is UTF-8."""
    out = None
    for index, (tick, raw) in enumerate(events):
        if raw[0] != 0xFF or raw[1] not in _TEXT_METAS:
            continue
        length, at = read_vlq(raw, 2, "a checked track")
        text = raw[at:at + length]
        try:
            text.decode("utf-8")
            continue
        except UnicodeDecodeError:
            pass
        if out is None:
            out = list(events)
        recoded = (_japanese(text) or _cp1252(text)).encode("utf-8")
        out[index] = (tick, raw[:2] + vlq(len(recoded)) + recoded)
    return out


def _japanese(text: bytes) -> str | None:
    """``text`` read in Shift-JIS (Windows code page 932) where it reads as Japanese, else None.
    It does when it decodes, no character is a private-use one (cp932's user area, where
    cp1252's accented letters such as ñ and ö fall) or a C1 control, and its characters that
    are not ASCII come in words: runs of two or more ("ピアノ", "Piano 右手", "ﾋﾟｱﾉ" in
    half-width kana), or one two-byte letter (a kanji or kana) with no Latin letter beside it
    ("弦", "ストリングス(弦)"). A cp1252 text read in Shift-JIS turns a lone accented letter or curly
    quote and the byte after it into a single kanji among Latin letters (b"Cr\\xe8me" is
    "Cr鑪e", b"Anna\\x92s" is "Anna痴"), a lone symbol into a half-width kana (b"\\xab" is "ｫ")."""
    try:
        decoded = text.decode("cp932")
    except UnicodeDecodeError:
        return None
    if any(0xE000 <= ord(c) <= 0xF8FF or 0x80 <= ord(c) <= 0x9F for c in decoded):
        return None
    runs = list(re.finditer(r"[^\x00-\x7f]+", decoded))
    if not runs:
        return None
    for run in runs:
        lone = run[0]
        beside = decoded[max(run.start() - 1, 0):run.start()] + decoded[run.end():run.end() + 1]
        latin_beside = any(c.isascii() and c.isalpha() for c in beside)
        if len(lone) > 1:
            # cp1252's accented capitals and symbols side by side read as half-width kana
            # (b"CORA\xc7\xc3O" as "CORAﾇﾃO", b"\xab\xbb" as "ｫｻ"): a run of those alone is a
            # word of three or more, apart from Latin letters
            if all("\uff61" <= c <= "\uff9f" for c in lone) and (len(lone) < 3 or latin_beside):
                return None
            continue
        if len(lone.encode("cp932")) < 2 or not lone.isalpha() or latin_beside:
            return None
    return decoded


def _cp1252(text: bytes) -> str:
    """``text`` in code page 1252, where the bytes it leaves undefined read as Latin-1."""
    return "".join(bytes([b]).decode("latin-1" if b in _CP1252_UNDEFINED else "cp1252") for b in text)


def one_program_per_line(events: Events) -> tuple[Events | None, dict[int, list[tuple[int, int]]]]:
    """The track without the program changes that follow a channel's first note-on, and
    per channel the changes its notes hear: (tick, program) at each note-on whose
    program differs from the previous note-on's, in order (see the module doc).
    (None, {}) when no program change follows a note-on of its channel."""
    program: dict[int, int] = {}  # channel -> program in force (symusic starts at 0)
    line: dict[int, int] = {}  # channel -> program of its last note-on
    changes: dict[int, list[tuple[int, int]]] = defaultdict(list)
    dropped: set[int] = set()
    for index, (tick, raw) in enumerate(events):
        kind = raw[0] & 0xF0
        if kind == 0xC0:
            channel = raw[0] & 0x0F
            if channel in line:
                dropped.add(index)
            program[channel] = raw[1]
        elif kind == 0x90 and raw[2] > 0:
            channel = raw[0] & 0x0F
            now = program.get(channel, 0)
            if channel in line and line[channel] != now:
                changes[channel].append((tick, now))
            line[channel] = now
    if not dropped:
        return None, {}
    return [event for index, event in enumerate(events) if index not in dropped], dict(changes)


def program_changes(score, lines, factor: int, name: str) -> ProgramChanges:
    """The program changes of ``lines`` (per MTrk: its events as symusic read them, and
    ``one_program_per_line``'s changes per channel) by index into ``score.tracks`` (read at
    ``factor`` times the file's ticks): symusic made one track per MTrk and channel with
    notes, in channel order, and the reader kept those with notes."""
    if not any(changes for _, changes in lines):
        return {}
    found: ProgramChanges = {}
    index = 0
    for events, changes in lines:
        for channel, count in notes_per_channel(events):
            if index >= len(score.tracks) or score.tracks[index].note_num() != count:
                raise RuntimeError(f"{name}: the tracks symusic read are not those of the file's channels")
            if changes.get(channel):
                found[index] = [(tick * factor, program) for tick, program in changes[channel]]
            index += 1
    if index != len(score.tracks):
        raise RuntimeError(f"{name}: the tracks symusic read are not those of the file's channels")
    return found


def notes_per_channel(events: Events) -> list[tuple[int, int]]:
    """(channel, how many notes symusic reads there) for each channel of a track's events
    with notes, in channel order: each channel's events read on their own."""
    counts = []
    for channel in sorted({raw[0] & 0x0F for _, raw in events if 0x80 <= raw[0] < 0xF0}):
        mine = [(tick, raw) for tick, raw in events if 0x80 <= raw[0] < 0xF0 and raw[0] & 0x0F == channel]
        found = symusic.Score.from_midi(header(1, 1, 480) + chunk(b"MTrk", encode_track(mine, 0))).note_num()
        if found:
            counts.append((channel, found))
    return counts


def release_balance(events: Events) -> dict[tuple[int, int], int]:
    """Per (channel, key): the notes struck less the releases (note-offs and note-ons of
    velocity 0); above 0 where some note has no release of its own (``hanging_offs``)."""
    balance: dict[tuple[int, int], int] = defaultdict(int)
    for _, raw in events:
        if raw[0] & 0xF0 in (0x80, 0x90) and len(raw) == 3:
            balance[(raw[0] & 0x0F, raw[1])] += 1 if raw[0] & 0xF0 == 0x90 and raw[2] > 0 else -1
    return balance


def hanging_offs(events: Events, end: int) -> Events | None:
    """The track with a note-off for each note-on that no note-off ends (see the module doc),
    matched as symusic matches them: a note-off (or a note-on of velocity 0) ends the oldest
    sounding note of its channel and key, and one that finds none is passed over. A note whose
    key is released later (a key struck twice and released once, as a glitch writes it) ends at
    that key's last release, where a player stops every note of the key: a second note-off is
    put beside it. A key struck twice at one tick (a doubled region: every note written twice,
    released once) is one note, twice: the release that ends the first ends its twin. A note
    whose key is never released after it ends at tick ``end`` (the file's last). None when
    every note ends."""
    sounding: dict[tuple[int, int], deque[int]] = defaultdict(deque)  # key -> its notes' on indices
    released: dict[tuple[int, int], int] = {}  # key -> index of its last note-off
    # a key struck twice at one tick is one note, twice (a doubled region): where one copy is
    # released and the other is still sounding when the key is struck again, or at the end,
    # the other ends with it
    # (only on a key with fewer releases than notes: two notes of a key struck at once, each
    # released, are read as symusic reads them)
    twin_ended: dict[tuple[tuple[int, int], int], int] = {}  # (key, tick) -> the note-off ending a copy
    balance = release_balance(events)
    again: dict[int, int] = defaultdict(int)  # index of a note-off -> how many more to put after it
    for index, (tick, raw) in enumerate(events):
        kind = raw[0] & 0xF0
        if kind not in (0x80, 0x90):
            continue
        key = (raw[0] & 0x0F, raw[1])
        if kind == 0x90 and raw[2] > 0:
            for on in [on for on in sounding[key] if balance[key] > 0 and events[on][0] != tick
                       and twin_ended.get((key, events[on][0]), -1) > on]:
                again[twin_ended[(key, events[on][0])]] += 1
                sounding[key].remove(on)
            sounding[key].append(index)
        else:
            released[key] = index
            if sounding[key]:
                first = sounding[key].popleft()
                if balance[key] > 0:
                    twin_ended.setdefault((key, events[first][0]), index)
    at_end: list[tuple[int, bytes]] = []
    for key, ons in sorted(sounding.items()):
        for on in ons:
            if twin_ended.get((key, events[on][0]), -1) > on:
                again[twin_ended[(key, events[on][0])]] += 1
            elif released.get(key, -1) > on:
                again[released[key]] += 1
            else:
                at_end.append((end, bytes([0x80 | key[0], key[1], 0])))
    again = {index: count for index, count in again.items() if count}
    if not again and not at_end:
        return None
    out: Events = []
    for index, event in enumerate(events):
        if event[1] != _END_OF_TRACK:
            out += [event] * (1 + again.get(index, 0))
    return out + at_end


def without_escapes(events: Events) -> Events | None:
    """The track without its F7 events (see the module doc); None when it has none."""
    kept = [event for event in events if event[1][0] != 0xF7]
    return kept if len(kept) < len(events) else None


def scaled(events: Events, factor: int) -> Events:
    """The track with every tick multiplied by ``factor``."""
    return [(tick * factor, raw) for tick, raw in events]


def without_end(events: Events) -> tuple[Events, int]:
    """The events less End of Track, and the tick the track ends at (its last event's)."""
    return [e for e in events if e[1] != _END_OF_TRACK], events[-1][0] if events else 0

# ---------------------------------------------------------------- SMF bytes


def read_vlq(buf: bytes, pos: int, name: str) -> tuple[int, int]:
    """The variable-length number at ``pos`` and the position after it; ``name`` (a file
    name) is what the error cites."""
    value = 0
    for _ in range(4):
        if pos >= len(buf):
            raise ScoreError("is truncated: a track ends inside a variable-length number", name)
        byte = buf[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos
    raise ScoreError(
        f"is not a readable MIDI file: a variable-length number over 4 bytes at byte {pos}", name
    )


def vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(reversed(out))


def encode_track(events: Events, end: int) -> bytes:
    """An MTrk body of ``events`` (without End of Track), ending at tick ``end`` or its last event."""
    body, last = bytearray(), 0
    for tick, raw in events:
        body += vlq(tick - last) + raw
        last = tick
    return bytes(body + vlq(max(end, last) - last) + _END_OF_TRACK)


def chunk(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack(">I", len(body)) + body


def header(fmt: int, ntracks: int, tpq: int) -> bytes:
    return chunk(b"MThd", struct.pack(">HHH", fmt, ntracks, tpq))


def riff_midi(data: bytes, name: str) -> bytes:
    """The standard MIDI file inside a RIFF MIDI file (form ``RMID``: the SMF in its
    ``data`` chunk, as Windows writes ``.rmi`` files), or ``data`` itself when it is no
    RIFF file. A RIFF file of another form (a WAVE is audio) or an RMID without a ``data``
    chunk is refused; a ``data`` chunk cut short is left to ``read_chunks`` to report."""
    if data[:4] != b"RIFF":
        return data
    form = data[8:12]
    if form != b"RMID":
        what = "audio, " if form == b"WAVE" else ""
        raise ScoreError(f"is a RIFF file of form {form!r} ({what}not RMID), not a MIDI file", name)
    pos = 12
    while pos + 8 <= len(data):
        tag, (length,) = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])
        if tag == b"data":
            return data[pos + 8:pos + 8 + length]
        pos += 8 + length + (length & 1)  # RIFF chunks are padded to an even length
    raise ScoreError("is a RIFF MIDI file (RMID) without a 'data' chunk holding the MIDI", name)


def read_chunks(data: bytes, name: str) -> tuple[int, int, list[bytes]]:
    """Check the MThd header and the chunk structure; return (format, tpq, MTrk bodies).

    A RIFF MIDI file is read through to the MIDI file it holds (``riff_midi``). Unknown
    chunk types are skipped (as the SMF spec asks readers to do), and so are bytes after
    the last declared track."""
    data = riff_midi(data, name)
    if len(data) < 14 or data[:4] != b"MThd":
        seen = "is empty" if not data else f"starts with {data[:4]!r}"
        raise ScoreError(f"is not a MIDI file (it {seen}; a MIDI file starts with b'MThd')", name)
    (header_len,) = struct.unpack(">I", data[4:8])
    if header_len < 6:
        raise ScoreError(f"has a broken MIDI header (length {header_len}, at least 6 needed)", name)
    fmt, ntracks, division = struct.unpack(">HHH", data[8:14])
    if fmt > 2:
        raise ScoreError(f"declares MIDI format {fmt}; only formats 0 and 1 can be read", name)
    if division & 0x8000:
        fps, per_frame = 256 - (division >> 8), division & 0xFF
        raise ScoreError(
            f"uses SMPTE time division ({fps} fps, {per_frame} ticks per frame), which symusic "
            "cannot read; export it with ticks per quarter note instead",
            name,
        )
    if division == 0:
        raise ScoreError("declares 0 ticks per quarter note", name)
    if ntracks == 0:
        raise ScoreError("has no tracks (its header declares 0)", name)
    tracks: list[bytes] = []
    pos = 8 + header_len
    while len(tracks) < ntracks:
        if pos + 8 > len(data):
            raise ScoreError(
                f"is truncated: its header declares {ntracks} track(s) but the file ends "
                f"after {len(tracks)}",
                name,
            )
        tag = data[pos : pos + 4]
        (length,) = struct.unpack(">I", data[pos + 4 : pos + 8])
        if pos + 8 + length > len(data):
            raise ScoreError(
                f"is truncated: chunk {len(tracks) + 1} ({tag!r}) declares {length} bytes "
                f"but only {len(data) - pos - 8} remain",
                name,
            )
        if tag == b"MTrk":
            tracks.append(data[pos + 8 : pos + 8 + length])
        pos += 8 + length
    return fmt, division, tracks


def track_events(body: bytes, name: str) -> Iterator[tuple[int, bytes]]:
    """(absolute tick, event bytes with their status byte) for each event of an
    MTrk body, running status expanded, up to its End of Track event: bytes after it
    are not read (symusic and players stop there; a chunk padded after it was refused)."""
    pos, tick, running = 0, 0, 0
    while pos < len(body):
        delta, pos = read_vlq(body, pos, name)
        tick += delta
        status = body[pos] if pos < len(body) else None
        if status == 0xFF or status in (0xF0, 0xF7):
            length_at = pos + (2 if status == 0xFF else 1)
            length, data_at = read_vlq(body, length_at, name)
            start, end, prefix = pos, data_at + length, b""
        elif status is not None and 0x80 <= status < 0xF0:
            running = status
            start, end, prefix = pos, pos + (2 if 0xC0 <= status < 0xE0 else 3), b""
        elif status is not None and status < 0x80 and running:
            start, end = pos, pos + (1 if 0xC0 <= running < 0xE0 else 2)
            prefix = bytes([running])
        else:
            what = "ends after a delta time" if status is None else f"has status byte {status:#04x}"
            raise ScoreError(f"is not a readable MIDI file: a track {what} at byte {pos}", name)
        if end > len(body):
            raise ScoreError(f"is truncated: an event at byte {pos} runs past its track", name)
        yield tick, prefix + body[start:end]
        if body[start:end] == _END_OF_TRACK:
            return  # what a chunk holds after End of Track (padding, leftovers) is no part of it
        pos = end
