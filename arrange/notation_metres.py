"""The score's time signatures, as a notation program writes them.

``Metres``: the signatures each staff is written with. A time signature starts a bar
where it stands (``metre.bar_starts_of``); one standing mid-bar cuts the bar before it
short, and that bar is written with a signature of its own length (4/4, then 3/4 two
beats into bar 2: bar 2 in 2/4, bar 3 in 3/4), as a notation program exports an
irregular bar, so that every bar is complete in its own signature. The exception is a
pickup (``metre.pickup_of``), written as the end of a bar of the metre it leads to.
"""

from __future__ import annotations

from fractions import Fraction


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
