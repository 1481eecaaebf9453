"""The checker's motion rules as array arithmetic, for searches over many voicings.

``motion_penalties(P, Q, weights)`` scores every move from the rows of ``P``
to the rows of ``Q`` (pitches of each voice, highest first; -1 for a silent
voice) at once, so the harmonizer and the fixer can avoid exactly what
``voiceleading.check_voices`` reports: parallel and antiparallel fifths and
octaves, hidden fifths and octaves in the outer voices (top voice leaping),
overlap and crossing of neighbouring voices, wide spacing of upper voices.

``line_penalties(H, P, Q, ...)`` marks the lines of the inner voices as a
teacher marks them, which the checker does not: a leap beyond a fourth, a
harsh leap (a tritone, a seventh, beyond an octave, and in minor the augmented
second and fifth and their inversions around the raised leading tone), a leap
left by anything but a step back, and worst a leap straight back to the note it
left (F4-C5-F4). It is no fault the checker reports, only a cost in the fixer's
choice among re-voicings (``vl_fix``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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


@dataclass(frozen=True)
class LineWeights:
    """What an inner voice's line costs, per move (in the fixer's unit: one changed note costs 1)."""

    leap: float = 2.0  # beyond a fourth: a fifth, a sixth, an octave
    harsh_leap: float = 6.0  # a tritone, a seventh, beyond an octave, augmented or diminished in minor
    leap_return: float = 6.0  # a leap beyond a fourth and straight back (F4-C5-F4), on top of both leaps
    unrecovered: float = 2.0  # a leap beyond a fourth followed by anything but a step the other way
    skip_return: float = 1.0  # a third or a fourth and straight back (F4-Bb4-F4)
    max_plain_leap: int = 5  # semitones: a fourth is no leap to mark


def line_penalties(H: np.ndarray, P: np.ndarray, Q: np.ndarray, moving: np.ndarray, w: LineWeights,
                   minor_tonic: int = -1, written: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                   ) -> np.ndarray:
    """H, P: [n_prev, V] the pitch before each voice's current note and the current one,
    Q: [n_cur, V] the next (-1 = silent), ``moving`` [V]: the voices whose next note starts
    here (held and outer voices are not judged) -> penalties [n_prev, n_cur].

    ``minor_tonic``: the tonic pitch class of a minor key (-1: none), whose augmented
    second (6-#7), augmented fifth (3-#7) and their inversions are harsh leaps.
    ``written``: (h, p, q) [V] as the score has them; a move sung as written is not
    marked, nor a leap and what follows it sung as written (the fixer marks its own lines,
    not Bach's). A voice takes few pitches, so each is scored against the distinct pitches
    of Q and spread over the voicings that sing them."""
    total = np.zeros((P.shape[0], Q.shape[0]))
    for v in np.flatnonzero(moving):
        pitches, index = np.unique(Q[:, v], return_inverse=True)
        interval, figure = _line_marks(H[:, v, None], P[:, v, None], pitches[None, :], w, minor_tonic)
        if written is not None and (pitches == written[2][v]).any():  # the move as written is not marked
            col = int(np.flatnonzero(pitches == written[2][v])[0])
            rows = P[:, v] == written[1][v]
            interval[rows, col] = 0.0
            figure[rows & (H[:, v] == written[0][v]), col] = 0.0
        total += (interval + figure)[:, index.reshape(-1)]
    return total


def _line_marks(h: np.ndarray, p: np.ndarray, q: np.ndarray, w: LineWeights, minor_tonic: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """One voice's move p -> q after h (h, p: [n, 1], q: [1, m]): (the interval's mark, the figure's mark)."""
    sung = (p >= 0) & (q >= 0)
    step = q - p
    interval = _interval_marks(w)[np.minimum(np.abs(step), 13)]
    if minor_tonic >= 0:
        raised = (minor_tonic + 11) % 12
        for other in ((minor_tonic + 8) % 12, (minor_tonic + 3) % 12):  # the sixth, the third
            pair = ((p % 12 == other) & (q % 12 == raised)) | ((p % 12 == raised) & (q % 12 == other))
            interval = np.where(pair, w.harsh_leap, interval)
    came = np.where((h >= 0) & (p >= 0), p - h, 0)  # per row: how the current note was reached
    leapt = np.abs(came) > w.max_plain_leap
    back_mark = np.where(leapt, w.leap_return, np.where(np.abs(came) >= 3, w.skip_return, 0.0))
    toward = step * np.sign(came)  # -1 or -2: a step back
    unrecovered = np.where(leapt, w.unrecovered, 0.0) * ((toward < -2) | (toward > -1))
    figure = np.where(q == h, back_mark, unrecovered)
    return np.where(sung, interval, 0.0), np.where(sung, figure, 0.0)


@lru_cache(maxsize=None)
def _interval_marks(w: LineWeights) -> np.ndarray:
    """The mark of a move by 0..12 semitones, and beyond an octave (13)."""
    marks = np.array([w.harsh_leap if size in (6, 10, 11, 13) else w.leap if size > w.max_plain_leap else 0.0
                      for size in range(14)])
    marks.flags.writeable = False
    return marks


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
