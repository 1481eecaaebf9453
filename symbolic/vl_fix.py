"""Fixing voice leading by re-voicing the inner voices.

The fixer never touches the top voice, and the bass only when asked (then only
by octaves). At every verticality the inner voices may take any pitch of the
pitch classes sounding there, within their ranges and without crossing, as
long as the verticality keeps all its pitch classes: the harmony stays what it
was, only who sings which note changes. A note that was held keeps its pitch
while it is held, so the rhythm stays. The candidates of a verticality are
generated best first (fewest changed notes and static faults), so eight voices
cost little more than four. Among them a dynamic programme picks the re-voicing
with the fewest faults (the checker's rules, ``vl_cost``; octaves or fifths by
contrary motion weigh as much as parallel ones: they are the same fault to a
teacher), then, weighed together, the smoothest inner voices, the fewest changed
notes and the smallest steps. How smooth a line is the checker does not say: the
programme marks the lines it writes as a teacher marks them
(``vl_cost.line_penalties``): a leap beyond a fourth, more a harsh one (tritone,
seventh, augmented), a leap not left by a step back, and most a leap straight
back to its note (F4-C5-F4); the lines as written are not marked. Those marks
look two notes back, which a programme over pairs of verticalities cannot hold
exactly: each voicing remembers the note before along the best way to it
(``_best_paths``). Beside that smooth re-voicing the same programme keeps the
plain one, its lines unmarked.

The checker has the last word: each stretch the re-voicing changed is kept only
where the checker then finds fewer or lighter faults and none more, by count or
by weight; elsewhere the score stays as written. Where the smooth and the plain
re-voicings differ, the smooth one is kept unless the checker finds that the plain
one leaves fewer or lighter faults there and more of neither: the lines choose
among what the checker finds as good, not against it. What could not be fixed is
said. A stretch is judged by the faults in a window around it (``_LocalCheck``),
under the keys found once in the score as written, so judging every stretch costs
about what one check of the whole piece costs: it grows with the piece's length,
not with its square. The report after is the checker's on the whole fixed score.
"""

from __future__ import annotations

import heapq
import itertools
import json
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .voiceleading import KINDS, CheckOptions, CheckReport, Slices, check_voices, is_dominant, key_at, require_voices
from .voices import Part, VNote, Voices, format_position, voice_ranges
from .vl_cost import LineWeights, PenaltyWeights, line_penalties, motion_penalties
from .voicing import Candidates

CHANGE_COST = 1.0  # per inner note moved away from what was written
STEP_COST = 0.05  # per semitone of melodic motion
MAX_CANDIDATES = 400


@dataclass(frozen=True)
class FixOptions:
    move_bass: bool = False  # may the bass move by octaves?
    check: CheckOptions = field(default_factory=CheckOptions)
    penalties: PenaltyWeights = field(default_factory=lambda: PenaltyWeights(
        parallel=100.0, antiparallel=100.0, hidden=30.0, overlap=30.0, crossing=80.0, spacing=30.0))
    resolution_penalty: float = 30.0  # unresolved leading tone or seventh
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
    lattice = [_candidates(voices, slices, k, movable, options) for k in range(len(slices.ticks))]
    held = [_held(slices, k) for k in range(len(slices.ticks))]
    keys = before.keys or [(0, 0, "major")]
    rules = _resolution_rules(slices, keys, count)
    rows = [_original_row(slices, k) for k in range(len(slices.ticks))]
    starts = [np.array([not h for h in held[k]]) for k in range(len(slices.ticks))]
    written_before = _pitches_before(rows, starts)
    judged = np.zeros(count, dtype=bool)  # the lines judged: the inner voices'
    judged[1:count - 1] = True

    def moves(k: int) -> np.ndarray:
        P, Q = lattice[k - 1].pitches, lattice[k].pitches
        score = -motion_penalties(P, Q, options.penalties)
        steps = np.abs(np.where((P[:, None, :] >= 0) & (Q[None, :, :] >= 0), Q[None, :, :] - P[:, None, :], 0))
        score = score - STEP_COST * steps[..., movable].sum(-1)
        for v in movable:
            if held[k][v]:  # a held note keeps its pitch
                score = np.where(P[:, None, v] != Q[None, :, v], -1e6, score)
        return score - options.resolution_penalty * _resolution_faults(P, Q, rules[k], count)

    def lines(k: int, came_from: np.ndarray) -> np.ndarray:
        tonic, mode = key_at(keys, slices.ticks[k])
        return line_penalties(came_from, lattice[k - 1].pitches, lattice[k].pitches, judged & starts[k],
                              options.lines, tonic if mode == "minor" else -1,
                              (written_before[k - 1], rows[k - 1], rows[k]))

    smooth, plain = (_pitch_rows(lattice, path) for path in _best_paths(lattice, moves, lines, starts))
    local = _LocalCheck(voices, slices, movable, before.keys, options.check)
    best = Counter(f.kind for f in before.faults)
    rebuilt = local.parts(rows)  # the score as written, as the fixer writes it back (a grid moves onsets)
    current = best if all(a.notes == b.notes for a, b in zip(rebuilt, voices.parts)) else local.kinds(rows)
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
    after = check_voices(fixed, options.check)
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


