"""The time signature in force at a tick, asked of one function (``voices.signature_at``,
built on ``clean_signatures``) by the checker, the analysis and the harmonizer's melody:
of several signatures at one tick the last given is in force, not the largest. And three
refusals in one line: a folder named like a MusicXML file, single notes that overlap in
a track to check, a score too long to write as notation."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import symusic
from click.testing import CliRunner

from scorefarm.arrange import notation
from scorefarm.arrange.notation import MAX_NOTATION_BARS, check_notation_bars, musicxml_bytes
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.cli.main import cli
from scorefarm.errors import ScoreError
from scorefarm.symbolic.analysis import analyze_score
from scorefarm.symbolic.melody import beat_grid, chord_spans, extract_melody, melody_slots
from scorefarm.symbolic.voiceleading import Slices, check_voices
from scorefarm.symbolic.voices import (
    Part, VNote, Voices, bar_beat, clean_signatures, score_signatures, signature_at, voices_from_score,
)

TPQ = 480
Q = TPQ


# ---------------------------------------------------------------- the lookup


def test_signature_at_follows_clean_signatures():
    sigs = [(0, 4, 4), (6 * Q, 3, 4), (6 * Q, 2, 4), (9 * Q, 0, 4)]
    assert signature_at(sigs, 0) == (4, 4)
    assert signature_at(sigs, 6 * Q - 1) == (4, 4)
    assert signature_at(sigs, 6 * Q) == (2, 4)  # the last of the two at 6 Q, not the larger 3/4
    assert signature_at(sigs, 100 * Q) == (2, 4)  # 0/4 makes no bar and is left out
    assert signature_at([(3 * Q, 3, 4)], Q) == (4, 4)  # 4/4 before the first
    assert signature_at([], 5 * Q) == (4, 4)
    assert signature_at([(2 * Q, 5, 8), (0, 6, 8)], 2 * Q) == (5, 8)  # in time order, whatever the given order


def test_signature_at_is_what_a_player_applies_in_file_order():
    rng = random.Random(7)
    for _ in range(300):
        sigs = [(rng.choice([0, Q, 2 * Q, 6 * Q]), rng.choice([0, 2, 3, 4, 6, 9]), rng.choice([2, 4, 8]))
                for _ in range(rng.randint(0, 6))]
        for tick in (0, Q - 1, Q, 2 * Q, 5 * Q, 6 * Q, 7 * Q):
            in_force = (4, 4)
            for at, num, den in sorted(sigs, key=lambda sig: sig[0]):  # stable: file order at one tick
                if at <= tick and num >= 1 and den >= 1:
                    in_force = (num, den)
            assert signature_at(sigs, tick) == in_force, (sigs, tick)
        # and the bar lines agree: each clean signature's first bar is a bar of the metre
        # signature_at gives there (unless the next signature cuts it short)
        cleaned = clean_signatures(sigs)
        for (start, _, _), nxt in zip(cleaned, [s[0] for s in cleaned[1:]] + [None]):
            num, den = signature_at(sigs, start)
            length = num * TPQ * 4 // den
            if nxt is None or nxt >= start + length:
                assert bar_beat(start + length, TPQ, sigs)[0] == bar_beat(start, TPQ, sigs)[0] + 1


# ---------------------------------------------------------------- two signatures at one tick

# in file order; the old lookups sorted them as tuples and took 6/8 (the larger) in both
LAST_IN_FORCE = [([(6, 8), (3, 4)], (3, 4)), ([(3, 4), (6, 8)], (6, 8))]


def _two_at_zero(order: list[tuple[int, int]], pitches: list[int], tracks: int = 1) -> symusic.Score:
    """A score in quarters with two time signatures at tick 0, in ``order``."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=90.0))
    for num, den in order:
        score.time_signatures.append(symusic.TimeSignature(0, num, den))
    assert [(num, den) for _, num, den in score_signatures(score)] == order  # kept as given
    for t in range(tracks):
        track = symusic.Track(f"Voice {t + 1}", 0, False)
        for i, pitch in enumerate(pitches):
            track.notes.append(symusic.Note(i * Q, Q, pitch - 12 * t, 80))
        score.tracks.append(track)
    return score


