"""Bar lines under time signatures, one rule everywhere: a time signature starts a bar of
its metre where it stands, and one standing mid-bar cuts the bar before it short. The
numbering of ``compose check``/``analyze`` (``voices.bar_beat``), the bar lines of
keyfinding, doubling and the notation (``voices.bar_starts_of``), the extension's bar
lines (``extend.bar_starts``), the beats of the analysis and the harmonizer
(``voices.beats_of``) and the MusicXML's measures agree on it, for a signature at 0 only,
several at one tick, one mid-bar, one past the last note, and a pickup (whose beats are
counted as the end of the bar it leads to: ``metre.pickup_of``); and our MusicXML reads
back numbered and counted as the MIDI it was made from (a pickup is bar 0, and a
MusicXML file's pickup is numbered as the file gives it)."""

from __future__ import annotations

import json
import re
import struct
from fractions import Fraction

import music21
import pytest
import symusic

from scorefarm.errors import ScoreError
from scorefarm.symbolic.voices import (
    bar_beat, bar_starts_of, bar_starts_through, beat_length, beats_of, clean_signatures, explicit_signatures, music21_to_score,
    one_signature_per_tick, score_signatures, signature_at,
)

TPQ = 480
Q = TPQ  # a quarter
BAR = 4 * Q  # a bar of 4/4

# (name, time signatures as (tick, numerator, denominator), notes end, the bar lines before it)
CASES = [
    ("at 0 only", [(0, 4, 4)], 16 * Q, [0, BAR, 2 * BAR, 3 * BAR]),
    ("several at one tick", [(0, 3, 4), (0, 4, 4), (0, 2, 4)], 8 * Q, [0, 2 * Q, 4 * Q, 6 * Q]),
    # 3/4 two beats into bar 2: bar 2 is two beats long, bar 3 starts on the signature
    ("mid-bar", [(0, 4, 4), (6 * Q, 3, 4)], 18 * Q, [0, BAR, 6 * Q, 9 * Q, 12 * Q, 15 * Q]),
    ("mid-bar twice", [(0, 4, 4), (6 * Q, 3, 4), (7 * Q, 6, 8)], 13 * Q,
     [0, BAR, 6 * Q, 7 * Q, 10 * Q]),
    ("past the last note", [(0, 4, 4), (25 * Q, 3, 4)], 20 * Q, [0, BAR, 2 * BAR, 3 * BAR, 4 * BAR]),
    ("pickup as a bar of 1/4", [(0, 1, 4), (Q, 4, 4)], 17 * Q, [0, Q, Q + BAR, Q + 2 * BAR, Q + 3 * BAR]),
    # the same pickup as a DAW writes it: 4/4 from 0, restated a beat later
    ("pickup cut short", [(0, 4, 4), (Q, 4, 4)], 17 * Q, [0, Q, Q + BAR, Q + 2 * BAR, Q + 3 * BAR]),
    ("first signature later", [(3 * Q, 3, 4)], 9 * Q, [0, 3 * Q, 6 * Q]),
]
IDS = [case[0] for case in CASES]
PICKUPS = ("pickup as a bar of 1/4", "pickup cut short")  # a beat before 4/4: beat 4


def _first_beat(name: str) -> float:
    return 4.0 if name in PICKUPS else 1.0


def _first_bar(name: str) -> int:
    return 0 if name in PICKUPS else 1  # a pickup is bar 0, the first whole bar bar 1


# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize("name, signatures, end, lines", CASES, ids=IDS)
def test_one_rule_for_bar_lines_and_bar_numbers(name, signatures, end, lines):
    assert [tick for tick in bar_starts_of(signatures, TPQ, end) if tick < end] == lines
    through = bar_starts_through(signatures, TPQ, end)
    assert through[:-1] == lines and through[-1] >= end
    assert bar_starts_of(signatures, TPQ, through[-1] + 1)[:len(through)] == through
    # every bar line is beat 1 of the next bar, counting from 1 (from 0 when told so); a
    # pickup's line at 0 is the beat it stands on in the bar it leads to, in bar 0
    first = _first_bar(name)
    assert [bar_beat(tick, TPQ, signatures) for tick in through] == \
        [(first, _first_beat(name))] + [(first + n, 1.0) for n in range(1, len(through))]
    assert bar_beat(through[1], TPQ, signatures, first_bar=0) == (first, 1.0)  # first_bar: the first bar that is no pickup
    # and the extension's bar lines are the same ones
    from scorefarm.symbolic.extend import bar_starts

    assert bar_starts(_score(signatures, end), end) == through


