"""MIDI files as composers have them: notes left sounding when a track ends, track names
in Shift-JIS, a RIFF MIDI (.rmi) wrapper. Each is read as a player plays it, and every
command takes it."""

from __future__ import annotations

import struct

import pytest
import symusic
from click.testing import CliRunner

from scorefarm.cli.main import cli
from scorefarm.errors import ScoreError
from scorefarm.symbolic.score_io import load_score, load_score_bytes, score_to_bytes
from scorefarm.symbolic.smf_edit import replace_notes
from scorefarm.symbolic.smf_read import chunk, encode_track, header, read_chunks

Q = 480
CONDUCTOR = [(0, b"\xff\x51\x03\x07\xa1\x20"), (0, b"\xff\x58\x04\x04\x02\x18\x08")]  # 120 bpm, 4/4


def smf(tracks: list[list[tuple[int, bytes]]], fmt: int = 1, ends: list[int] | None = None) -> bytes:
    """A MIDI file of tracks given as (absolute tick, event bytes), each ending at its last
    event or at ``ends[i]``."""
    bodies = [encode_track(sorted(events, key=lambda e: e[0]), (ends or [0] * len(tracks))[i])
              for i, events in enumerate(tracks)]
    return header(fmt, len(bodies), Q) + b"".join(chunk(b"MTrk", body) for body in bodies)


def note(start: int, length: int, pitch: int, channel: int = 0) -> list[tuple[int, bytes]]:
    return [(start, bytes([0x90 | channel, pitch, 80])), (start + length, bytes([0x80 | channel, pitch, 0]))]


def name(text: bytes) -> tuple[int, bytes]:
    return (0, bytes([0xFF, 0x03, len(text)]) + text)


def notes_of(track) -> list[tuple[int, int, int]]:
    return [(n.time, n.duration, n.pitch) for n in track.notes]


def scale(channel: int = 0, pitch: int = 60) -> list[tuple[int, bytes]]:
    return [e for k in range(4) for e in note(k * Q, Q, pitch + 2 * k, channel)]


# ---------------------------------------------------------------- notes no note-off ends


def left_sounding() -> bytes:
    """A piano whose last chord (C5, E5 at bar 2) has no note-offs, its track ending a beat
    later; a second track running on to the end of bar 2; and one key (C4) struck twice and
    released once, then struck again with no release."""
    piano = [name(b"Piano"), *scale(), (4 * Q, b"\x90\x48\x50"), (4 * Q, b"\x90\x4c\x50")]
    piano += [(5 * Q, b"\x90\x3c\x50"), (5 * Q + 10, b"\x90\x3c\x50"), (5 * Q + 20, b"\x80\x3c\x00"),
              (5 * Q + 30, b"\x90\x3c\x50")]
    bass = [name(b"Bass"), *note(0, 8 * Q, 36, channel=1)]
    return smf([CONDUCTOR, piano, bass], ends=[0, 6 * Q, 8 * Q])


def test_a_note_left_sounding_is_held_to_the_end_of_the_file():
    score = load_score_bytes(left_sounding(), "left.mid")
    piano, bass = score.tracks
    assert notes_of(piano) == [(0, Q, 60), (Q, Q, 62), (2 * Q, Q, 64), (3 * Q, Q, 66),
                               (4 * Q, 4 * Q, 72), (4 * Q, 4 * Q, 76),
                               (5 * Q, 20, 60), (5 * Q + 10, 10, 60), (5 * Q + 30, 3 * Q - 30, 60)]
    assert notes_of(bass) == [(0, 8 * Q, 36)]
    again = load_score_bytes(score_to_bytes(score), "out.mid")  # written with its note-offs
    assert [notes_of(t) for t in again.tracks] == [notes_of(t) for t in score.tracks]


def test_a_file_whose_notes_all_end_reads_as_symusic_reads_it():
    data = smf([CONDUCTOR, [name(b"Piano"), *scale()]])
    assert load_score_bytes(data, "x").dumps_midi() == symusic.Score.from_midi(data).dumps_midi()


