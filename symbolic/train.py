"""Training the extension model (``compose train``): from scratch or fine-tuning.

Data: the corpus build's manifest (``corpora/build_corpus.py``); each piece is
tokenized once (cached as ``<build>/tokens/<split>.npz``, keyed by the manifest and
the tokenizer). A training example is a window of ``context + 1`` tokens that starts
at a bar line (or at BOS for a piece's start), drawn with a per-step generator
seeded by ``(seed, step)`` -- so a resumed run draws exactly what an uninterrupted one
would. Train windows are transposed by a random interval in ``transpose`` (kept
inside the pitch range): augmentation on train only.

Checkpoints (the ship files, see ``model.py``) are written to ``out_dir`` every
``checkpoint_minutes`` and at the end; the optimizer state goes to
``<out_dir>/../.<name>-state/`` (not shipped). Rerunning the same command resumes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np

from scorefarm.errors import InputError

from .corpus import load_manifest
from .model import TRAINING_FILE, ModelConfig, ModelError, build_model, load_model, parameter_count, save_checkpoint
from .tokenizer import Vocab, build_tokenizer, describe, to_voices


class TrainError(InputError):
    """Training options or data that cannot be used."""


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    build_dir: str = "corpora/build"
    out_dir: str = "models/extend"
    init_from: str | None = None  # a model folder to fine-tune; None = from scratch
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 704
    context: int = 512
    batch_size: int = 16
    learning_rate: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 200
    weight_decay: float = 0.05
    max_steps: int = 4000
    max_minutes: float | None = None  # stop (with a checkpoint) after this long; rerun resumes
    checkpoint_minutes: float = 10.0
    eval_every: int = 250
    eval_windows: int = 96
    seed: int = 0
    threads: int = 1
    transpose: tuple[int, int] = (-5, 6)
    sources: tuple[str, ...] | None = None  # None: every source in the manifest
    source_weights: tuple[tuple[str, float], ...] = (("bach", 4.0), ("monteverdi", 2.0), ("quartets", 2.0),
                                                     ("palestrina", 2.0), ("user", 4.0))


Progress = Callable[[dict], None]


# ---------------------------------------------------------------- data


@dataclasses.dataclass
class TokenSet:
    ids: np.ndarray  # all pieces concatenated (int16)
    offsets: np.ndarray  # piece i is ids[offsets[i]:offsets[i+1]]
    sources: list[str]
    piece_ids: list[str]

    def piece(self, index: int) -> np.ndarray:
        return self.ids[self.offsets[index]: self.offsets[index + 1]]

    def __len__(self) -> int:
        return len(self.sources)


def encode_piece(tokenizer, vocab: Vocab, path: Path) -> np.ndarray | None:
    """BOS + REMI ids + EOS for one MIDI file of the build (None if it has no voices)."""
    import symusic

    from scorefarm.errors import ScoreError

    score = symusic.Score(str(path))
    try:
        voiced, _ = to_voices(score, str(path))
    except ScoreError:
        return None
    seq = tokenizer.encode(voiced)
    ids = seq.ids if not isinstance(seq, list) else seq[0].ids
    if len(ids) < 16:
        return None
    return np.array([vocab.bos, *ids, vocab.eos], dtype=np.int16)


def load_token_sets(build_dir: str | Path, tokenizer, splits=("train", "validation", "test"),
                    progress: Progress | None = None) -> dict[str, TokenSet]:
    """Tokenize the build's pieces per split (cached under ``<build>/tokens/``)."""
    build = Path(build_dir)
    manifest = load_manifest(build)
    vocab = Vocab.of(tokenizer)
    key = hashlib.sha1(json.dumps([describe(tokenizer), sorted(tokenizer.vocab.items()),
                                   [(p["id"], p["midi"], p["notes"]) for p in manifest["pieces"]]])
                       .encode()).hexdigest()[:16]
    out = {}
    for split in splits:
        cache = build / "tokens" / f"{split}-{key}.npz"
        if cache.exists():
            data = np.load(cache, allow_pickle=False)
            out[split] = TokenSet(data["ids"], data["offsets"], list(data["sources"]), list(data["piece_ids"]))
            continue
        chunks, sources, names = [], [], []
        pieces = [p for p in manifest["pieces"] if p["split"] == split]
        for n, piece in enumerate(pieces):
            ids = encode_piece(tokenizer, vocab, build / piece["midi"])
            if ids is not None:
                chunks.append(ids)
                sources.append(piece["source"])
                names.append(piece["id"])
            if progress is not None and n % 500 == 0:
                progress({"event": "tokenize", "split": split, "done": n, "total": len(pieces)})
        offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(c) for c in chunks])
        ids = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".part.npz")
        np.savez(tmp, ids=ids, offsets=offsets, sources=np.array(sources), piece_ids=np.array(names))
        tmp.replace(cache)
        out[split] = TokenSet(ids, offsets, sources, names)
    return out


