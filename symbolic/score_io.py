"""Standard MIDI files in and out, as ``symusic.Score`` (ticks).

Reading checks the chunk structure here first (so garbage, truncation, format 2
and SMPTE division get a one-line reason naming the file), then lets symusic
parse the events, then refuses scores that make no sense: no notes, a tempo of
0 or above ``MAX_BPM``, a note ending past ``MAX_SECONDS``, a time signature of
0 beats or with a denominator past 128. Where several time signatures stand at one
tick only the last is kept (the one in force). Only tracks with
notes are kept; symusic splits every MTrk by channel, so a format-0 file comes back
as one track per channel, and channel 10 as ``is_drum``. Before symusic reads them
the events are mended where it would read them wrongly (``smf_read``): a channel
that changes program among its notes stays one track (one line), its program
changes returned beside the score (``load_score_bytes_and_programs``); a text not in
UTF-8 is read as Shift-JIS where it reads as Japanese, else as cp1252; F7 events
(system-exclusive packets and escapes, which symusic misreads) are left out; a track
playing on a channel another track sets gets that channel's program and controllers
(``smf_channels``); a note still
sounding when its track ends is held to the file's end (symusic would drop it); a file
of fewer than ``MIN_TPQ`` ticks per quarter is read at ``RESAMPLED_TPQ``. A RIFF MIDI
file (``.rmi``) is read through to the MIDI file it wraps.

Writing lets symusic encode the score, then rewrites its first track: symusic
0.6 puts the tempo map, time and key signatures and markers into the first
*instrument* track, so they are moved into a conductor track of their own,
which also carries the cue's SMPTE offset when one is given. Program changes read
beside the score can be put back into its tracks. The output is
format 1, deterministic, and written through an atomic rename.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Iterator

import numpy as np
import symusic
import symusic.core

from scorefarm.errors import ScoreError, TimecodeError
from scorefarm.files import write_bytes_atomic
from scorefarm.symbolic.metre import one_signature_per_tick, score_signatures
from scorefarm.symbolic.smf_channels import shared_channels
from scorefarm.symbolic.smf_read import ProgramChanges, chunk, encode_track, read_chunks, track_events
from scorefarm.symbolic.smf_read import hanging_offs, header, offs_after_ons, one_program_per_line, program_changes
from scorefarm.symbolic.smf_read import read_vlq, scaled, utf8_texts, without_end, without_escapes

MAX_SECONDS = 24 * 3600.0  # a note ending later than this is refused
MAX_BPM = 1000.0  # faster tempos are refused (as is a tempo of 0)
# A file of fewer ticks per quarter (coarser than MIDI clock's 24: 1, 2 or 3 are legal and
# written by hand or by converters) is read with every tick multiplied to RESAMPLED_TPQ, or
# to the first multiple of its resolution past it: exact, and the stages' grids (a
# sixteenth, tpq // 4; a grace note, tpq // 8) are whole ticks. Its outputs are then written
# at that resolution.
MIN_TPQ = 24
RESAMPLED_TPQ = 480
_MAX_DELTA = 0x0FFFFFFF  # the largest delta time a MIDI file can write (4 bytes of 7 bits)

Smpte = tuple[int, int, int, int, int]  # (hours, minutes, seconds, frames, rate_code)

# SMPTE Offset meta event FF 54 05 hr mn se fr ff (Standard MIDI Files 1.0, MMA,
# "Meta-Events"; rate bits as in MIDI Time Code, MMA RP-004): bits 5-6 of the hour
# byte give the frame rate; ff (hundredths of a frame) is always written as 0.
# 23.976 fps material is conventionally labelled 24 and 29.97 non-drop 30.
SMPTE_RATES = {0: "24 fps", 1: "25 fps", 2: "29.97 fps drop-frame", 3: "30 fps"}
_FRAMES_PER_SECOND = {0: 24, 1: 25, 2: 30, 3: 30}

# Meta events that describe the whole score, moved into the conductor track on
# writing: tempo, time signature, key signature, marker.
_CONDUCTOR_META = {0x51, 0x58, 0x59, 0x06}
_END_OF_TRACK = b"\xff\x2f\x00"


# ---------------------------------------------------------------- reading


def load_score(path: str | Path) -> symusic.core.ScoreTick:
    """Read a standard MIDI file (format 0 or 1) into a checked tick score."""
    return load_score_and_programs(path)[0]


def load_score_and_programs(path: str | Path) -> tuple[symusic.core.ScoreTick, ProgramChanges]:
    """``load_score``, and the program changes of its tracks (``load_score_bytes_and_programs``)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScoreError(f"cannot read the file ({exc.strerror or exc})", path) from None
    return load_score_bytes_and_programs(data, str(path))