def test_check_fix_finds_a_note_left_sounding_among_the_file_events():
    """--fix replaces notes in the file's own events: a note without a note-off is found
    there too (as the reader holds it), and its replacement gets a note-off of its own."""
    data = left_sounding()
    score = load_score_bytes(data, "left.mid")
    edited = replace_notes(data, score, {0: {5: [(4 * Q, 8 * Q, 77)]}}, "left.mid")  # E5 -> F5
    assert edited is not None
    piano = load_score_bytes(edited, "edited.mid").tracks[0]
    assert (4 * Q, 4 * Q, 77) in notes_of(piano) and (4 * Q, 4 * Q, 76) not in notes_of(piano)
    assert (4 * Q, 4 * Q, 72) in notes_of(piano)  # the other note left sounding, still held
    before, after = read_chunks(data, "left.mid")[2], read_chunks(edited, "edited.mid")[2]
    assert after[0] == before[0] and after[2] == before[2] and after[1] != before[1]  # only the piano's chunk


# ---------------------------------------------------------------- Shift-JIS names


def test_shift_jis_track_names_read_as_japanese():
    names = ["ピアノ", "バイオリンⅠ", "Piano 右手", "弦", "ストリングス(弦)", "ﾋﾟｱﾉ"]
    data = smf([CONDUCTOR] + [[name(text.encode("cp932")), *scale(channel=k)] for k, text in enumerate(names)])
    score = load_score_bytes(data, "japanese.mid")
    assert [t.name for t in score.tracks] == names
    assert [t.name for t in load_score_bytes(score_to_bytes(score), "out").tracks] == names


@pytest.mark.parametrize("text", ["Crème", "Frère Jacques", "Straße", "Mäßig", "Señor", "Größe", "Élan",
                                  "« Intro »", "Anna’s Theme", "Piano – soft", "É",
                                  "CORAÇÃO", "HÄÄMARSSI", "Piano ÅÄ", "«»", "©®"])
def test_a_cp1252_name_is_not_taken_for_shift_jis(text):
    data = smf([CONDUCTOR, [name(text.encode("cp1252")), *scale()]])
    assert load_score_bytes(data, "latin.mid").tracks[0].name == text


# ---------------------------------------------------------------- RIFF MIDI (.rmi)


def rmid(midi: bytes, before: bytes = b"") -> bytes:
    """``midi`` in a RIFF RMID wrapper: ``before`` (whole chunks) ahead of its data chunk."""
    padded = midi + b"\x00" * (len(midi) & 1)
    body = b"RMID" + before + b"data" + struct.pack("<I", len(midi)) + padded
    return b"RIFF" + struct.pack("<I", len(body)) + body


def two_voices() -> bytes:
    return smf([CONDUCTOR, [name(b"Soprano"), *scale(pitch=72)], [name(b"Bass"), *scale(channel=1, pitch=48)]])


def test_a_riff_midi_file_reads_as_the_midi_file_it_wraps(tmp_path):
    info = b"LIST" + struct.pack("<I", 5) + b"INFOx\x00"  # an odd-length chunk, padded
    path = tmp_path / "sketch.rmi"
    path.write_bytes(rmid(two_voices(), before=info))
    assert load_score(path).dumps_midi() == load_score_bytes(two_voices(), "x").dumps_midi()


@pytest.mark.parametrize("data, reason", [
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28), "RIFF file of form b'WAVE' (audio, not RMID), not a MIDI file"),
    (b"RIFF\x0c\x00\x00\x00RMIDLIST\x00\x00\x00\x00", "without a 'data' chunk"),
    (rmid(two_voices())[:-20], "is truncated"),
])
def test_a_wrong_riff_file_is_refused_naming_it(data, reason):
    with pytest.raises(ScoreError, match="cue.rmi") as info:
        load_score_bytes(data, "cue.rmi")
    assert reason in str(info.value)


def test_commands_take_a_riff_midi_file(tmp_path):
    path = tmp_path / "chorale.rmi"
    path.write_bytes(rmid(two_voices()))
    runner = CliRunner()
    analyzed = runner.invoke(cli, ["analyze", str(path)])
    assert analyzed.exit_code == 0, analyzed.output
    fixed = runner.invoke(cli, ["check", str(path), "--fix", "-o", str(tmp_path / "fixed.mid")])
    assert fixed.exit_code == 0, fixed.output
    assert (tmp_path / "fixed.mid").read_bytes()[:4] == b"MThd"  # the MIDI file, not its wrapper
    assert load_score(tmp_path / "fixed.mid").dumps_midi() == load_score(path).dumps_midi()


