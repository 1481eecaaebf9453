"""Re-voicings of the inner voices: each verticality's candidates, and the programme over them.

At every verticality the inner voices may take any pitch of the pitch classes
sounding there, within their ranges and without crossing, as long as the
verticality keeps all its pitch classes: the harmony stays what it was, only who
sings which note changes. The bass, when it may move, keeps its pitch class (it
moves by octaves). A note that was held keeps its pitch while it is held, so the
rhythm stays. The candidates of a verticality are generated best first (fewest
changed notes and static faults, ``_best_first``), so eight voices cost little
more than four. Among them a dynamic programme picks the re-voicing with the
fewest faults (the checker's rules, ``vl_cost``; octaves or fifths by contrary
motion weigh as much as parallel ones: they are the same fault to a teacher; and
its resolutions, ``_resolution_rules``: a leading tone rising, a seventh falling,
an augmented sixth's b6 and #4 moving outward by a half step to the fifth degree
where the chord leaves it), then, weighed together, the smoothest inner voices,
the fewest changed notes and the smallest steps. How smooth a line is the
checker does not say: the programme marks the lines it writes as a teacher marks
them (``vl_cost.line_penalties``): a leap beyond a fourth, more a harsh one
(tritone, seventh, augmented), a leap not left by a step back, and most a leap
straight back to its note (F4-C5-F4); the lines as written are not marked. Those
marks look two notes back, which a programme over pairs of verticalities cannot
hold exactly: each voicing remembers the note before along the best way to it
(``_best_paths``). Beside that smooth re-voicing the same programme keeps the
plain one, its lines unmarked.

``revoicings`` gives both; what of them is kept the fixer decides with the
checker (``vl_fix``).
"""

from __future__ import annotations

import heapq
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .voiceleading import is_dominant, key_at
from .vl_slices import Slices
from .voices import Voices, voice_range, voice_ranges
from .vl_cost import line_penalties, motion_penalties
from .voicing import Candidates

if TYPE_CHECKING:
    from .vl_fix import FixOptions

CHANGE_COST = 1.0  # per inner note moved away from what was written
STEP_COST = 0.05  # per semitone of melodic motion
MAX_CANDIDATES = 400

Row = tuple[int, ...]  # a pitch per voice at one verticality (-1: a rest)


def original_row(slices: Slices, k: int) -> Row:
    """The pitches of verticality ``k`` as written."""
    return tuple(-1 if row[k] is None else row[k] for row in slices.pitch)


def revoicings(voices: Voices, slices: Slices, movable: list[int], keys,
               options: FixOptions) -> tuple[list[Row], list[Row]]:
    """The smooth and the plain re-voicing of the voices ``movable`` (indices into
    ``voices.parts``), a row per verticality of ``slices``, under ``keys`` as the
    checker found them (none: C major)."""
    count = len(voices.parts)
    lattice = [_candidates(voices, slices, k, movable, options) for k in range(len(slices.ticks))]
    held = [_held(slices, k) for k in range(len(slices.ticks))]
    keys = keys or [(0, 0, "major")]
    rules = _resolution_rules(slices, keys, count)
    rows = [original_row(slices, k) for k in range(len(slices.ticks))]
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
    return smooth, plain


def _pitch_rows(lattice: list[Candidates], path: list[int]) -> list[Row]:
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


def _pitches_before(rows: list[Row], starts: list[np.ndarray]) -> list[np.ndarray]:
    """Per verticality, the pitch each voice sang before its current note, as ``rows`` sing."""
    out = [np.full(len(rows[0]), -1, dtype=np.int64)] if rows else []
    for k in range(1, len(rows)):
        out.append(np.where(starts[k], np.asarray(rows[k - 1], dtype=np.int64), out[-1]))
    return out


Rule = tuple[int, int, int, int, int, bool]


def _resolution_rules(slices: Slices, keys, count: int) -> list[Rule]:
    """Per verticality k: (leading-tone pc that must rise into k or -1, the key's fifth pc,
    seventh pc that must fall into k or -1, the b6 pc that must fall and the #4 pc that
    must rise by a half step into k or -1, whether that #4 may fall to the seventh of the
    V7 at k instead): the checker's rules (``voiceleading``), read by pitch class."""
    rules: list[Rule] = [(-1, -1, -1, -1, -1, False)]
    left: dict[int, int] = {}  # verticality -> tonic of the augmented sixth chord left there
    for every_note in (True, False):  # as written, and as a re-voicing may make one of passing notes
        for k in range(len(slices.ticks)):
            sixth = slices.possible_augmented_sixth_key(k) if every_note else slices.augmented_sixth_key(k)
            if sixth is not None:
                left[slices.augmented_sixth_end(k, sixth, every_note)] = sixth
    for k in range(1, len(slices.ticks)):
        prev, cur = slices.harmony(k - 1), slices.arrival(k)  # the checker's reading: embellishments left out
        tonic, mode = key_at(keys, slices.ticks[k])
        lt = -1
        if prev is not None and cur is not None and is_dominant(prev, tonic):
            six = (tonic + (8 if mode == "minor" else 9)) % 12
            if (cur.root == tonic and cur.triad in ("major", "minor")) or cur.root == six:
                lt = (tonic + 11) % 12
        seventh = -1
        if prev is not None and cur is not None and cur.root != prev.root:
            owed = slices.seventh(k - 1, prev)  # as the checker reads it: no fifth, no seventh chord off its root
            seventh = -1 if owed is None else owed
        b6 = sharp4 = -1
        may_fall = False
        sixth = left.get(k)  # an augmented sixth chord left at k (its last verticality may lack its tonic)
        if sixth is not None:
            b6, sharp4 = (sixth + 8) % 12, (sixth + 6) % 12
            may_fall = cur is not None and cur.quality == "dominant-seventh" and cur.root == (sixth + 7) % 12
        rules.append((lt, (tonic + 7) % 12, seventh, b6, sharp4, may_fall))
    return rules


def _resolution_faults(P: np.ndarray, Q: np.ndarray, rule: Rule, count: int) -> np.ndarray:
    lt, fifth, seventh, b6, sharp4, may_fall = rule
    shape = (P.shape[0], Q.shape[0])
    if lt < 0 and seventh < 0 and b6 < 0:
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
    if b6 >= 0:  # outward by a half step to the fifth degree; a note held over is a delayed resolution
        moved = step != 0
        for pc, resolving in ((b6, step == -1), (sharp4, (step == 1) | ((step == -1) & may_fall))):
            sounding = ok & (P3 % 12 == pc)
            wrong = (sounding & moved & ~resolving).sum(-1)
            faults = faults + np.where((sounding & resolving).any(-1), 0, wrong)  # a doubled note: one resolves
    return faults


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
    original = original_row(slices, k)
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
    span = voice_range(name, table)
    return pitch >= 0 and span is not None and not span[0] <= pitch <= span[1]


def _range(name: str, pitch: int, table: dict[str, tuple[int, int]]) -> tuple[int, int]:
    span = voice_range(name, table)
    if span is not None:
        return min(span[0], pitch), max(span[1], pitch)
    return pitch - 12, pitch + 12

