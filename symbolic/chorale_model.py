"""Progression and voicing statistics learned from the Bach chorales.

The chorales are read one beat at a time (a quarter in 4/4 and 3/4). At each
beat the four voices sound a *sonority*: the pitch classes of all four voices,
relative to the chorale's key, and the bass's pitch class. Sonorities are the
hidden states of a hidden Markov model, per mode (major / minor):

- transitions: how often one sonority follows another (and opens or closes a
  chorale);
- emissions: what the soprano does over each sonority: its pitch class, how
  long its note lasts from there, and whether the beat is a downbeat;
- voicing: which pitch classes alto and tenor take given the sonority and the
  soprano's, each voice's register and melodic steps, and the spacing between
  voices.

Rare sonorities (fewer than ``MIN_STATE_COUNT`` beats) are folded into the
nearest common one with the same bass. Only the training split is learned
from (see ``bach_corpus.is_held_out``); the table is written to
``data/chorale_model.json`` and the melody nets (``chorale_net``, an ensemble
of three) to ``data/chorale_net.safetensors`` by (about ten minutes on one core, the nets side by side on two)::

    .venv/bin/python -m scorefarm.symbolic.chorale_model

and loaded by ``load_model()`` as numpy arrays of log-probabilities.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .bach_corpus import note_at
from .bass_model import BassModel, Context
from .embellish import passing_rates
from .metre import beat_length

if TYPE_CHECKING:
    from .chorale_net import ChoraleNet

MIN_STATE_COUNT = 3
MODES = ("major", "minor")
QUARTER = 960  # ticks per quarter when a beat is measured in quarters (exact down to 64ths)
REGISTER_LOW, REGISTER_HIGH = 28, 96  # MIDI span of the register histograms
MAX_STEP = 24  # melodic steps histogrammed from -24 to +24 semitones
MODEL_PATH = Path(__file__).resolve().parent / "data" / "chorale_model.json"
VOICES = ("Soprano", "Alto", "Tenor", "Bass")


@dataclass(frozen=True)
class Beat:
    """One beat of a chorale: absolute pitches (S, A, T, B) and what the soprano does."""

    pitches: tuple[int, int, int, int]
    sop_long: int  # 0: note ends within the beat, 1: lasts to its end, 2: two beats or more
    downbeat: int  # 1 on the first beat of a bar
    tonic: int
    final: bool = False
    sop_mid: int | None = None  # the soprano's pitch half-way through the beat
    beat_in_bar: int = 0

    def context(self) -> Context:
        """The beat as the melody readers (``bass_model``, ``chorale_net``) see it."""
        return Context(self.pitches[0], self.sop_long, self.downbeat, self.sop_mid, self.beat_in_bar)


def is_dev(identifier: str) -> bool:
    """A second hash split inside the training chorales, for tuning weights."""
    digest = hashlib.sha256(f"dev:{identifier}".encode()).hexdigest()
    return int(digest, 16) % 8 == 0


def chorale_beats(chorale) -> list[list[Beat]]:
    """The chorale's beats, in runs without rests (a rest in any voice cuts a run)."""
    step = beat_length(QUARTER, *chorale.time_signature) / QUARTER  # in quarters
    bar = chorale.time_signature[0] * 4.0 / chorale.time_signature[1]
    voices = [chorale.voices[v] for v in VOICES]
    starts = [[n[0] for n in notes] for notes in voices]

    def sounding(v: int, t: float):
        return note_at(voices[v], starts[v], t)

    runs: list[list[Beat]] = [[]]
    t, end = 0.0, chorale.length_quarters
    while t < end - 1e-9:
        notes = [sounding(v, t) for v in range(len(voices))]
        if None in notes:
            if runs[-1]:
                runs.append([])
        else:
            sop = notes[0]
            remaining = sop[0] + sop[1] - t
            sop_long = 2 if remaining >= 2 * step - 1e-9 else (1 if remaining >= step - 1e-9 else 0)
            into = t % bar
            into = 0.0 if min(into, bar - into) < 1e-6 else into
            downbeat = 1 if into == 0.0 else 0
            mid = sounding(0, t + step / 2)
            runs[-1].append(Beat(tuple(n[2] for n in notes), sop_long, downbeat, chorale.tonic_pc,
                                 sop_mid=None if mid is None else mid[2], beat_in_bar=int(round(into / step))))
        t += step
    runs = [r for r in runs if r]
    if runs:
        runs[-1][-1] = replace(runs[-1][-1], final=True)
    return runs


