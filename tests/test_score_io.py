"""score_io: reading hand-written MIDI bytes, writing format 1 with an SMPTE offset."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import symusic

from scorefarm.errors import OutputError, ScoreError, TimecodeError
from scorefarm.symbolic.score_io import (
    load_score,
    load_score_bytes,
    load_score_bytes_and_programs,
    note_count,
    read_smpte_offset,
    save_score,
    score_seconds,
    score_to_bytes,
    smpte_fields,
)

# ------------------------------------------------------------ raw MIDI bytes


def vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(reversed(out))


def chunk(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack(">I", len(body)) + body


def smf(fmt: int, division: int, tracks: list[bytes], ntracks: int | None = None) -> bytes:
    count = len(tracks) if ntracks is None else ntracks
    return chunk(b"MThd", struct.pack(">HHH", fmt, count, division)) + b"".join(
        chunk(b"MTrk", t) for t in tracks
    )


def ev(delta: int, *data: int) -> bytes:
    return vlq(delta) + bytes(data)


def tempo(delta: int, mspq: int) -> bytes:
    return vlq(delta) + b"\xff\x51\x03" + mspq.to_bytes(3, "big")


def name_meta(text: str) -> bytes:
    return b"\x00\xff\x03" + vlq(len(text)) + text.encode()


EOT = b"\x00\xff\x2f\x00"


def one_note_track(mspq: int = 500_000, pitch: int = 60, length: int = 96) -> bytes:
    return tempo(0, mspq) + ev(0, 0x90, pitch, 100) + vlq(length) + bytes([0x80, pitch, 0]) + EOT


def parse_tracks(data: bytes) -> tuple[tuple[int, int, int], list[list[tuple[int, bytes]]]]:
    """Independent SMF reader for the tests: header and (tick, event bytes) per track."""
    fmt, ntracks, division = struct.unpack(">HHH", data[8:14])
    pos, tracks = 14, []
    while pos < len(data):
        assert data[pos : pos + 4] == b"MTrk"
        (length,) = struct.unpack(">I", data[pos + 4 : pos + 8])
        body, pos = data[pos + 8 : pos + 8 + length], pos + 8 + length
        i, tick, running, events = 0, 0, 0, []
        while i < len(body):
            delta = 0
            while True:
                delta = (delta << 7) | (body[i] & 0x7F)
                i += 1
                if body[i - 1] < 0x80:
                    break
            tick += delta
            if body[i] == 0xFF:
                size = body[i + 2]  # short metas only in these files
                events.append((tick, body[i : i + 3 + size]))
                i += 3 + size
                continue
            if body[i] >= 0x80:
                running, i = body[i], i + 1
            size = 1 if 0xC0 <= running < 0xE0 else 2
            events.append((tick, bytes([running]) + body[i : i + size]))
            i += size
        tracks.append(events)
    assert len(tracks) == ntracks
    return (fmt, ntracks, division), tracks


def notes_of(track) -> list[tuple[int, int, int, int]]:
    return [(n.time, n.duration, n.pitch, n.velocity) for n in track.notes]


# ------------------------------------------------------------ reading


def format0_multichannel() -> bytes:
    """PPQ 96, one track: piano ch1, strings ch2 (running status), drums ch10."""
    body = (
        name_meta("Sketch")
        + tempo(0, 500_000)
        + ev(0, 0xC0, 0)
        + ev(0, 0xC1, 48)
        + ev(0, 0xC9, 0)
        + ev(0, 0x90, 60, 100)
        + ev(0, 64, 90)  # running status: another note-on on channel 1
        + ev(0, 0x91, 48, 70)
        + ev(0, 0x99, 36, 110)
        + ev(48, 0x89, 36, 0)
        + ev(48, 0x80, 60, 0)
        + ev(0, 64, 0)  # running status note-off
        + ev(0, 0x90, 67, 80)
        + ev(0, 0x99, 38, 100)
        + ev(48, 38, 0)  # running status note-on velocity 0 = note-off (drums)
        + ev(48, 0x80, 67, 0)
        + ev(0, 0x81, 48, 0)
        + EOT
    )
    return smf(0, 96, [body])


def test_format0_splits_by_channel_and_reads_running_status(tmp_path: Path):
    path = tmp_path / "f0.mid"
    path.write_bytes(format0_multichannel())
    score = load_score(path)
    assert score.tpq == 96
    by_program = {(t.program, t.is_drum): t for t in score.tracks}
    assert set(by_program) == {(0, False), (48, False), (0, True)}
    piano, strings, drums = by_program[(0, False)], by_program[(48, False)], by_program[(0, True)]
    assert sorted(notes_of(piano)) == [(0, 96, 60, 100), (0, 96, 64, 90), (96, 96, 67, 80)]
    assert notes_of(strings) == [(0, 192, 48, 70)]
    assert sorted(notes_of(drums)) == [(0, 48, 36, 110), (96, 48, 38, 100)]
    assert [t.mspq for t in score.tempos] == [500_000]
    assert note_count(score) == 6
    assert score_seconds(score) == pytest.approx(1.0)  # 192 ticks at 96 PPQ, 120 bpm


def test_format0_program_change_on_one_channel_is_one_track_with_its_change():
    body = (
        ev(0, 0xC0, 0) + ev(0, 0x90, 60, 100) + ev(96, 0x80, 60, 0)
        + ev(0, 0xC0, 40) + ev(0, 0x90, 62, 100) + ev(96, 0x80, 62, 0) + EOT
    )
    score, programs = load_score_bytes_and_programs(smf(0, 96, [body]), "prog.mid")
    assert [(t.program, [n.pitch for n in t.notes]) for t in score.tracks] == [(0, [60, 62])]
    assert programs == {0: [(96, 40)]}


def format1_tempo_and_meter() -> bytes:
    """PPQ 960; conductor: 120 bpm, 3/4, Cm; at tick 2880 6/8; at 3840 60 bpm."""
    conductor = (
        name_meta("Cue 1M1")
        + tempo(0, 500_000)
        + b"\x00\xff\x58\x04\x03\x02\x18\x08"
        + b"\x00\xff\x59\x02\xfd\x01"
        + vlq(2880) + b"\xff\x58\x04\x06\x03\x18\x08"
        + tempo(960, 1_000_000)
        + EOT
    )
    cello = (
        name_meta("Celli")
        + ev(0, 0xC0, 42)
        + ev(0, 0x90, 48, 90) + ev(960, 0x80, 48, 64)
        + ev(2880, 0x90, 50, 90) + ev(960, 0x80, 50, 64)
        + ev(0, 0x90, 52, 90) + ev(960, 0x80, 52, 64)
        + EOT
    )
    return smf(1, 960, [conductor, cello])


def test_format1_tempo_change_and_time_signatures():
    score = load_score_bytes(format1_tempo_and_meter(), "1m1.mid")
    assert [t.name for t in score.tracks] == ["Celli"]  # the conductor track is dropped
    (cello,) = score.tracks
    assert cello.program == 42 and not cello.is_drum
    assert [(n.time, n.duration, n.pitch) for n in cello.notes] == [
        (0, 960, 48), (3840, 960, 50), (4800, 960, 52)
    ]
    assert [(t.time, t.mspq) for t in score.tempos] == [(0, 500_000), (3840, 1_000_000)]
    assert [t.qpm for t in score.tempos] == pytest.approx([120.0, 60.0])
    assert [(s.time, s.numerator, s.denominator) for s in score.time_signatures] == [
        (0, 3, 4), (2880, 6, 8)
    ]
    assert [(k.key, k.tonality) for k in score.key_signatures] == [(-3, 1)]
    seconds = score.to("second").tracks[0].notes
    assert [x for n in seconds for x in (n.time, n.duration)] == pytest.approx(
        [0.0, 0.5, 2.0, 1.0, 3.0, 1.0]
    )
    assert score_seconds(score) == pytest.approx(4.0)


def test_tracks_without_notes_are_dropped():
    lyrics_only = name_meta("Lyrics") + b"\x00\xff\x05\x02la" + EOT
    controls_only = name_meta("Automation") + ev(0, 0xB2, 7, 100) + EOT
    data = smf(1, 96, [one_note_track(), lyrics_only, controls_only])
    assert symusic.Score.from_midi(data).tracks[1].name == "Lyrics"  # symusic keeps it
    score = load_score_bytes(data, "sparse.mid")
    assert len(score.tracks) == 1 and note_count(score) == 1


def test_unknown_chunks_and_trailing_bytes_are_skipped():
    data = format1_tempo_and_meter()
    header, rest = data[:14], data[14:]
    data = header + chunk(b"XFIH", b"vendor data") + rest + b"\x00\x00"
    assert note_count(load_score_bytes(data, "alien.mid")) == 3


# ------------------------------------------------------------ refusals


def refusals() -> dict[str, bytes]:
    good = smf(0, 96, [one_note_track()])
    return {
        "garbage": b"this is not a MIDI file at all, just text",
        "empty": b"",
        "cut_mid_chunk": good[:-6],
        "missing_track": smf(1, 96, [one_note_track()], ntracks=2),
        "cut_mid_event": smf(0, 96, [tempo(0, 500_000) + ev(0, 0x90, 60)]),
        "smpte_division": smf(0, (256 - 25) << 8 | 40, [one_note_track()]),
        "zero_ppq": smf(0, 0, [one_note_track()]),
        "format2": smf(2, 96, [one_note_track(), one_note_track()]),
        "format3": smf(3, 96, [one_note_track()]),
        "no_tracks": smf(1, 96, []),
        "no_notes": smf(1, 96, [tempo(0, 500_000) + name_meta("Conductor") + EOT]),
        "tempo_zero": smf(0, 96, [one_note_track(mspq=0)]),
        "tempo_1200bpm": smf(0, 96, [one_note_track(mspq=50_000)]),
        "past_24_hours": smf(0, 96, [one_note_track(length=0x0FFFFFFF)]),
        "pitch_200": smf(0, 96, [ev(0, 0x90, 200, 100) + ev(96, 0x80, 200, 0) + EOT]),
    }


EXPECTED_REASON = {
    "garbage": "not a MIDI file",
    "empty": "is empty",
    "cut_mid_chunk": "truncated",
    "missing_track": "truncated",
    "cut_mid_event": "truncated",
    "smpte_division": "SMPTE time division (25 fps, 40 ticks per frame)",
    "zero_ppq": "0 ticks per quarter",
    "format2": "format 2",
    "format3": "format 3",
    "no_tracks": "no tracks",
    "no_notes": "no notes",
    "tempo_zero": "infinite bpm",
    "tempo_1200bpm": "1200 bpm",
    "past_24_hours": "hours",
    "pitch_200": "pitch 200",
}


@pytest.mark.parametrize("case", sorted(EXPECTED_REASON))
def test_bad_files_are_refused_naming_the_file(tmp_path: Path, case: str):
    path = tmp_path / f"bad_{case}.mid"
    path.write_bytes(refusals()[case])
    with pytest.raises(ScoreError) as info:
        load_score(path)
    message = str(info.value)
    assert path.name in message and "\n" not in message
    assert EXPECTED_REASON[case] in message
    assert "iostream" not in message and "MiniMidi" not in message
    with pytest.raises(ScoreError, match=f"from_bytes_{case}"):
        load_score_bytes(refusals()[case], f"from_bytes_{case}.mid")


def test_missing_file_and_directory_are_refused(tmp_path: Path):
    with pytest.raises(ScoreError, match="nothere.mid: cannot read"):
        load_score(tmp_path / "nothere.mid")
    with pytest.raises(ScoreError, match="cannot read"):
        load_score(tmp_path)


def test_valid_minimal_file_is_accepted():
    score = load_score_bytes(smf(0, 96, [one_note_track()]), "ok.mid")
    assert note_count(score) == 1


# ------------------------------------------------------------ writing


def rich_score() -> symusic.Score:
    score = load_score_bytes(format1_tempo_and_meter(), "1m1.mid")
    drums = symusic.Track("Percussion", 0, True)
    drums.notes.append(symusic.Note(960, 120, 36, 110))
    score.tracks.append(drums)
    horn = symusic.Track("Horns", 60, False)
    horn.notes.append(symusic.Note(1920, 1920, 65, 70))
    score.tracks.append(horn)
    score.markers.append(symusic.TextMeta(2880, "B"))
    return score


def test_round_trip_keeps_notes_names_programs_and_tempo_map(tmp_path: Path):
    score = rich_score()
    path = tmp_path / "out" / "1M1.mid"
    save_score(score, path)
    back = load_score(path)
    assert back.tpq == 960
    summary = lambda s: [  # noqa: E731
        (t.name, t.program, t.is_drum, notes_of(t))
        for t in s.tracks
    ]
    assert summary(back) == summary(score)
    assert [(t.time, t.mspq) for t in back.tempos] == [(0, 500_000), (3840, 1_000_000)]
    assert [(s.time, s.numerator, s.denominator) for s in back.time_signatures] == [
        (0, 3, 4), (2880, 6, 8)
    ]
    assert [(k.time, k.key, k.tonality) for k in back.key_signatures] == [(0, -3, 1)]
    assert [(m.time, m.text) for m in back.markers] == [(2880, "B")]
    assert read_smpte_offset(path.read_bytes()) is None


def test_output_is_format1_with_a_conductor_track_and_named_tracks():
    (fmt, ntracks, division), tracks = parse_tracks(score_to_bytes(rich_score()))
    assert (fmt, ntracks, division) == (1, 4, 960)
    conductor = tracks[0]
    assert all(raw[0] == 0xFF for _, raw in conductor), "no channel events in the conductor"
    metas = [(tick, raw[1]) for tick, raw in conductor]
    assert (0, 0x51) in metas and (3840, 0x51) in metas
    assert (0, 0x58) in metas and (2880, 0x58) in metas and (0, 0x59) in metas
    assert metas[-1][1] == 0x2F
    for events, (name, program, channel) in zip(
        tracks[1:], [("Celli", 42, None), ("Percussion", 0, 9), ("Horns", 60, None)]
    ):
        assert (0, b"\xff\x03" + bytes([len(name)]) + name.encode()) in events
        assert not any(raw[0] == 0xFF and raw[1] in (0x51, 0x58, 0x59) for _, raw in events)
        changes = [raw for _, raw in events if 0xC0 <= raw[0] <= 0xCF]
        assert [c[1] for c in changes] == [program]
        if channel is not None:
            assert changes[0][0] & 0x0F == channel


def test_smpte_offset_event_opens_the_conductor_track(tmp_path: Path):
    fields = smpte_fields("01:00:07:12", 0)
    assert fields == (1, 0, 7, 12, 0)
    data = score_to_bytes(rich_score(), smpte=fields)
    first_track = data[14 + 8 :]
    assert first_track.startswith(b"\x00\xff\x54\x05\x01\x00\x07\x0c\x00")
    assert read_smpte_offset(data) == (1, 0, 7, 12, 0)
    assert note_count(load_score_bytes(data, "with_offset.mid")) == 5  # readers skip it
    drop = smpte_fields("10:59:00;02", 2)
    path = tmp_path / "df.mid"
    save_score(rich_score(), path, smpte=drop)
    raw = path.read_bytes()
    assert b"\x00\xff\x54\x05" + bytes([2 << 5 | 10, 59, 0, 2, 0]) in raw
    assert read_smpte_offset(raw) == (10, 59, 0, 2, 2)
    assert raw == score_to_bytes(rich_score(), smpte=drop)


@pytest.mark.parametrize(
    "label, code, reason",
    [
        ("1:00:00:00", 0, "HH:MM:SS:FF"),
        ("01:00:00:24", 0, "frames 24 is outside 0..23"),
        ("01:00:00:25", 1, "frames 25 is outside 0..24"),
        ("01:60:00:00", 3, "minutes 60"),
        ("24:00:00:00", 1, "hours 24"),
        ("01:01:00:00", 2, "drop-frame"),
        ("01:00:00:00", 4, "rate code 4"),
    ],
)
def test_bad_timecodes_are_refused(label: str, code: int, reason: str):
    with pytest.raises(TimecodeError, match=reason):
        smpte_fields(label, code)


def test_smpte_tuple_is_checked_when_writing():
    assert smpte_fields("01:10:00:00", 2) == (1, 10, 0, 0, 2)  # every tenth minute keeps 00
    with pytest.raises(TimecodeError, match="frames 30"):
        score_to_bytes(rich_score(), smpte=(1, 0, 0, 30, 3))


def test_writing_is_deterministic(make_score):
    score = make_score(tpq=480, bpm=96.0, program=40, name="Violins I")
    first = score_to_bytes(score, smpte=(1, 0, 0, 0, 1))
    assert first == score_to_bytes(score.copy(), smpte=(1, 0, 0, 0, 1))
    assert first == score_to_bytes(load_score_bytes(first, "again.mid"), smpte=(1, 0, 0, 0, 1))


def test_quarter_scores_are_written_in_ticks(make_score):
    score = make_score(tpq=480)
    assert score_to_bytes(score.to("quarter")) == score_to_bytes(score)


def test_score_without_tracks_writes_only_the_conductor():
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 100.0))
    (fmt, ntracks, _), tracks = parse_tracks(score_to_bytes(score, smpte=(0, 59, 58, 0, 1)))
    assert (fmt, ntracks) == (1, 1)
    assert [raw[:3] for _, raw in tracks[0]] == [b"\xff\x54\x05", b"\xff\x51\x03", b"\xff\x2f\x00"]


@pytest.mark.parametrize(
    "note, reason",
    [
        ((0, 480, -3, 80), "pitch -3"),
        ((0, 480, 60, 0), "velocity 0"),
        ((0, -5, 60, 80), "duration -5"),
    ],
)
def test_failed_save_leaves_no_file(tmp_path: Path, make_score, note, reason):
    score = make_score([(0.0, 1.0, 60, 80)])
    score.tracks[0].notes.append(symusic.Note(*note))
    path = tmp_path / "broken.mid"
    with pytest.raises(ScoreError, match=reason) as info:
        save_score(score, path)
    assert "broken.mid" in str(info.value)
    assert list(tmp_path.iterdir()) == []
    path.write_bytes(b"previous take")
    with pytest.raises(ScoreError):
        save_score(score, path)
    assert path.read_bytes() == b"previous take"


def test_save_into_unwritable_place_leaves_nothing(tmp_path: Path, make_score):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        save_score(make_score(), blocker / "cue.mid")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_score_seconds_follows_the_tempo_map(make_score):
    score = make_score([(0.0, 1.0, 60, 80), (7.0, 1.0, 62, 80)], tpq=480, bpm=120.0)
    assert score_seconds(score) == pytest.approx(4.0)
    score.tempos.append(symusic.Tempo(480 * 4, 60.0))  # beats 4..8 at one second each
    assert score_seconds(score) == pytest.approx(6.0)
    assert note_count(score) == 2
    assert score_seconds(symusic.Score(480)) == 0.0


def test_a_grace_note_written_off_first_reads_as_a_note_of_no_length(tmp_path):
    """music21 writes a grace note's note-off before its note-on at one tick. Read as written,
    the open note-on took the next off of its key: every later note of that pitch ended a note
    late and the last was lost. Read so, the grace note has no length and the rest are whole."""
    from scorefarm.symbolic.smf_read import chunk, encode_track, header

    on = lambda key: bytes([0x90, key, 80])  # noqa: E731
    off = lambda key: bytes([0x80, key, 0])  # noqa: E731
    events = [(0, on(72)), (480, off(72)),
              (480, off(74)), (480, on(74)),  # the grace note D5, off first, on the beat
              (480, on(72)), (960, off(72)),
              (960, on(74)), (1440, off(74)),  # a real D5 a beat later
              (1440, on(74)), (1920, off(74))]  # and one more
    track = encode_track(events, 1920)
    path = tmp_path / "grace.mid"
    path.write_bytes(header(1, 1, 480) + chunk(b"MTrk", track))
    notes = sorted((n.time, n.duration, n.pitch) for n in load_score(path).tracks[0].notes)
    assert notes == [(0, 480, 72), (480, 0, 74), (480, 480, 72), (960, 480, 74), (1440, 480, 74)]


def test_a_duplicate_note_off_where_a_key_is_struck_again_leaves_the_next_note_whole(tmp_path):
    """Some sequencers end a note with an explicit off and a velocity-0 on: the second off
    ends nothing, but the note struck after it has an off of its own and keeps its length."""
    from scorefarm.symbolic.smf_read import chunk, encode_track, header

    events = [(0, bytes([0x90, 60, 80])), (480, bytes([0x80, 60, 0])), (480, bytes([0x90, 60, 0])),
              (480, bytes([0x90, 60, 80])), (960, bytes([0x80, 60, 0]))]
    path = tmp_path / "dup.mid"
    path.write_bytes(header(1, 1, 480) + chunk(b"MTrk", encode_track(events, 960)))
    assert sorted((n.time, n.duration, n.pitch) for n in load_score(path).tracks[0].notes) == [
        (0, 480, 60), (480, 480, 60)]


def test_many_grace_notes_read_in_linear_time(tmp_path):
    """Each grace note is moved once, in one sort, not by list surgery per note: 20,000 grace
    notes before 20,000 notes read back whole (their count checked, not their time)."""
    from scorefarm.symbolic.smf_read import chunk, encode_track, header

    events = []
    for k in range(20000):
        tick, key = 240 * k, 60 + k % 12
        events += [(tick, bytes([0x80, key + 1, 0])), (tick, bytes([0x90, key + 1, 80])),
                   (tick, bytes([0x90, key, 80])), (tick + 240, bytes([0x80, key, 0]))]
    path = tmp_path / "graces.mid"
    path.write_bytes(header(1, 1, 480) + chunk(b"MTrk", encode_track(sorted(events, key=lambda e: e[0]), 240 * 20000)))
    notes = load_score(path).tracks[0].notes.numpy()
    assert len(notes["time"]) == 40000 and int((notes["duration"] == 0).sum()) == 20000
