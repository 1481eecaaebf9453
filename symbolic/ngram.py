"""An interpolated Witten-Bell n-gram over the extension tokenizer's ids: the baseline.

    P(w | h) = (c(h, w) + T(h) * P(w | h')) / (c(h) + T(h))

with ``T(h)`` the number of distinct tokens seen after ``h``, ``h'`` the context one
token shorter, and a uniform distribution under the unigram. Counts are kept as
sorted 64-bit keys, which makes scoring a whole test set a few vectorised
look-ups: exact (9 bits per token id) up to order 7, a 64-bit multiplicative hash
of the token ids above (collisions have odds of about n^2 / 2^64). Each piece is scored with its
own history only: its first token (BOS) is given and contexts never cross pieces.
"""

from __future__ import annotations

import dataclasses

import numpy as np

BITS = 9  # ids < 512
EXACT_ORDER = 7  # orders up to this are keyed exactly
MAX_ORDER = 16
_MULT = np.uint64(0x9E3779B97F4A7C15)


@dataclasses.dataclass
class _Level:
    hw_keys: np.ndarray  # sorted keys of (context, token)
    hw_counts: np.ndarray
    h_keys: np.ndarray  # sorted keys of contexts
    h_counts: np.ndarray
    h_types: np.ndarray


def _keys(padded: np.ndarray, starts: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """(context key, context+token key) for every position in ``starts`` at this order."""
    if order <= EXACT_ORDER:
        ctx = np.zeros(len(starts), dtype=np.int64)
        for j in range(order - 1, 0, -1):
            ctx = (ctx << BITS) | padded[starts - j]
        return ctx, (ctx << BITS) | padded[starts]
    with np.errstate(over="ignore"):
        ctx = np.zeros(len(starts), dtype=np.uint64)
        for j in range(order - 1, 0, -1):
            ctx = (ctx * _MULT) ^ (padded[starts - j].astype(np.uint64) + np.uint64(1))
        ctx = ctx * _MULT  # carry the last token's (low) bits up before the low bits are dropped
        ctx = (ctx >> np.uint64(BITS + 1)).astype(np.int64)  # room for the token below
        return ctx, (ctx << BITS) | padded[starts]


class WittenBell:
    def __init__(self, order: int, vocab_size: int):
        if not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order {order} outside 1..{MAX_ORDER}")
        if vocab_size >= 1 << BITS:
            raise ValueError(f"vocabulary of {vocab_size} needs more than {BITS} bits")
        self.order, self.vocab_size = order, vocab_size
        self.levels: list[_Level] = []

    @staticmethod
    def _flatten(pieces: list[np.ndarray], pad: int, order: int) -> tuple[np.ndarray, np.ndarray]:
        """Pieces joined, each preceded by ``order - 1`` pads; positions to predict."""
        chunks, targets, at = [], [], 0
        for piece in pieces:
            chunks.append(np.full(order - 1, pad, dtype=np.int64))
            chunks.append(piece.astype(np.int64))
            first = at + order - 1
            targets.append(np.arange(first + 1, first + len(piece)))
            at += order - 1 + len(piece)
        return np.concatenate(chunks), np.concatenate(targets)

    def fit(self, pieces: list[np.ndarray], pad: int) -> "WittenBell":
        padded, positions = self._flatten(pieces, pad, self.order)
        self.pad = pad
        self.levels = []
        for n in range(1, self.order + 1):
            ctx, full = _keys(padded, positions, n)
            hw_keys, hw_counts = np.unique(full, return_counts=True)
            h_of_hw = hw_keys >> BITS
            h_keys, first, h_types = np.unique(h_of_hw, return_index=True, return_counts=True)
            h_counts = np.add.reduceat(hw_counts, first)
            self.levels.append(_Level(hw_keys, hw_counts, h_keys, h_counts, h_types))
        return self

    @staticmethod
    def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
        at = np.searchsorted(keys, query)
        at = np.minimum(at, len(keys) - 1)
        found = keys[at] == query
        return np.where(found, values[at], 0)

    def token_log_probs(self, pieces: list[np.ndarray]) -> np.ndarray:
        """Natural-log probability of every token after the first of each piece."""
        padded, positions = self._flatten(pieces, self.pad, self.order)
        p = np.full(len(positions), 1.0 / self.vocab_size)
        for n, level in enumerate(self.levels, start=1):
            ctx, full = _keys(padded, positions, n)
            c_hw = self._lookup(level.hw_keys, level.hw_counts, full).astype(np.float64)
            c_h = self._lookup(level.h_keys, level.h_counts, ctx).astype(np.float64)
            t_h = self._lookup(level.h_keys, level.h_types, ctx).astype(np.float64)
            seen = c_h > 0
            p = np.where(seen, (c_hw + t_h * p) / np.maximum(c_h + t_h, 1), p)
        return np.log(p)

    def nll(self, pieces: list[np.ndarray]) -> tuple[float, int]:
        lp = self.token_log_probs(pieces)
        return float(-lp.mean()), int(len(lp))

    def next_distribution(self, history: np.ndarray) -> np.ndarray:
        """P(w | the last order-1 tokens of ``history``) for every w (for sampling)."""
        words = np.arange(self.vocab_size, dtype=np.int64)
        tail = np.concatenate([np.full(self.order, self.pad, dtype=np.int64),
                               np.asarray(history, dtype=np.int64)[-self.order:]])
        padded = np.concatenate([np.repeat(tail[None, :], self.vocab_size, 0), words[:, None]], axis=1)
        flat = padded.reshape(-1)
        positions = np.arange(self.vocab_size) * padded.shape[1] + padded.shape[1] - 1
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for n, level in enumerate(self.levels, start=1):
            ctx, full = _keys(flat, positions, n)
            c_h = float(self._lookup(level.h_keys, level.h_counts, ctx[:1])[0])
            if c_h <= 0:
                continue
            t_h = float(self._lookup(level.h_keys, level.h_types, ctx[:1])[0])
            c_hw = self._lookup(level.hw_keys, level.hw_counts, full).astype(np.float64)
            p = (c_hw + t_h * p) / (c_h + t_h)
        return p


class NgramDecoder:
    """The n-gram behind the same decoding loop as the transformer (``extend_score``'s
    ``decoder``): ``feed`` returns log-probabilities as logits."""

    def __init__(self, model: WittenBell):
        self.model = model
        self.history: list[int] = []
        self.context = 1 << 30  # never slides
        self.length = 0

    def reset(self) -> None:
        self.history = []
        self.length = 0

    def feed(self, ids: list[int]):
        import torch

        self.history.extend(int(i) for i in ids)
        self.length = len(self.history)
        return torch.from_numpy(np.log(self.model.next_distribution(np.array(self.history[-self.model.order:]))))