def load_score_bytes(data: bytes, name: str) -> symusic.core.ScoreTick:
    """Parse MIDI bytes; ``name`` (a file name) is what error messages cite."""
    return load_score_bytes_and_programs(data, name)[0]


def load_score_bytes_and_programs(data: bytes, name: str) -> tuple[symusic.core.ScoreTick, ProgramChanges]:
    """The checked score of ``load_score_bytes``, and where its tracks change program: a
    track index -> [(tick, program)] after the track's own ``program``, for each track
    whose notes do (a violin going pizzicato and back; see ``smf_read.one_program_per_line``).
    Written back by ``score_to_bytes(..., programs=)``, played by ``smf_tracks.split_programs``."""
    fmt, tpq, bodies = read_chunks(data, name)
    if fmt == 2:
        raise ScoreError(
            "is a format 2 MIDI file (independent patterns); only formats 0 and 1 can be read", name
        )
    tracks, lines = [], []
    parsed = [list(track_events(body, name)) for body in bodies]
    file_end = max((events[-1][0] for events in parsed if events), default=0)
    for body, events, shared in zip(bodies, parsed, shared_channels(parsed)):
        changed = shared is not None
        events = shared or events
        for rewrite in (without_escapes, offs_after_ons, utf8_texts, partial(hanging_offs, end=file_end)):
            rewritten = rewrite(events)
            if rewritten is not None:
                events, changed = rewritten, True
        stripped, changes = one_program_per_line(events)
        if stripped is not None:
            events, changed = stripped, True
        lines.append((events, changes))
        tracks.append(encode_track(*without_end(events)) if changed else body)
    score = _parse(fmt, tpq, tracks, name, bodies)
    factor = 1
    if tpq < MIN_TPQ:  # every tick multiplied: exact, and the stages' note grids exist
        factor = -(-RESAMPLED_TPQ // tpq)
        last = max((events[-1][0] for events, _ in lines if events), default=0)
        if last * factor > _MAX_DELTA:
            raise ScoreError(f"has {tpq} ticks per quarter note, read at {tpq * factor}, where its event at "
                             f"tick {last} would be past the {_MAX_DELTA} ticks a MIDI file can hold", name)
        tracks = [encode_track(*without_end(scaled(events, factor))) for events, _ in lines]
        score = _parse(fmt, tpq * factor, tracks, name, bodies)
    return score, program_changes(score, lines, factor, name)


def _parse(fmt: int, tpq: int, tracks: list[bytes], name: str, bodies: list[bytes]) -> symusic.core.ScoreTick:
    """symusic's reading of the track bodies, checked; ``bodies``: the file's own."""
    clean = header(fmt, len(tracks), tpq) + b"".join(chunk(b"MTrk", t) for t in tracks)
    try:
        score = symusic.Score.from_midi(clean)
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ScoreError(f"is not a readable MIDI file: {_symusic_reason(exc)}", name) from None
    _check_tempos(score, name)
    _one_time_signature_per_tick(score, name, bodies)
    score.tracks = [track for track in score.tracks if track.note_num() > 0]
    if not score.tracks:
        raise ScoreError(f"has no notes (read {len(tracks)} track(s))", name)
    _check_notes(score, name)
    end = score_seconds(score)
    if end > MAX_SECONDS:
        raise ScoreError(
            f"has a note ending at {end / 3600:.1f} hours; at most {MAX_SECONDS / 3600:g} hours "
            "is allowed (check the tempo map and note lengths)",
            name,
        )
    return score


def _symusic_reason(exc: Exception) -> str:
    """symusic's parser message without its decorations, or a clearer one."""
    text = str(exc)
    found = re.search(r"Get (pitch|velocity)=(-?\d+)", text)
    if found:
        return f"a note has {found[1]} {found[2]}, outside the MIDI range 0..127"
    text = text.removeprefix("MiniMidi: ").removesuffix(": iostream error")
    text = text.replace("Invaild", "Invalid")
    return f"it is truncated ({text})" if "EOF" in text else text


def _check_tempos(score: symusic.core.ScoreTick, name: str) -> None:
    for tempo in score.tempos:
        if tempo.mspq <= 0 or 60e6 / tempo.mspq > MAX_BPM:
            bpm = "infinite" if tempo.mspq <= 0 else f"{60e6 / tempo.mspq:.0f}"
            raise ScoreError(
                f"has a tempo of {tempo.mspq} microseconds per quarter ({bpm} bpm) at tick "
                f"{tempo.time}; allowed: up to {MAX_BPM:g} bpm",
                name,
            )


def _one_time_signature_per_tick(score: symusic.core.ScoreTick, name: str, tracks: list[bytes]) -> None:
    """Refuse a time signature that makes no bar, and keep one per tick: the last, as a
    MIDI player applies events at one tick in order (it is the one in force;
    ``metre.one_signature_per_tick``). ``tracks``: the file's MTrk bodies, where a
    denominator past 128 is read as written (symusic holds it in a byte: 256 reads as 0)."""
    allowed = "allowed: a numerator of 1 or more over a denominator of 1, 2, 4 ... 128"
    for tick, numerator, exponent in _fine_signatures(tracks, name):
        shown = 2 ** exponent if exponent < 20 else f"2^{exponent}"
        raise ScoreError(f"has a time signature {numerator}/{shown} at tick {tick}; {allowed}", name)
    for ts in score.time_signatures:
        if ts.numerator < 1 or ts.denominator < 1:
            shown = f"{ts.numerator}/{ts.denominator}" if ts.denominator >= 1 else \
                f"of {ts.numerator} over a denominator past 128"
            raise ScoreError(f"has a time signature {shown} at tick {ts.time}; {allowed}", name)
    kept = one_signature_per_tick(score_signatures(score))
    if len(kept) < len(score.time_signatures):
        score.time_signatures.clear()
        score.time_signatures.extend([symusic.TimeSignature(*sig) for sig in kept])


# a time signature meta event (FF 58 len nn dd ...) whose denominator 2^dd is past 128
_FINE_SIGNATURE = re.compile(rb"\xff\x58[\x02-\x7f].[\x08-\xff]", re.S)


def _fine_signatures(tracks: list[bytes], name: str) -> Iterator[tuple[int, int, int]]:
    """(tick, numerator, denominator's exponent) of each time signature in ``tracks`` with a
    denominator past 128, as the file writes it (only tracks whose bytes hold one are
    walked; one whose events cannot be walked is passed over)."""
    for body in tracks:
        if not _FINE_SIGNATURE.search(body):
            continue
        try:
            found = [(tick, raw) for tick, raw in track_events(body, name) if raw[:2] == b"\xff\x58"]
        except ScoreError:
            continue
        for tick, raw in found:
            _, data_at = read_vlq(raw, 2, name)
            if len(raw) >= data_at + 2 and raw[data_at + 1] > 7:
                yield tick, raw[data_at], raw[data_at + 1]


def _check_notes(score, name: str | None, *, writing: bool = False) -> None:
    """Refuse pitches outside 0..127, negative times or lengths, and (when writing)
    velocities outside 1..127: a velocity-0 note-on would read back as a note-off."""
    low_velocity = 1 if writing else 0
    for index, track in enumerate(score.tracks):
        if not track.note_num():
            continue
        arrays = track.notes.numpy()
        checks = [
            ("pitch", arrays["pitch"], 0, 127),
            ("velocity", arrays["velocity"], low_velocity, 127),
            ("start time", arrays["time"], 0, None),
            ("duration", arrays["duration"], 0, None),
        ]
        for what, values, low, high in checks:
            bad = (values < low) | (values > high) if high is not None else values < low
            if bad.any():
                at = int(np.argmax(bad))
                allowed = f"{low}..{high}" if high is not None else f">= {low}"
                raise ScoreError(
                    f"track {index + 1} ({track.name or 'unnamed'}) has a note with {what} "
                    f"{values[at]} at tick {arrays['time'][at]}; allowed: {allowed}",
                    name,
                )


# ---------------------------------------------------------------- writing


def score_to_bytes(score, *, smpte: Smpte | None = None, programs: ProgramChanges | None = None) -> bytes:
    """Encode a score as a format-1 MIDI file with a conductor track first.

    ``smpte`` is (hours, minutes, seconds, frames, rate_code) of the cue's start, see
    ``smpte_fields``; when given, an SMPTE Offset event opens the conductor track.
    ``programs`` (track index -> [(tick, program)], as ``load_score_bytes_and_programs``
    reads them) puts those program changes into the tracks, before their notes at that tick."""
    return _encode_score(score, smpte, None, programs)


def save_score(score, path: str | Path, *, smpte: Smpte | None = None,
               programs: ProgramChanges | None = None) -> None:
    """Write ``score_to_bytes(score, smpte=smpte, programs=programs)`` to ``path`` atomically."""
    write_bytes_atomic(path, _encode_score(score, smpte, str(path), programs))


def _encode_score(score, smpte: Smpte | None, name: str | None, programs: ProgramChanges | None) -> bytes:
    if not isinstance(score, symusic.core.ScoreTick):
        score = score.to("tick")
    if score.tpq <= 0:
        raise ScoreError(f"has {score.tpq} ticks per quarter note; cannot write it", name)
    _check_notes(score, name, writing=True)
    event = _smpte_event(smpte) if smpte is not None else None
    _, tpq, tracks = read_chunks(score.dumps_midi(), "symusic's output")
    conductor: list[tuple[int, bytes]] = [(0, event)] if event else []
    first: list[tuple[int, bytes]] = []
    end = 0
    for tick, raw in track_events(tracks[0], "symusic's output"):
        if raw == _END_OF_TRACK:
            end = tick
        elif raw[0] == 0xFF and raw[1] in _CONDUCTOR_META:
            conductor.append((tick, raw))
        else:
            first.append((tick, raw))
    # symusic writes one MTrk per score track, or a single meta-only one when there
    # are no tracks: that one becomes the conductor alone.
    out = [encode_track(conductor, end)]
    if len(score.tracks):
        out += [encode_track(first, end), *tracks[1:]]
    for index, changes in sorted((programs or {}).items()):
        if not 0 <= index < len(score.tracks):
            raise ValueError(f"program changes for track {index}; the score has {len(score.tracks)} tracks")
        out[index + 1] = _with_programs(out[index + 1], changes)
    return header(1, len(out), tpq) + b"".join(chunk(b"MTrk", body) for body in out)


def _with_programs(body: bytes, changes: list[tuple[int, int]]) -> bytes:
    """A track symusic wrote (its program change first) with a program change on its
    channel at each (tick, program) of ``changes``, before the notes starting there."""
    events, end = without_end(list(track_events(body, "symusic's output")))
    channel = next(raw[0] & 0x0F for _, raw in events if 0x80 <= raw[0] < 0xF0)
    for tick, program in changes:
        if tick < 0 or not 0 <= program <= 127:
            raise ValueError(f"program change {program} at tick {tick}: allowed programs 0..127 at ticks >= 0")
        at = next((i for i, (t, raw) in enumerate(events)
                   if t > tick or (t == tick and raw[0] & 0xF0 == 0x90 and raw[2] > 0)), len(events))
        events.insert(at, (tick, bytes([0xC0 | channel, program])))
    return encode_track(events, end)


# ---------------------------------------------------------------- SMPTE offset


def smpte_fields(label: str, fps_code: int) -> Smpte:
    """Parse "HH:MM:SS:FF" (";" before FF is accepted for drop-frame) at rate code
    ``fps_code`` (0=24, 1=25, 2=29.97 drop-frame, 3=30) into a checked SMPTE tuple."""
    found = re.fullmatch(r"(\d{2}):(\d{2}):(\d{2})[:;.](\d{2})", label.strip())
    if not found:
        raise TimecodeError(f"timecode {label!r} is not of the form HH:MM:SS:FF")
    fields = (*(int(part) for part in found.groups()), fps_code)
    _check_smpte(fields, label)
    return fields  # type: ignore[return-value]


def _check_smpte(fields: Smpte, label: object) -> None:
    if len(fields) != 5:
        raise TimecodeError(
            f"SMPTE offset {fields!r} is not (hours, minutes, seconds, frames, rate_code)"
        )
    hours, minutes, seconds, frames, code = fields
    if code not in SMPTE_RATES:
        raise TimecodeError(f"SMPTE rate code {code!r} is not one of {SMPTE_RATES}")
    fps = _FRAMES_PER_SECOND[code]
    for what, value, high in (("hours", hours, 23), ("minutes", minutes, 59),
                              ("seconds", seconds, 59), ("frames", frames, fps - 1)):
        if not isinstance(value, int) or not 0 <= value <= high:
            raise TimecodeError(
                f"timecode {label}: {what} {value!r} is outside 0..{high} at {SMPTE_RATES[code]}"
            )
    if code == 2 and seconds == 0 and frames < 2 and minutes % 10:
        raise TimecodeError(
            f"timecode {label}: frames 00 and 01 do not exist at the start of minute "
            f"{minutes} in 29.97 fps drop-frame"
        )


def _smpte_event(fields: Smpte) -> bytes:
    _check_smpte(tuple(fields), tuple(fields))
    hours, minutes, seconds, frames, code = fields
    return b"\xff\x54\x05" + bytes([code << 5 | hours, minutes, seconds, frames, 0])


def read_smpte_offset(data: bytes, name: str = "MIDI data") -> Smpte | None:
    """The SMPTE Offset of the first track as (hours, minutes, seconds, frames,
    rate_code), or None when it has none. Fractional frames are ignored."""
    _, _, tracks = read_chunks(data, name)
    for _, raw in track_events(tracks[0], name):
        if raw[:3] == b"\xff\x54\x05":
            hour_byte, minutes, seconds, frames = raw[3:7]
            return (hour_byte & 0x1F, minutes, seconds, frames, (hour_byte >> 5) & 0x03)
    return None


# ---------------------------------------------------------------- summaries


def score_seconds(score) -> float:
    """When the last note is released, in seconds through the tempo map (0.0 if none)."""
    if not isinstance(score, symusic.core.ScoreSecond):
        score = score.to("second")
    end = 0.0
    for track in score.tracks:
        if track.note_num():
            arrays = track.notes.numpy()
            release = arrays["time"].astype(np.float64) + arrays["duration"]
            end = max(end, float(release.max()))
    return end


def note_count(score) -> int:
    """How many notes the score holds, over all tracks."""
    return int(score.note_num())


# ---------------------------------------------------------------- SMF bytes


def smpte_from_timecode(start) -> Smpte:
    """The SMPTE offset fields for a ``scorefarm.symbolic.timecode.Timecode``:
    rate code 0 for 24 (and 23.976, which SMFs can only call 24), 1 for 25,
    2 for 29.97 drop-frame, 3 for 30 (and 29.97 non-drop)."""
    rate = start.rate
    code = {24: 0, 25: 1}.get(rate.nominal, 2 if rate.drop_frame else 3)
    return smpte_fields(str(start), code)