def sonority(pitches, tonic: int) -> tuple[int, tuple[int, ...]]:
    rel = [(p - tonic) % 12 for p in pitches]
    return rel[-1], tuple(sorted(set(rel)))


def state_key(state: tuple[int, tuple[int, ...]]) -> str:
    return f"{state[0]}:{','.join(map(str, state[1]))}"


def parse_state(key: str) -> tuple[int, tuple[int, ...]]:
    bass, pcs = key.split(":")
    return int(bass), tuple(int(x) for x in pcs.split(","))


# ---------------------------------------------------------------- learning


def learn(chorales, *, net: bool = False) -> dict:
    """Count everything the model needs from ``chorales`` (a training split); with
    ``net``, also train the melody-reading net (``chorale_net``, minutes of CPU),
    returned under the key "net"."""
    model = {"version": 1, "min_state_count": MIN_STATE_COUNT, "modes": {}}
    model["chorales"] = sorted(c.id for c in chorales)
    for mode in MODES:
        runs = [run for c in chorales if c.mode == mode for run in chorale_beats(c)]
        model["modes"][mode] = _learn_mode(runs)
    model["passing"] = passing_rates(chorales)
    if net:
        model["net"] = _learn_net(chorales, model)
    return model


def _learn_net(chorales, model: dict) -> dict:
    from .chorale_net import MEMBERS, train_ensemble

    sequences = []
    for mode in MODES:
        common = [parse_state(k) for k in model["modes"][mode]["states"]]
        index = {s: i for i, s in enumerate(common)}
        for c in chorales:
            if c.mode != mode:
                continue
            for run in chorale_beats(c):
                seq = [b.context() for b in run]
                states = []
                for b in run:
                    sono = sonority(b.pitches, b.tonic)
                    near = sono if sono in index else _nearest(sono, common)
                    states.append(index[near] if near in index else -1)
                basses = [(b.pitches[3] - b.tonic) % 12 for b in run]
                outers = [b.pitches[0] - b.pitches[3] for b in run]
                sequences.append((seq, c.tonic_pc, mode, states, basses, outers))
    return train_ensemble(sequences, {m: len(model["modes"][m]["states"]) for m in MODES},
                          processes=min(MEMBERS, os.cpu_count() or 1))


def _learn_bass(runs: list[list[Beat]]) -> dict:
    from .bass_model import features, fit

    samples = []
    for run in runs:
        seq = [b.context() for b in run]
        for t, beat in enumerate(run):
            samples.append((features(seq, beat.tonic, t), (beat.pitches[3] - beat.tonic) % 12))
    return fit(samples)


