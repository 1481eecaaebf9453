"""A small bidirectional GRU reading the whole melody: P(sonority | soprano line).

The progression model (an HMM) sees the soprano one beat at a time; this net
reads the soprano line in both directions, so a beat's harmony can depend on
the cadence four bars away. Per beat it gives log-probabilities over the
progression model's sonorities (one output layer per mode), used by the
harmonizer as one more emission term.

Input per beat (66 numbers): the soprano's pitch class relative to the key
(or a rest), its step from the previous beat, how long its note lasts, the
downbeat flag, how near the beat is to the start and the end, where the
soprano goes half-way through the beat (a passing eighth tells the chord
apart), and the beat's place in the bar. A second head gives the bass's pitch
class directly (log P(bass | soprano line)), a third the soprano-to-bass
distance.

A fourth head, trained alongside, gives the bass's move from the last beat
(``motion_log_probs``). Learning it makes the shared GRU better at the others
(development split, ``benchmarks/bench_harmonize.py --split dev``: bass frames
matching Bach's 45.6 % -> 46.4 %); used as a transition term in the
harmonizer's search it did not help there, so its weight defaults to 0.
The width was chosen on that split too: hidden 64 -> 42.5 %, 128 -> 44.7 %,
256 -> 45.6 %; two stacked layers of 192 with dropout 0.2 gave 45.3 %, and
heads for the alto's and tenor's pitch classes or 45 epochs did not help.
Also tried there and left out: the soprano's own height as an input (dev 47.0 %
with ``outer_net`` 10, but 46.85 % against 47.03 % on the held-out split once
retrained); fermata flags (the bass head's beat accuracy +0.2 / +0.7 points over
two seeds); an autoregressive bass decoder with beam search (46.6 % of beats
with Bach's exact bass, against the harmonizer's 50.0 %), and that decoder's
log-probability as one more term of the voicing search (a beam of 64 carrying its
state: 46.4 -> 46.75 % at best); the key's mode as an input (45.5 %); pretraining
on the top and bottom voices of the 1,318 Palestrina pieces in the music21 corpus
(215,000 half-note beats; 3 epochs, then 20 or 30 on the chorales: 45.0 / 45.9 %);
per-interval bonuses in the search for the bass's steps, repeats or leaps (our
bass repeats 23 % of beats where Bach's does 18 %, and steps 24 % against 35 %,
but pushing it towards Bach's mix gave 46.3-46.55 %); and a wider bass range
(D2-D4, where Bach's basses spend 1.9 % of their time outside ours: 46.1 %);
learning every table and net under the key the harmonizer finds from each melody,
as it will at run time, instead of music21's key of the full score (29 of 339
chorales differ: 46.1 %).
Also tried there: training on each chorale a second time with its alto line as
the melody (the same chords over another voice: 46.41 -> 46.71 %, within the
seeds' spread; with the tenor line a third time, 45.33 %), and taking the bass's
prior out of the search's terms once per term beyond the first (the terms each
learn how often the tonic and dominant are in the bass, and the harmonizer puts
them there 50.5 % of beats against Bach's 43.8 %): 46.41 -> 45.9-46.0 %.
Training itself was tried there too (46.41 % with the shipped settings): a cosine
learning-rate decay (45.0 %; 45.4 % with the search's net weights 1.5 times larger),
with label smoothing 0.1 as well (44.3 %), dropout 0.3 on the single layer (45.2 %),
20 epochs (45.0 %), hidden 384 (45.5 %), these nets averaged with the shipped
settings' (45.8-46.4 %), and the members' log-probabilities averaged instead of their
probabilities (46.29 %). Pretraining the encoder (input layer and GRU) on the 3,686
Essen folk songs of the extension corpus and the training sopranos (163,000 beats; the
forward half predicting the next beat's soprano pitch class, the backward half the
previous one; 4 epochs), then training as shipped from it: 44.8 %.
The harmonizer's bass pitch class at the beat (58.9 % on dev) already matches the
argmax of the progression model's marginal posterior (58.3 %): the search is not
the limit. Mid-phrase is where it falls short: 37.8 % of those frames match,
against 73 % under a fermata.

Training (``train``) uses torch, only in the learning script
(``python -m scorefarm.symbolic.chorale_model``), seeded and single-threaded
so that the stored weights are reproducible; inference is numpy. ``MEMBERS``
nets differing only in their seed are trained and their probabilities
averaged (one net alone overfits: on the development split the ensemble's
log-loss per beat is 3-4% lower). Weights are stored in
``data/chorale_net.safetensors`` (float32), member k's arrays named "k.<name>".
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import numpy as np

from .bass_model import Context

FEATURES = 66
MID_STEP = 4  # the soprano's step to its mid-beat pitch, clipped to +-4 semitones
HIDDEN = 256
LAYERS = 1  # stacked bidirectional GRU layers
DROPOUT = 0.0  # between the input layer, the GRU layers and the heads, in training
EPOCHS = 30
BATCH = 32
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-5
SEED = 0
MEMBERS = 3  # nets in the stored ensemble, seeds SEED .. SEED + MEMBERS - 1
MODES = ("major", "minor")
OUTER = 48  # soprano-to-bass distances the outer head tells apart (0 .. 47 semitones)
MOTION = 12  # the motion head tells apart bass moves from the last beat of -MOTION .. +MOTION semitones


def features(seq: list[Context], tonic: int) -> np.ndarray:
    """[T, FEATURES] inputs of a beat sequence."""
    T = len(seq)
    out = np.zeros((T, FEATURES), dtype=np.float32)
    for t, beat in enumerate(seq):
        sop = beat.sop
        out[t, 12 if sop is None else (sop - tonic) % 12] = 1
        prev = seq[t - 1].sop if t else None
        step = None if sop is None or prev is None else max(-12, min(12, sop - prev))
        out[t, 13 + (25 if step is None else step + 12)] = 1
        out[t, 39 + beat.sop_long] = 1
        out[t, 42 + beat.downbeat] = 1
        out[t, 44 + min(T - 1 - t, 4)] = 1
        out[t, 49 + min(t, 2)] = 1
        mid = beat.sop_mid
        moved = None if sop is None or mid is None else max(-MID_STEP, min(MID_STEP, mid - sop))
        out[t, 52 + (2 * MID_STEP + 1 if moved is None else moved + MID_STEP)] = 1
        out[t, 62 + min(beat.beat_in_bar, 3)] = 1
    return out


def _encode(array: np.ndarray) -> dict:
    data = np.ascontiguousarray(array, dtype="<f4")
    return {"shape": list(data.shape), "base64": base64.b64encode(data.tobytes()).decode("ascii")}


def _decode(item: dict) -> np.ndarray:
    raw = base64.b64decode(item["base64"])
    return np.frombuffer(raw, dtype="<f4").reshape(item["shape"]).astype(np.float64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class ChoraleNet:
    """One net, or an ensemble of nets trained alike from different seeds (``members``):
    their probabilities are averaged."""

    members: list[dict[str, np.ndarray]]
    _hidden: dict = field(default_factory=dict, repr=False)  # (beats, tonic) -> GRU states, last few

    @classmethod
    def from_dict(cls, data: dict) -> "ChoraleNet":
        stored = data["members"] if "members" in data else [data]
        return cls([{name: _decode(item) for name, item in member["weights"].items()} for member in stored])

    @classmethod
    def load(cls, path) -> "ChoraleNet":
        """An ensemble stored by ``save`` (safetensors: member k's arrays named "k.<name>")."""
        from safetensors.numpy import load_file

        arrays = load_file(str(path))
        members: dict[int, dict[str, np.ndarray]] = {}
        for name, array in arrays.items():
            k, _, weight = name.partition(".")
            members.setdefault(int(k), {})[weight] = array.astype(np.float64)
        return cls([members[k] for k in sorted(members)])

    @property
    def weights(self) -> dict[str, np.ndarray]:
        """The first member's weights (which heads the nets have)."""
        return self.members[0]

    @staticmethod
    def _gru(w: dict[str, np.ndarray], x: np.ndarray, suffix: str) -> np.ndarray:
        w_ih, w_hh = w[f"gru.weight_ih{suffix}"], w[f"gru.weight_hh{suffix}"]
        b_ih, b_hh = w[f"gru.bias_ih{suffix}"], w[f"gru.bias_hh{suffix}"]
        size = w_hh.shape[1]
        gates_in = x @ w_ih.T + b_ih
        h = np.zeros(size)
        out = np.zeros((len(x), size))
        for t in range(len(x)):  # torch's GRU: reset, update, new
            gates_h = w_hh @ h + b_hh
            r = _sigmoid(gates_in[t, :size] + gates_h[:size])
            z = _sigmoid(gates_in[t, size:2 * size] + gates_h[size:2 * size])
            n = np.tanh(gates_in[t, 2 * size:] + r * gates_h[2 * size:])
            h = (1 - z) * n + z * h
            out[t] = h
        return out

    def hidden(self, seq: list[Context], tonic: int) -> list[np.ndarray]:
        """Per member, [T, 2 * hidden] GRU states; both modes share them, so they are kept for a while."""
        key = (tuple(seq), tonic)
        if key not in self._hidden:
            inputs = features(seq, tonic)
            states = []
            for w in self.members:
                w_in = w["inp.weight"]  # a net stored before the mid-beat features reads the first 52
                x = np.tanh(inputs[:, : w_in.shape[1]] @ w_in.T + w["inp.bias"])
                layer = 0
                while f"gru.weight_ih_l{layer}" in w:  # stacked layers: each reads both directions of the last
                    x = np.concatenate([self._gru(w, x, f"_l{layer}"),
                                        self._gru(w, x[::-1], f"_l{layer}_reverse")[::-1]], axis=1)
                    layer += 1
                states.append(x)
            if len(self._hidden) >= 32:
                self._hidden.pop(next(iter(self._hidden)))
            self._hidden[key] = states
        return self._hidden[key]

    def log_probs(self, seq: list[Context], tonic: int, mode: str) -> np.ndarray:
        """[T, sonorities of ``mode``] log-probabilities."""
        head = MODES.index(mode)
        return self._softmax(seq, tonic, f"heads.{head}")

    def bass_log_probs(self, seq: list[Context], tonic: int) -> np.ndarray | None:
        """[T, 12] log P(bass pitch class relative to the key), or None for a net without that head."""
        return self._softmax(seq, tonic, "bass") if "bass.weight" in self.weights else None

    def outer_log_probs(self, seq: list[Context], tonic: int) -> np.ndarray | None:
        """[T, OUTER] log P(soprano - bass = d semitones), or None for a net without that head."""
        return self._softmax(seq, tonic, "outer") if "outer.weight" in self.weights else None

    def motion_log_probs(self, seq: list[Context], tonic: int) -> np.ndarray | None:
        """[T, 2 * MOTION + 1] log P(bass(t) - bass(t - 1) = m semitones, m = -MOTION .. MOTION;
        larger moves counted at the ends), or None for a net without that head."""
        return self._softmax(seq, tonic, "motion") if "motion.weight" in self.weights else None

    def _softmax(self, seq, tonic: int, layer: str) -> np.ndarray:
        total = None
        for w, h in zip(self.members, self.hidden(seq, tonic)):
            z = h @ w[f"{layer}.weight"].T + w[f"{layer}.bias"]
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            total = p if total is None else total + p
        return np.log(total / len(self.members))


def save(data: dict, path) -> None:
    """Write an ensemble's JSON form (``train_ensemble``) as safetensors (float32), its
    training settings in the header's metadata."""
    from safetensors.numpy import save

    from scorefarm.files import write_bytes_atomic

    stored = data["members"] if "members" in data else [data]
    arrays = {f"{k}.{name}": _decode(item).astype("<f4") for k, member in enumerate(stored)
              for name, item in member["weights"].items()}
    settings = [{key: value for key, value in member.items() if key != "weights"} for member in stored]
    write_bytes_atomic(path, save(arrays, metadata={"members": json.dumps(settings, sort_keys=True)}))


def train_ensemble(sequences, sizes: dict[str, int], members: int | None = None, processes: int = 1) -> dict:
    """``members`` nets (``train``, default ``MEMBERS``) from seeds SEED, SEED + 1, ...; the JSON
    dict of them all. With ``processes`` > 1 the members train side by side (each seeded
    and single-threaded, so the weights are the same either way)."""
    seeds = [SEED + k for k in range(MEMBERS if members is None else members)]
    if processes <= 1:
        return {"version": 2, "members": [train(sequences, sizes, seed=seed) for seed in seeds]}
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    settings = {name: globals()[name] for name in ("HIDDEN", "LAYERS", "DROPOUT", "EPOCHS")}
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        trained = list(pool.map(_train_with, [(sequences, sizes, seed, settings) for seed in seeds]))
    return {"version": 2, "members": trained}


def _train_with(job) -> dict:
    sequences, sizes, seed, settings = job
    globals().update(settings)  # a spawned process starts from the module's defaults
    return train(sequences, sizes, seed=seed)


def train(sequences: list[tuple[list[Context], int, str, list[int], list[int], list[int]]],
          sizes: dict[str, int], seed: int = SEED) -> dict:
    """Fit one net on (beats, tonic, mode, sonority index per beat (-1: none), bass pitch
    class per beat, soprano-bass distance per beat). Returns the JSON dict."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    data = []
    for seq, tonic, mode, states, basses, outers in sequences:
        bass_pitches = [None if c.sop is None else c.sop - d for c, d in zip(seq, outers)]
        motion = [-100] + [-100 if a is None or b is None else MOTION + max(-MOTION, min(MOTION, b - a))
                           for a, b in zip(bass_pitches, bass_pitches[1:])]
        data.append((features(seq, tonic), np.asarray(basses), np.asarray([s if s >= 0 else -100 for s in states]),
                     MODES.index(mode), np.asarray([min(OUTER - 1, max(0, d)) for d in outers]), np.asarray(motion)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(FEATURES, HIDDEN)
            self.gru = nn.GRU(HIDDEN, HIDDEN, num_layers=LAYERS, batch_first=True, bidirectional=True,
                              dropout=DROPOUT if LAYERS > 1 else 0.0)
            self.drop = nn.Dropout(DROPOUT)
            self.bass = nn.Linear(2 * HIDDEN, 12)
            self.heads = nn.ModuleList([nn.Linear(2 * HIDDEN, sizes[m]) for m in MODES])
            self.outer = nn.Linear(2 * HIDDEN, OUTER)
            self.motion = nn.Linear(2 * HIDDEN, 2 * MOTION + 1)

    net = Net()
    optimiser = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    rng = np.random.default_rng(seed)
    for _ in range(EPOCHS):
        order = rng.permutation(len(data))
        for k in range(0, len(order), BATCH):
            items = [data[i] for i in order[k:k + BATCH]]
            length = max(len(it[1]) for it in items)
            X = np.zeros((len(items), length, FEATURES), np.float32)
            B = np.full((len(items), length), -100)
            S = np.full((len(items), length), -100)
            O = np.full((len(items), length), -100)
            V = np.full((len(items), length), -100)
            M = np.asarray([it[3] for it in items])
            for j, (x, b, s, _, o, v) in enumerate(items):
                X[j, :len(b)], B[j, :len(b)], S[j, :len(b)], O[j, :len(b)], V[j, :len(b)] = x, b, s, o, v
            h, _ = net.gru(net.drop(torch.tanh(net.inp(torch.tensor(X)))))
            h = net.drop(h)
            loss = loss_fn(net.bass(h).reshape(-1, 12), torch.tensor(B).reshape(-1))
            loss = loss + loss_fn(net.outer(h).reshape(-1, OUTER), torch.tensor(O).reshape(-1))
            loss = loss + loss_fn(net.motion(h).reshape(-1, 2 * MOTION + 1), torch.tensor(V).reshape(-1))
            for m in (0, 1):
                chosen = torch.tensor(M == m)
                if chosen.any():
                    out = net.heads[m](h[chosen])
                    loss = loss + loss_fn(out.reshape(-1, out.shape[-1]), torch.tensor(S)[chosen].reshape(-1))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    stored = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    return {"version": 1, "hidden": HIDDEN, "layers": LAYERS, "dropout": DROPOUT, "features": FEATURES,
            "epochs": EPOCHS, "seed": seed,
            "weights": {k: _encode(v) for k, v in sorted(stored.items())}}