class WindowSampler:
    """Windows of ``length`` tokens starting at BOS or a bar line, piece chosen in
    proportion to (source weight x piece length)."""

    def __init__(self, tokens: TokenSet, vocab: Vocab, length: int, weights: dict[str, float],
                 sources: tuple[str, ...] | None):
        self.tokens, self.vocab, self.length = tokens, vocab, length
        lengths = np.diff(tokens.offsets).astype(np.float64)
        w = np.array([weights.get(s, 1.0) if (sources is None or s in sources) else 0.0 for s in tokens.sources])
        self.p = lengths * w
        if self.p.sum() <= 0:
            raise TrainError(f"no training pieces from sources {sources}")
        self.p /= self.p.sum()
        self.starts = []
        for i in range(len(tokens)):
            piece = tokens.piece(i)
            bars = np.flatnonzero(piece == vocab.bar)
            bars = bars[bars < max(1, len(piece) - length // 4)]
            self.starts.append(np.concatenate([[0], bars]).astype(np.int64))
        pitch_ids = vocab.ids("pitch")
        self.pitch_lo, self.pitch_hi = int(pitch_ids.min()), int(pitch_ids.max())

    def sample(self, rng: np.random.Generator, batch: int, transpose: tuple[int, int] | None) -> np.ndarray:
        """A batch of windows; a window that a piece does not fill is packed with more
        pieces (each from its BOS), as language-model training usually packs text."""
        out = np.full((batch, self.length), self.vocab.pad, dtype=np.int64)
        for b in range(batch):
            filled = 0
            while filled < self.length:
                i = int(rng.choice(len(self.p), p=self.p))
                piece = self.tokens.piece(i)
                start = int(rng.choice(self.starts[i])) if filled == 0 else 0
                window = piece[start: start + self.length - filled].astype(np.int64)
                if transpose is not None:
                    window = self._transpose(window, rng, transpose)
                out[b, filled: filled + len(window)] = window
                filled += len(window)
        return out

    def _transpose(self, window: np.ndarray, rng, bounds: tuple[int, int]) -> np.ndarray:
        is_pitch = (window >= self.pitch_lo) & (window <= self.pitch_hi)
        if not is_pitch.any():
            return window
        lo = max(bounds[0], self.pitch_lo - int(window[is_pitch].min()))
        hi = min(bounds[1], self.pitch_hi - int(window[is_pitch].max()))
        if lo > hi:
            return window
        shift = int(rng.integers(lo, hi + 1))
        window = window.copy()
        window[is_pitch] += shift
        return window


def eval_windows(tokens: TokenSet, vocab: Vocab, length: int, count: int | None) -> list[np.ndarray]:
    """Deterministic evaluation windows: consecutive non-overlapping windows of each piece
    (all of them when ``count`` is None, else the first ``count`` in piece order)."""
    out = []
    for i in range(len(tokens)):
        piece = tokens.piece(i).astype(np.int64)
        for start in range(0, len(piece) - 1, length):
            out.append(piece[start: start + length + 1])
            if count is not None and len(out) >= count:
                return out
    return out


def mean_nll(model, windows: list[np.ndarray], pad: int, batch: int = 16) -> tuple[float, int]:
    """(mean NLL per predicted token in nats, token count) over windows."""
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for b in range(0, len(windows), batch):
            chunk = windows[b: b + batch]
            width = max(len(w) for w in chunk)
            x = np.full((len(chunk), width), pad, dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=bool)
            for j, w in enumerate(chunk):
                x[j, : len(w)] = w
                mask[j, : len(w)] = True
            xt = torch.from_numpy(x)
            logits = model(input_ids=xt[:, :-1], attention_mask=torch.from_numpy(mask[:, :-1])).logits
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), xt[:, 1:].reshape(-1),
                                                    reduction="none").reshape(len(chunk), -1)
            m = torch.from_numpy(mask[:, 1:])
            total += float(nll[m].sum())
            count += int(m.sum())
    return total / max(count, 1), count


