"""Four-part voicings of a chord sequence, chosen by dynamic programming.

Given, for every beat, a few candidate sonorities (from the progression model)
and the soprano's pitch, this enumerates the alto, tenor and bass pitches that
sound exactly the sonority's pitch classes within the voices' ranges, scores
each voicing (how Bach doubles and spaces, each voice's register) and each
move between voicings (the progression's likelihood, melodic steps, and
penalties for the faults the checker reports), and keeps the best path.
Everything is vectorised over candidate pairs with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .chorale_model import REGISTER_HIGH, REGISTER_LOW, MAX_STEP, ModeModel
from .chords import identify
from .vl_cost import PenaltyWeights, motion_penalties


@dataclass(frozen=True)
class VoicingWeights:
    """How much each part of the score counts (tuned on the development split of the
    chorales, never on the held-out one)."""

    transition: float = 1.0
    inner: float = 1.0  # alto/tenor pitch classes given sonority and soprano
    register: float = 1.0
    steps: float = 0.4
    spacing: float = 0.3
    outer: float = 3.0  # soprano-bass distance, relative to ``spacing``
    open_position: float = 0.0  # reward for more than an octave between soprano and tenor
    penalties: PenaltyWeights = field(default_factory=lambda: PenaltyWeights(
        parallel=40.0, antiparallel=20.0, hidden=6.0, overlap=6.0))  # the checker's motion faults
    leading_tone: float = 8.0
    seventh: float = 6.0
    max_upper_spacing: int = 12  # hard limit between S-A and A-T
    max_tenor_bass: int = 24


@dataclass
class Candidates:
    """The voicings of one beat: ``pitches`` [n, 4] (S, A, T, B), their state and score."""

    states: np.ndarray  # [n] state index
    pitches: np.ndarray  # [n, 4]
    score: np.ndarray  # [n]


def enumerate_voicings(
    model: ModeModel,
    state: int,
    sop: int,
    tonic: int,
    ranges: dict[str, tuple[int, int]],
    weights: VoicingWeights,
    pedal: int | None = None,
    sop_low: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """All (S, A, T, B) for ``state`` under soprano ``sop``: pitches [n, 4] and scores [n].

    ``pedal`` fixes the bass pitch (a pedal point); the sonority then applies to
    the upper voices only. ``sop_low`` is the lowest soprano note of the beat:
    the alto stays at or under it."""
    ceiling = sop if sop_low is None else min(sop, sop_low)
    bass_rel, pcs_rel = model.states[state]
    pcs = {(p + tonic) % 12 for p in pcs_rel}
    bass_pc = (bass_rel + tonic) % 12
    if (sop % 12) not in pcs:
        return np.zeros((0, 4), dtype=np.int64), np.zeros(0)
    lo_a, hi_a = ranges["Alto"]
    lo_t, hi_t = ranges["Tenor"]
    lo_b, hi_b = ranges["Bass"]
    altos = [p for p in range(lo_a, min(hi_a, ceiling) + 1) if p % 12 in pcs and sop - p <= weights.max_upper_spacing]
    tenors = [p for p in range(lo_t, hi_t + 1) if p % 12 in pcs]
    if pedal is not None:
        basses = [pedal]
    else:
        basses = [p for p in range(lo_b, hi_b + 1) if p % 12 == bass_pc]
    rows = []
    for a in altos:
        for t in tenors:
            if t > a or a - t > weights.max_upper_spacing:
                continue
            for b in basses:
                if b > t or t - b > weights.max_tenor_bass:
                    continue
                upper = {sop % 12, a % 12, t % 12}
                if pedal is None:
                    if upper | {b % 12} != pcs:
                        continue
                elif not (upper <= pcs and bass_pc in upper and len(upper) >= min(3, len(pcs))):
                    continue  # over a pedal the upper voices carry the chord, its bass included
                rows.append((sop, a, t, b))
    if not rows:
        return np.zeros((0, 4), dtype=np.int64), np.zeros(0)
    pitches = np.asarray(rows, dtype=np.int64)
    return pitches, voicing_scores(model, state, pitches, tonic, weights)


def voicing_scores(model: ModeModel, state: int, pitches: np.ndarray, tonic: int, weights: VoicingWeights) -> np.ndarray:
    rel = (pitches - tonic) % 12
    sop_pc = int(rel[0, 0])
    table = model.inner.get(f"{state}:{sop_pc}", {})
    floor = -8.0
    inner = np.asarray([table.get((int(a), int(t)), floor) for a, t in rel[:, 1:3]])
    reg_index = np.clip(pitches, REGISTER_LOW, REGISTER_HIGH) - REGISTER_LOW
    register = sum(model.log_register[v, reg_index[:, v]] for v in (1, 2, 3))
    gaps = np.clip(pitches[:, :3] - pitches[:, 1:], 0, 48)
    outer = np.clip(pitches[:, 0] - pitches[:, 3], 0, 48)
    spacing = sum(model.log_spacing[v, gaps[:, v]] for v in range(3)) + weights.outer * model.log_spacing[3, outer]
    # open position: more than an octave from soprano to tenor, the tenor clear of the bass
    # (not a unison or a second above it: the reward would otherwise buy a thin, doubled bottom)
    opened = ((pitches[:, 0] - pitches[:, 2]) > 12) & ((pitches[:, 2] - pitches[:, 3]) >= 3)
    return (weights.inner * inner + weights.register * register + weights.spacing * spacing
            + weights.open_position * opened)


def transition_scores(
    model: ModeModel,
    prev: Candidates,
    cur: Candidates,
    tonic: int,
    mode: str,
    weights: VoicingWeights,
    state_info: "StateInfo",
    sop_before: int | None = None,
) -> np.ndarray:
    """Score of every move prev[i] -> cur[j], shape [len(prev), len(cur)].

    ``sop_before`` is the soprano's pitch just before the current beat, when it
    moved inside the previous beat (the voicings only hold its first pitch)."""
    P = prev.pitches[:, None, :]
    if sop_before is not None and sop_before != prev.pitches[0, 0]:
        P = P.copy()
        P[..., 0] = sop_before
    Q = cur.pitches[None, :, :]
    step = Q - P  # [np, nc, 4]
    score = weights.transition * model.log_trans[prev.states[:, None], cur.states[None, :]]
    step_idx = np.clip(step, -MAX_STEP, MAX_STEP) + MAX_STEP
    for v in (1, 2, 3):
        score = score + weights.steps * model.log_steps[v, step_idx[:, :, v]]
    penalty = motion_penalties(P[:, 0, :], cur.pitches, weights.penalties).copy()
    # leading tone of a dominant moving to a tonic chord
    lt = (tonic + 11) % 12
    dom = state_info.dominant[prev.states][:, None]
    res = state_info.resolves[cur.states][None, :]
    has_lt = (P % 12) == lt
    outer_bad = has_lt[..., [0, 3]] & (step[..., [0, 3]] != 1)
    inner_bad = has_lt[..., [1, 2]] & (step[..., [1, 2]] != 1) & ~(
        (step[..., [1, 2]] <= -3) & (step[..., [1, 2]] >= -4) & ((Q[..., [1, 2]] % 12) == (tonic + 7) % 12))
    lt_faults = outer_bad.sum(-1) + inner_bad.sum(-1)
    penalty += weights.leading_tone * (dom & res) * lt_faults
    # sevenths falling by step when the root changes
    seventh = state_info.seventh_pc[prev.states][:, None, None]
    root_change = state_info.root[prev.states][:, None] != state_info.root[cur.states][None, :]
    is_seventh = ((P % 12) == seventh) & (seventh >= 0)
    bad7 = is_seventh & ~((step == -1) | (step == -2))
    penalty += weights.seventh * root_change * bad7.sum(-1)
    return score - penalty


@dataclass
class StateInfo:
    """Per-state facts for one key: dominant function, resolution target, root, seventh."""

    dominant: np.ndarray
    resolves: np.ndarray
    root: np.ndarray
    seventh_pc: np.ndarray

    @classmethod
    def build(cls, model: ModeModel, tonic: int, mode: str) -> "StateInfo":
        n = model.size
        dominant = np.zeros(n, dtype=bool)
        resolves = np.zeros(n, dtype=bool)
        root = np.full(n, -1, dtype=np.int64)
        seventh = np.full(n, -1, dtype=np.int64)
        six = (tonic + (8 if mode == "minor" else 9)) % 12
        for s, (bass, pcs) in enumerate(model.states):
            label = identify({(p + tonic) % 12 for p in pcs}, (bass + tonic) % 12)
            if label is None:
                continue
            root[s] = label.root
            owed = label.owes_seventh({(p + tonic) % 12 for p in pcs}, label.bass == label.root)
            seventh[s] = label.seventh_pc() if owed else -1
            dominant[s] = (label.root == (tonic + 7) % 12 and label.quality in ("major", "dominant-seventh")) or (
                label.root == (tonic + 11) % 12 and label.quality in ("diminished", "diminished-seventh",
                                                                      "half-diminished-seventh"))
            resolves[s] = (label.root == tonic and label.triad in ("major", "minor")) or label.root == six
        return cls(dominant, resolves, root, seventh)


def best_path(lattice: list[Candidates], moves) -> list[int]:
    """Viterbi over the lattice; ``moves(t)`` gives the [n_{t-1}, n_t] move scores."""
    best = lattice[0].score.copy()
    backs = []
    for t in range(1, len(lattice)):
        total = best[:, None] + moves(t)
        back = np.argmax(total, axis=0)
        best = total[back, np.arange(total.shape[1])] + lattice[t].score
        backs.append(back)
    path = [int(np.argmax(best))]
    for back in reversed(backs):
        path.append(int(back[path[-1]]))
    return path[::-1]