def _pitch_rows(lattice: list[Candidates], path: list[int]) -> list[tuple[int, ...]]:
    return [tuple(int(p) for p in lattice[k].pitches[i]) for k, i in enumerate(path)]


def _best_paths(lattice: list[Candidates], moves, lines, starts: list[np.ndarray]) -> tuple[list[int], list[int]]:
    """Two Viterbi paths over the lattice: the smoothest, scored ``moves(k) - lines(k, came_from)``,
    and the plain one, scored ``moves(k)`` alone ([n_{k-1}, n_k] move scores). ``came_from``
    [n_{k-1}, V] is, for each voicing of k-1, the pitch each voice sang before its current note
    along the best way to that voicing (-1: none, or a rest): the lines look two notes back,
    which a programme over pairs of verticalities holds only along its best ways.
    ``starts[k]`` [V]: the voices whose note starts at k."""
    best = [lattice[0].score.copy(), lattice[0].score.copy()]
    came_from = np.full(lattice[0].pitches.shape, -1, dtype=np.int64)
    backs: list[list[np.ndarray]] = [[], []]
    for k in range(1, len(lattice)):
        score = moves(k)
        for which, total in enumerate((best[0][:, None] + score - lines(k, came_from), best[1][:, None] + score)):
            back = np.argmax(total, axis=0)
            best[which] = total[back, np.arange(total.shape[1])] + lattice[k].score
            backs[which].append(back)
        came_from = np.where(starts[k], lattice[k - 1].pitches[backs[0][-1]], came_from[backs[0][-1]])
    paths = []
    for which in range(2):
        path = [int(np.argmax(best[which]))]
        for back in reversed(backs[which]):
            path.append(int(back[path[-1]]))
        paths.append(path[::-1])
    return paths[0], paths[1]


def _pitches_before(rows: list[tuple[int, ...]], starts: list[np.ndarray]) -> list[np.ndarray]:
    """Per verticality, the pitch each voice sang before its current note, as ``rows`` sing."""
    out = [np.full(len(rows[0]), -1, dtype=np.int64)] if rows else []
    for k in range(1, len(rows)):
        out.append(np.where(starts[k], np.asarray(rows[k - 1], dtype=np.int64), out[-1]))
    return out


def _original_row(slices: Slices, k: int) -> tuple[int, ...]:
    return tuple(-1 if row[k] is None else row[k] for row in slices.pitch)


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
        if self.spans[v][i] is None:
            return []  # never sounds at a verticality (shorter than the grid)
        note, ticks = self.voices.parts[v].notes[i], self.slices.ticks
        pieces: list[VNote] = []
        for k in range(self.spans[v][i][0], self.spans[v][i][1] + 1):
            pitch = int(rows[k][v])
            end = min(note.end, ticks[k + 1]) if k + 1 < len(ticks) else note.end
            if pieces and pieces[-1].pitch == pitch:
                pieces[-1] = VNote(pieces[-1].start, end, pitch)
            else:
                pieces.append(VNote(ticks[k], end, pitch))
        return pieces

    def kinds(self, rows, window: tuple[int, int, list[tuple[int, int]]] | None = None) -> Counter:
        """The faults, by kind, the checker finds in the window (or the whole piece) with
        the movable voices sung as ``rows``: ``check_voices`` on the window's notes, under
        the keys given."""
        low, high, ranges = window if window else (-1, self.voices.end_tick(), None)
        voices = self.voices.with_parts(self.parts(rows, ranges))
        report = check_voices(voices, self.options, keys=self.keys)
        return Counter(f.kind for f in report.faults if low <= f.tick <= high)