# ---------------------------------------------------------------- training


def _lr(options: TrainOptions, step: int) -> float:
    if step < options.warmup_steps:
        return options.learning_rate * (step + 1) / options.warmup_steps
    frac = min(1.0, (step - options.warmup_steps) / max(1, options.max_steps - options.warmup_steps))
    ratio = options.min_lr_ratio + (1 - options.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac))
    return options.learning_rate * ratio


def _state_dir(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}-state"


def hardware() -> str:
    import os

    from scorefarm.machine import cpu_name

    return f"{cpu_name()}, {os.cpu_count()} cores visible, CPU only"


def train(options: TrainOptions, progress: Progress | None = None, command: str | None = None) -> dict:
    """Train (or resume, or fine-tune) and return the final training record."""
    import torch
    from safetensors.torch import load_file, save_file

    torch.set_num_threads(options.threads)
    out_dir = Path(options.out_dir)
    state_dir = _state_dir(out_dir)
    resume = (state_dir / "state.json").exists() and (out_dir / "model.safetensors").exists()
    record_prev: dict = {}
    if resume:
        model, tokenizer, record_prev = load_model(out_dir)
        state = json.loads((state_dir / "state.json").read_text())
        if _same_run(state.get("options", {})) != _same_run(_jsonable(options)):
            raise TrainError(f"a run with other options is already under {out_dir} (its state is in {state_dir}); "
                             "use another --out or remove that folder")
        step = int(state["step"])
        elapsed = float(state["elapsed_seconds"])
        history = state["history"]
    else:
        if options.init_from:
            model, tokenizer, _ = load_model(options.init_from)
        else:
            tokenizer = build_tokenizer()
            config = ModelConfig(vocab_size=len(tokenizer.vocab), hidden_size=options.hidden_size,
                                 num_layers=options.num_layers, num_heads=options.num_heads,
                                 intermediate_size=options.intermediate_size, context=options.context)
            model = build_model(config, seed=options.seed)
        step, elapsed, history = 0, 0.0, []
    if options.context > model.config.max_position_embeddings:
        raise TrainError(f"--context {options.context} exceeds the model's {model.config.max_position_embeddings}")
    vocab = Vocab.of(tokenizer)
    sets = load_token_sets(options.build_dir, tokenizer, ("train", "validation"), progress)
    if len(sets["train"]) == 0:
        raise TrainError("the corpus build has no training pieces", Path(options.build_dir))
    sampler = WindowSampler(sets["train"], vocab, options.context + 1, dict(options.source_weights),
                            options.sources)
    val = eval_windows(sets["validation"], vocab, options.context, options.eval_windows)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": options.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=options.learning_rate,
                                  betas=(0.9, 0.95))
    if resume and (state_dir / "optimizer.safetensors").exists():
        _load_optimizer(optimizer, model, load_file(state_dir / "optimizer.safetensors"), step)
    earlier = record_prev.get("commands") or ([record_prev["command"]] if record_prev.get("command") else [])
    base = {
        "command": command, "commands": [*earlier, command], "options": _jsonable(options), "hardware": hardware(),
        "parameters": parameter_count(model), "tokenizer": describe(tokenizer),
        "data": {"build_dir": options.build_dir, "train_pieces": len(sets["train"]),
                 "train_tokens": int(len(sets["train"].ids)), "validation_pieces": len(sets["validation"]),
                 "train_piece_ids_sha1": hashlib.sha1("\n".join(sets["train"].piece_ids).encode()).hexdigest(),
                 "manifest_counts": load_manifest(options.build_dir)["counts"],
                 "manifest_sources": load_manifest(options.build_dir)["sources"]},
        "init_from": options.init_from or record_prev.get("init_from"),
    }

    def checkpoint(final: bool) -> dict:
        record = {**base, "step": step, "elapsed_seconds": round(elapsed, 1),
                  "hours": round(elapsed / 3600, 3), "history": history, "finished": final}
        model.eval()
        save_checkpoint(out_dir, model, tokenizer, record)
        state_dir.mkdir(parents=True, exist_ok=True)
        save_file(_optimizer_tensors(optimizer, model), str(state_dir / "optimizer.safetensors.part"))
        (state_dir / "optimizer.safetensors.part").replace(state_dir / "optimizer.safetensors")
        tmp = state_dir / "state.json.part"
        tmp.write_text(json.dumps({"options": _jsonable(options), "step": step, "elapsed_seconds": elapsed,
                                   "history": history}))
        tmp.replace(state_dir / "state.json")
        if progress is not None:
            progress({"event": "checkpoint", "step": step, "path": str(out_dir)})
        return record

    last_ckpt = session_start = time.monotonic()
    t_start = time.monotonic() - elapsed
    losses: list[float] = []
    model.train()
    while step < options.max_steps:
        rng = np.random.default_rng([options.seed, step])
        x = torch.from_numpy(sampler.sample(rng, options.batch_size, options.transpose))
        labels = x.clone()
        labels[labels == vocab.pad] = -100
        for group in optimizer.param_groups:
            group["lr"] = _lr(options, step)
        out = model(input_ids=x, labels=labels)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(out.loss.item())
        step += 1
        elapsed = time.monotonic() - t_start
        if step % 25 == 0 and progress is not None:
            progress({"event": "step", "step": step, "loss": float(np.mean(losses[-25:])),
                      "lr": _lr(options, step), "elapsed_seconds": elapsed})
        if step % options.eval_every == 0 or step == options.max_steps:
            model.eval()
            val_nll, _ = mean_nll(model, val, vocab.pad)
            model.train()
            history.append({"step": step, "train_loss": round(float(np.mean(losses[-options.eval_every:])), 4),
                            "val_nll": round(val_nll, 4), "elapsed_seconds": round(elapsed, 1)})
            if progress is not None:
                progress({"event": "eval", **history[-1]})
        if time.monotonic() - last_ckpt > options.checkpoint_minutes * 60:
            checkpoint(False)
            model.train()
            last_ckpt = time.monotonic()
        if options.max_minutes is not None and time.monotonic() - session_start > options.max_minutes * 60:
            break
    return checkpoint(step >= options.max_steps)


