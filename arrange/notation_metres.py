"""The score's time signatures, bars and rests, as a notation program writes them.

``Metres``: the signatures each staff is written with. A time signature starts a bar
where it stands (``metre.bar_starts_of``); one standing mid-bar cuts the bar before it
short, and that bar is written with a signature of its own length (4/4, then 3/4 two
beats into bar 2: bar 2 in 2/4, bar 3 in 3/4), as a notation program exports an
irregular bar, so that every bar is complete in its own signature. The exception is a
pickup (``metre.pickup_of``), written as the end of a bar of the metre it leads to.

``rests``: the rests that fill a staff's silences, bar by bar: a bar of silence is a
whole-bar rest, a silence inside a bar rests of the beat's values, aligned on the beats
(in 4/4 a half rest on beat 1 or 3 only, in 6/8 a dotted quarter rest on each beat).
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple


class Bar(NamedTuple):
    """A written bar, in quarters: where it starts and stops, the metre its beats are counted
    in, and where the bar line of a whole bar of that metre would stand (``origin``: its
    start, or before it for a pickup)."""

    start: Fraction
    stop: Fraction
    numerator: int
    denominator: int
    origin: Fraction


class Metres:
    """The time signatures a score is written with, each starting a bar where it stands
    (``metre.bar_starts_of``), up to ``end`` (the score's last bar line, in quarters: a
    signature there or later is left out, and so is a short bar it would make after the
    last note -- a notation program would show it as an empty bar).

    music21 keeps a metre to its next bar line, so the bars are laid out with a signature
    of its own length on each bar a signature standing mid-bar cuts short
    (``metre.explicit_signatures``), offsets taken to the nearest 64th note. That
    signature is shown (4/4 cut after two beats by 3/4: a bar of 2/4; 4/4 cut after three
    beats at the start: a bar of 3/4), except where it stands for the metre that runs on
    after it (3/4 then 2/4 standing two beats in: one 2/4, not two). A first bar cut short
    is a pickup when ``metre.pickup_of`` says so (4/4 restated a beat in, or the pickup's
    own length written as its signature: 1/4 before 4/4, as notation programs export
    one): ``pickup`` is then (its length, the metre it leads to, a whole bar of that
    metre) in quarters, and ``cut_short`` writes it as the end of a bar of that metre, as
    check and analyze count its beats: that metre's signature shown on it and not again on
    the bar after, the bar marked implicit (a pickup: no number shown) and numbered 0,
    the first whole bar 1, as they number them."""

    def __init__(self, source, end: Fraction):
        from scorefarm.symbolic.metre import (
            clean_signatures, explicit_signatures, one_signature_per_tick, pickup_of, score_signatures,
        )

        given = one_signature_per_tick(score_signatures(source))
        grain = 16 * max([1] + [den // 64 for _, _, den in given])  # ticks per quarter: 64ths (or finer)
        # on that grain, of several that round to one tick the last
        at = {round(Fraction(tick, source.tpq) * grain): (tick, num, den) for tick, num, den in given}
        events = clean_signatures([(tick, num, den) for tick, (_, num, den) in at.items()])
        grid = explicit_signatures(events, grain) or events
        found = pickup_of(events, grain)
        self.pickup: tuple[Fraction, tuple[int, int], Fraction] | None = None
        if found is not None and Fraction(0) < end:
            self.pickup = (Fraction(found.ticks, grain), (found.numerator, found.denominator),
                           Fraction(found.whole_ticks, grain))
        # the signatures to insert: the source's own (at their ticks) where every one stands on
        # a bar line of the one before, else those of the grid; none at the end or after
        if grid == events and self.pickup is None:
            self.signatures = [(Fraction(tick, source.tpq), num, den) for tick, num, den in at.values()]
        else:
            self.signatures = []
            for tick, num, den in grid:
                short = (tick, num, den) not in events  # a bar cut short, in a signature of its length
                if not short and self.signatures and self.signatures[-1][3] and self.signatures[-1][1:3] == (num, den):
                    continue  # the short bar's signature is the metre that runs on after it
                self.signatures.append((Fraction(tick, grain), num, den, short))
            self.signatures = [sig[:3] for sig in self.signatures]
        self.signatures = [sig for sig in self.signatures if sig[0] < end or sig[0] == 0]
        self.end = end

    def bars(self) -> list[Bar]:
        """Every written bar up to ``end``, in order."""
        sigs = self.signatures if self.signatures and self.signatures[0][0] == 0 else \
            [(Fraction(0), 4, 4)] + self.signatures
        out: list[Bar] = []
        for index, (offset, num, den) in enumerate(sigs):
            stop = sigs[index + 1][0] if index + 1 < len(sigs) else self.end
            length = Fraction(num * 4, den)
            if offset == 0 and self.pickup is not None:
                pickup, (num, den), whole = self.pickup
                out.append(Bar(Fraction(0), pickup, num, den, pickup - whole))
                offset, length = pickup, whole
            while offset < stop:
                out.append(Bar(offset, min(offset + length, stop), num, den, offset))
                offset += length
        return out

    def cut_short(self, score) -> None:
        """Bar the parts of ``score`` (filled, not yet barred) by ``signatures``, then
        write the pickup as the end of a bar of the metre it leads to, its own signature
        taken out (that metre's put in its place), numbered 0 and the bars after from 1."""
        from music21 import meter, stream

        length, shown, whole = self.pickup
        score.makeRests(refStreamOrTimeRange=[0.0, score.highestTime], fillGaps=True, inPlace=True,
                        hideRests=True, timeRangeFromBarDuration=True)  # as music21's writer would
        score.makeNotation(inPlace=True)
        for part in score.parts:
            measures = list(part.getElementsByClass(stream.Measure))
            measure = measures[0]
            measure.timeSignature = meter.TimeSignature(f"{shown[0]}/{shown[1]}")
            measure.paddingLeft = float(whole - length)
            measure.showNumber = stream.enums.ShowNumber.NEVER  # MusicXML's implicit="yes": a pickup
            for later in measures:  # the pickup is bar 0, the first whole bar 1
                later.number -= 1
            after = measures[1].timeSignature if len(measures) > 1 else None
            if after is not None and after.ratioString == f"{shown[0]}/{shown[1]}":
                measures[1].timeSignature = None  # the metre shown on the pickup runs on


def beat_quarters(numerator: int, denominator: int) -> tuple[Fraction, bool]:
    """(the beat in quarters, whether the metre is compound), as ``metre.beat_length``
    counts them."""
    unit = Fraction(4, denominator)
    compound = denominator >= 8 and numerator % 3 == 0 and numerator > 3
    return (unit * 3 if compound else unit), compound


_SIMPLE = [Fraction(2), Fraction(1), Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 16)]
_COMPOUND = [Fraction(3), Fraction(3, 2), Fraction(1), Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 16)]
_TRIPLETS = [Fraction(2, 3), Fraction(1, 3), Fraction(1, 6), Fraction(1, 12), Fraction(1, 24)]