def _resolution_rules(slices: Slices, keys, count: int) -> list[tuple[int, int, int]]:
    """Per verticality k: (leading-tone pc that must rise into k or -1, the key's fifth pc,
    seventh pc that must fall into k or -1)."""
    rules = [(-1, -1, -1)]
    for k in range(1, len(slices.ticks)):
        prev, cur = slices.harmony(k - 1), slices.arrival(k)  # the checker's reading: embellishments left out
        tonic, mode = key_at(keys, slices.ticks[k])
        lt = -1
        if prev is not None and cur is not None and is_dominant(prev, tonic):
            six = (tonic + (8 if mode == "minor" else 9)) % 12
            if (cur.root == tonic and cur.triad in ("major", "minor")) or cur.root == six:
                lt = (tonic + 11) % 12
        seventh = -1
        if prev is not None and cur is not None and prev.seventh_pc() is not None and cur.root != prev.root:
            seventh = prev.seventh_pc()
        rules.append((lt, (tonic + 7) % 12, seventh))
    return rules


def _resolution_faults(P: np.ndarray, Q: np.ndarray, rule: tuple[int, int, int], count: int) -> np.ndarray:
    lt, fifth, seventh = rule
    shape = (P.shape[0], Q.shape[0])
    if lt < 0 and seventh < 0:
        return np.zeros(shape)
    P3, Q3 = P[:, None, :], Q[None, :, :]
    ok = (P3 >= 0) & (Q3 >= 0)
    step = np.where(ok, Q3 - P3, 0)
    faults = np.zeros(shape)
    if lt >= 0:
        has = ok & (P3 % 12 == lt) & (step != 1)
        inner = np.zeros(count, dtype=bool)
        inner[1:-1] = True
        frustrated = inner & (step >= -4) & (step <= -3) & (Q3 % 12 == fifth)
        faults = faults + (has & ~frustrated).sum(-1)
    if seventh >= 0:
        moved = step != 0
        faults = faults + (ok & moved & (P3 % 12 == seventh) & ~((step == -1) | (step == -2))).sum(-1)
    return faults


def fix_file(source, out, options: FixOptions = FixOptions()) -> FixResult:
    """Re-voice the inner voices of ``source`` (MIDI or MusicXML) and write ``out`` (MIDI)."""
    from .score_io import save_score
    from .voices import check_midi_output, load_voices, voices_to_score

    out = check_midi_output(out)
    voices, score = load_voices(source)
    require_voices(voices, source)
    result = fix_voices(voices, options)
    save_score(voices_to_score(result.voices, score, programs=_programs(score, voices)), out)
    return result


def _programs(score, voices: Voices) -> dict[str, int]:
    """Keep each voice's GM program when it came from a track of its own."""
    by_name = {t.name: t.program for t in score.tracks}
    return {p.name: by_name.get(p.name, 52) for p in voices.parts}


def _held(slices: Slices, k: int) -> list[bool]:
    """Per voice: does it hold the note of the previous verticality?"""
    out = []
    for v in range(len(slices.pitch)):
        idx = slices.note_index[v]
        out.append(k > 0 and idx[k] is not None and idx[k] == idx[k - 1])
    return out


def _candidates(voices: Voices, slices: Slices, k: int, movable: list[int], options: FixOptions) -> Candidates:
    """The ``MAX_CANDIDATES`` best re-voicings of verticality ``k`` (and the score's own),
    best first: score = -(changed notes * CHANGE_COST + static faults)."""
    original = _original_row(slices, k)
    pcs = {p % 12 for p in original if p >= 0}
    table = voice_ranges(options.check.range_table)
    choices: list[list[int]] = []
    for v, pitch in enumerate(original):
        if pitch < 0 or v not in movable:
            choices.append([pitch])
            continue
        low, high = _range(voices.parts[v].name, pitch, table)
        keep = {pitch % 12} if v == len(original) - 1 else pcs  # the bass keeps its pitch class
        choices.append(sorted({p for p in range(low, high + 1) if p % 12 in keep} | {pitch}))
    unary = [[CHANGE_COST * (p != pitch) + options.penalties.spacing * _out_of_range(voices.parts[v].name, p, table)
              for p in row] for v, (row, pitch) in enumerate(zip(choices, original))]
    found = _best_first(choices, unary, pcs, options.penalties.spacing, options.check.max_upper_spacing,
                        MAX_CANDIDATES)
    if not any(index == _index_of(original, choices) for _, index in found):  # a crossing as written
        found.append((_static_faults(original, voices, table, options), _index_of(original, choices)))
        found.sort()
    pitches = np.asarray([[choices[v][j] for v, j in enumerate(index)] for _, index in found], dtype=np.int64)
    return Candidates(np.zeros(len(found), dtype=np.int64), pitches, -np.asarray([cost for cost, _ in found]))


