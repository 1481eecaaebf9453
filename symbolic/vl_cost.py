"""The checker's motion rules as array arithmetic, for searches over many voicings.

``motion_penalties(P, Q, weights)`` scores every move from the rows of ``P``
to the rows of ``Q`` (pitches of each voice, highest first; -1 for a silent
voice) at once, so the harmonizer and the fixer can avoid exactly what
``voiceleading.check_voices`` reports: parallel and antiparallel fifths and
octaves, hidden fifths and octaves in the outer voices (top voice leaping),
overlap and crossing of neighbouring voices, wide spacing of upper voices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PenaltyWeights:
    parallel: float = 12.0
    antiparallel: float = 6.0
    hidden: float = 3.0
    overlap: float = 3.0
    crossing: float = 8.0
    spacing: float = 3.0
    max_upper_spacing: int = 12


def motion_penalties(P: np.ndarray, Q: np.ndarray, w: PenaltyWeights) -> np.ndarray:
    """P: [n_prev, V], Q: [n_cur, V] pitches (-1 = silent) -> penalties [n_prev, n_cur]."""
    P = P[:, None, :]
    Q = Q[None, :, :]
    voices = P.shape[-1]
    sounding = (P >= 0) & (Q >= 0)
    step = np.where(sounding, Q - P, 0)
    moved = step != 0
    direction = np.sign(step)
    shape = (P.shape[0], Q.shape[1])
    penalty = np.zeros(shape)
    for i in range(voices):
        for j in range(i + 1, voices):
            both = moved[..., i] & moved[..., j]
            before = np.abs(P[..., i] - P[..., j]) % 12
            after = np.abs(Q[..., i] - Q[..., j]) % 12
            perfect = both & (before == after) & ((after == 0) | (after == 7))
            same = direction[..., i] == direction[..., j]
            penalty = penalty + w.parallel * (perfect & same) + w.antiparallel * (perfect & ~same)
            if j == i + 1:
                hi_ok = (P[..., i] >= 0) & (Q[..., i] >= 0)
                lo_ok = (P[..., j] >= 0) & (Q[..., j] >= 0)
                ok = hi_ok & lo_ok
                over = ok & ((moved[..., j] & (Q[..., j] > P[..., i]) & (Q[..., j] <= Q[..., i]))
                             | (moved[..., i] & (Q[..., i] < P[..., j]) & (Q[..., i] >= Q[..., j])))
                q_ok = (Q[..., i] >= 0) & (Q[..., j] >= 0)
                crossed = q_ok & (Q[..., j] > Q[..., i])
                penalty = penalty + w.overlap * over + w.crossing * crossed
                if j < voices - 1:
                    wide = q_ok & (Q[..., i] - Q[..., j] > w.max_upper_spacing)
                    penalty = penalty + w.spacing * wide
    top, bottom = 0, voices - 1
    if voices >= 2:
        ok = sounding[..., top] & sounding[..., bottom]
        before = np.abs(P[..., top] - P[..., bottom]) % 12
        after = np.abs(Q[..., top] - Q[..., bottom]) % 12
        hidden = (ok & moved[..., top] & moved[..., bottom] & (direction[..., top] == direction[..., bottom])
                  & ((after == 0) | (after == 7)) & (before != after) & (np.abs(step[..., top]) > 2))
        penalty = penalty + w.hidden * hidden
    return np.broadcast_to(penalty, shape)
