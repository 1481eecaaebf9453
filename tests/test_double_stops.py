"""`compose check` on parts with double stops, and on a part of chords.

A part that strikes chords at some of its onsets is checked as its principal line: the
top note of each chord in every part but the lowest, the bottom note in the lowest (the
bass); the report counts the notes left out. A part of chords (three notes or more at
over a quarter of its onsets: a keyboard accompaniment) is refused (``track_voices``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import symusic
from click.testing import CliRunner

from scorefarm.errors import ScoreError
from scorefarm.symbolic.voices import voices_from_score

Q = 480
LINES = {"Violin I": [76, 77, 79, 77, 76, 74, 72, 71], "Violin II": [67, 69, 71, 69, 67, 65, 64, 62],
         "Viola": [60, 62, 62, 62, 60, 59, 57, 55], "Cello": [48, 50, 43, 50, 48, 43, 45, 43]}
CELLO_STOPS = {0: 55, 2: 50, 4: 55, 6: 52}  # a fifth (a sixth) over the bass at half its onsets


def _score(tracks: dict[str, list[tuple[float, float, int]]]) -> symusic.Score:
    """A 4/4 score of named tracks of (start beat, beats, pitch)."""
    score = symusic.Score(Q)
    score.tempos.append(symusic.Tempo(0, qpm=100.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    for name, notes in tracks.items():
        track = symusic.Track(name, 40, False)
        for start, beats, pitch in notes:
            track.notes.append(symusic.Note(round(start * Q), round(beats * Q), pitch, 80))
        score.tracks.append(track)
    return score


def _quartet(cello_stops=CELLO_STOPS, viola_stops=None) -> symusic.Score:
    tracks = {name: [(beat, 1, pitch) for beat, pitch in enumerate(pitches)] for name, pitches in LINES.items()}
    tracks["Cello"] += [(beat, 1, pitch) for beat, pitch in cello_stops.items()]
    tracks["Viola"] += [(beat, 1, pitch) for beat, pitch in (viola_stops or {}).items()]
    return _score(tracks)


def _check(args: list[str], folder: Path):
    from scorefarm.cli.main import cli

    return CliRunner().invoke(cli, [*args[:1], str(folder / args[1]), *args[2:]])


def test_a_cello_of_many_double_stops_is_checked_as_its_bass_and_says_what_it_left_out(tmp_path):
    """Half the cello's onsets are double stops (refused before: under nine in ten single).
    Its bass, the bottom notes, makes octaves with the viola and fifths with the second
    violin; the top notes (G3 over C3, D3 over G2) would have hidden them."""
    _quartet().dump_midi(str(tmp_path / "quartet.mid"))
    result = _check(["check", "quartet.mid", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["voices"] == ["Violin I", "Violin II", "Viola", "Cello"]
    cello = {(f["kind"], f["bar"], f["beat"], tuple(f["voices"])) for f in report["faults"] if "Cello" in f["voices"]}
    assert cello == {
        ("parallel_octaves", 1, 2.0, ("Viola", "Cello")), ("parallel_fifths", 1, 2.0, ("Violin II", "Cello")),
        ("parallel_octaves", 2, 1.0, ("Viola", "Cello")), ("parallel_fifths", 2, 1.0, ("Violin II", "Cello")),
        ("parallel_octaves", 2, 4.0, ("Viola", "Cello")), ("parallel_fifths", 2, 4.0, ("Violin II", "Cello")),
    }
    assert ("track 'Cello': 4 note(s) of double stops left out, the line kept (at each, the bottom note, the bass)"
            in report["notes"])
    assert _check(["check", "quartet.mid", "--strict"], tmp_path).exit_code == 1


def test_the_principal_line_is_the_top_note_but_in_the_lowest_part():
    voices = voices_from_score(_quartet(viola_stops={2: 55}), "q.mid")  # the viola's G3 under its D4
    assert [n.pitch for n in voices.parts[2].notes] == LINES["Viola"]
    assert [n.pitch for n in voices.parts[3].notes] == LINES["Cello"]
    assert any("'Viola': 1 note(s) of double stops left out, the line kept (at each, the top note)" in s
               for s in voices.said)
    # under a double bass the cello is no longer the lowest part: its line is its top notes
    with_bass = _quartet()
    bass = symusic.Track("Double Bass", 43, False)
    bass.notes.extend(symusic.Note(beat * Q, Q, 36, 80) for beat in range(8))
    with_bass.tracks.append(bass)
    voices = voices_from_score(with_bass, "q.mid")
    assert voices.names == ["Violin I", "Violin II", "Viola", "Cello", "Double Bass"]
    assert [n.pitch for n in voices.parts[3].notes] == [55, 50, 50, 50, 55, 43, 52, 43]


def test_a_held_note_stays_the_line_while_the_same_part_moves_beyond_it():
    """A cello pedal C2 held under quarters it plays above it is the bass; a violin's held
    D5 over the quarters under it is its line. What moves beyond them is left out."""
    score = _score({
        "Violin": [(0, 4, 74), (0, 1, 71), (1, 1, 69), (2, 1, 67), (3, 1, 66), (4, 1, 67)],
        "Cello": [(0, 4, 36), (0, 1, 43), (1, 1, 52), (2, 1, 53), (3, 1, 55), (4, 1, 36)],
    })
    voices = voices_from_score(score, "held.mid")
    assert [(n.start, n.end, n.pitch) for n in voices.parts[0].notes] == [(0, 4 * Q, 74), (4 * Q, 5 * Q, 67)]
    assert [(n.start, n.end, n.pitch) for n in voices.parts[1].notes] == [(0, 4 * Q, 36), (4 * Q, 5 * Q, 36)]
    assert voices.said == (
        "track 'Violin': 4 note(s) of double stops left out, the line kept (at each, the top note)",
        "track 'Cello': 4 note(s) of double stops left out, the line kept (at each, the bottom note, the bass)")


def test_a_part_of_chords_is_refused_in_one_line(tmp_path, refused):
    """A piano accompaniment of triads is no voice: refused (exit 2, one line, nothing
    written), saying how often it strikes chords."""
    chords = [(beat, 1, pitch) for beat in range(8) for pitch in ((48, 52, 55) if beat % 2 == 0 else (48,))]
    _score({"Melody": [(beat, 1, 72 + beat % 3) for beat in range(8)], "Piano": chords}).dump_midi(
        str(tmp_path / "sketch.mid"))
    line = refused(["check", "sketch.mid"], tmp_path, "sketch.mid",
                   text="track 'Piano' strikes chords of three or more notes at 4 of its 8 onsets (50%")
    assert "a part of chords is no voice" in line and "give one track per voice" in line


def test_a_line_may_strike_chords_of_three_at_a_quarter_of_its_onsets_and_no_more():
    melody = [(beat, 1, 72) for beat in range(4)]
    quarter = [(0, 1, 48), (0, 1, 55), (0, 1, 64), (1, 1, 50), (2, 1, 52), (3, 1, 53)]
    voices = voices_from_score(_score({"Melody": melody, "Cello": quarter}), "q.mid")
    assert [n.pitch for n in voices.parts[1].notes] == [48, 50, 52, 53]
    half = [*quarter, (2, 1, 55), (2, 1, 60)]
    with pytest.raises(ScoreError, match="at 2 of its 4 onsets"):
        voices_from_score(_score({"Melody": melody, "Cello": half}), "q.mid")


def test_fix_still_refuses_a_part_whose_double_stops_it_would_lose(tmp_path, refused):
    _quartet().dump_midi(str(tmp_path / "quartet.mid"))
    refused(["check", "quartet.mid", "--fix", "-o", "fixed.mid"], tmp_path, "quartet.mid",
            text="cannot be fixed without losing notes the voices leave out (track 'Cello': 4 note(s) of double stops")


def test_one_track_read_as_one_line_says_so_when_refused(tmp_path, refused):
    """A piano sketch in one track, a tune over a bass, is one line: the refusal says what
    was left out to read it so."""
    _score({"Piano": [(0, 1, 72), (0, 1, 48), (1, 1, 74), (2, 1, 76), (2, 1, 43), (3, 1, 72)]}).dump_midi(
        str(tmp_path / "sketch.mid"))
    refused(["check", "sketch.mid"], tmp_path, "sketch.mid",
            text="has 1 voice (Piano); checking voice leading needs at least two voices (track 'Piano': 2 note(s) "
                 "of double stops left out, the line kept (at each, the bottom note, the bass))")