def _learn_mode(runs: list[list[Beat]]) -> dict:
    raw = Counter(sonority(b.pitches, b.tonic) for run in runs for b in run)
    common = sorted((s for s, n in raw.items() if n >= MIN_STATE_COUNT), key=lambda s: (-raw[s], s))
    index = {s: i for i, s in enumerate(common)}
    mapping = {s: index.get(s, index.get(_nearest(s, common), None)) for s in raw}
    n = len(common)
    start, end = Counter(), Counter()
    bigram: Counter = Counter()
    emit_pc = np.zeros((n, 12), dtype=np.int64)
    emit_long = np.zeros((n, 3), dtype=np.int64)
    emit_down = np.zeros((n, 2), dtype=np.int64)
    emit_final = np.zeros(n, dtype=np.int64)
    inner: dict[str, Counter] = defaultdict(Counter)
    register = np.zeros((4, REGISTER_HIGH - REGISTER_LOW + 1), dtype=np.int64)
    steps = np.zeros((4, 2 * MAX_STEP + 1), dtype=np.int64)
    spacing = np.zeros((4, 49), dtype=np.int64)  # S-A, A-T, T-B, S-B
    for run in runs:
        prev = None
        prev_pitches = None
        for beat in run:
            s = mapping[sonority(beat.pitches, beat.tonic)]
            if s is None:
                prev = None
                continue
            rel = [(p - beat.tonic) % 12 for p in beat.pitches]
            emit_pc[s, rel[0]] += 1
            emit_long[s, beat.sop_long] += 1
            emit_down[s, beat.downbeat] += 1
            emit_final[s] += int(beat.final)
            inner[f"{s}:{rel[0]}"][f"{rel[1]},{rel[2]}"] += 1
            for v, p in enumerate(beat.pitches):
                register[v, min(max(p, REGISTER_LOW), REGISTER_HIGH) - REGISTER_LOW] += 1
            for v in range(3):
                spacing[v, min(48, max(0, beat.pitches[v] - beat.pitches[v + 1]))] += 1
            spacing[3, min(48, max(0, beat.pitches[0] - beat.pitches[3]))] += 1
            if prev_pitches is not None:
                for v in range(4):
                    d = max(-MAX_STEP, min(MAX_STEP, beat.pitches[v] - prev_pitches[v]))
                    steps[v, d + MAX_STEP] += 1
            if prev is None:
                start[s] += 1
            else:
                bigram[(prev, s)] += 1
            prev, prev_pitches = s, beat.pitches
        if prev is not None:
            end[prev] += 1
    return {
        "states": [state_key(s) for s in common],
        "start": [start[i] for i in range(n)],
        "end": [end[i] for i in range(n)],
        "bigram": sorted([a, b, c] for (a, b), c in bigram.items()),
        "emit_pc": emit_pc.tolist(),
        "emit_long": emit_long.tolist(),
        "emit_down": emit_down.tolist(),
        "emit_final": emit_final.tolist(),
        "inner": {k: dict(sorted(v.items())) for k, v in sorted(inner.items())},
        "register": register.tolist(),
        "steps": steps.tolist(),
        "spacing": spacing.tolist(),
        "bass": _learn_bass(runs),
    }


def _nearest(state, common):
    """The common sonority with the same bass sharing the most pitch classes."""
    bass, pcs = state
    best, best_key = None, None
    for cand in common:
        if cand[0] != bass:
            continue
        shared = len(set(pcs) & set(cand[1]))
        key = (-shared, len(set(pcs) ^ set(cand[1])), cand)
        if best_key is None or key < best_key:
            best, best_key = cand, key
    return best


# ---------------------------------------------------------------- the loaded model


@dataclass
class ModeModel:
    states: list[tuple[int, tuple[int, ...]]]
    log_start: np.ndarray  # [n]
    log_end: np.ndarray  # [n]
    log_trans: np.ndarray  # [n, n]
    log_pc: np.ndarray  # [n, 12]
    log_long: np.ndarray  # [n, 3]
    log_down: np.ndarray  # [n, 2]
    log_final: np.ndarray  # [n]: log P(final beat | state)
    inner: dict[str, dict[tuple[int, int], float]]  # "state:sop_pc" -> {(alto_pc, tenor_pc): log p}
    log_register: np.ndarray  # [4, span]
    log_steps: np.ndarray  # [4, 49]
    log_spacing: np.ndarray  # [4, 49]: S-A, A-T, T-B, S-B
    state_counts: np.ndarray  # [n]
    bass: "BassModel | None" = None  # log P(bass pitch class | soprano context)
    bass_class: np.ndarray | None = None  # [n] the bass pitch class the bass model scores (default: own)
    mode: str = "major"
    net: "ChoraleNet | None" = None  # log P(sonority | whole soprano line), shared by both modes
    net_class: np.ndarray | None = None  # [n] the net's output for each sonority (default: its own)

    @property
    def size(self) -> int:
        return len(self.states)

    @cached_property
    def net_rel(self) -> np.ndarray:
        """[n] which of the net's outputs scores each sonority."""
        return self.net_class if self.net_class is not None else np.arange(len(self.states))

    @cached_property
    def bass_rel(self) -> np.ndarray:
        """[n] the bass pitch class the bass model scores for each sonority: its own
        (relative to the key) unless ``bass_class`` says otherwise."""
        if self.bass_class is not None:
            return self.bass_class
        return np.asarray([bass for bass, _ in self.states], dtype=np.int64)


@dataclass
class ChoraleModel:
    modes: dict[str, ModeModel]
    chorales: list[str]
    passing: dict[str, dict[str, float]] | None = None  # embellish.passing_rates of the training chorales


def _log_normalise(counts: np.ndarray, alpha: float, axis: int = -1) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64) + alpha
    return np.log(counts / counts.sum(axis=axis, keepdims=True))