@pytest.mark.parametrize("order, in_force", LAST_IN_FORCE)
def test_analysis_beats_follow_the_last_signature(order, in_force):
    tune = [60, 64, 67, 65, 62, 59, 60, 64, 67, 72, 67, 60]
    analysis = analyze_score(_two_at_zero(order, tune, tracks=2))
    beat = Q if in_force == (3, 4) else 3 * Q // 2
    bar = in_force[0] * TPQ * 4 // in_force[1]
    assert [b.tick for b in analysis.beats] == list(range(0, len(tune) * Q, beat))
    for b in analysis.beats:
        assert (b.bar, b.beat) == (b.tick // bar + 1, (b.tick % bar) / beat + 1)


@pytest.mark.parametrize("order, in_force", LAST_IN_FORCE)
def test_the_melody_is_barred_by_the_last_signature(order, in_force):
    tune = [72, 74, 76, 77, 76, 74, 72, 71, 72, 74, 71, 72]
    melody = extract_melody(_two_at_zero(order, tune), (60, 81))
    assert melody.time_signatures == [(0, *in_force)]
    beat = Q if in_force == (3, 4) else 3 * Q // 2
    bar = in_force[0] * TPQ * 4 // in_force[1]
    grid = beat_grid(melody)
    assert [g[0] for g in grid] == list(range(0, len(tune) * Q, beat))
    assert [g[2] for g in grid] == [int(tick % bar == 0) for tick, *_ in grid]
    # a chord a bar: three quarters in 3/4, two dotted quarters in 6/8
    spans = chord_spans(melody, melody_slots(melody), "bar")
    per_bar = bar // beat
    assert spans[:2] == [list(range(per_bar)), list(range(per_bar, 2 * per_bar))]


@pytest.mark.parametrize("order, in_force", LAST_IN_FORCE)
def test_the_checker_measures_passing_notes_by_the_last_signature(order, in_force):
    # a quarter passing note: shorter than the beat in 6/8 (a dotted quarter), a beat in 3/4
    sigs = [(0, num, den) for num, den in order]
    voices = Voices(TPQ, [Part("Soprano", [VNote(0, Q, 72), VNote(Q, 2 * Q, 74), VNote(2 * Q, 3 * Q, 76)]),
                          Part("Bass", [VNote(0, 3 * Q, 48)])], sigs)
    expected = None if in_force == (3, 4) else "passing"
    assert Slices(voices).embellishing[0] == [None, expected, None]
    check_voices(voices)  # and the whole check runs on them


# ---------------------------------------------------------------- one-line refusals


@pytest.mark.parametrize("command", [["analyze"], ["check"], ["harmonize"], ["harmonize", "-o", "out.mid"]])
@pytest.mark.parametrize("folder", ["chorale.musicxml", "chorale.mxl", "chorale.xml"])
def test_a_folder_named_like_musicxml_isrefused(tmp_path, command, folder, refused):
    (tmp_path / folder).mkdir()
    refused([command[0], folder, *command[1:]], tmp_path, folder, text="is a folder")


def test_overlapping_single_notes_are_named_plainly():
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    harp = symusic.Track("Harp", 46, False)
    for start, length, pitch in [(0, Q, 60), (Q, 4 * Q, 64), (2 * Q, Q, 67), (3 * Q, Q, 72)]:  # 64 rings on
        harp.notes.append(symusic.Note(start, length, pitch, 80))
    score.tracks.append(harp)
    with pytest.raises(ScoreError) as caught:
        voices_from_score(score, "sketch.mid")
    line = str(caught.value)
    assert "between 1 and 1" not in line
    assert line.startswith("sketch.mid: track 'Harp' has single notes that overlap")
    assert "first at bar 1 beat 3" in line and "cannot be told apart" in line
    assert "a track of its own" in line
    with pytest.raises(ScoreError, match="first at bar 0 beat 3"):  # a MusicXML pickup counts from 0
        voices_from_score(score, "sketch.musicxml", first_bar=0)


def test_block_chords_that_overlap_are_named_plainly():
    score = symusic.Score(TPQ)
    piano = symusic.Track("Piano", 0, False)
    for start, length, pitches in [(0, Q, (60, 64)), (Q, 3 * Q, (62, 65)), (2 * Q, Q, (64, 67))]:
        for pitch in pitches:
            piano.notes.append(symusic.Note(start, length, pitch, 80))
    score.tracks.append(piano)
    with pytest.raises(ScoreError) as caught:
        voices_from_score(score, "sketch.mid")
    line = str(caught.value)
    assert "between 2 and 2" not in line
    assert "has chords of 2 notes that overlap" in line and "first at bar 1 beat 3" in line


def test_the_demo_harp_is_refused_in_plain_words(refused):
    sketches = Path(__file__).resolve().parents[1] / "corpora" / "demo" / "sketches"
    line = refused(["check", "3m1_homecoming.mid"], sketches, "3m1_homecoming.mid",
                    text="track 'Harp' has single notes that overlap")
    assert "between" not in line


# ---------------------------------------------------------------- too long for notation


def _sketch(bars_before: int, bars: int = 2) -> symusic.Score:
    """A two-voice sketch of ``bars`` bars of 4/4 starting after ``bars_before`` empty ones."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=120.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("Piano", 0, False)
    offset = bars_before * 4 * Q
    for beat in range(4 * bars):
        for pitch in (72 + beat % 3, 48):
            track.notes.append(symusic.Note(offset + beat * Q, Q, pitch, 80))
    score.tracks.append(track)
    return score


def test_the_bar_limit_counts_the_notes_not_a_tempo_or_signature_after_them():
    check_notation_bars(_sketch(MAX_NOTATION_BARS - 2))  # ends on the last bar line allowed
    with pytest.raises(ScoreError, match=f"runs to bar {MAX_NOTATION_BARS + 1:,} \\(its last note ends there\\)"):
        check_notation_bars(_sketch(MAX_NOTATION_BARS - 1), "far.mid")
    far = MAX_NOTATION_BARS * 4 * Q  # the first tick of the bar after the last allowed
    tempo, metre = _sketch(0), _sketch(0)
    tempo.tempos.append(symusic.Tempo(far, qpm=80.0))
    metre.time_signatures.append(symusic.TimeSignature(far, 3, 4))
    for score in (tempo, metre):  # after the last note: left out of the score, so no bar to count
        check_notation_bars(score)
        data = musicxml_bytes(orchestrate(score, OrchestrateOptions(ensemble="string-quartet")))
        assert {len(re.findall(rb"<measure ", part)) for part in re.findall(rb"<part id=.*?</part>", data, re.S)} == {2}


def test_the_limit_is_the_bar_count_written(monkeypatch):
    # with a limit of 5 bars: a score of 5 is written, in 5 measures; one of 6 is refused
    # before music21 is asked
    monkeypatch.setattr(notation, "MAX_NOTATION_BARS", 5)
    data = musicxml_bytes(orchestrate(_sketch(3), OrchestrateOptions(ensemble="string-quartet")))
    assert {len(re.findall(rb"<measure ", part)) for part in re.findall(rb"<part id=.*?</part>", data, re.S)} == {5}
    longer = orchestrate(_sketch(4), OrchestrateOptions(ensemble="string-quartet"))
    with pytest.raises(ScoreError, match="runs to bar 6"):
        musicxml_bytes(longer, name="sketch.mid")


def test_orchestrate_refuses_a_far_score_before_writing_anything(tmp_path, monkeypatch, refused):
    from scorefarm.arrange import orchestrate as orchestrate_module
    from scorefarm.arrange import output
    from scorefarm.symbolic import score_io

    _sketch(25_000).dump_midi(str(tmp_path / "far.mid"))
    with monkeypatch.context() as patched:  # refused as it is read, before the orchestration is even made
        def work(*args, **kwargs):
            raise AssertionError("orchestrated; the command should have been refused first")

        patched.setattr(orchestrate_module, "orchestrate", work)
        reads = []
        load_score = score_io.load_score
        patched.setattr(score_io, "load_score", lambda path: reads.append(path) or load_score(path))
        with pytest.raises(ScoreError, match="far.mid: runs to bar 25,002"):  # the library refuses it
            output.write_orchestration(tmp_path / "far.mid", tmp_path / "far_strings.mid",
                                       musicxml_path=tmp_path / "far_strings.musicxml")
        assert reads == [tmp_path / "far.mid"]  # read once
        refused(["orchestrate", "far.mid", "--ensemble", "strings", "-o", "far_strings.mid", "--musicxml",
                  "far_strings.musicxml"], tmp_path, "far.mid", text="runs to bar 25,002")
        assert reads[1:] == [Path("far.mid")]  # and the command reads it once, in the library
    # the MIDI alone has no such limit
    result = CliRunner().invoke(cli, ["orchestrate", str(tmp_path / "far.mid"), "--ensemble", "string-quartet",
                                      "-o", str(tmp_path / "far_quartet.mid")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "far_quartet.mid").exists()
