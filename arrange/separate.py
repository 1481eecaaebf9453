"""Voice separation: which of four parts each note of a piano reduction belongs to.

A small transformer encoder (``transformers.BertForTokenClassification``, built
from our own configuration and trained by ``separate_train``) reads the
reduction as one token per note. Each note token is the sum of the embeddings of
a few named sub-tokens: the miditok REMI tokens of the extension model's
vocabulary for its pitch, bar position and duration (``Pitch_60``,
``Position_8``, ``Duration_1.0.8``), and context tokens computed here: its rank
from the top and from the bottom among the notes sounding at its onset, how
many notes sound, how many start with it, and the gap since the previous onset.
The network gives per-note probabilities over the parts; a constrained
assignment per onset (Hungarian) then gives notes starting together different
parts and, with ``monophonic=True``, keeps a part that is still sounding from
taking a new note unless there is no other choice.

Part 0 is the highest part (melody), 3 the bass. Inputs with more than four
simultaneous notes are fine: several notes then share a part. Long inputs are
cut into overlapping windows whose probabilities are averaged.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from scorefarm.errors import ScorefarmError

PARTS = 4  # part 0 = highest (melody), 3 = bass
MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "separate"
CONTEXT_MAX = 8  # rank / count tokens are clipped here
GAP_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)  # in 1/8 quarters
SLOTS = ("pitch", "position", "duration", "rank_top", "rank_bottom", "sounding", "starting", "gap")
BUSY_PENALTY = 6.0  # nats: cost of giving a new note to a part still sounding (monophonic)


class SeparationError(ScorefarmError):
    """The shipped separation model is missing or does not match this code."""


@dataclass(frozen=True)
class Separation:
    labels: np.ndarray  # int8, one per input note, in input order, 0..3
    probabilities: np.ndarray  # float32 (n_notes, 4)


# ---------------------------------------------------------------- vocabulary


def note_vocabulary(remi_vocab: dict[str, int] | None = None) -> list[str]:
    """The token names a note is made of: miditok REMI's Pitch/Position/Duration
    tokens (from the project's tokenizer) followed by our context tokens."""
    if remi_vocab is None:
        from scorefarm.symbolic.tokenizer import build_tokenizer

        remi_vocab = build_tokenizer().vocab
    remi = sorted((k for k in remi_vocab if k.split("_")[0] in ("Pitch", "Position", "Duration")),
                  key=lambda k: remi_vocab[k])
    context = [f"{slot}_{i}" for slot in ("RankTop", "RankBottom", "Sounding", "Starting")
               for i in range(CONTEXT_MAX + 1)]
    context += [f"Gap_{i}" for i in range(len(GAP_BUCKETS))]
    return ["PAD"] + remi + context


@dataclass(frozen=True)
class Lookup:
    """Vectorised maps from note facts to token ids (built from the saved vocabulary)."""

    pitch: np.ndarray  # midi pitch -> id (out-of-range pitches folded in by octaves)
    position: np.ndarray  # position in 1/8 quarters -> id
    duration_quarters: np.ndarray  # the REMI durations, sorted
    duration_ids: np.ndarray
    context: dict[str, int]  # first id of each context slot

    @classmethod
    def from_names(cls, names: Sequence[str]) -> "Lookup":
        index = {name: i for i, name in enumerate(names)}
        pitches = sorted(int(n.split("_")[1]) for n in names if n.startswith("Pitch_"))
        lo, hi = pitches[0], pitches[-1]
        pitch = np.zeros(128, dtype=np.int64)
        for p in range(128):
            q = p
            while q < lo:
                q += 12
            while q > hi:
                q -= 12
            pitch[p] = index[f"Pitch_{q}"]
        positions = sorted(int(n.split("_")[1]) for n in names if n.startswith("Position_"))
        position = np.array([index[f"Position_{i}"] for i in positions], dtype=np.int64)
        durations = []
        for n in names:
            if n.startswith("Duration_"):
                beat, pos, res = (int(x) for x in n.split("_")[1].split("."))
                durations.append((beat + pos / res, index[n]))
        durations.sort()
        context = {slot: index[f"{slot}_0"] for slot in ("RankTop", "RankBottom", "Sounding", "Starting", "Gap")}
        return cls(pitch, position, np.array([d for d, _ in durations]), np.array([i for _, i in durations]),
                   context)


def note_tokens(lookup: Lookup, onset: np.ndarray, duration: np.ndarray, pitch: np.ndarray,
                position: np.ndarray) -> np.ndarray:
    """(n, len(SLOTS)) token ids for notes sorted by onset (all times in quarters)."""
    n = len(pitch)
    if n == 0:
        return np.zeros((0, len(SLOTS)), dtype=np.int64)
    rank_top, rank_bottom, sounding, starting = onset_context(onset, duration, pitch)
    pos = np.clip(np.round(position * 8).astype(np.int64), 0, len(lookup.position) - 1)
    d = np.searchsorted(lookup.duration_quarters, duration)
    d = np.clip(d, 0, len(lookup.duration_quarters) - 1)
    lower = np.clip(d - 1, 0, None)
    closer_lower = np.abs(lookup.duration_quarters[lower] - duration) < np.abs(lookup.duration_quarters[d] - duration)
    d = np.where(closer_lower, lower, d)
    gaps = np.diff(onset, prepend=onset[0]) * 8
    gap_bucket = np.searchsorted(np.array(GAP_BUCKETS), np.round(gaps), side="right") - 1
    c = lookup.context
    return np.stack([
        lookup.pitch[np.clip(pitch, 0, 127)],
        lookup.position[pos],
        lookup.duration_ids[d],
        c["RankTop"] + np.minimum(rank_top, CONTEXT_MAX),
        c["RankBottom"] + np.minimum(rank_bottom, CONTEXT_MAX),
        c["Sounding"] + np.minimum(sounding, CONTEXT_MAX),
        c["Starting"] + np.minimum(starting, CONTEXT_MAX),
        c["Gap"] + np.clip(gap_bucket, 0, len(GAP_BUCKETS) - 1),
    ], axis=1).astype(np.int64)


def onset_context(onset: np.ndarray, duration: np.ndarray, pitch: np.ndarray):
    """Per note: notes sounding at its onset that are higher / lower, how many
    sound, how many start with it. One sweep over onset groups (linear in n for
    bounded polyphony)."""
    n = len(pitch)
    rank_top = np.zeros(n, dtype=np.int64)
    rank_bottom = np.zeros(n, dtype=np.int64)
    sounding = np.zeros(n, dtype=np.int64)
    starting = np.zeros(n, dtype=np.int64)
    end = onset + duration
    active: list[int] = []
    onsets = onset.tolist()
    ends = end.tolist()
    pitches = pitch.tolist()
    i = 0
    eps = 1e-6
    while i < n:
        j = i
        while j < n and onsets[j] - onsets[i] < eps:
            j += 1
        t = onsets[i]
        active = [k for k in active if ends[k] > t + eps]
        group = list(range(i, j))
        now = [pitches[k] for k in active] + [pitches[k] for k in group]
        for k in group:
            p = pitches[k]
            rank_top[k] = sum(1 for q in now if q > p)
            rank_bottom[k] = sum(1 for q in now if q < p)
            sounding[k] = len(now)
            starting[k] = j - i
        active += group
        i = j
    return rank_top, rank_bottom, sounding, starting


# ---------------------------------------------------------------- the network


def build_model(config: dict):
    """The network described by a ``config.json`` dictionary (random weights)."""
    import torch
    from transformers import BertConfig, BertForTokenClassification

    class NoteSeparator(torch.nn.Module):
        def __init__(self, cfg: dict):
            super().__init__()
            self.cfg = dict(cfg)
            self.embed = torch.nn.Embedding(len(cfg["vocabulary"]), cfg["hidden_size"], padding_idx=0)
            bert = BertConfig(
                vocab_size=8, hidden_size=cfg["hidden_size"], num_hidden_layers=cfg["layers"],
                num_attention_heads=cfg["heads"], intermediate_size=cfg["hidden_size"] * 4,
                max_position_embeddings=cfg["max_notes"], type_vocab_size=1, num_labels=PARTS,
                hidden_dropout_prob=cfg.get("dropout", 0.1), attention_probs_dropout_prob=cfg.get("dropout", 0.1),
            )
            self.encoder = BertForTokenClassification(bert)

        def forward(self, tokens, mask):
            x = self.embed(tokens).sum(dim=2)
            return self.encoder(inputs_embeds=x, attention_mask=mask).logits

    return NoteSeparator(config)


@functools.cache
def load_model(folder: str = str(MODEL_DIR)):
    """(model in eval mode, config, Lookup) from ``<folder>/config.json`` and
    ``model.safetensors``; loaded once per process."""
    from safetensors.torch import load_file

    path = Path(folder)
    if not (path / "config.json").exists() or not (path / "model.safetensors").exists():
        raise SeparationError("has no config.json and model.safetensors (train with "
                              "python -m scorefarm.arrange.separate_train)", path)
    config = json.loads((path / "config.json").read_text())
    model = build_model(config)
    state = load_file(str(path / "model.safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SeparationError(f"weights do not match the config (missing {list(missing)[:3]}, "
                              f"unexpected {list(unexpected)[:3]})", path / "model.safetensors")
    model.eval()
    return model, config, Lookup.from_names(config["vocabulary"])


def predict_probabilities(model, tokens: np.ndarray, max_notes: int) -> np.ndarray:
    """(n, PARTS) probabilities; windows of ``max_notes`` overlapping by a quarter,
    averaged with weights that fall off towards each window's edges."""
    import torch

    n = tokens.shape[0]
    out = np.zeros((n, PARTS), dtype=np.float64)
    if n == 0:
        return out.astype(np.float32)
    length = min(n, max_notes)
    stride = max(1, (length * 3) // 4)
    starts = list(range(0, max(1, n - length + 1), stride))
    if starts[-1] + length < n:
        starts.append(n - length)
    weight_total = np.zeros(n)
    ramp = np.minimum(np.arange(1, length + 1), np.arange(length, 0, -1)).astype(np.float64)
    ramp = np.minimum(ramp / max(1.0, length / 8), 1.0)
    batch = torch.from_numpy(np.stack([tokens[s:s + length] for s in starts]))
    mask = torch.ones(batch.shape[:2], dtype=torch.long)
    with torch.inference_mode():
        probs = torch.softmax(model(batch, mask).float(), dim=-1).numpy()
    for row, s in enumerate(starts):
        out[s:s + length] += probs[row] * ramp[:, None]
        weight_total[s:s + length] += ramp
    return (out / weight_total[:, None]).astype(np.float32)


def assign(onset: np.ndarray, duration: np.ndarray, probabilities: np.ndarray, *, monophonic: bool = True,
           busy_penalty: float = BUSY_PENALTY) -> np.ndarray:
    """Parts for notes sorted by onset: notes starting together get different parts
    (several share a part only when more than four start at once), maximising the
    summed log-probability; with ``monophonic`` a part still sounding costs
    ``busy_penalty`` nats."""
    from scipy.optimize import linear_sum_assignment

    n = len(onset)
    labels = np.zeros(n, dtype=np.int8)
    logp = np.log(np.clip(probabilities.astype(np.float64), 1e-9, 1.0))
    busy_until = np.full(PARTS, -np.inf)
    i = 0
    while i < n:
        j = i
        while j < n and onset[j] - onset[i] < 1e-6:
            j += 1
        cost = -logp[i:j]
        if monophonic:
            cost = cost + busy_penalty * (busy_until > onset[i] + 1e-6)[None, :]
        copies = math.ceil((j - i) / PARTS)
        rows, cols = linear_sum_assignment(np.tile(cost, (1, copies)))
        parts = cols % PARTS
        labels[i + rows] = parts
        for r, p in zip(rows, parts):
            busy_until[p] = onset[i + r] + duration[i + r]
        i = j
    return labels


def separate(notes: Sequence[tuple[int, int, int]], tpq: int, *, beats_per_bar: float = 4.0,
             monophonic: bool = True) -> Separation:
    """Parts (0 = top .. 3 = bass) for ``notes`` given as (onset_tick, duration_tick,
    pitch) with ``tpq`` ticks per quarter; ``beats_per_bar`` is the bar length in
    quarter notes. Deterministic; the result follows the input order."""
    n = len(notes)
    if n == 0:
        return Separation(np.zeros(0, dtype=np.int8), np.zeros((0, PARTS), dtype=np.float32))
    model, config, lookup = load_model()
    arr = np.asarray(notes, dtype=np.float64).reshape(n, 3)
    onset = arr[:, 0] / tpq
    duration = np.maximum(arr[:, 1], 1) / tpq
    pitch = arr[:, 2].astype(np.int64)
    order = np.lexsort((np.arange(n), -duration, -pitch, onset))
    o, d, p = onset[order], duration[order], pitch[order]
    position = np.mod(o, beats_per_bar) if beats_per_bar > 0 else np.zeros_like(o)
    tokens = note_tokens(lookup, o, d, p, position)
    probs = predict_probabilities(model, tokens, config["max_notes"])
    labels_sorted = assign(o, d, probs, monophonic=monophonic, busy_penalty=config.get("busy_penalty", BUSY_PENALTY))
    labels = np.empty(n, dtype=np.int8)
    labels[order] = labels_sorted
    probabilities = np.empty((n, PARTS), dtype=np.float32)
    probabilities[order] = probs
    return Separation(labels, probabilities)


def zone_baseline(notes: Sequence[tuple[int, int, int]], tpq: int, zones: Sequence[int]) -> np.ndarray:
    """The zone baseline of Dong et al. (2021): fixed pitch boundaries between parts.
    ``zones`` are the lowest pitches of parts 0, 1 and 2 (fitted on the training
    split by ``separation_data.fit_zones``; the shipped ones are in config.json)."""
    del tpq  # the baseline looks at pitch only; kept for a uniform signature
    if len(zones) != PARTS - 1:
        raise ValueError(f"zones needs {PARTS - 1} boundaries (lowest pitch of parts 0..2), got {list(zones)}")
    pitch = np.asarray([n[2] for n in notes], dtype=np.int64)
    bounds = np.asarray(zones, dtype=np.int64)
    return (pitch[:, None] < bounds[None, :]).sum(axis=1).astype(np.int8)