def _build_mode(data: dict, mode: str, net: "ChoraleNet | None") -> ModeModel:
    states = [parse_state(k) for k in data["states"]]
    n = len(states)
    big = np.zeros((n, n))
    for a, b, c in data["bigram"]:
        big[a, b] = c
    unigram = big.sum(axis=0) + np.asarray(data["start"])
    unigram = (unigram + 0.5) / (unigram + 0.5).sum()
    rows = big.sum(axis=1, keepdims=True)
    types = (big > 0).sum(axis=1, keepdims=True)
    # Witten-Bell interpolation of the bigram with the unigram
    lam = np.where(rows > 0, rows / (rows + types + 1e-9), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        bigram_p = np.where(rows > 0, big / np.where(rows > 0, rows, 1), 0.0)
    trans = lam * bigram_p + (1 - lam) * unigram[None, :]
    counts = np.asarray(data["emit_pc"]).sum(axis=1)
    start = np.asarray(data["start"], dtype=np.float64)
    end = np.asarray(data["end"], dtype=np.float64)
    final = np.asarray(data["emit_final"], dtype=np.float64)
    inner: dict[str, dict[tuple[int, int], float]] = {}
    for key, table in data["inner"].items():
        total = sum(table.values()) + 1.0
        inner[key] = {tuple(int(x) for x in k.split(",")): float(np.log(v / total)) for k, v in table.items()}
    return ModeModel(
        states=states,
        log_start=np.log((start + 0.1) / (start + 0.1).sum()),
        log_end=np.log((end + 0.1) / (counts + 1.0)),
        log_trans=np.log(trans),
        log_pc=_log_normalise(data["emit_pc"], 0.01),
        log_long=_log_normalise(data["emit_long"], 0.5),
        log_down=_log_normalise(data["emit_down"], 0.5),
        log_final=np.log((final + 0.1) / (counts + 1.0)),
        inner=inner,
        log_register=_log_normalise(data["register"], 0.2),
        log_steps=_log_normalise(data["steps"], 0.2),
        log_spacing=_log_normalise(data["spacing"], 0.2),
        state_counts=counts,
        bass=BassModel(data["bass"]) if "bass" in data else None,
        mode=mode,
        net=net,
    )


def model_from_dict(data: dict, net: dict | None = None) -> ChoraleModel:
    """The model from its JSON form; ``net`` (or ``data["net"]``) is the melody net's."""
    from .chorale_net import ChoraleNet

    net = net or data.get("net")
    return _assemble(data, ChoraleNet.from_dict(net) if net else None)


def _assemble(data: dict, net: "ChoraleNet | None") -> ChoraleModel:
    modes = {m: _build_mode(data["modes"][m], m, net) for m in MODES}
    return ChoraleModel(modes, list(data.get("chorales", [])), data.get("passing"))


@lru_cache(maxsize=1)
def load_model() -> ChoraleModel:
    """The shipped model (data/chorale_model.json and the melody nets, data/chorale_net.safetensors)."""
    from .chorale_net import ChoraleNet

    folder = resources.files("scorefarm.symbolic").joinpath("data")
    data = json.loads(folder.joinpath("chorale_model.json").read_text())
    with resources.as_file(folder.joinpath("chorale_net.safetensors")) as path:
        return _assemble(data, ChoraleNet.load(path))


def main(argv: list[str] | None = None) -> int:
    """Learn from the training split; write data/chorale_model.json and data/chorale_net.safetensors
    (or into FOLDER when a folder is given)."""
    from .bach_corpus import load_chorales
    from .chorale_net import save as save_net
    from scorefarm.files import write_bytes_atomic

    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else MODEL_PATH.parent
    chorales = load_chorales()
    train = [c for c in chorales if not c.held_out]
    model = learn(train, net=True)
    net = model.pop("net")
    write_bytes_atomic(folder / "chorale_model.json",
                       (json.dumps(model, separators=(",", ":"), sort_keys=True) + "\n").encode())
    save_net(net, folder / "chorale_net.safetensors")
    sizes = {m: len(model["modes"][m]["states"]) for m in MODES}
    print(f"learned from {len(train)} chorales ({len(chorales) - len(train)} held out): states {sizes} -> {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
