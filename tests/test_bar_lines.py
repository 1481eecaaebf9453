"""Bar lines under time signatures, one rule everywhere: a time signature starts a bar of
its metre where it stands, and one standing mid-bar cuts the bar before it short. The
numbering of ``compose check``/``analyze`` (``voices.bar_beat``), the bar lines of
keyfinding, doubling and the notation (``voices.bar_starts_of``), the extension's bar
lines (``extend.bar_starts``) and the MusicXML's measures agree on it, for a signature
at 0 only, several at one tick, one mid-bar, one past the last note, and a pickup."""

from __future__ import annotations

import struct
from fractions import Fraction

import music21
import pytest
import symusic

from scorefarm.errors import ScoreError
from scorefarm.symbolic.voices import (
    bar_beat, bar_starts_of, bar_starts_through, clean_signatures, explicit_signatures, music21_to_score,
    score_signatures,
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


# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize("name, signatures, end, lines", CASES, ids=IDS)
def test_one_rule_for_bar_lines_and_bar_numbers(name, signatures, end, lines):
    assert [tick for tick in bar_starts_of(signatures, TPQ, end) if tick < end] == lines
    through = bar_starts_through(signatures, TPQ, end)
    assert through[:-1] == lines and through[-1] >= end
    assert bar_starts_of(signatures, TPQ, through[-1] + 1)[:len(through)] == through
    # every bar line is beat 1 of the next bar, counting from 1 (from 0 when told so)
    assert [bar_beat(tick, TPQ, signatures) for tick in through] == [(n + 1, 1.0) for n in range(len(through))]
    assert bar_beat(through[1], TPQ, signatures, first_bar=0) == (1, 1.0)
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
    with pytest.raises(ScoreError, match=r"time signature 4/0 at tick 0"):
        load_score_bytes(_midi(ts(4, 9)), "same.mid")  # 2^9: past what symusic holds


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


def test_a_bar_cut_short_is_written_incomplete_in_the_metre_it_is_in():
    from scorefarm.arrange.notation import musicxml_bytes
    from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate

    data = musicxml_bytes(orchestrate(_score([(0, 4, 4), (6 * Q, 3, 4)], 18 * Q),
                                      OrchestrateOptions(ensemble="string-quartet")))
    _, measures = _measures(data)
    shown = [(m.number, m.timeSignature.ratioString if m.timeSignature else None, m.duration.quarterLength)
             for m in measures]
    assert shown[:4] == [(1, "4/4", 4.0), (2, None, 2.0), (3, "3/4", 3.0), (4, None, 3.0)]
    assert data.count(b"<time>") == 2 * 4  # 4/4 and 3/4 on each of the quartet's staves, nothing else
    # a pickup cut short by a signature restated a beat in: an incomplete first bar in 4/4
    _, measures = _measures(musicxml_bytes(orchestrate(_score([(0, 4, 4), (Q, 4, 4)], 9 * Q),
                                                       OrchestrateOptions(ensemble="string-quartet"))))
    assert [(m.number, m.duration.quarterLength) for m in measures][:3] == [(1, 1.0), (2, 4.0), (3, 4.0)]
    assert measures[0].timeSignature.ratioString == "4/4"


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
