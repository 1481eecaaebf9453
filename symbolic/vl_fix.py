"""Fixing voice leading by re-voicing the inner voices (``compose check --fix``).

The fixer never touches the top voice, and the bass only when asked (then only
by octaves). The search (``vl_search``) proposes two re-voicings of the whole
piece that keep its harmony and its rhythm: the one with the fewest faults and,
among those, the smoothest inner voices, and the plain one, its lines unmarked.

The checker has the last word: each stretch the re-voicing changed is kept only
where the checker then finds fewer or lighter faults and none more, by count or
by weight; elsewhere the score stays as written. Where the smooth and the plain
re-voicings differ, the smooth one is kept unless the checker finds that the plain
one leaves fewer or lighter faults there and more of neither: the lines choose
among what the checker finds as good, not against it. What could not be fixed is
said. A stretch is judged by the faults in a window around it (``_LocalCheck``),
under the keys found once in the score as written, so judging every stretch costs
about what one check of the whole piece costs: it grows with the piece's length,
not with its square. The report after is the checker's on the whole fixed score,
under those same keys: re-voicing changes how long each pitch class sounds, and
keys found again in the fixed score could judge a leading tone or a seventh the
fixer never saw (BWV 7.7, 275, 276), so that its report and its count disagreed.
``fix_file`` does the same from a MIDI or MusicXML file to a MIDI file: the file
given, its tracks, channels, programs, controllers and velocities, with only the
re-voiced notes changed (``fix_write``).
"""

from __future__ import annotations

import itertools
import json
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field

from scorefarm.errors import ScoreError

from .voiceleading import KINDS, CheckOptions, CheckReport, check_voices, require_voices
from .vl_slices import Slices
from .voices import Part, VNote, Voices, format_position
from .vl_cost import LineWeights, PenaltyWeights
from .vl_search import original_row, revoicings


@dataclass(frozen=True)
class FixOptions:
    move_bass: bool = False  # may the bass move by octaves?
    check: CheckOptions = field(default_factory=CheckOptions)
    penalties: PenaltyWeights = field(default_factory=lambda: PenaltyWeights(
        parallel=100.0, antiparallel=100.0, hidden=30.0, overlap=30.0, crossing=80.0, spacing=30.0))
    resolution_penalty: float = 30.0  # unresolved leading tone, seventh or augmented sixth
    lines: LineWeights = field(default_factory=LineWeights)  # leaps in the inner voices the fixer writes


@dataclass
class FixResult:
    voices: Voices
    before: CheckReport
    after: CheckReport
    notes: list[str]

    @property
    def fixed(self) -> int:
        return max(0, len(self.before.faults) - len(self.after.faults))

    def to_json(self, out: str | None = None) -> str:
        return json.dumps({
            "output": out,
            "before": json.loads(self.before.to_json()),
            "after": json.loads(self.after.to_json()),
            "notes": self.notes,
        }, indent=2)


def fix_voices(voices: Voices, options: FixOptions = FixOptions()) -> FixResult:
    before = check_voices(voices, options.check)
    count = len(voices.parts)
    if count < 2 or (count < 3 and not options.move_bass):
        notes = [f"only {count} voice(s): there are no inner voices to re-voice"]
        return FixResult(voices, before, before, notes)
    if not before.faults:
        return FixResult(voices, before, before, ["no faults to fix"])
    slices = Slices(voices, options.check.grid_ticks)
    movable = list(range(1, count - 1)) + ([count - 1] if options.move_bass else [])
    smooth, plain = revoicings(voices, slices, movable, before.keys, options)
    rows = [original_row(slices, k) for k in range(len(slices.ticks))]
    local = _LocalCheck(voices, slices, movable, before.keys, options.check)
    best = Counter(f.kind for f in before.faults)
    current = best  # a note the rows leave at its pitch stays as written (``_LocalCheck.parts``)
    accepted, refused = False, []
    for first, last in _stretches(rows, smooth, plain):  # where either re-voicing changes the score
        outcomes = []
        for proposal in (smooth, plain) if smooth[first:last + 1] != plain[first:last + 1] else (smooth,):
            outcomes.append(_keep(proposal, first, last, rows, current, best, local, options))
        if len(outcomes) > 1 and _better(outcomes[1].faults, outcomes[0].faults, options):
            outcomes.reverse()  # the plain re-voicing leaves fewer or lighter faults: the lines give way
        kept = outcomes[0]
        rows[first:last + 1] = kept.rows
        if kept.accepted:
            current = best = kept.faults
            accepted = True
        refused += [slices.ticks[k] for k in kept.refused]
    if not accepted:
        return FixResult(voices, before, before, _summary(before, before, movable, voices, refused))
    fixed = voices.with_parts(local.parts(rows))
    after = check_voices(fixed, options.check, keys=before.keys)  # the keys every stretch was judged by
    return FixResult(fixed, before, after, _summary(before, after, movable, voices, refused))


