"""Bar lines, beats and time signatures: the arithmetic every stage counts bars with.

The bar lines: a time signature (MIDI's FF 58 meta event) starts a bar of its metre
where it stands. Standing mid-bar -- off the bar lines of the metre before it -- it cuts
that bar short. That is how an irregular bar reaches MIDI from a notation program (a
pickup as a bar of 1/4, a bar of two beats inside 4/4 as 2/4, each signature on its
bar's first tick), and how pretty_midi (``get_downbeats``) and miditok
(``utils.get_bars_ticks``) find downbeats. music21's makeMeasures and miditok's
tokenizer instead keep the old metre to its next bar line; the notation and the
extension hand them signatures that all stand on bar lines (``explicit_signatures``),
which every reader takes as written.

The beats: each bar is cut into beats of ``beat_length`` from its bar line, except a
pickup (``pickup_of``), whose beats are counted as the end of a bar of the metre it
leads to, as a musician counts them. Bars are numbered from 1, a pickup 0 (``bar_beat``).

Signatures are (tick, numerator, denominator); ``voices`` re-exports every name here.
"""

from __future__ import annotations

import bisect
import itertools
from functools import lru_cache
from typing import Iterator, NamedTuple


def beat_length(tpq: int, numerator: int, denominator: int) -> int:
    """The beat of ``numerator``/``denominator`` in ticks: its note value, a dotted one in
    compound metres (6/8, 9/8, 12/8)."""
    unit = max(1, tpq * 4 // denominator)
    compound = denominator >= 8 and numerator % 3 == 0 and numerator > 3
    return unit * 3 if compound else unit


def one_signature_per_tick(signatures) -> list[tuple[int, int, int]]:
    """(tick, numerator, denominator) in time order, one per tick: where several stand at one
    tick the last given is kept (a MIDI player applies simultaneous events in file order);
    those that make no bar (numerator or denominator below 1) are left out. What every
    reader of a score's signatures keeps (``clean_signatures``, ``score_io.load_score``,
    the notation, the corpus)."""
    at: dict[int, tuple[int, int, int]] = {}
    for tick, num, den in sorted(signatures, key=lambda sig: sig[0]):
        if num >= 1 and den >= 1:
            at[tick] = (tick, num, den)
    return list(at.values())


def clean_signatures(signatures) -> list[tuple[int, int, int]]:
    """``one_signature_per_tick``, with 4/4 before the first (the metre from tick 0 on)."""
    cleaned = one_signature_per_tick(signatures)
    if not cleaned or cleaned[0][0] > 0:
        cleaned.insert(0, (0, 4, 4))
    return cleaned


def signature_at(signatures, tick: int) -> tuple[int, int]:
    """(numerator, denominator) of the time signature in force at ``tick`` under
    ``signatures`` ((tick, numerator, denominator), read as ``clean_signatures`` reads
    them: of several at one tick the last given, 0/N left out, 4/4 before the first)."""
    starts, sigs = _clean_index(tuple(map(tuple, signatures)))
    _, numerator, denominator = sigs[max(0, bisect.bisect_right(starts, tick) - 1)]
    return numerator, denominator


@lru_cache(maxsize=64)
def _clean_index(signatures: tuple[tuple[int, int, int], ...]) -> tuple[tuple[int, ...], tuple]:
    """(their ticks, ``clean_signatures``), kept: the checker asks ``signature_at`` once a note."""
    sigs = tuple(clean_signatures(signatures))
    return tuple(sig[0] for sig in sigs), sigs


def score_signatures(score) -> list[tuple[int, int, int]]:
    """A symusic score's time signatures as (tick, numerator, denominator), in its order."""
    return [(ts.time, ts.numerator, ts.denominator) for ts in score.time_signatures]


def bar_ticks(tpq: int, numerator: int, denominator: int) -> int:
    """The length of a whole bar of ``numerator``/``denominator``, in ticks (1 at least)."""
    return max(1, numerator * tpq * 4 // denominator)


def _spans(signatures, tpq: int) -> list[tuple[int, int | None, int, int, int]]:
    """(start, stop, numerator, denominator, bar length) of each clean signature; the
    last one's stop is None (it runs on)."""
    sigs = clean_signatures(signatures)
    return [(start, sigs[i + 1][0] if i + 1 < len(sigs) else None, num, den, bar_ticks(tpq, num, den))
            for i, (start, num, den) in enumerate(sigs)]


def _bar_lines(signatures, tpq: int) -> Iterator[int]:
    """Every bar line from 0, without end."""
    spans = _spans(signatures, tpq)
    for start, stop, _, _, bar_len in spans[:-1]:
        yield from range(start, stop, bar_len)
    start, _, _, _, bar_len = spans[-1]
    yield from itertools.count(start, bar_len)


def bar_starts_of(signatures: list[tuple[int, int, int]], tpq: int, end: int) -> list[int]:
    """Every bar line from 0 under ``signatures`` ((tick, numerator, denominator), see
    ``clean_signatures``) that stands before ``end``, or up to and including the last
    signature when that stands at ``end`` or later (the bar lines between ``end`` and it
    too: ``bar_starts_of([(0, 4, 4), (9600, 3, 4)], 480, 1920)`` is ``[0, 1920, 3840,
    5760, 7680, 9600]``). A time signature starts a bar where it stands (the bar before
    it cut short when it stands mid-bar), so a pickup written as a bar of 1/4 is a bar of
    its own."""
    limit = max(end, clean_signatures(signatures)[-1][0] + 1)
    return list(itertools.takewhile(lambda tick: tick < limit, _bar_lines(signatures, tpq)))


def bar_starts_through(signatures: list[tuple[int, int, int]], tpq: int, until: int) -> list[int]:
    """The bar lines of ``bar_starts_of`` from 0 up to and including the first at or after ``until``."""
    starts: list[int] = []
    for tick in _bar_lines(signatures, tpq):
        starts.append(tick)
        if tick >= until:
            return starts
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- the pickup


class Pickup(NamedTuple):
    """A first bar counted as the end of a bar of the metre it leads to."""

    ticks: int  # its length: the first bar line after 0 stands here
    numerator: int  # the metre it is counted in (the second signature's)
    denominator: int
    whole_ticks: int  # a whole bar of that metre

    def beat(self, tpq: int, tick: int) -> float:
        """The beat (from 1) of ``tick`` in the pickup, counted in its metre."""
        return (self.whole_ticks - self.ticks + tick) / beat_length(tpq, self.numerator, self.denominator) + 1


def pickup_of(signatures, tpq: int) -> Pickup | None:
    """The pickup (anacrusis) of a score with ``signatures`` (read as ``clean_signatures``
    reads them), or None.

    MIDI has no pickup event. A first bar shorter than the bars after it is how one
    arrives: a notation program writes the pickup's own length as the first signature
    (1/4 then 4/4 a quarter later, as MuseScore exports a one-beat pickup; 3/8 then
    6/8), a sequencer that knows only the metre restates it where the first whole bar
    starts (4/4 at 0 and again at 480), and a file whose first signature stands after 0
    has 4/4 before it. The rule: **the first bar is a pickup when the second time
    signature stands at or before the end of a whole bar of the first (the first bar
    is a bar of its own, the only one of its signature) and the first bar is shorter
    than a whole bar of the second.** Its beats are then counted as the end of a bar
    of the second signature: a quarter before 4/4 is beat 4, three quarters beats 2, 3
    and 4, a dotted quarter before 6/8 beat 2, an eighth before 4/4 beat 4.5. That is
    a musician's count, and what a MusicXML pickup reads as (music21 puts it at the end
    of a whole bar). **A pickup is bar 0, not counted; the first whole bar is bar 1**, as
    printed editions, MuseScore, Sibelius and Dorico number them (``bar_beat``): the
    one-beat pickup is bar 0 beat 4, in the MIDI, in our MusicXML (a measure numbered 0,
    implicit) and in a MusicXML file that numbers its pickup 0, as music21 writes chorales.

    Not a pickup:

    - any bar but the first: a bar cut short later in the piece (2/4 inside 4/4,
      ``[(0, 4, 4), (2880, 3, 4)]``) counts its beats from its own bar line;
    - a first bar as long as a bar of the metre after it or longer (3/4 then 2/4;
      4/4 cut short after three beats by 3/4): a bar of its own;
    - a first signature that runs for more than one bar (two bars of 2/4, then 4/4);
    - a file whose first notes start late in a whole bar (a pickup as a DAW records
      it: 4/4 throughout, the first note on beat 4). Its first bar is whole, and its
      beats, counted from the bar line, already are the musician's: the note is beat 4.

    - a first bar that is a whole bar of its signature when that signature comes back
      later (a bar of 4/4, then 5/4, then 4/4 again: a film cue's metres, not a pickup),
      or when the file has no signature at 0 (a whole bar of the 4/4 assumed before a
      first signature a bar in).

    A piece that really opens with one bar of 2/4 before 4/4 (and never 2/4 again) cannot
    be told apart from a two-beat pickup in MIDI; it is counted as a pickup (beats 3 and 4)."""
    return _pickup(_spans(signatures, tpq), signatures)


def _pickup(spans, signatures) -> Pickup | None:
    """``pickup_of`` from the signatures' ``_spans``."""
    if len(spans) < 2:
        return None
    (_, stop, first_num, first_den, first_len), (_, _, num, den, next_len) = spans[0], spans[1]
    if not (stop <= first_len and stop < next_len):
        return None
    if stop == first_len:  # a whole bar of its own signature: a pickup only if it is the pickup's length
        explicit = any(sig[0] == 0 for sig in one_signature_per_tick(signatures))
        again = any((n, d) == (first_num, first_den) for _, _, n, d, _ in spans[2:])
        if not explicit or again:
            return None
    return Pickup(stop, num, den, next_len)


def counting_signature_at(signatures, tpq: int, tick: int) -> tuple[int, int]:
    """(numerator, denominator) of the metre whose beats ``tick`` is counted in:
    ``signature_at``'s, except in a pickup (``pickup_of``), counted in the metre of the
    bar it leads to (a 3/8 pickup before 6/8 has a dotted quarter beat)."""
    pickup = _cached_pickup(tuple(map(tuple, signatures)), tpq)
    if pickup is not None and 0 <= tick < pickup.ticks:
        return pickup.numerator, pickup.denominator
    return signature_at(signatures, tick)


@lru_cache(maxsize=64)
def _cached_pickup(signatures: tuple[tuple[int, int, int], ...], tpq: int) -> Pickup | None:
    """``pickup_of``, kept: a caller may ask ``counting_signature_at`` once a note."""
    return pickup_of(signatures, tpq)


# ---------------------------------------------------------------- beats


def beats_of(signatures, tpq: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(start, stop, beat in its bar from 0) of every beat starting before ``end``: each bar
    of ``bar_starts_of`` cut into beats of ``beat_length`` from its bar line, a beat that
    would cross the next bar line stopping on it (the last beat of a bar cut short). The
    last beat may run past ``end``. A pickup (``pickup_of``) is cut as the end of a bar
    of the metre it leads to, its beats numbered as there (a one-beat pickup before 4/4:
    one beat, numbered 3); its first beat starts at 0, part of a beat when the pickup is
    not a whole number of beats."""
    spans = _spans(signatures, tpq)
    pickup = _pickup(spans, signatures)
    if pickup is not None:
        step = beat_length(tpq, pickup.numerator, pickup.denominator)
        line = pickup.ticks - pickup.whole_ticks  # where the whole bar's line would stand
        for index, tick in enumerate(range(line, pickup.ticks, step)):
            if tick + step <= 0:
                continue
            if max(tick, 0) >= end:
                return
            yield max(tick, 0), min(tick + step, pickup.ticks), index
        spans = spans[1:]
    for start, stop, num, den, bar_len in spans:
        if start >= end:
            return
        step = beat_length(tpq, num, den)
        for line in range(start, end if stop is None else min(stop, end), bar_len):
            bar_end = line + bar_len if stop is None else min(line + bar_len, stop)
            for index, tick in enumerate(range(line, min(bar_end, end), step)):
                yield tick, min(tick + step, bar_end), index


def bar_beat(tick: int, tpq: int, signatures: list[tuple[int, int, int]], first_bar: int = 1) -> tuple[int, float]:
    """(bar number, beat from 1) of ``tick`` under the bar lines of ``bar_starts_of`` (a
    bar cut short by a time signature counts as one); beats follow the time signature,
    a pickup's those of the bar it leads to. ``first_bar`` is the number of the first
    bar that is no pickup; a pickup (``pickup_of``) is the bar before it, bar 0: a
    one-beat pickup before 4/4 is bar 0 beat 4, the first whole bar bar 1. A MusicXML
    file's pickup comes padded to a whole bar (``voices.music21_to_score``), so none is
    found here, and ``first_bar`` is then its first measure's own number (0 for a
    pickup, as the file prints it)."""
    spans = _spans(signatures, tpq)
    pickup = _pickup(spans, signatures)
    bar = first_bar if pickup is None else first_bar - 1
    if pickup is not None and tick < pickup.ticks:
        return bar, round(pickup.beat(tpq, tick), 3)
    for start, stop, num, den, bar_len in spans:
        if stop is not None and tick >= stop:
            bar += -(-(stop - start) // bar_len)
            continue
        bars_in, into = divmod(tick - start, bar_len)
        beat = into / beat_length(tpq, num, den) + 1
        return bar + bars_in, round(beat, 3)
    raise AssertionError("unreachable")


def format_position(bar: int, beat: float) -> str:
    return f"bar {bar} beat {beat:g}"


# ---------------------------------------------------------------- explicit signatures


def explicit_signatures(signatures, tpq: int) -> list[tuple[int, int, int]] | None:
    """``signatures`` (clean) with every bar cut short by a signature standing mid-bar
    written as a signature of its own length (4/4 with 3/4 two beats into a bar: 2/4 on
    that bar's line), so that each one stands on a bar line of the one before, as a
    notation program exports an irregular bar. The bar lines are those of
    ``bar_starts_of``; readers that keep a metre to its next bar line (music21's
    makeMeasures, miditok) read them alike. None when a short bar's length is no whole
    number of 1024th notes."""
    out: list[tuple[int, int, int]] = []
    for start, stop, num, den, bar_len in _spans(signatures, tpq):
        out.append((start, num, den))
        short = (stop - start) % bar_len if stop is not None else 0
        if short:
            length = _short_signature(short, tpq, den)
            if length is None:
                return None
            if out[-1][0] == stop - short:  # the signature's own first bar is the short one
                out.pop()
            out.append((stop - short, *length))
    return out


def _short_signature(ticks: int, tpq: int, denominator: int) -> tuple[int, int] | None:
    """(numerator, denominator) of a bar ``ticks`` long: in ``denominator``'s notes when it
    is a whole number of them, else in the longest shorter ones that divide it (down to
    1024th notes); None when none does."""
    for den in [denominator] + [2 ** k for k in range(11) if 2 ** k > denominator]:
        num, rest = divmod(ticks * den, tpq * 4)
        if not rest and num >= 1:
            return num, den
    return None