# ---------------------------------------------------------------- system-exclusive packets


@pytest.mark.parametrize("packets", [
    [(0, b"\xf0\x03\x43\x10\x4c"), (10, b"\xf7\x02\x00\xf7")],  # a message sent in two packets
    [(10, b"\xf7\x02\xf3\x01")],  # an escape: a song select
])
def test_f7_packets_leave_the_notes_on_their_ticks(packets):
    data = smf([CONDUCTOR, [name(b"Piano"), *packets, *scale()]])
    assert notes_of(load_score_bytes(data, "sysex.mid").tracks[0]) == [(k * Q, Q, 60 + 2 * k) for k in range(4)]


# ---------------------------------------------------------------- bytes after End of Track


@pytest.mark.parametrize("after", [b"\x00", b"\xde\xad\xbe\xef", b"\x00\x90\x48\x50"])
def test_bytes_after_end_of_track_inside_a_chunk_are_not_read(after):
    """A chunk padded or holding leftovers after its End of Track reads as players read it,
    also where the reader rewrites the track (here: a note left sounding is ended)."""
    events = [name(b"Piano"), *scale(), (4 * Q, b"\x90\x48\x50")]
    body = encode_track(events, 5 * Q) + after
    data = header(1, 2, Q) + chunk(b"MTrk", encode_track(CONDUCTOR, 0)) + chunk(b"MTrk", body)
    piano = load_score_bytes(data, "padded.mid").tracks[0]
    assert notes_of(piano) == [(k * Q, Q, 60 + 2 * k) for k in range(4)] + [(4 * Q, Q, 72)]


def test_a_key_struck_twice_and_released_once_ends_both_notes_at_the_release():
    """A player stops every note of a key at its release, so a doubled note-on (two regions
    merged, a glitch) is not held to the end of the file; check --fix finds both notes."""
    piano = [name(b"Piano"), (0, b"\x90\x3c\x50"), (0, b"\x90\x3c\x50"), (Q, b"\x80\x3c\x00"),
             *[e for k in range(1, 4) for e in note(k * Q, Q, 60 + 2 * k)]]
    data = smf([CONDUCTOR, piano, [name(b"Bass"), *note(0, 16 * Q, 36, channel=1)]])
    score = load_score_bytes(data, "doubled.mid")
    assert notes_of(score.tracks[0]) == [(0, Q, 60), (0, Q, 60), (Q, Q, 62), (2 * Q, Q, 64), (3 * Q, Q, 66)]
    edited = replace_notes(data, score, {0: {1: [(0, Q, 55)]}}, "doubled.mid")
    assert edited is not None
    assert sorted(notes_of(load_score_bytes(edited, "x").tracks[0]))[:2] == [(0, Q, 55), (0, Q, 60)]


def test_a_doubled_region_struck_twice_and_released_once_reads_as_twin_notes():
    """Every note written twice and released once, the key coming back later: each release
    ends both copies. Before, the first release ended one copy and the other sounded on until
    the key's next release (C4 0-960 over the D), and check refused the line as chords."""
    twice = [e for k, p in enumerate([60, 64, 62, 60])
             for e in ((k * Q, bytes([0x90, p, 80])), (k * Q, bytes([0x90, p, 80])), ((k + 1) * Q, bytes([0x80, p, 0])))]
    data = smf([CONDUCTOR, [name(b"Doubled"), *twice], [name(b"Bass"), *note(0, 4 * Q, 36, channel=1)]])
    score = load_score_bytes(data, "doubled.mid")
    assert notes_of(score.tracks[0]) == [(k * Q, Q, p) for k, p in enumerate([60, 64, 62, 60]) for _ in range(2)]
    edited = replace_notes(data, score, {0: {6: [(3 * Q, 4 * Q, 55)]}}, "doubled.mid")  # one last C4 -> G3
    assert edited is not None
    assert sorted(notes_of(load_score_bytes(edited, "x").tracks[0]))[:2] == [(0, Q, 60), (0, Q, 60)]
    assert (3 * Q, Q, 55) in notes_of(load_score_bytes(edited, "x").tracks[0])