@dataclass
class _Kept:
    rows: list[tuple[int, ...]]  # the verticalities of one stretch as kept
    faults: Counter  # the faults of the whole piece with them, by kind
    accepted: bool  # was any part of the proposal kept?
    refused: list[int]  # the verticalities where a changed run was refused


def _keep(proposal, first: int, last: int, rows, current: Counter, best: Counter, local: _LocalCheck,
          options: FixOptions) -> _Kept:
    """Each run of ``proposal`` that differs from ``rows`` within ``first..last``, kept only
    where the checker then finds fewer or lighter faults (``_better``) than the best so far."""
    rows = list(rows)
    accepted, refused = False, []
    for a, b in _stretches(rows[first:last + 1], proposal[first:last + 1]):
        a, b = a + first, b + first
        window = local.window(a, b)
        written = local.kinds(rows, window)
        kept = rows[a:b + 1]
        rows[a:b + 1] = proposal[a:b + 1]
        trial = current.copy()
        trial.subtract(written)
        trial.update(local.kinds(rows, window))
        if _better(trial, best, options):
            current = best = trial
            accepted = True
        else:
            rows[a:b + 1] = kept
            refused.append(a)
    return _Kept(rows[first:last + 1], current, accepted, refused)



def _stretches(rows: list[tuple[int, ...]], *chosen: list[tuple[int, ...]]) -> list[tuple[int, int]]:
    """(first, last) verticalities of each run where a re-voicing differs from the score."""
    runs: list[tuple[int, int]] = []
    for k, row in enumerate(rows):
        if all(row == new[k] for new in chosen):
            continue
        if runs and runs[-1][1] == k - 1:
            runs[-1] = (runs[-1][0], k)
        else:
            runs.append((k, k))
    return runs


def fault_weight(kind: str, options: FixOptions) -> float:
    """What one fault of ``kind`` costs the fixer: its ``penalties`` (a note out of
    range as much as a wide spacing), ``resolution_penalty`` for the resolutions."""
    w = options.penalties
    return {
        "parallel_fifths": w.parallel, "parallel_octaves": w.parallel,
        "antiparallel_fifths": w.antiparallel, "antiparallel_octaves": w.antiparallel,
        "hidden_fifths": w.hidden, "hidden_octaves": w.hidden,
        "voice_crossing": w.crossing, "voice_overlap": w.overlap, "spacing": w.spacing, "range": w.spacing,
        "unresolved_leading_tone": options.resolution_penalty, "unresolved_seventh": options.resolution_penalty,
        "unresolved_augmented_sixth": options.resolution_penalty,
    }[kind]


def _better(kinds: Counter, than: Counter, options: FixOptions) -> bool:
    """Fewer faults or lighter ones, and more of neither (faults counted by kind)."""
    count, best_count = sum(kinds.values()), sum(than.values())
    weight = sum(kinds[kind] * fault_weight(kind, options) for kind in KINDS)
    best_weight = sum(than[kind] * fault_weight(kind, options) for kind in KINDS)
    return count <= best_count and weight <= best_weight and (count, weight) != (best_count, best_weight)


