"""What the reader mends before symusic reads a file: a channel changing program among its
notes (one track, its program changes beside the score), texts not in UTF-8, and a
resolution coarser than the stages can use."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import symusic

from scorefarm.errors import ScoreError
from scorefarm.symbolic.score_io import (
    RESAMPLED_TPQ,
    load_score_bytes,
    load_score_bytes_and_programs,
    score_seconds,
    score_to_bytes,
)
from scorefarm.symbolic.smf_read import chunk, encode_track, header, read_chunks, track_events
from scorefarm.symbolic.smf_tracks import split_programs

Q = 480


def smf(tracks: list[list[tuple[int, bytes]]], tpq: int = Q, fmt: int = 1) -> bytes:
    """A MIDI file of tracks given as (absolute tick, event bytes)."""
    bodies = [encode_track(sorted(events, key=lambda e: e[0]), max((t for t, _ in events), default=0))
              for events in tracks]
    return header(fmt, len(bodies), tpq) + b"".join(chunk(b"MTrk", body) for body in bodies)


def note(start: int, length: int, pitch: int, channel: int = 0, velocity: int = 90) -> list[tuple[int, bytes]]:
    return [(start, bytes([0x90 | channel, pitch, velocity])), (start + length, bytes([0x80 | channel, pitch, 0]))]


def meta(kind: int, text: bytes, tick: int = 0) -> tuple[int, bytes]:
    return (tick, bytes([0xFF, kind, len(text)]) + text)


def name(text: bytes) -> tuple[int, bytes]:
    return meta(0x03, text)


CONDUCTOR = [(0, b"\xff\x51\x03\x07\xa1\x20"), (0, b"\xff\x58\x04\x04\x02\x18\x08")]  # 120 bpm, 4/4


def pizzicato_quartet() -> bytes:
    """Violin I: arco (40) for four quarters, pizzicato (45) for two, arco again for two; its
    volume and sustain set once at the start. A cello under it."""
    violin = [name(b"Violin I"), (0, b"\xc0\x28"), (0, b"\xb0\x07\x64"), (0, b"\xb0\x40\x7f")]
    for k in range(8):
        violin += note(k * Q, Q, 67 + k)
    violin += [(4 * Q, b"\xc0\x2d"), (6 * Q, b"\xc0\x28")]
    violin.sort(key=lambda e: (e[0], e[1][0] & 0xF0 != 0xC0))  # the program changes before the notes at their ticks
    cello = [name(b"Cello"), (0, b"\xc1\x2a"), *note(0, 8 * Q, 36, channel=1)]
    return smf([CONDUCTOR, violin, cello])


def notes_of(track) -> list[tuple[int, int, int]]:
    return [(n.time, n.duration, n.pitch) for n in track.notes]


# ---------------------------------------------------------------- a program change among the notes


def test_a_violin_going_pizzicato_and_back_is_one_track_with_its_program_changes():
    score, programs = load_score_bytes_and_programs(pizzicato_quartet(), "pizz.mid")
    assert [(t.name, t.program, t.note_num()) for t in score.tracks] == [("Violin I", 40, 8), ("Cello", 42, 1)]
    assert programs == {0: [(4 * Q, 45), (6 * Q, 40)]}
    assert {(c.time, c.number, c.value) for c in score.tracks[0].controls} == {(0, 7, 100), (0, 64, 127)}
    assert load_score_bytes(pizzicato_quartet(), "pizz.mid").dumps_midi() == score.dumps_midi()


def test_split_programs_plays_each_program_on_a_track_with_the_channel_state():
    score, programs = load_score_bytes_and_programs(pizzicato_quartet(), "pizz.mid")
    played = split_programs(score, programs)
    assert [(t.name, t.program, [n.pitch for n in t.notes]) for t in played.tracks] == [
        ("Violin I", 40, [67, 68, 69, 70, 73, 74]), ("Violin I", 45, [71, 72]), ("Cello", 42, [36])]
    for part in played.tracks[:2]:  # the pizzicato is as loud and as sustained as the arco
        assert {(c.time, c.number, c.value) for c in part.controls} == {(0, 7, 100), (0, 64, 127)}
    assert len(score.tracks) == 2  # the score read is left as it is
    assert split_programs(score, {}) is score


def test_program_changes_are_written_back_before_their_notes():
    score, programs = load_score_bytes_and_programs(pizzicato_quartet(), "pizz.mid")
    data = score_to_bytes(score, programs=programs)
    _, _, bodies = read_chunks(data, "out")
    events = list(track_events(bodies[1], "out"))
    changes = [(tick, raw[1]) for tick, raw in events if raw[0] & 0xF0 == 0xC0]
    assert changes == [(0, 40), (4 * Q, 45), (6 * Q, 40)]
    at = [raw for tick, raw in events if tick == 4 * Q]
    assert at.index(bytes([at[0][0] & 0x0F | 0xC0, 45])) < next(i for i, raw in enumerate(at) if raw[0] & 0xF0 == 0x90
                                                                 and raw[2] > 0)
    again, programs_again = load_score_bytes_and_programs(data, "out")
    assert programs_again == programs and again.dumps_midi() == score.dumps_midi()
    # a player of the file hears what the renderer plays
    by_program = {(t.name, t.program): notes_of(t) for t in symusic.Score.from_midi(data).tracks}
    assert by_program == {(t.name, t.program): notes_of(t) for t in split_programs(score, programs).tracks}
    assert score_to_bytes(score) != data and score_to_bytes(score, programs={}) == score_to_bytes(score)
    with pytest.raises(ValueError, match="track 5"):
        score_to_bytes(score, programs={5: [(0, 45)]})


def test_a_note_sounding_over_the_change_keeps_the_program_it_began_with():
    # the change comes while the first note sounds: that note was struck arco, and the change
    # is placed at the first note struck pizzicato
    violin = [name(b"Vn"), (0, b"\xc0\x28"), *note(0, Q, 67), (Q // 2, b"\xc0\x2d"), *note(Q, Q, 69)]
    score, programs = load_score_bytes_and_programs(smf([CONDUCTOR, violin]), "over.mid")
    assert [(t.program, notes_of(t)) for t in score.tracks] == [(40, [(0, Q, 67), (Q, Q, 69)])]
    assert programs == {0: [(Q, 45)]}  # at the first note played pizzicato
    assert [(t.program, [n.pitch for n in t.notes]) for t in split_programs(score, programs).tracks] == [
        (40, [67]), (45, [69])]


def test_a_format0_file_keeps_one_track_per_channel_and_maps_the_changes_to_theirs():
    events = [*CONDUCTOR, (0, b"\xc0\x00"), (0, b"\xc1\x30")]
    events += note(0, Q, 60) + note(0, 2 * Q, 48, channel=1) + note(Q, Q, 36, channel=9)
    events += [(Q, b"\x90\x40\x50"), (Q, b"\x80\x40\x00")]  # a note of no length
    events += [(2 * Q, b"\xc0\x0b")] + note(2 * Q, Q, 62) + [(2 * Q, b"\xc1\x31")] + note(2 * Q, Q, 50, channel=1)
    score, programs = load_score_bytes_and_programs(smf([events], fmt=0), "f0.mid")
    assert [(t.program, t.is_drum, [n.pitch for n in t.notes]) for t in score.tracks] == [
        (0, False, [60, 64, 62]), (48, False, [48, 50]), (0, True, [36])]
    assert programs == {0: [(2 * Q, 11)], 1: [(2 * Q, 49)]}


@pytest.mark.parametrize("where", ["before the first note", "the same program again", "after the last note"])
def test_a_program_change_that_splits_nothing_reads_as_symusic_reads_it(where):
    violin = [name(b"Vn"), (0, b"\xc0\x00"), (0, b"\xc0\x28"), *note(0, Q, 67), *note(Q, Q, 69)]
    violin += {"before the first note": [], "the same program again": [(Q, b"\xc0\x28")],
               "after the last note": [(2 * Q, b"\xc0\x2d")]}[where]
    data = smf([CONDUCTOR, sorted(violin, key=lambda e: e[0]), [name(b"Vc"), *note(0, 2 * Q, 36, 1)]])
    score, programs = load_score_bytes_and_programs(data, "x.mid")
    assert programs == {}
    assert score.dumps_midi() == symusic.Score.from_midi(data).dumps_midi()


def test_random_channels_and_programs_keep_every_note_on_its_channel():
    # per (track, channel), the notes symusic reads over its split tracks are the one track's
    rng = random.Random(7)
    for _ in range(40):
        tracks = [CONDUCTOR]
        for _ in range(rng.randint(1, 3)):
            events = [name(b"T")]
            for _ in range(rng.randint(1, 30)):
                channel, tick = rng.choice([0, 1, 9]), rng.randrange(0, 16) * Q // 2
                if rng.random() < 0.2:
                    events.append((tick, bytes([0xC0 | channel, rng.choice([0, 40, 45])])))
                else:
                    events += note(tick, rng.choice([0, Q // 2, Q, 3 * Q]), rng.choice([60, 62, 64]), channel)
            tracks.append(events)
        data = smf(tracks)
        try:
            score, programs = load_score_bytes_and_programs(data, "random.mid")
        except ScoreError as exc:
            assert "has no notes" in str(exc)
            continue
        symusic_notes = Counter(n for t in symusic.Score.from_midi(data).tracks for n in notes_of(t))
        assert Counter(n for t in score.tracks for n in notes_of(t)) == symusic_notes
        played = split_programs(score, programs)
        assert Counter(n for t in played.tracks for n in notes_of(t)) == symusic_notes
        assert all(0 <= index < len(score.tracks) for index in programs)


# ---------------------------------------------------------------- texts not in UTF-8


def test_a_latin1_track_name_reads_as_written_and_is_written_in_utf8():
    data = smf([CONDUCTOR + [meta(0x06, b"Coda \x96 f\xfcr")],
                [name("Violine für Anna".encode("latin-1")), *note(0, Q, 67)],
                [name("Violon – été".encode("utf-8")), *note(0, Q, 60, 1)],
                [name(b"\x81x"), *note(0, Q, 48, 2)]])
    score = load_score_bytes(data, "names.mid")
    assert [t.name for t in score.tracks] == ["Violine für Anna", "Violon – été", "\x81x"]
    assert [m.text for m in score.markers] == ["Coda – für"]  # cp1252's dash
    again = load_score_bytes(score_to_bytes(score), "out")
    assert [t.name for t in again.tracks] == [t.name for t in score.tracks]


def test_a_utf8_name_is_read_by_symusic_unchanged():
    data = smf([CONDUCTOR, [name("Виолончель ♪".encode("utf-8")), *note(0, Q, 48)]])
    assert load_score_bytes(data, "x").dumps_midi() == symusic.Score.from_midi(data).dumps_midi()


# ---------------------------------------------------------------- a coarse resolution


def coarse(tpq: int) -> bytes:
    """Four bars of 4/4 at ``tpq``: a chord a bar and a line of quarters, then a bar of the
    finest notes the resolution writes, one tick each."""
    chords = [(0, b"\xff\x51\x03\x09\x27\xc0"), (0, b"\xff\x58\x04\x04\x02\x18\x08"), (2 * 4 * tpq, b"\xff\x58\x04\x03\x02\x18\x08")]
    line = []
    for bar, root in enumerate([60, 65, 67, 60]):
        for pitch in (root, root + 4, root + 7):
            chords += note(bar * 4 * tpq, 4 * tpq, pitch)
        line += [e for k in range(4) for e in note((bar * 4 + k) * tpq, tpq, 72 + k, channel=1)]
    line += [e for k in range(4 * tpq) for e in note(16 * tpq + k, 1, 76 + k % 3, channel=1)]
    return smf([chords, line], tpq=tpq, fmt=0)


@pytest.mark.parametrize("tpq, read_at", [(1, 480), (2, 480), (3, 480), (7, 483), (23, 483)])
def test_a_coarse_file_is_read_with_every_tick_multiplied(tpq, read_at):
    data = coarse(tpq)
    score = load_score_bytes(data, "coarse.mid")
    factor = read_at // tpq
    assert score.tpq == read_at == tpq * factor
    as_written = symusic.Score.from_midi(data)
    for ours, theirs in zip(score.tracks, as_written.tracks, strict=True):
        assert notes_of(ours) == [(t * factor, d * factor, p) for t, d, p in notes_of(theirs)]
    assert [(s.time, s.numerator) for s in score.time_signatures] == [(0, 4), (8 * read_at, 3)]
    assert [t.time for t in score.tempos] == [0]
    assert score_seconds(score) == pytest.approx(score_seconds(as_written))


def test_a_file_of_24_ticks_per_quarter_is_read_as_it_is():
    data = coarse(24)
    assert load_score_bytes(data, "x").dumps_midi() == symusic.Score.from_midi(data).dumps_midi()


def test_a_coarse_file_too_long_to_multiply_is_refused():
    data = smf([[(0, b"\xff\x51\x03\x00\xea\x60"), *note(0, 1, 60), (600_000, b"\xb0\x07\x64")]], tpq=1)
    with pytest.raises(ScoreError, match=r"1 ticks per quarter note, read at 480, where its event at tick 600000"):
        load_score_bytes(data, "long.mid")


def test_a_coarse_file_is_orchestrated(tmp_path):
    # tpq // 4 was 0 at 1 tick per quarter: orchestrate failed with ZeroDivisionError
    from click.testing import CliRunner

    from scorefarm.cli.main import cli

    (tmp_path / "tpq1.mid").write_bytes(coarse(1))
    result = CliRunner().invoke(cli, ["orchestrate", str(tmp_path / "tpq1.mid"), "--ensemble", "chamber",
                                      "-o", str(tmp_path / "out.mid")])
    assert result.exit_code == 0, (result.output, result.exception)
    out = symusic.Score.from_midi((tmp_path / "out.mid").read_bytes())
    assert out.tpq == RESAMPLED_TPQ and out.note_num() >= 28
