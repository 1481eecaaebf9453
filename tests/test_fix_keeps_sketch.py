"""``compose check --fix`` writes the composer's file back with only the re-voiced notes changed.

The sketches here are written byte by byte, as a sequencer writes them: a conductor
track (tempo, metre, key, a marker), and one track per instrument on a channel of its
own with its name, program, controllers (volume, expression, sustain), a pitch bend, a
system-exclusive message and velocities of its own. After --fix every track chunk but
the one holding the re-voiced note is the same bytes, and in that one only the note's
own events changed.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import symusic

from scorefarm.symbolic.chords import parse_pitch
from scorefarm.symbolic.fix_write import same_music, write_fixed
from scorefarm.symbolic.score_io import load_score_bytes
from scorefarm.symbolic.vl_fix import FixOptions, fix_file, fix_voices
from scorefarm.symbolic.voiceleading import CheckOptions
from scorefarm.symbolic.voices import Part, VNote, Voices, load_any_score, load_voices

TPQ = 480
# one parallel fifth, Oboe / Clarinet G4-C4 -> A4-D4; the fixer moves the Clarinet's first C4 to E4
FAULTY = ["E5 G4 C4 C3", "F5 A4 D4 F2", "D5 G4 B3 G2", "C5 G4 C4 C3"]
CLEAN = ["E5 G4 E4 C3", *FAULTY[1:]]
INSTRUMENTS = [  # name, channel, program, first velocity, controllers at 0
    (b"Flute", 2, 73, 101, [(7, 100), (64, 127)]),
    (b"Oboe", 4, 68, 91, [(7, 90)]),
    (b"Clarinet", 6, 71, 64, [(7, 80), (11, 70)]),
    (b"Bassoon", 0, 70, 51, [(7, 110), (64, 127)]),
]


def vlq(value: int) -> bytes:
    out = [value & 0x7F]
    while value := value >> 7:
        out.append(value & 0x7F | 0x80)
    return bytes(reversed(out))


def chunk(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack(">I", len(body)) + body


def track(events: list[tuple[int, bytes]]) -> bytes:
    body, last = b"", 0
    for tick, raw in sorted(events, key=lambda e: (e[0], e[1][0] & 0xF0 == 0x90)):  # offs before ons
        body += vlq(tick - last) + raw
        last = tick
    return chunk(b"MTrk", body + b"\x00\xff\x2f\x00")


def sketch(chords: list[str], programs: dict[bytes, list[tuple[int, int]]] | None = None,
           names: dict[bytes, bytes] | None = None, tpq: int = TPQ) -> bytes:
    """A format-1 file of ``chords`` (a half note each, top voice first): one track per
    instrument of ``INSTRUMENTS``, with ``programs`` (tick, program) changes where given;
    ``tpq`` ticks per quarter."""
    conductor = [(0, b"\xff\x51\x03\x07\xa1\x20"), (0, b"\xff\x58\x04\x04\x02\x18\x08"), (0, b"\xff\x59\x02\x00\x00"),
                 (0, b"\xff\x06\x05Cue A"), (4 * tpq, b"\xff\x06\x05Cue B")]
    tracks = [track(conductor)]
    for v, (name, channel, program, velocity, controls) in enumerate(INSTRUMENTS):
        name = (names or {}).get(name, name)
        events = [(0, b"\xff\x03" + bytes([len(name)]) + name), (0, bytes([0xC0 | channel, program]))]
        events += [(0, bytes([0xB0 | channel, number, value])) for number, value in controls]
        events += [(tick, bytes([0xC0 | channel, p])) for tick, p in (programs or {}).get(name, [])]
        if v == 0:
            events += [(0, b"\xf0\x05\x7e\x7f\x09\x01\xf7"), (tpq, bytes([0xE0 | channel, 0x00, 0x50])),
                       (2 * tpq, bytes([0xE0 | channel, 0x00, 0x40])), (7 * tpq, bytes([0xB0 | channel, 64, 0]))]
        for i, chord in enumerate(chords):
            pitch = parse_pitch(chord.split()[v])
            events += [(2 * i * tpq, bytes([0x90 | channel, pitch, velocity + i])),
                       (2 * (i + 1) * tpq, bytes([0x80 | channel, pitch, 64]))]
        tracks.append(track(events))
    return chunk(b"MThd", struct.pack(">HHH", 1, len(tracks), tpq)) + b"".join(tracks)


def chunks(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos + 4:pos + 8])
        out.append(data[pos:pos + 8 + length])
        pos += 8 + length
    return out


def events(mtrk: bytes) -> list[tuple[int, bytes]]:
    """(tick, event) of a track chunk written without running status."""
    body, pos, tick, out = mtrk[8:], 0, 0, []
    while pos < len(body):
        delta = 0
        while True:
            delta = (delta << 7) | (body[pos] & 0x7F)
            pos += 1
            if body[pos - 1] < 0x80:
                break
        tick += delta
        status = body[pos]
        if status == 0xFF:
            size = 3 + body[pos + 2]
        elif status == 0xF0:
            size = 2 + body[pos + 1]
        else:
            size = 2 if 0xC0 <= status < 0xE0 else 3
        out.append((tick, body[pos:pos + size]))
        pos += size
    return out


def notes_and_rest(mtrk: bytes) -> tuple[list[tuple], list[tuple[int, bytes]]]:
    """The notes (start, end, pitch, velocity, channel) of a chunk, and its other events."""
    notes, rest, sounding = [], [], {}
    for tick, raw in events(mtrk):
        kind = raw[0] & 0xF0 if raw[0] < 0xF0 else None
        if kind == 0x90 and raw[2]:
            sounding[(raw[0], raw[1])] = (tick, raw[2])
        elif kind in (0x80, 0x90):
            start, velocity = sounding.pop((raw[0] | 0x10, raw[1]))
            notes.append((start, tick, raw[1], velocity, raw[0] & 0x0F))
        else:
            rest.append((tick, raw))
    return sorted(notes), rest


def read(data: bytes):
    return load_score_bytes(data, "sketch.mid")


@pytest.fixture
def fixed(tmp_path: Path):
    def run(data: bytes, name: str = "sketch.mid"):
        source, out = tmp_path / name, tmp_path / f"fixed_{name}"
        source.write_bytes(data)
        result = fix_file(source, out)
        return result, out.read_bytes()
    return run


def test_only_the_re_voiced_note_changes(fixed):
    data = sketch(FAULTY)
    result, out = fixed(data)
    assert [f.kind for f in result.before.faults] == ["parallel_fifths"] and result.after.faults == []
    assert result.notes[-1] == "1 note(s) re-voiced; every other note and event as written"
    before, after = chunks(data), chunks(out)
    assert len(before) == len(after) == 6
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert changed == [4]  # the header, the conductor, Flute, Oboe and Bassoon: the same bytes
    old_notes, old_rest = notes_and_rest(before[4])
    new_notes, new_rest = notes_and_rest(after[4])
    assert new_rest == old_rest  # the Clarinet's name, program, volume and expression, where they were
    assert set(old_notes) - set(new_notes) == {(0, 960, 60, 64, 6)}
    assert set(new_notes) - set(old_notes) == {(0, 960, 64, 64, 6)}  # E4, on its channel, at its velocity
    # as symusic reads it: the same tracks, programs, controllers, pitch bends, tempo, metre, key, markers
    score_in, score_out = read(data), read(out)
    assert [(t.name, t.program) for t in score_out.tracks] == [("Flute", 73), ("Oboe", 68), ("Clarinet", 71),
                                                                ("Bassoon", 70)]
    for a, b in zip(score_in.tracks, score_out.tracks):
        assert a.controls == b.controls and a.pitch_bends == b.pitch_bends
    assert (score_out.tpq, score_out.tempos, score_out.time_signatures, score_out.key_signatures,
            score_out.markers) == (score_in.tpq, score_in.tempos, score_in.time_signatures, score_in.key_signatures,
                                   score_in.markers)


def test_a_coarse_file_is_edited_at_its_own_resolution(fixed):
    # two ticks a quarter (the reader may read it finer): the re-voiced note's events are
    # written at the file's own ticks, and the rest is the same bytes
    data = sketch(FAULTY, tpq=2)
    result, out = fixed(data)
    assert result.notes[-1] == "1 note(s) re-voiced; every other note and event as written"
    before, after = chunks(data), chunks(out)
    assert [i for i, (a, b) in enumerate(zip(before, after)) if a != b] == [4]
    old_notes, new_notes = notes_and_rest(before[4])[0], notes_and_rest(after[4])[0]
    assert (set(old_notes) - set(new_notes), set(new_notes) - set(old_notes)) == (
        {(0, 4, 60, 64, 6)}, {(0, 4, 64, 64, 6)})


def test_a_file_with_nothing_to_fix_is_written_as_it_was_given(fixed):
    data = sketch(CLEAN, names={b"Oboe": "Hautbois \u00e9t\u00e9".encode("latin-1")})  # not UTF-8
    result, out = fixed(data)
    assert result.before.faults == [] and result.notes == [
        "no faults to fix", "no note re-voiced: the file written is the score as given, byte for byte"]
    assert out == data


def test_a_fault_the_fixer_leaves_is_written_as_given(fixed):
    # parallel octaves between the outer voices, which the fixer may not touch
    data = sketch(["C5 G4 E4 C3", "D5 F4 A3 D3", "D5 G4 B3 G2", "C5 G4 C4 C3"])
    result, out = fixed(data)
    assert result.notes[0].startswith("left as written") and result.after.faults
    assert result.notes[-1].startswith("no note re-voiced") and out == data


def test_program_changes_inside_a_track_stay_with_their_notes(fixed):
    # the Flute plays its second and third notes pizzicato-like on another program (a program
    # change in its track, as a sequencer writes an articulation switch): symusic reads the
    # track as two, one per program; the file written keeps one track with its changes
    data = sketch(FAULTY, programs={b"Flute": [(2 * TPQ, 45), (6 * TPQ, 73)]})
    result, out = fixed(data)
    assert result.after.count({"parallel_fifths"}) == 0
    before, after = chunks(data), chunks(out)
    assert notes_and_rest(before[2])[1] == notes_and_rest(after[2])[1]  # the changes, at their ticks
    score_in, score_out = read(data), read(out)
    assert [(t.name, t.program) for t in score_out.tracks] == [(t.name, t.program) for t in score_in.tracks]
    for a, b in zip(score_in.tracks, score_out.tracks):  # re-voicing changes pitches, nothing else
        assert sorted((n.time, n.duration, n.velocity) for n in a.notes) == \
            sorted((n.time, n.duration, n.velocity) for n in b.notes)
    played = [(0, 73), (2 * TPQ, 45), (4 * TPQ, 45), (6 * TPQ, 73)]  # the first and last notes on the flute
    assert programs_at_notes(after[2]) == programs_at_notes(before[2]) == played


def programs_at_notes(mtrk: bytes) -> list[tuple[int, int]]:
    """(start, program in force) of each note of a track chunk of one channel."""
    program, out = 0, []
    for tick, raw in events(mtrk):
        if raw[0] & 0xF0 == 0xC0:
            program = raw[1]
        elif raw[0] & 0xF0 == 0x90 and raw[2]:
            out.append((tick, program))
    return out


def test_a_split_note_keeps_its_velocity_and_its_legato_end(tmp_path: Path):
    # the lower track's C4 is held over the next D4 by 40 ticks (legato); its voice is cut where
    # the D4 begins. Re-voiced to C4 then E4 halfway, both pieces take its velocity, and the E4
    # ends where the C4 ended in the file
    score = symusic.Score(TPQ)
    for name, notes in (("Upper", [(0, 960, 72, 100), (960, 960, 74, 101)]),
                        ("Lower", [(0, 1000, 60, 77), (960, 960, 62, 78)])):
        track = symusic.Track(name, 0, False)
        track.notes.extend([symusic.Note(*n) for n in notes])
        score.tracks.append(track)
    source, out = tmp_path / "legato.mid", tmp_path / "fixed.mid"
    score.dump_midi(str(source))
    voices, as_read = load_voices(source)
    assert voices.parts[1].notes[0] == VNote(0, 960, 60)
    after = voices.with_parts([voices.parts[0], Part("Lower", [VNote(0, 480, 60), VNote(480, 960, 64),
                                                               voices.parts[1].notes[1]])])
    assert write_fixed(source, out, as_read, voices, after) == [
        "1 note(s) re-voiced; every other note and event as written"]
    lower = symusic.Score(str(out)).tracks[1]
    assert [(n.time, n.duration, n.pitch, n.velocity) for n in lower.notes] == [
        (0, 480, 60, 77), (480, 520, 64, 77), (960, 960, 62, 78)]


MUSICXML_PART = ('<part id="P{n}"><measure number="1"><attributes><divisions>1</divisions>{clef}</attributes>'
                 '{notes}</measure><measure number="2">{more}</measure></part>')


def _xml_note(name: str) -> str:
    step, octave = name[0], name[-1]
    return (f"<note><pitch><step>{step}</step><octave>{octave}</octave></pitch>"
            "<duration>2</duration><type>half</type></note>")


def test_a_musicxml_score_keeps_its_parts_and_the_notes_not_re_voiced(tmp_path: Path):
    names = ["Flute", "Oboe", "Clarinet", "Bassoon"]
    parts = "".join(f'<score-part id="P{n}"><part-name>{name}</part-name></score-part>' for n, name in enumerate(names))
    body = ""
    for v in range(4):
        pitches = [chord.split()[v] for chord in FAULTY]
        clef = "<time><beats>4</beats><beat-type>4</beat-type></time>" if v == 0 else ""
        body += MUSICXML_PART.format(n=v, clef=clef, notes="".join(map(_xml_note, pitches[:2])),
                                     more="".join(map(_xml_note, pitches[2:])))
    source = tmp_path / "sketch.musicxml"
    source.write_text('<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1">'
                      f"<part-list>{parts}</part-list>{body}</score-partwise>")
    result = fix_file(source, tmp_path / "fixed.mid")
    assert result.notes[-1] == "1 note(s) re-voiced; every other note as read"
    read, written = load_any_score(source)[0], symusic.Score(str(tmp_path / "fixed.mid"))
    assert [t.name for t in written.tracks] == names  # the part names, not Soprano..Bass
    for a, b in zip(read.tracks, written.tracks):
        old = {(n.time, n.duration, n.pitch, n.velocity) for n in a.notes}
        new = {(n.time, n.duration, n.pitch, n.velocity) for n in b.notes}
        assert (old - new, new - old) == (({(0, 960, 60, 80)}, {(0, 960, 64, 80)}) if a.name == "Clarinet" else
                                          (set(), set()))
        assert b.program == a.program


def test_on_a_grid_re_voicing_changes_pitches_not_rhythm():
    # checked on a grid of quarters, the Oboe's grace-like C5 sounds at no point of the grid and
    # the note after it starts between two: the fixer keeps the first as written and re-voices
    # the second from where it starts (it had dropped the one and moved the other onto the grid)
    chords = [[parse_pitch(p) for p in chord.split()] for chord in FAULTY]
    parts = [Part(name.decode(), [VNote(i * 960, (i + 1) * 960, chord[v]) for i, chord in enumerate(chords)])
             for v, (name, *_) in enumerate(INSTRUMENTS)]
    parts[1].notes[2:3] = [VNote(1920, 1930, 72), VNote(1930, 2880, parts[1].notes[2].pitch)]
    voices = Voices(TPQ, parts)
    result = fix_voices(voices, FixOptions(check=CheckOptions(grid_ticks=TPQ)))
    assert result.after.faults == [] and result.voices.parts[1].notes != voices.parts[1].notes
    for old, new in zip(voices.parts, result.voices.parts):
        assert [(n.start, n.end) for n in new.notes] == [(n.start, n.end) for n in old.notes]
    assert VNote(1920, 1930, 72) in result.voices.parts[1].notes


def test_check_fix_says_what_it_wrote(tmp_path: Path):
    from click.testing import CliRunner

    from scorefarm.cli.main import cli

    (tmp_path / "sketch.mid").write_bytes(sketch(CLEAN))
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "sketch.mid"), "--fix", "-o", str(tmp_path / "o.mid")])
    assert result.exit_code == 0, result.output
    assert "no note re-voiced: the file written is the score as given, byte for byte" in result.output
    assert (tmp_path / "o.mid").read_bytes() == (tmp_path / "sketch.mid").read_bytes()


def test_notes_not_found_among_the_files_events_are_written_through_symusic(fixed, monkeypatch):
    from scorefarm.symbolic import fix_write

    monkeypatch.setattr(fix_write, "replace_notes", lambda *args: None)
    data = sketch(FAULTY)
    result, out = fixed(data)
    assert "could not be told among the file's own events" in result.notes[-1]
    expected = read(data)
    clarinet = expected.tracks[2]
    old = clarinet.notes[0]
    clarinet.notes[0] = symusic.Note(old.time, old.duration, 64, old.velocity)
    assert same_music(read(out), expected)  # names, programs, controllers, bends, velocities kept


def test_written_through_the_reader_a_line_keeps_its_program_changes(fixed, monkeypatch):
    """Where the notes cannot be found among the file's events, the file written through the
    reader still plays the flute's line on its changed program from bar 2 (a reader that keeps
    the line one track would otherwise drop the change)."""
    from scorefarm.symbolic import fix_write
    from scorefarm.symbolic.score_io import load_score_bytes_and_programs

    monkeypatch.setattr(fix_write, "replace_notes", lambda *args: None)
    data = sketch(FAULTY, programs={b"Flute": [(4 * TPQ, 74)]})
    _, given = load_score_bytes_and_programs(data, "sketch.mid")
    assert given  # the reader keeps the flute one track, its change beside it
    result, out = fixed(data)
    assert "could not be told among the file's own events" in result.notes[-1]
    assert load_score_bytes_and_programs(out, "fixed.mid")[1] == given