class _LocalCheck:
    """The checker's faults near one re-voiced stretch, under fixed keys.

    Re-voicing the verticalities ``first..last`` changes only the notes of the
    movable voices sounding there (a held note keeps its pitch, so they start and
    end inside the stretch). Their faults of motion and spacing lie at those
    verticalities and the next one; whether the notes either side of them pass or
    are neighbour notes, and so the harmony, changes over those notes too; and a
    leading tone or seventh sounding over a changed harmony is judged where the
    next note starts. ``window`` gives the ticks where those faults lie and the
    notes the checker must see to judge them as it would over the whole piece:
    every note sounding there, back to the start of the notes that resolve there,
    and one more note either side in each voice (whether a note passes or is a
    neighbour note depends on the notes either side)."""

    def __init__(self, voices: Voices, slices: Slices, movable: list[int], keys, options: CheckOptions):
        self.voices, self.slices, self.movable, self.keys, self.options = voices, slices, movable, keys, options
        self.starts = [[n.start for n in part.notes] for part in voices.parts]
        self.ends = [list(itertools.accumulate((n.end for n in part.notes), max)) for part in voices.parts]
        self.spans: list[list[tuple[int, int] | None]] = [[None] * len(part.notes) for part in voices.parts]
        for v, row in enumerate(slices.note_index):  # the verticalities each note sounds at
            for k, i in enumerate(row):
                if i is not None:
                    span = self.spans[v][i]
                    self.spans[v][i] = (k, k) if span is None else (span[0], k)

    def _overlapping(self, v: int, lo: int, hi: int, closed: bool = True) -> tuple[int, int]:
        """The notes of voice ``v`` sounding in [lo, hi] (or [lo, hi)), as an index range."""
        if closed:
            return bisect_left(self.ends[v], lo), bisect_right(self.starts[v], hi)
        return bisect_right(self.ends[v], lo), bisect_left(self.starts[v], hi)

    def window(self, first: int, last: int) -> tuple[int, int, list[tuple[int, int]]]:
        """(first tick, last tick) of the faults the stretch can change, and per voice
        the notes (an index range) the checker must see to judge them."""
        ticks, count = self.slices.ticks, len(self.voices.parts)
        low = ticks[first]
        high = ticks[last + 1] if last + 1 < len(ticks) else self.voices.end_tick()
        changed_low, changed_high = low, high
        for v in self.movable:  # the changed notes and their neighbours
            a, b = self._overlapping(v, low, high, closed=False)
            if a < b:
                a, b = max(0, a - 1), min(len(self.starts[v]), b + 1)
                changed_low, changed_high = min(changed_low, self.starts[v][a]), max(changed_high, self.ends[v][b - 1])
        last_tick = changed_high  # a note sounding over the change is judged where the next one starts
        for v in range(count):
            a, b = self._overlapping(v, changed_low, changed_high, closed=False)
            if a < b:
                last_tick = max(last_tick, self.ends[v][b - 1])
        k = bisect_left(ticks, changed_low)
        context = ticks[k - 1] if k > 0 else changed_low  # the verticality before: motion into the first
        for v in range(count):  # back to the start of every note resolving in the window
            a, b = self._overlapping(v, context, last_tick)
            if a < b:
                context = min(context, self.starts[v][a])
        ranges = []
        for v in range(count):
            a, b = self._overlapping(v, context, last_tick)
            ranges.append((max(0, a - 1), min(len(self.starts[v]), b + 1)))
        return changed_low, last_tick, ranges

    def parts(self, rows, ranges: list[tuple[int, int]] | None = None) -> list[Part]:
        """The voices with the movable ones sung as ``rows`` (a pitch per voice per
        verticality) says: every note, or those of ``ranges``."""
        out = []
        for v, part in enumerate(self.voices.parts):
            a, b = ranges[v] if ranges else (0, len(part.notes))
            if v not in self.movable:
                out.append(Part(part.name, part.notes[a:b]))
            else:
                out.append(Part(part.name, [piece for i in range(a, b) for piece in self._pieces(v, i, rows)]))
        return out

    def _pieces(self, v: int, i: int, rows) -> list[VNote]:
        """Note ``i`` of voice ``v`` as ``rows`` sings it: one note while the pitch holds."""
        note, span, ticks = self.voices.parts[v].notes[i], self.spans[v][i], self.slices.ticks
        if span is None or all(int(rows[k][v]) == note.pitch for k in range(span[0], span[1] + 1)):
            return [note]  # as written (on a grid, a note may start between its points, or sound at none)
        pieces: list[VNote] = []
        for k in range(span[0], span[1] + 1):
            pitch = int(rows[k][v])
            end = min(note.end, ticks[k + 1]) if k + 1 < len(ticks) else note.end
            if pieces and pieces[-1].pitch == pitch:
                pieces[-1] = VNote(pieces[-1].start, end, pitch)
            else:
                pieces.append(VNote(ticks[k] if pieces else note.start, end, pitch))
        return pieces

    def kinds(self, rows, window: tuple[int, int, list[tuple[int, int]]] | None = None) -> Counter:
        """The faults, by kind, the checker finds in the window (or the whole piece) with
        the movable voices sung as ``rows``: ``check_voices`` on the window's notes, under
        the keys given."""
        low, high, ranges = window if window else (-1, self.voices.end_tick(), None)
        voices = self.voices.with_parts(self.parts(rows, ranges))
        report = check_voices(voices, self.options, keys=self.keys)
        return Counter(f.kind for f in report.faults if low <= f.tick <= high)


def fix_file(source, out, options: FixOptions = FixOptions()) -> FixResult:
    """Re-voice the inner voices of ``source`` (MIDI or MusicXML) and write ``out`` (MIDI):
    the score as given with only the re-voiced notes changed (``fix_write``)."""
    from .fix_write import write_fixed
    from .voices import check_midi_output, load_voices

    out = check_midi_output(out)
    voices, score = load_voices(source)
    require_voices(voices, source)
    if voices.said:  # notes left out of the voices: the fixer would re-voice a line blind to them
        raise ScoreError(f"cannot be fixed without losing notes the voices leave out ({'; '.join(voices.said)}); "
                         "give each line a track of its own without them", source)
    result = fix_voices(voices, options)
    result.notes += write_fixed(source, out, score, voices, result.voices)
    return result


def _summary(before: CheckReport, after: CheckReport, movable: list[int], voices: Voices,
             refused: list[int]) -> list[str]:
    names = ", ".join(voices.parts[v].name for v in movable)
    if after is before:
        notes = [f"left as written: no re-voicing of {names} lowers its {len(before.faults)} fault(s)"]
    else:
        notes = [f"re-voiced {names}: {len(before.faults)} fault(s) before, {len(after.faults)} after"]
        notes += [f"left as written at {format_position(*voices.bar_beat(tick))}: re-voicing there would not "
                  "lower the faults" for tick in refused]
    for fault in after.faults:
        notes.append(f"could not fix: {fault.describe()}")
    return notes