def _dyadic(value: Fraction) -> bool:
    """On the grid of plain (not triplet) note values."""
    return value.denominator & (value.denominator - 1) == 0


def rests(start: Fraction, stop: Fraction, bars: list[Bar]):
    """(offset, length) of the rests that fill the silence from ``start`` to ``stop``
    (quarters) in ``bars`` (``Metres.bars``): a whole bar of silence one rest (a pickup's
    rests are of the beat's values, as a notation program writes them), else, from the
    start, the longest rest that fits and stands on a multiple of its own value from the
    bar line (from the line of the whole bar a pickup ends): half rests on beats 1 and 3 of
    4/4, never on 2; a quarter rest of 6/8 on a beat only; none longer than a half but a
    whole bar's (dotted halves in 12/8). Where the silence starts or stops off the grid of
    plain values (among triplets), triplet rests, within the beat: plain rests up to the
    last beat line before a silence ending among triplets, triplet ones after it."""
    import bisect

    index = max(0, bisect.bisect_right([bar.start for bar in bars], start) - 1)
    while start < stop and index < len(bars):
        bar = bars[index]
        until = min(stop, bar.stop)
        if start == bar.start and until == bar.stop and bar.origin == bar.start:
            yield start, until - start
            start = until
        beat, compound = beat_quarters(bar.numerator, bar.denominator)
        while start < until:
            into = start - bar.origin
            plain, target = _dyadic(into), until
            if not plain:  # among triplets: to the next beat line at most
                target = min(until, bar.origin + (into // beat + 1) * beat)
            elif not _dyadic(until - bar.origin):  # plain values to the last beat line, triplets after
                line = bar.origin + (until - bar.origin) // beat * beat
                plain, target = line > start, max(line, start) if line > start else until
            values = ((_COMPOUND if compound else _SIMPLE) + _TRIPLETS) if plain else _TRIPLETS
            value = next((v for v in values if v <= target - start and into % v == 0
                          and (v <= beat or v % beat == 0) and not (compound and v == 1 and into % beat)),
                         target - start)
            yield start, value
            start += value
        index += 1
