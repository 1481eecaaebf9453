"""Train the voice-separation model (``arrange.separate``) on the corpus's four-part scores.

    .venv/bin/python -m scorefarm.arrange.separate_train --out models/separate

Data: ``separation_data`` (Bach chorales and music21 string quartets, mixed to
one note list, each note labelled with its part). Training samples are random
windows of up to ``--max-notes`` notes from the train split, half from chorales
and half from quartets, transposed by a random -6..+6 semitones; a few have one
part removed or the bass doubled an octave below (as in a piano reduction), so
the model meets fewer and more than four voices. Seeded and deterministic on CPU.

Every ``--eval-every`` steps the whole validation split is separated (network
plus the per-onset assignment) and the best weights so far are written to
``<out>/model.safetensors`` with ``config.json``; ``<out>/training.json`` records
the command, data, time, machine and figures. At the end the busy-part penalty
of the assignment is chosen on the validation split.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from scorefarm.arrange import separation_data as data
from scorefarm.arrange.separate import (BUSY_PENALTY, PARTS, SLOTS, Lookup, assign, build_model,
                                        note_tokens, note_vocabulary, predict_probabilities)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m scorefarm.arrange.separate_train", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="folder for model.safetensors, config.json, training.json")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--minutes", type=float, default=35.0, help="stop after this much training time")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-notes", type=int, default=192, help="notes per window")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--bach-share", type=float, default=0.5, help="share of training windows from chorales")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core machine)")
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


class Sampler:
    """Random training windows (tokens, labels) from the train split."""

    def __init__(self, pieces, lookup: Lookup, max_notes: int, bach_share: float, rng: np.random.Generator):
        self.lookup, self.max_notes, self.bach_share, self.rng = lookup, max_notes, bach_share, rng
        self.groups = {kind: data.select(pieces, split="train", kind=kind) for kind in ("bach", "quartet")}
        self.weights = {k: np.array([len(p) for p in g], dtype=np.float64) for k, g in self.groups.items()}
        for k in self.weights:
            self.weights[k] /= max(1.0, self.weights[k].sum())

    def sample(self):
        kind = "bach" if self.rng.random() < self.bach_share else "quartet"
        group = self.groups[kind]
        piece = group[self.rng.choice(len(group), p=self.weights[kind])]
        n = len(piece)
        start = int(self.rng.integers(0, n - self.max_notes + 1)) if n > self.max_notes else 0
        window = piece.window(start, start + self.max_notes)
        shift = int(self.rng.integers(-6, 7))
        window = window.transposed(shift)
        roll = self.rng.random()
        onset, duration, pitch, position, part = (window.onset, window.duration, window.pitch.astype(np.int64),
                                                  window.position, window.part.astype(np.int64))
        if roll < 0.08:  # one part silent
            keep = part != self.rng.integers(0, PARTS)
            onset, duration, pitch, position, part = (a[keep] for a in (onset, duration, pitch, position, part))
        elif roll < 0.16:  # bass doubled an octave below
            bass = (part == PARTS - 1) & (pitch - 12 >= 24)
            rows = list(zip(onset, duration, pitch, position, part)) + [
                (o, d, p - 12, q, PARTS - 1) for o, d, p, q in zip(onset[bass], duration[bass], pitch[bass], position[bass])]
            rows.sort(key=lambda r: (r[0], -r[2], r[4]))
            onset, duration, pitch, position, part = (np.array(c) for c in zip(*rows))
            pitch, part = pitch.astype(np.int64), part.astype(np.int64)
            onset, duration, pitch, position, part = (a[:self.max_notes] for a in (onset, duration, pitch, position, part))
        if self.rng.random() < 0.3:  # as at inference: position from a fixed bar length
            position = np.mod(onset, piece.bar_quarters)
        return note_tokens(self.lookup, onset, duration, pitch, position), part

    def batch(self, size: int):
        import torch

        items = [self.sample() for _ in range(size)]
        length = max(len(t) for t, _ in items)
        tokens = np.zeros((size, length, len(SLOTS)), dtype=np.int64)
        labels = np.full((size, length), -100, dtype=np.int64)
        mask = np.zeros((size, length), dtype=np.int64)
        for row, (t, y) in enumerate(items):
            tokens[row, :len(t)] = t
            labels[row, :len(y)] = y
            mask[row, :len(y)] = 1
        return torch.from_numpy(tokens), torch.from_numpy(mask), torch.from_numpy(labels)


def piece_probabilities(model, lookup: Lookup, piece, max_notes: int) -> np.ndarray:
    """Network probabilities for a whole piece, as ``separate`` computes them."""
    position = np.mod(piece.onset, piece.bar_quarters)
    tokens = note_tokens(lookup, piece.onset, piece.duration, piece.pitch.astype(np.int64), position)
    return predict_probabilities(model, tokens, max_notes)


def evaluate(model, lookup: Lookup, pieces, max_notes: int, penalties=(BUSY_PENALTY,)) -> dict:
    """Accuracy per kind on ``pieces`` for each busy penalty (and without the
    monophonic constraint), with the per-onset assignment."""
    model.eval()
    result: dict = {}
    for kind in ("bach", "quartet"):
        chosen = [p for p in pieces if p.kind == kind]
        if not chosen:
            continue
        correct = {str(b): 0 for b in penalties}
        correct["polyphonic"] = 0
        notes = 0
        for piece in chosen:
            probs = piece_probabilities(model, lookup, piece, max_notes)
            for key in correct:
                mono = key != "polyphonic"
                labels = assign(piece.onset, piece.duration, probs, monophonic=mono,
                                busy_penalty=float(key) if mono else 0.0)
                correct[key] += data.score_labels(piece.onset, piece.pitch, piece.part, labels)
            notes += len(piece)
        result[kind] = {"notes": notes, "pieces": len(chosen),
                        "accuracy": {k: round(v / notes, 5) for k, v in correct.items()}}
    model.train()
    return result


def main(argv=None) -> int:
    import torch
    from safetensors.torch import save_file

    from scorefarm.files import write_text_atomic

    args = parse_args(argv)
    started = time.monotonic()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    pieces = data.load_pieces(progress=lambda line: print(line, flush=True))
    vocabulary = note_vocabulary()
    lookup = Lookup.from_names(vocabulary)
    zones = {kind: list(data.fit_zones(data.select(pieces, split="train", kind=kind))) for kind in ("bach", "quartet")}
    zones["all"] = list(data.fit_zones(data.select(pieces, split="train")))
    config = {"architecture": "BertForTokenClassification over summed note sub-token embeddings",
              "hidden_size": args.hidden, "layers": args.layers, "heads": args.heads, "dropout": args.dropout,
              "max_notes": args.max_notes, "parts": PARTS, "slots": list(SLOTS), "busy_penalty": BUSY_PENALTY,
              "zones": zones, "vocabulary": vocabulary}
    model = build_model(config)
    model.train()
    sampler = Sampler(pieces, lookup, args.max_notes, args.bach_share, rng)
    validation = data.select(pieces, split="validation")
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)

    def lr_at(step: int) -> float:
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    args.out.mkdir(parents=True, exist_ok=True)
    counts = {f"{kind}_{split}": {"pieces": len(c), "notes": sum(len(p) for p in c)}
              for kind in ("bach", "quartet") for split in ("train", "validation", "test")
              for c in [data.select(pieces, split=split, kind=kind)]}
    record = {"command": "python -m scorefarm.arrange.separate_train " + " ".join(sys.argv[1:] if argv is None else argv),
              "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "data": counts, "parameters": sum(p.numel() for p in model.parameters()), "history": []}
    try:
        from scorefarm.machine import cpu_name

        record["hardware"] = f"{cpu_name()}, {args.threads} threads, torch {torch.__version__}"
    except ImportError:
        record["hardware"] = "unknown"
    best = -1.0
    train_seconds = 0.0
    losses: list[float] = []
    step = 0
    for step in range(args.steps):
        t0 = time.monotonic()
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        tokens, mask, labels = sampler.batch(args.batch_size)
        logits = model(tokens, mask)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, PARTS), labels.reshape(-1), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss.detach()))
        train_seconds += time.monotonic() - t0
        last = step == args.steps - 1 or train_seconds > args.minutes * 60
        if (step + 1) % args.eval_every == 0 or last:
            figures = evaluate(model, lookup, validation, args.max_notes)
            score = float(np.mean([v["accuracy"][str(BUSY_PENALTY)] for v in figures.values()]))
            entry = {"step": step + 1, "loss": round(float(np.mean(losses[-args.eval_every:])), 4),
                     "train_minutes": round(train_seconds / 60, 2), "validation": figures}
            record["history"].append(entry)
            print(json.dumps(entry), flush=True)
            if score > best:
                best = score
                record["best_step"] = step + 1
                save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out / "model.safetensors.part"))
                (args.out / "model.safetensors.part").chmod(0o644)
                (args.out / "model.safetensors.part").replace(args.out / "model.safetensors")
                write_text_atomic(args.out / "config.json", json.dumps(config, indent=1) + "\n")
            record["steps_done"] = step + 1
            record["train_hours"] = round(train_seconds / 3600, 3)
            write_text_atomic(args.out / "training.json", json.dumps(record, indent=1) + "\n")
        if last:
            break
    # choose the busy penalty on validation with the best weights
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(args.out / "model.safetensors")))
    penalties = (1.0, 2.0, 4.0, 6.0, 10.0, 1000.0)
    tuning = evaluate(model, lookup, validation, args.max_notes, penalties)
    totals = {str(b): sum(v["accuracy"][str(b)] for v in tuning.values()) for b in penalties}
    config["busy_penalty"] = float(max(totals, key=lambda k: (totals[k], -float(k))))
    write_text_atomic(args.out / "config.json", json.dumps(config, indent=1) + "\n")
    record["validation_tuning"] = tuning
    record["busy_penalty"] = config["busy_penalty"]
    record["elapsed_hours"] = round((time.monotonic() - started) / 3600, 3)
    write_text_atomic(args.out / "training.json", json.dumps(record, indent=1) + "\n")
    print(json.dumps({"best_step": record.get("best_step"), "busy_penalty": config["busy_penalty"],
                      "validation": tuning}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