# ---------------------------------------------------------------- tracks sharing a channel


def grand_staff(pedal_track: bool = False) -> bytes:
    """A piano's right hand (program 0, the pedal down for each bar) and left hand (an
    arpeggio, no program change, no pedal) in tracks of their own on one channel; with
    ``pedal_track`` the pedal stands in a third track of controllers alone."""
    pedal = [e for bar in range(2) for e in ((bar * 4 * Q + 10, b"\xb0\x40\x7f"), (bar * 4 * Q + 4 * Q - 10, b"\xb0\x40\x00"))]
    right = [name(b"Piano RH"), (0, b"\xc0\x00"), *note(0, 4 * Q, 72), *note(4 * Q, 4 * Q, 74)]
    left = [name(b"Piano LH"), *[e for k in range(16) for e in note(k * Q // 2, Q // 4, [48, 55, 60, 64][k % 4])]]
    if pedal_track:
        return smf([CONDUCTOR, right, left, [name(b"Pedal"), *pedal]])
    return smf([CONDUCTOR, right + pedal, left])


@pytest.mark.parametrize("pedal_track", [False, True])
def test_a_track_on_a_shared_channel_hears_the_pedal_another_track_holds(pedal_track):
    score = load_score_bytes(grand_staff(pedal_track), "piano.mid")
    assert [t.name for t in score.tracks] == ["Piano RH", "Piano LH"]
    for track in score.tracks:
        assert [(p.time, p.duration) for p in track.pedals] == [(10, 4 * Q - 20), (4 * Q + 10, 4 * Q - 20)]
    again = load_score_bytes(score_to_bytes(score), "out.mid")  # each track on a channel of its own
    assert [len(t.pedals) for t in again.tracks] == [2, 2]


def test_a_track_on_a_shared_channel_plays_the_program_set_there():
    first = [name(b"Strings 1"), (0, b"\xc1\x30"), (0, b"\xb1\x07\x50"), *scale(channel=1, pitch=67)]
    second = [name(b"Strings 2"), *scale(channel=1, pitch=60)]
    own = [name(b"Harp"), (0, b"\xc1\x2e"), *scale(channel=1, pitch=48)]  # sets its own program
    late = [name(b"Organ"), *note(0, Q, 36, channel=2)]
    organ_later = [name(b"Organ stop"), (Q, b"\xc2\x13"), *note(2 * Q, Q, 38, channel=2)]  # after the organ's note
    score = load_score_bytes(smf([CONDUCTOR, first, second, own, late, organ_later]), "strings.mid")
    assert [(t.name, t.program) for t in score.tracks] == [
        ("Strings 1", 48), ("Strings 2", 48), ("Harp", 46), ("Organ", 0), ("Organ stop", 19)]
    assert [c.value for c in score.tracks[1].controls if c.number == 7] == [0x50]  # the channel's volume too
    assert not [c for c in score.tracks[2].controls if c.number != 7] and len(score.tracks[2].controls) == 1


def test_a_track_with_its_own_pedal_keeps_only_its_own():
    right = [name(b"RH"), (0, b"\xc0\x00"), (0, b"\xb0\x40\x7f"), (4 * Q, b"\xb0\x40\x00"), *note(0, Q, 72)]
    left = [name(b"LH"), (2 * Q, b"\xb0\x40\x7f"), (3 * Q, b"\xb0\x40\x00"), *note(0, Q, 48)]
    left_pedals = load_score_bytes(smf([CONDUCTOR, right, left]), "x").tracks[1].pedals
    assert [(p.time, p.duration) for p in left_pedals] == [(2 * Q, Q)]


def test_check_fix_finds_the_notes_of_a_track_playing_a_program_another_track_set():
    first = [name(b"Soprano"), (0, b"\xc0\x34"), *scale(pitch=72)]
    second = [name(b"Bass"), *scale(pitch=48)]
    data = smf([CONDUCTOR, first, second])
    score = load_score_bytes(data, "choir.mid")
    assert score.tracks[1].program == 52
    edited = replace_notes(data, score, {1: {0: [(0, Q, 43)]}}, "choir.mid")
    assert edited is not None
    assert notes_of(load_score_bytes(edited, "x").tracks[1])[0] == (0, Q, 43)