def _same_run(options: dict) -> dict:
    """The options a resumed run must share (not when to stop or checkpoint, nor threads;
    a changed ``max_steps`` reshapes the rest of the learning-rate schedule)."""
    return {k: v for k, v in options.items() if k not in ("max_minutes", "checkpoint_minutes", "threads", "max_steps")}


def _jsonable(options: TrainOptions) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(options)))


def _optimizer_tensors(optimizer, model) -> dict:
    import torch

    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            st = optimizer.state.get(p)
            if not st:
                continue
            out[f"{names[id(p)]}::exp_avg"] = st["exp_avg"].contiguous()
            out[f"{names[id(p)]}::exp_avg_sq"] = st["exp_avg_sq"].contiguous()
            out[f"{names[id(p)]}::step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1)
    return out


def _load_optimizer(optimizer, model, tensors: dict, step: int) -> None:
    import torch

    for name, p in model.named_parameters():
        if f"{name}::exp_avg" in tensors:
            optimizer.state[p] = {"exp_avg": tensors[f"{name}::exp_avg"].clone(),
                                  "exp_avg_sq": tensors[f"{name}::exp_avg_sq"].clone(),
                                  "step": torch.tensor(float(tensors[f"{name}::step"][0]))}


def read_record(folder: str | Path) -> dict:
    path = Path(folder) / TRAINING_FILE
    if not path.exists():
        raise ModelError("has no training.json", Path(folder))
    return json.loads(path.read_text())