def _best_first(choices: list[list[int]], unary: list[list[float]], pcs: set[int], spacing_cost: float,
                max_spacing: int, limit: int) -> list[tuple[float, tuple[int, ...]]]:
    """Up to ``limit`` (cost, choice indices) with every pitch class of ``pcs`` sounding
    and no voice above the one written over it, cheapest first, ties in the order of
    ``itertools.product``: an A* search from the top voice down whose estimate of the
    cost still to come is exact (a dynamic programme over the voices below, the
    highest pitch sounding above and the pitch classes already covered), so every
    partial voicing taken from the queue leads to the next-best whole one."""
    count = len(choices)
    full = sum(1 << pc for pc in pcs)
    infinite = float("inf")

    def step(v: int, j: int, last: int, prev: int) -> float:
        p = choices[v][j]
        if p >= 0 and last >= 0 and p > last:
            return infinite  # no new crossings
        wide = 0 < v < count - 1 and prev >= 0 and p >= 0 and prev - p > max_spacing  # the bass may lie lower
        return unary[v][j] + spacing_cost * wide

    @lru_cache(maxsize=None)
    def to_come(v: int, last: int, prev: int, covered: int) -> float:
        if v == count:
            return 0.0 if covered == full else infinite
        best = infinite
        for j, p in enumerate(choices[v]):
            cost = step(v, j, last, prev)
            if cost < infinite:
                best = min(best, cost + to_come(v + 1, p if p >= 0 else last, p, covered | _bit(p)))
        return best

    found: list[tuple[float, tuple[int, ...]]] = []
    queue = [(to_come(0, -1, -1, 0), (), 0.0, -1, -1, 0)]
    while queue and len(found) < limit:
        estimate, index, cost, last, prev, covered = heapq.heappop(queue)
        if estimate == infinite:
            break
        v = len(index)
        if v == count:
            found.append((cost, index))
            continue
        for j, p in enumerate(choices[v]):
            here = cost + step(v, j, last, prev)
            if here < infinite:
                after = (p if p >= 0 else last, p, covered | _bit(p))
                heapq.heappush(queue, (here + to_come(v + 1, *after), index + (j,), here, *after))
    return found


def _bit(pitch: int) -> int:
    return 0 if pitch < 0 else 1 << (pitch % 12)


def _index_of(row: tuple[int, ...], choices: list[list[int]]) -> tuple[int, ...]:
    return tuple(voice_choices.index(p) for p, voice_choices in zip(row, choices))


def _static_faults(combo, voices: Voices, table, options: FixOptions) -> float:
    """Penalty for what one verticality can be wrong in by itself: each note out of
    range and each too-wide upper spacing costs ``penalties.spacing``."""
    bad = sum(_out_of_range(voices.parts[v].name, pitch, table) for v, pitch in enumerate(combo))
    for v in range(len(combo) - 2):
        a, b = combo[v], combo[v + 1]
        if a >= 0 and b >= 0 and a - b > options.check.max_upper_spacing:
            bad += 1
    return options.penalties.spacing * bad


def _out_of_range(name: str, pitch: int, table: dict[str, tuple[int, int]]) -> bool:
    return pitch >= 0 and name in table and not table[name][0] <= pitch <= table[name][1]


def _range(name: str, pitch: int, table: dict[str, tuple[int, int]]) -> tuple[int, int]:
    if name in table:
        low, high = table[name]
        return min(low, pitch), max(high, pitch)
    return pitch - 12, pitch + 12


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
