"""Which bass note Bach writes under a melody: a log-linear model of the soprano's context.

The progression model sees the soprano one beat at a time; the bass depends on
where the melody comes from and goes to (a cadence, a step against a leap).
This model predicts the bass's pitch class (relative to the key) from the
soprano's pitch classes two beats either side, its steps, how long its notes
last, where it goes half-way through the beat, the metre and the distance to
the end; multinomial logistic regression
with an L2 penalty, fitted by L-BFGS (scipy) on the training chorales only.
Its weights are stored beside the progression model in
``data/chorale_model.json``; at run time it is a sum of table rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

L2 = 3.0
MAX_ITER = 300


@dataclass(frozen=True)
class Context:
    """One beat as the features see it."""

    sop: int | None  # soprano pitch, None for a rest
    sop_long: int
    downbeat: int
    sop_mid: int | None = None  # soprano pitch sounding half-way through the beat (None: a rest or unknown)
    beat_in_bar: int = 0  # 0 on the downbeat, 1, 2, ... after it


def features(seq: list[Context], tonic: int, t: int) -> list[str]:
    """The active features of beat ``t`` (strings, so the vocabulary is plain data)."""
    n = len(seq)

    def rel(i: int) -> int:
        return (seq[i].sop - tonic) % 12 if 0 <= i < n and seq[i].sop is not None else 12

    def pitch(i: int) -> int | None:
        return seq[i].sop if 0 <= i < n else None

    s = rel(t)
    out = [f"s={s}"]
    for d in (-2, -1, 1, 2):
        out.append(f"s{d:+d}={rel(t + d)}")
    for d in (-1, 1):
        a, b = pitch(t), pitch(t + d)
        out.append(f"iv{d:+d}={'x' if a is None or b is None else max(-12, min(12, b - a))}")
    out.append(f"pair+={s},{rel(t + 1)}")
    out.append(f"pair-={rel(t - 1)},{s}")
    out.append(f"tri={rel(t - 1)},{s},{rel(t + 1)}")
    out.append(f"long={seq[t].sop_long}")
    out.append(f"nlong={seq[t + 1].sop_long if t + 1 < n else 'x'}")
    out.append(f"down={seq[t].downbeat}")
    out.append(f"end={min(n - 1 - t, 4)}")
    out.append(f"start={min(t, 2)}")
    a, m = seq[t].sop, seq[t].sop_mid
    out.append(f"mid={'x' if a is None or m is None else max(-4, min(4, m - a))}")
    out.append(f"midpair={s},{'x' if m is None else (m - tonic) % 12}")
    out.append(f"bar={min(seq[t].beat_in_bar, 3)}")
    return out


def fit(samples: list[tuple[list[str], int]], classes: int = 12) -> dict:
    """Fit the weights; returns {"vocab": [...], "weights": [[...]] (vocab+1 rows, bias last)}."""
    from scipy import sparse
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    vocab: dict[str, int] = {}
    for feats, _ in samples:
        for f in feats:
            vocab.setdefault(f, len(vocab))
    rows, cols = [], []
    for i, (feats, _) in enumerate(samples):
        for f in feats:
            rows.append(i)
            cols.append(vocab[f])
        rows.append(i)
        cols.append(len(vocab))
    X = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(samples), len(vocab) + 1))
    y = np.asarray([label for _, label in samples])
    Y = np.zeros((len(samples), classes))
    Y[np.arange(len(samples)), y] = 1.0
    D = X.shape[1]

    def loss_grad(w):
        W = w.reshape(D, classes)
        Z = X @ W
        L = logsumexp(Z, axis=1, keepdims=True)
        P = np.exp(Z - L)
        loss = -(Y * (Z - L)).sum() + L2 * (W[:-1] ** 2).sum() / 2
        grad = X.T @ (P - Y)
        grad[:-1] += L2 * W[:-1]
        return loss, grad.ravel()

    result = minimize(loss_grad, np.zeros(D * classes), jac=True, method="L-BFGS-B",
                      options={"maxiter": MAX_ITER})
    W = result.x.reshape(D, classes)
    ordered = sorted(vocab, key=vocab.get)
    return {"vocab": ordered, "weights": [[round(float(x), 4) for x in row] for row in W]}


class BassModel:
    """log P(bass pitch class relative to the key | soprano context)."""

    def __init__(self, data: dict):
        self.index = {f: i for i, f in enumerate(data["vocab"])}
        self.weights = np.asarray(data["weights"], dtype=np.float64)
        self.bias = self.weights[-1]

    def log_probs(self, seq: list[Context], tonic: int) -> np.ndarray:
        """[len(seq), 12] log-probabilities."""
        z = np.tile(self.bias, (len(seq), 1))
        for t, names in enumerate(_features_of(tuple(seq), tonic)):
            rows = [i for i in (self.index.get(f) for f in names) if i is not None]
            if rows:
                z[t] += self.weights[rows].sum(axis=0)
        z -= z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@lru_cache(maxsize=32)
def _features_of(seq: tuple[Context, ...], tonic: int) -> list[list[str]]:
    """Every beat's features (cached: finding the key asks for the same melody in
    each key, under both modes)."""
    beats = list(seq)
    return [features(beats, tonic, t) for t in range(len(beats))]