def test_a_short_bar_counts_its_beats_from_its_own_start():
    sigs = [(0, 4, 4), (6 * Q, 3, 4)]
    assert bar_beat(5 * Q, TPQ, sigs) == (2, 2.0)
    assert bar_beat(6 * Q, TPQ, sigs) == (3, 1.0)
    assert bar_beat(8 * Q + Q // 2, TPQ, sigs) == (3, 3.5)


def test_several_signatures_at_one_tick_the_last_is_in_force():
    # as a MIDI player applies them in file order; music21, pretty_midi and miditok's bar
    # ticks read them so too (the old code took the largest numerator)
    assert clean_signatures([(0, 3, 4), (0, 4, 4), (0, 2, 4)]) == [(0, 2, 4)]
    assert clean_signatures([(960, 2, 4), (0, 3, 4), (960, 5, 4)]) == [(0, 3, 4), (960, 5, 4)]
    assert clean_signatures([]) == [(0, 4, 4)]
    assert clean_signatures([(480, 3, 4), (960, 0, 4)]) == [(0, 4, 4), (480, 3, 4)]  # 0/4 makes no bar


def test_miditok_bar_ticks_read_a_signature_where_it_stands():
    # miditok's own bar lines follow the rule (its tokenizer, which delays a mid-bar
    # signature, is given explicit signatures by the extension: see below)
    from miditok.utils import get_bars_ticks

    for name, signatures, end, lines in CASES:
        if signatures[0][0] > 0:
            continue  # miditok skips a first signature that does not stand at 0
        score = _score(signatures, end)
        assert [t for t in get_bars_ticks(score) if t < end] == lines, name


@pytest.mark.parametrize("name, signatures, end, lines", CASES, ids=IDS)
def test_explicit_signatures_keep_the_bar_lines(name, signatures, end, lines):
    explicit = explicit_signatures(signatures, TPQ)
    starts = bar_starts_of(signatures, TPQ, end)
    assert bar_starts_of(explicit, TPQ, end) == starts
    # each stands on a bar line of the one before it, as music21 and miditok's tokenizer read them
    for (before, num, den), (tick, _, _) in zip(explicit, explicit[1:]):
        assert (tick - before) % (num * TPQ * 4 // den) == 0, explicit


def test_explicit_signatures_write_a_short_bar_as_a_signature_of_its_length():
    assert explicit_signatures([(0, 4, 4), (6 * Q, 3, 4)], TPQ) == [(0, 4, 4), (BAR, 2, 4), (6 * Q, 3, 4)]
    assert explicit_signatures([(0, 4, 4), (Q, 4, 4)], TPQ) == [(0, 1, 4), (Q, 4, 4)]
    assert explicit_signatures([(0, 6, 8), (Q, 6, 8)], TPQ) == [(0, 2, 8), (Q, 6, 8)]
    assert explicit_signatures([(0, 4, 4), (BAR + Q // 4, 3, 4)], TPQ) == [(0, 4, 4), (BAR, 1, 16),
                                                                          (BAR + Q // 4, 3, 4)]
    assert explicit_signatures([(0, 4, 4), (BAR + 7, 3, 4)], TPQ) is None  # 7 ticks: no note value


# ---------------------------------------------------------------- reading


def _midi(*events: bytes) -> bytes:
    body = b"".join(events) + b"\x00\x90\x3c\x40\x83\x60\x80\x3c\x00\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, TPQ) + b"MTrk" + struct.pack(">I", len(body)) + body


def test_reading_keeps_the_last_of_several_signatures_at_one_tick_and_refuses_a_bar_of_nothing():
    from scorefarm.symbolic.score_io import load_score_bytes

    ts = lambda num, dd: b"\x00\xff\x58\x04" + bytes([num, dd, 24, 8])  # noqa: E731
    score = load_score_bytes(_midi(ts(3, 2), ts(4, 2), ts(2, 2)), "same.mid")
    assert score_signatures(score) == [(0, 2, 4)]
    with pytest.raises(ScoreError, match=r"same.mid: has a time signature 0/4 at tick 0"):
        load_score_bytes(_midi(ts(0, 2)), "same.mid")
    # a denominator past 128, as the file writes it (symusic holds 2^dd in a byte: 2^8 and 2^9
    # read as 0, 2^32 as 1)
    for exponent, shown in ((8, "4/256"), (9, "4/512"), (32, "4/2^32")):
        with pytest.raises(ScoreError, match=f"same.mid: has a time signature {re.escape(shown)} at tick 960;"):
            load_score_bytes(_midi(ts(4, 2), b"\x87\x40\xff\x58\x04" + bytes([4, exponent, 24, 8])), "same.mid")


def test_a_denominator_read_as_0_is_not_shown_as_0():
    # where the file's own bytes cannot tell it, the message says what is known
    from scorefarm.symbolic.score_io import _one_time_signature_per_tick

    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 0))
    with pytest.raises(ScoreError, match="has a time signature of 4 over a denominator past 128 at tick 0") as info:
        _one_time_signature_per_tick(score, "odd.mid", [])
    assert "4/0" not in str(info.value)


def test_one_signature_per_tick_is_one_function():
    # the reader, the notation and the corpus keep what clean_signatures keeps, less its 4/4 at 0
    sigs = [(960, 2, 4), (480, 3, 4), (960, 5, 4), (1440, 0, 4), (1440, 6, 8)]
    assert one_signature_per_tick(sigs) == [(480, 3, 4), (960, 5, 4), (1440, 6, 8)]
    assert clean_signatures(sigs) == [(0, 4, 4)] + one_signature_per_tick(sigs)


def test_a_short_bar_in_musicxml_reads_as_the_bar_lines_it_shows():
    # 4/4, a bar of two beats written short (no new signature), 4/4 again
    part = music21.stream.Part()
    for number, length in enumerate([4.0, 2.0, 4.0], start=1):
        measure = music21.stream.Measure(number=number)
        if number == 1:
            measure.timeSignature = music21.meter.TimeSignature("4/4")
        measure.append(music21.note.Note("C4", quarterLength=length))
        measure.paddingRight = 4.0 - length
        part.append(measure)
    score = music21.stream.Score([part])
    data = music21.musicxml.m21ToXml.GeneralObjectExporter(score).parse().decode("utf-8")
    parsed = music21.converter.parseData(data, format="musicxml")
    read, first_bar, _ = music21_to_score(parsed, TPQ)
    assert first_bar == 1
    assert bar_starts_of(score_signatures(read), TPQ, 10 * Q) == [0, BAR, 6 * Q]


# ---------------------------------------------------------------- the MusicXML


def _score(signatures, end, *, chords: bool = True) -> symusic.Score:
    """A chorale-like score: a tune in quarters over held chords, to ``end``."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=100.0))
    for tick, num, den in signatures:
        score.time_signatures.append(symusic.TimeSignature(tick, num, den))
    tune = symusic.Track("Violin", 40, False)
    low = symusic.Track("Cello", 42, False)
    for i in range(end // Q):
        tune.notes.append(symusic.Note(i * Q, Q, [72, 74, 76, 77, 79, 77, 76, 74][i % 8], 80))
        if chords and i % 3 == 0:  # held over beats, across the short bar lines too
            length = min(3 * Q, end - i * Q)
            low.notes.append(symusic.Note(i * Q, length, [48, 53, 55][i // 3 % 3], 70))
    score.tracks.extend([tune, low])
    return score


def _measures(data: bytes):
    parsed = music21.converter.parseData(data.decode("utf-8"), format="musicxml")
    return parsed, parsed.parts[0].getElementsByClass(music21.stream.Measure)


@pytest.mark.parametrize("name, signatures, end, lines", CASES, ids=IDS)
def test_musicxml_measures_are_the_bar_lines_numbered_as_check_numbers_them(name, signatures, end, lines):
    from scorefarm.arrange.notation import musicxml_bytes
    from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate

    score = _score(signatures, end)
    parsed, _ = _measures(musicxml_bytes(orchestrate(score, OrchestrateOptions(ensemble="string-quartet"))))
    through = bar_starts_through(signatures, TPQ, end)
    for part in parsed.parts:
        measures = list(part.getElementsByClass(music21.stream.Measure))
        assert [Fraction(m.offset) * TPQ for m in measures][:len(lines)] == lines, part.partName
        for m in measures:
            tick = int(Fraction(m.offset) * TPQ)
            if tick < end:  # the number check and analyze give the bar starting there
                assert m.number == bar_beat(tick, TPQ, signatures)[0], (part.partName, m.number)
            assert not [ts for ts in m.getElementsByClass(music21.meter.TimeSignature) if ts.offset > 0]
        # each measure is as long as the bar it stands for: short ones short, the last to the bar line
        ends = [Fraction(m.offset) + Fraction(m.duration.quarterLength) for m in measures]
        assert ends[:len(through) - 1] == [Fraction(t, TPQ) for t in through[1:]], part.partName
    # and every note sounds as long as before, tied across the bar lines it crosses
    cello = parsed.parts[-1]
    held = [n for n in cello.stripTies().recurse().notes]
    assert [(Fraction(n.getOffsetInHierarchy(cello)) * TPQ, Fraction(n.quarterLength) * TPQ) for n in held] == \
        [(n.time, n.duration) for n in score.tracks[1].notes]


def _shown(signatures, end):
    """(number, signature shown, length, complete in its signature) of the measures of the
    quartet's first staff, and the MusicXML."""
    from scorefarm.arrange.notation import musicxml_bytes
    from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate

    data = musicxml_bytes(orchestrate(_score(signatures, end), OrchestrateOptions(ensemble="string-quartet")))
    _, measures = _measures(data)
    return [(m.number, m.timeSignature.ratioString if m.timeSignature else None, m.duration.quarterLength,
             m.duration.quarterLength == m.barDuration.quarterLength) for m in measures], data


def test_a_bar_cut_short_is_written_in_a_signature_of_its_length():
    # 4/4, then 3/4 from beat 3 of bar 2 (QA's ts_midbar.mid): bar 2 is a bar of 2/4, complete
    # in its signature, as a notation program exports an irregular bar (it was a bar of two
    # beats under the running 4/4, no signature of its own); 3/4 from bar 3
    shown, data = _shown([(0, 4, 4), (6 * Q, 3, 4)], 18 * Q)
    assert shown[:4] == [(1, "4/4", 4.0, True), (2, "2/4", 2.0, True), (3, "3/4", 3.0, True), (4, None, 3.0, True)]
    assert all(complete for *_, complete in shown)
    assert data.count(b"<time>") == 3 * 4  # 4/4, 2/4 and 3/4 on each of the quartet's staves, nothing else
    # a short bar whose own length is the metre that follows shows it once: 3/4, then 2/4 two
    # beats into a bar
    shown, data = _shown([(0, 3, 4), (5 * Q, 2, 4)], 11 * Q)
    assert [m[:3] for m in shown[:4]] == [(1, "3/4", 3.0), (2, "2/4", 2.0), (3, None, 2.0), (4, None, 2.0)]
    assert data.count(b"<time>") == 2 * 4
    # a first bar cut short that is no pickup (4/4 assumed, 3/4 after three beats): one 3/4
    shown, _ = _shown([(3 * Q, 3, 4)], 9 * Q)
    assert [m[:3] for m in shown[:3]] == [(1, "3/4", 3.0), (2, None, 3.0), (3, None, 3.0)]
    # but a pickup cut short by a signature restated a beat in: an incomplete first bar in 4/4
    shown, _ = _shown([(0, 4, 4), (Q, 4, 4)], 9 * Q)
    assert [m[:3] for m in shown[:3]] == [(0, "4/4", 1.0), (1, None, 4.0), (2, None, 4.0)]


# ---------------------------------------------------------------- the extension


@pytest.fixture(scope="module")
def tiny():
    import torch

    from scorefarm.symbolic.model import ModelConfig, build_model
    from scorefarm.symbolic.tokenizer import build_tokenizer

    torch.set_num_threads(1)
    tokenizer = build_tokenizer()
    model = build_model(ModelConfig(vocab_size=len(tokenizer.vocab), hidden_size=32, num_layers=1, num_heads=2,
                                    intermediate_size=64, context=256), seed=0)
    return model, tokenizer


@pytest.mark.parametrize("name, signatures, end, lines", CASES, ids=IDS)
def test_the_extension_starts_and_ends_on_bar_lines(tiny, name, signatures, end, lines):
    from scorefarm.symbolic.extend import ExtendOptions, extend_score, plan_extension
    from scorefarm.symbolic.fast_decoder import FastDecoder

    model, tokenizer = tiny
    sketch = _score(signatures, end, chords=False)
    options = ExtendOptions(bars=3, seed=1)
    plan = plan_extension(sketch, options, tokenizer, FastDecoder(model).context)
    assert plan.sketch_bars == len(lines) and plan.ext_start == bar_starts_through(signatures, TPQ, end)[-1]
    assert plan.state.bars == plan.sketch_bars + 1  # the model hears the sketch's bars as they are
    result = extend_score(sketch, options, model=model, tokenizer=tokenizer)
    out = result.score
    assert result.sketch_bars == len(lines)
    stop = out.markers[-1].time
    out_lines = bar_starts_of(score_signatures(out), TPQ, stop + 1)
    assert plan.ext_start in out_lines and stop in out_lines
    assert out_lines.index(stop) - out_lines.index(plan.ext_start) == 3  # three whole bars of the output's metre
    new = [n for t in out.tracks for n in t.notes if n.time >= plan.ext_start]
    assert new and min(n.time for n in new) == plan.ext_start  # the first new bar starts on its downbeat
    assert max(n.time + n.duration for n in new) <= stop
    # the sketch is kept note for note, and so are its signatures up to the first new bar
    kept = [[(n.time, n.duration, n.pitch) for n in t.notes if n.time < plan.ext_start] for t in out.tracks]
    assert kept == [[(n.time, n.duration, n.pitch) for n in t.notes] for t in sketch.tracks]
    assert [s for s in clean_signatures(score_signatures(out)) if s[0] < plan.ext_start] == \
        [s for s in clean_signatures(signatures) if s[0] < plan.ext_start]
    if name == "past the last note":
        assert score_signatures(out) == [(0, 4, 4), (plan.ext_start, 3, 4)]
        assert any("after the bar line that ends the sketch" in note for note in result.notes)


# ---------------------------------------------------------------- beats


def test_bar_starts_of_runs_to_the_last_signature():
    # past ``end``, every bar line up to a later signature (the one it starts included)
    assert bar_starts_of([(0, 4, 4), (9600, 3, 4)], TPQ, 1920) == [0, 1920, 3840, 5760, 7680, 9600]
    assert bar_starts_of([(0, 4, 4)], TPQ, 1921) == [0, 1920]


@pytest.mark.parametrize("name, signatures, end, lines", CASES, ids=IDS)
def test_beats_are_the_bars_cut_into_beats(name, signatures, end, lines):
    beats = list(beats_of(signatures, TPQ, end))
    downbeats = lines[1:] if name in PICKUPS else lines  # a pickup has no first beat: its one beat is the 4th
    assert [start for start, _, index in beats if index == 0] == downbeats  # each bar's first beat on its line
    if name in PICKUPS:
        assert beats[0] == (0, lines[1], 3)  # the pickup: one beat, the bar's fourth
    assert [start for start, _, _ in beats[1:]] == [stop for _, stop, _ in beats[:-1]]  # no gap, no overlap
    # and each is the beat check and analyze name it (beat 1 on the bar line)
    assert [bar_beat(start, TPQ, signatures)[1] for start, _, _ in beats] == [index + 1.0 for _, _, index in beats]
    assert all(beat_length(TPQ, *signature_at(signatures, start)) >= stop - start for start, stop, _ in beats)


def test_the_harmonizer_and_the_analysis_walk_the_same_beats():
    from scorefarm.symbolic.analysis import _beats
    from scorefarm.symbolic.melody import beat_grid, extract_melody

    sigs = [(0, 4, 4), (6 * Q, 3, 4), (7 * Q, 6, 8), (13 * Q, 2, 4)]
    score = _score(sigs, 18 * Q, chords=False)
    melody = extract_melody(score, (60, 81))
    walked = list(beats_of(sigs, TPQ, 18 * Q))
    assert beat_grid(melody) == [(start, stop, int(index == 0), index) for start, stop, index in walked]
    from scorefarm.symbolic.voices import voices_from_score

    assert _beats(voices_from_score(score)) == [(start, stop) for start, stop, _ in walked]


@pytest.mark.parametrize("metre, bars", [((1, 8), 18), ((3, 16), 12), ((2, 8), 9), ((6, 16), 6)])
def test_a_bar_shorter_than_a_tick_per_quarter_is_harmonized_and_analysed(tmp_path, metre, bars):
    # in memory, at 1 tick per quarter a bar of 1/8 is half a tick: it is one tick long (``bar_ticks``),
    # as the bar lines have it (was ZeroDivisionError in the harmonizer); a file that coarse is read
    # at 480 ticks a quarter (``score_io``), so its bars are their true length: nine quarters of 1/8
    # are 18 bars
    from click.testing import CliRunner

    from scorefarm.cli.main import cli

    score = symusic.Score(1)
    score.tempos.append(symusic.Tempo(0, qpm=100.0))
    score.time_signatures.append(symusic.TimeSignature(0, *metre))
    tune = symusic.Track("m", 0, False)
    for i, pitch in enumerate([60, 62, 64, 65, 67, 65, 64, 62, 60]):
        tune.notes.append(symusic.Note(i, 1, pitch, 80))
    score.tracks.append(tune)
    score.dump_midi(str(tmp_path / "tune.mid"))
    assert [start for start, _, index in beats_of([(0, *metre)], 1, 9) if index == 0] == list(range(9))
    runner = CliRunner()
    result = runner.invoke(cli, ["harmonize", str(tmp_path / "tune.mid"), "-o", str(tmp_path / "satb.mid")])
    assert result.exit_code == 0, (result.output, result.exception)
    result = runner.invoke(cli, ["analyze", str(tmp_path / "tune.mid"), "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    numbers = [row["bar"] for row in json.loads(result.output)["beats"]]
    assert numbers[0] == 1 and numbers[-1] == bars
    assert all(b - a in (0, 1) for a, b in zip(numbers, numbers[1:]))


# ---------------------------------------------------------------- MusicXML read back


def _musicxml(measures: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1"><part-list>'
            '<score-part id="P1"><part-name>S</part-name></score-part></part-list>'
            f'<part id="P1">{measures}</part></score-partwise>')


def _note(quarters: int) -> str:
    kind = {1: "quarter", 2: "half", 4: "whole"}[quarters]
    return f"<note><pitch><step>C</step><octave>5</octave></pitch><duration>{quarters}</duration><type>{kind}</type></note>"


def _time(beats: int, beat_type: int) -> str:
    return f"<attributes><time><beats>{beats}</beats><beat-type>{beat_type}</beat-type></time></attributes>"


def test_of_several_signatures_at_one_offset_in_musicxml_the_last_is_in_force():
    data = _musicxml(f'<measure number="1"><attributes><divisions>1</divisions></attributes>{_time(4, 4)}{_note(4)}'
                     f'</measure><measure number="2">{_time(3, 4)}{_time(2, 4)}{_note(2)}</measure>'
                     f'<measure number="3">{_note(2)}</measure>')
    read, first_bar, pickup = music21_to_score(music21.converter.parseData(data, format="musicxml"), TPQ)
    assert (first_bar, pickup) == (1, 0)
    assert score_signatures(read)[:2] == [(0, 4, 4), (BAR, 2, 4)]  # as clean_signatures reads a MIDI file's


@pytest.mark.parametrize("number", [0, 1])
def test_a_pickup_is_numbered_as_the_file_numbers_it(number):
    # a one-beat pickup in 4/4: measure 0 in most files (ours, music21's chorales), 1 in some;
    # bars count on from it
    data = _musicxml(f'<measure number="{number}" implicit="yes"><attributes><divisions>1</divisions></attributes>'
                     f'{_time(4, 4)}{_note(1)}</measure>'
                     + "".join(f'<measure number="{number + k}">{_note(4)}</measure>' for k in (1, 2)))
    read, first_bar, pickup = music21_to_score(music21.converter.parseData(data, format="musicxml"), TPQ)
    assert (first_bar, pickup) == (number, 3 * Q)
    sigs = score_signatures(read)
    assert bar_beat(pickup, TPQ, sigs, first_bar) == (number, 4.0)  # the pickup's note, moved to its beat
    assert bar_beat(BAR + 2 * Q, TPQ, sigs, first_bar) == (number + 1, 3.0)


# the pickups of CASES (and a short bar mid-score), as a composer's sketch: a tune over its
# bass a twelfth below, so that check finds a fault on every beat (parallel fifths; octaves
# would be one line doubled, no fault)
ROUND_TRIP = [case for case in CASES if case[0] in ("pickup as a bar of 1/4", "pickup cut short",
                                                    "first signature later", "mid-bar")]


@pytest.mark.parametrize("name, signatures, end, lines", ROUND_TRIP, ids=[case[0] for case in ROUND_TRIP])
def test_check_and_analyze_number_our_musicxml_as_they_number_the_midi(tmp_path, name, signatures, end, lines):
    from click.testing import CliRunner

    from scorefarm.cli.main import cli

    sketch = _score(signatures, 0)
    tune, bass = sketch.tracks
    for i in range(13):
        pitch = [72, 74, 76, 77, 79, 77, 76, 74][i % 8]
        tune.notes.append(symusic.Note(i * Q, Q, pitch, 80))
        bass.notes.append(symusic.Note(i * Q, Q, pitch - 19, 70))
    sketch.dump_midi(str(tmp_path / "sketch.mid"))
    runner = CliRunner()
    result = runner.invoke(cli, ["orchestrate", str(tmp_path / "sketch.mid"), "--ensemble", "string-quartet",
                                 "-o", str(tmp_path / "quartet.mid"), "--musicxml", str(tmp_path / "quartet.musicxml")])
    assert result.exit_code == 0, (result.output, result.exception)
    said = {}
    for suffix in ("mid", "musicxml"):
        for command, rows in (("check", "faults"), ("analyze", "beats")):
            result = runner.invoke(cli, [command, str(tmp_path / f"quartet.{suffix}"), "--json"])
            assert result.exit_code == 0, (result.output, result.exception)
            said[suffix, command] = [(row["bar"], row["beat"]) for row in json.loads(result.output)[rows]]
    assert len(said["mid", "check"]) == 12  # parallel fifths, beat to beat
    for command in ("check", "analyze"):
        # bars and beats alike, a pickup's beats too: counted from the bar line it leads to
        # in both (beat 4 of a one-beat pickup)
        assert said["mid", command] == said["musicxml", command], command
    assert said["mid", "analyze"][0] == (_first_bar(name), _first_beat(name))
