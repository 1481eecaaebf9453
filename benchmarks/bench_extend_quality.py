"""Extension quality on the corpus build's held-out test split; prints one JSON line.

    python benchmarks/bench_extend_quality.py [--model models/extend] [--build corpora/build]

1. NLL per token (nats) on the test split, per source (Bach chorales, Essen), for
   the model (windows of its context, stride half of it, each token scored once
   with at least half a context of history where the piece has it) and for an
   interpolated Witten-Bell n-gram trained on the train split, its order
   chosen on the validation split (1..16). Same tokenizer, same tokens, BOS given.
2. For test pieces of at least 8 bars: the first 4 bars as prompt, continued by 4
   bars by the model (constrained, and with --free), by the n-gram (through the
   same constrained decoding loop), and the real bars 5-8. For each: in-key rate
   (notes whose pitch class is in the prompt key's scale), pitch-class-histogram
   KL(continuation || prompt) (note counts, +0.1 smoothing), key agreement
   (estimated key of the continuation == the prompt's), note-density ratio
   (notes per bar of the continuations / notes per bar of the prompts, totals over
   pieces; a prompt's bars are counted from its first onset, so that an anacrusis,
   which the corpus pads to a whole bar, is not a bar of rests), and copying (share of
   continuation notes whose (voice, onset in bar, pitch, duration) occurs in the
   prompt), and voices kept (of the voices sounding in the prompt's last bar, the
   share of (voice, new bar) pairs in which the voice sounds: struck or held into the
   bar). ``--no-keep-voices`` decodes without ``ExtendOptions.keep_voices`` (the
   constraint that keeps those voices sounding), to compare.
3. The demo film's five sketches (``corpora/demo/sketches``: one to six instruments, a
   composer's kind of sketch rather than the corpus's), each continued by 4 bars with
   seeds 0-3, with and without ``keep_voices``: voices kept as above, the sketch's
   last bar against the new bars; and entries on time: of the new bars that such a voice
   does not enter holding a note, the share in which its first note comes no later after
   the bar line than the latest that voice ever came in in a bar of the sketch.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import symusic

ROOT = Path(__file__).resolve().parents[1]


def cut(score: symusic.Score, start: int, end: int, shift: bool) -> symusic.Score:
    """Notes with onsets in [start, end), clipped at ``end``; moved to 0 when ``shift``."""
    out = symusic.Score(score.ticks_per_quarter)
    out.time_signatures = score.time_signatures.copy()
    out.tempos = score.tempos.copy()
    for track in score.tracks:
        new = symusic.Track(track.name, track.program, track.is_drum)
        for n in track.notes:
            if start <= n.time < end:
                new.notes.append(symusic.Note(n.time - (start if shift else 0), min(n.duration, end - n.time),
                                              n.pitch, n.velocity))
        new.notes.sort(key=lambda n: (n.time, n.pitch))
        out.tracks.append(new)
    return out


def note_rows(score: symusic.Score, bar: int, start: int, end: int) -> list[tuple]:
    rows = []
    for v, track in enumerate(score.tracks):
        for n in track.notes:
            if start <= n.time < end:
                rows.append((v, (n.time - start) % bar, n.pitch, n.duration))
    return rows


def voices_kept(prompt: symusic.Score, cont: symusic.Score, bar: int, start: int, bars: int = 4) -> tuple[int, int]:
    """(pairs of a voice sounding in the prompt's last bar and a new bar where it sounds, such
    pairs in all): the bars ``start`` .. ``start + bars * bar``; voices matched by track index."""
    def sounds(track, lo: int, hi: int) -> bool:
        return any(n.time < hi and n.time + n.duration > lo for n in track.notes)

    voices = [v for v, t in enumerate(prompt.tracks) if sounds(t, start - bar, start)]
    kept = sum(1 for v in voices for j in range(bars)
               if v < len(cont.tracks) and sounds(cont.tracks[v], start + j * bar, start + (j + 1) * bar))
    return kept, len(voices) * bars


def latest_entries(prompt: symusic.Score, bar_lines: list[int]) -> dict[int, int]:
    """Per track index, the latest tick after its bar line at which the track's first note of
    a bar came in, over the bars of ``bar_lines`` (starts, then the last bar's end) of the
    most common length that the track neither rests through nor enters holding a note."""
    lengths = [b - a for a, b in zip(bar_lines, bar_lines[1:])]
    common = max(set(lengths), key=lengths.count)
    out = {}
    for v, track in enumerate(prompt.tracks):
        offsets = []
        for a, b in zip(bar_lines, bar_lines[1:]):
            if b - a != common or any(n.time < a < n.time + n.duration for n in track.notes):
                continue
            first = min((n.time for n in track.notes if a <= n.time < b), default=None)
            if first is not None:
                offsets.append(first - a)
        if offsets:
            out[v] = max(offsets)
    return out


def entries_on_time(prompt: symusic.Score, cont: symusic.Score, bar_lines: list[int], start: int,
                    bar: int, bars: int = 4) -> tuple[int, int]:
    """(entries no later than ``latest_entries``, entries in all): over the voices sounding in
    the prompt's last bar and the new bars that such a voice does not enter holding a note."""
    latest = latest_entries(prompt, bar_lines)
    on_time = total = 0
    for v, track in enumerate(prompt.tracks):
        if v not in latest or v >= len(cont.tracks) or not any(
                n.time < start and n.time + n.duration > start - bar for n in track.notes):
            continue
        notes = cont.tracks[v].notes
        for j in range(bars):
            a = start + j * bar
            if any(n.time < a < n.time + n.duration for n in notes):
                continue
            first = min((n.time for n in notes if a <= n.time < a + bar), default=None)
            total += 1
            on_time += first is not None and first - a <= latest[v]
    return on_time, total


def demo_voices_kept(model, tokenizer, base) -> dict:
    """Voices kept (``voices_kept``) over the demo sketches continued by 4 bars, seeds 0-3,
    with and without ``keep_voices``; and under ``entries_on_time`` the share of a kept voice's
    entries into a new bar that come no later in the bar than it ever came in in the sketch
    (``entries_on_time``)."""
    from scorefarm.symbolic.extend import bar_starts, extend_score
    from scorefarm.symbolic.score_io import load_score

    out = {"entries_on_time": {}}
    for keep in (True, False):
        kept = owed = timely = entries = 0
        for path in sorted((ROOT / "corpora" / "demo" / "sketches").glob("*.mid")):
            sketch = load_score(path)
            pitched = symusic.Score(sketch.ticks_per_quarter)
            pitched.tracks = [t for t in sketch.tracks if not t.is_drum and t.note_num()]
            starts = bar_starts(sketch, sketch.end())
            end = next(s for s in starts if s >= max(t.end() for t in pitched.tracks))
            bar = starts[1] - starts[0]
            for seed in range(4):
                run = extend_score(sketch, replace(base, seed=seed, keep_voices=keep), model=model,
                                   tokenizer=tokenizer)
                continued = symusic.Score(sketch.ticks_per_quarter)
                continued.tracks = [t for t in run.score.tracks if not t.is_drum and t.note_num()]
                k, n = voices_kept(pitched, continued, bar, end)
                kept, owed = kept + k, owed + n
                k, n = entries_on_time(pitched, continued, [s for s in starts if s <= end], end, bar)
                timely, entries = timely + k, entries + n
        name = "keep_voices" if keep else "voices_may_rest"
        out[name] = round(kept / max(owed, 1), 4)
        out["entries_on_time"][name] = round(timely / max(entries, 1), 4)
    return out


def metrics(prompt_rows: list[tuple], cont_rows: list[tuple], prompt_bars: float = 4.0,
            cont_bars: float = 4.0, kept: tuple[int, int] = (0, 0)) -> dict:
    from scorefarm.symbolic.extend import estimate_key, pitch_class_histogram, scale_pitch_classes

    pp = np.array([r[2] for r in prompt_rows])
    cp = np.array([r[2] for r in cont_rows])
    hp = pitch_class_histogram(pp)
    tonic, mode = estimate_key(hp)
    scale = scale_pitch_classes(tonic, mode)
    if len(cp) == 0:
        return {"notes": 0, "prompt_notes": len(pp), "in_key": 0, "kl": float("nan"), "key_agree": 0.0, "copied": 0,
                "prompt_bars": prompt_bars, "cont_bars": cont_bars, "kept": kept}
    hc = pitch_class_histogram(cp)
    p = (hc + 0.1) / (hc + 0.1).sum()
    q = (hp + 0.1) / (hp + 0.1).sum()
    prompt_set = set(prompt_rows)
    return {
        "notes": len(cp), "prompt_notes": len(pp),
        "in_key": int(sum(1 for x in cp if x % 12 in scale)),
        "kl": float(np.sum(p * np.log(p / q))),
        "key_agree": float(estimate_key(hc) == (tonic, mode)),
        "copied": int(sum(1 for r in cont_rows if r in prompt_set)),
        "prompt_bars": prompt_bars, "cont_bars": cont_bars, "kept": kept,
    }


def summarise(rows: list[dict]) -> dict:
    notes = sum(r["notes"] for r in rows)
    return {
        "pieces": len(rows),
        "in_key_rate": round(sum(r["in_key"] for r in rows) / max(notes, 1), 4),
        "pch_kl": round(float(np.nanmean([r["kl"] for r in rows])), 4),
        "key_agreement": round(float(np.mean([r["key_agree"] for r in rows])), 4),
        "density_ratio": round((notes / sum(r["cont_bars"] for r in rows))
                               / max(sum(r["prompt_notes"] for r in rows) / sum(r["prompt_bars"] for r in rows), 1e-9),
                               4),
        "copy_rate": round(sum(r["copied"] for r in rows) / max(notes, 1), 4),
        "voices_kept": round(sum(r["kept"][0] for r in rows) / max(sum(r["kept"][1] for r in rows), 1), 4),
    }


def strided_windows(tokens, context: int) -> tuple[list[np.ndarray], list[int]]:
    """Windows (length <= context+1) and, per window, how many leading targets to skip."""
    windows, skips = [], []
    stride = context // 2
    for i in range(len(tokens)):
        piece = tokens.piece(i).astype(np.int64)
        start = 0
        while True:
            window = piece[start: start + context + 1]
            windows.append(window)
            skips.append(0 if start == 0 else context - stride)
            if start + context + 1 >= len(piece):
                break
            start += stride
    return windows, skips


def model_nll(model, windows, skips, pad: int) -> float:
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for w, skip in zip(windows, skips):
            x = torch.from_numpy(w).unsqueeze(0)
            logits = model(input_ids=x[:, :-1]).logits[0]
            nll = torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="none")[skip:]
            total += float(nll.sum())
            count += int(nll.numel())
    return total / max(count, 1), count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "extend")
    parser.add_argument("--build", type=Path, default=ROOT / "corpora" / "build")
    parser.add_argument("--sources", nargs="*", default=["bach", "essen"])
    parser.add_argument("--max-pieces", type=int, default=200, help="continuation pieces per source at most")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--split", default="test", choices=["test", "validation"],
                        help="held-out split to measure (validation: for choosing decoding settings)")
    parser.add_argument("--temperature", type=float, default=None, help="default: ExtendOptions' default")
    parser.add_argument("--top-p", type=float, default=None, help="default: ExtendOptions' default")
    parser.add_argument("--profile-weight", type=float, default=None, help="default: ExtendOptions' default")
    parser.add_argument("--skip-nll", action="store_true", help="continuations only")
    parser.add_argument("--no-ngram", action="store_true", help="skip the n-gram (when tuning decoding settings)")
    parser.add_argument("--no-keep-voices", action="store_true", help="decode without ExtendOptions.keep_voices")
    parser.add_argument("--record", action="store_true",
                        help="also store the figures in the model's training.json under 'figures'")
    args = parser.parse_args(argv)

    import torch

    from scorefarm.errors import ScoreError
    from scorefarm.symbolic.corpus import load_manifest
    from scorefarm.symbolic.extend import ExtendOptions, bar_starts, extend_score
    from scorefarm.symbolic.model import load_model
    from scorefarm.symbolic.ngram import MAX_ORDER as WittenBell_MAX, NgramDecoder, WittenBell
    from scorefarm.symbolic.tokenizer import Vocab
    from scorefarm.symbolic.train import load_token_sets

    torch.set_num_threads(args.threads)
    started = time.monotonic()
    model, tokenizer, record = load_model(args.model)
    vocab = Vocab.of(tokenizer)
    context = int(model.config.max_position_embeddings)
    sets = load_token_sets(args.build, tokenizer)
    result: dict = {"bench": "extend_quality", "model": str(args.model), "model_step": record.get("step"),
                    "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores", "nll": {},
                    "continuation": {}}

    def by_source(split, source):
        ts = sets[split]
        return [ts.piece(i) for i in range(len(ts)) if ts.sources[i] == source]

    decoding = {k: v for k, v in (("temperature", args.temperature), ("top_p", args.top_p),
                                  ("profile_weight", args.profile_weight)) if v is not None}
    base = ExtendOptions(bars=4, keep_voices=not args.no_keep_voices, **decoding)
    result["split"] = args.split
    result["decoding"] = {"temperature": base.temperature, "top_p": base.top_p, "top_k": base.top_k,
                          "chromatic_confidence": base.chromatic_confidence, "range_margin": base.range_margin,
                          "profile_weight": base.profile_weight, "keep_voices": base.keep_voices}
    # n-gram: order chosen on validation (all sources together)
    train_pieces = [sets["train"].piece(i) for i in range(len(sets["train"]))]
    val_pieces = [sets["validation"].piece(i) for i in range(len(sets["validation"]))]
    val_by_order = {}
    ngram = None
    for order in range(1, 0 if args.no_ngram else WittenBell_MAX + 1):
        val_by_order[order] = WittenBell(order, vocab.size).fit(train_pieces, vocab.pad).nll(val_pieces)[0]
    if val_by_order:
        best = min(val_by_order, key=val_by_order.get)
        ngram = WittenBell(best, vocab.size).fit(train_pieces, vocab.pad)
        result["ngram_order"] = best
        result["ngram_validation_nll"] = {str(k): round(v, 4) for k, v in val_by_order.items()}

    class _Subset:
        def __init__(self, pieces):
            self.pieces = pieces

        def __len__(self):
            return len(self.pieces)

        def piece(self, i):
            return self.pieces[i]

    for source in args.sources:
        if args.skip_nll:
            break
        test = by_source(args.split, source)
        if not test:
            continue
        windows, skips = strided_windows(_Subset(test), context)
        m_nll, m_count = model_nll(model, windows, skips, vocab.pad)
        result["nll"][source] = {"pieces": len(test), "tokens": m_count, "model": round(m_nll, 4)}
        if ngram is not None:
            n_nll, n_count = ngram.nll(test)
            assert n_count == m_count, (n_count, m_count)  # the same tokens scored
            result["nll"][source].update(ngram=round(n_nll, 4), ratio=round(m_nll / n_nll, 4))

    # continuations
    manifest = load_manifest(args.build)
    for source in args.sources:
        pieces = [p for p in manifest["pieces"] if p["split"] == args.split and p["source"] == source]
        rows = {"real": [], "model": [], "model_free": [], "ngram": []}
        used = 0
        for k, piece in enumerate(pieces):
            if used >= args.max_pieces:
                break
            score = symusic.Score(str(args.build / piece["midi"]))
            score.tracks = [t for t in score.tracks if t.note_num()]
            sigs = score.time_signatures
            if len(sigs) != 1 or not score.tracks or len(score.tracks) > 8:
                continue
            ends = bar_starts(score, score.end())
            if len(ends) < 9:
                continue
            bar = ends[1] - ends[0]
            b4, b8 = ends[4], ends[8]
            prompt = cut(score, 0, b4, False)
            if not all(t.note_num() for t in prompt.tracks):
                continue
            try:
                runs = {
                    "model": extend_score(prompt, replace(base, seed=k), model=model, tokenizer=tokenizer),
                    "model_free": extend_score(prompt, replace(base, seed=k, free=True), model=model,
                                               tokenizer=tokenizer),
                }
                if ngram is not None:
                    runs["ngram"] = extend_score(prompt, replace(base, seed=k), tokenizer=tokenizer,
                                                 decoder=NgramDecoder(ngram))
            except ScoreError as exc:  # a prompt the model cannot take (e.g. a 4/1 metre): counted
                result.setdefault("skipped", []).append(f"{piece['id']}: {exc.message}")
                continue
            used += 1
            prompt_rows = note_rows(score, bar, 0, b4)
            first = min(n.time for t in prompt.tracks for n in t.notes)
            prompt_bars = (b4 - first) / bar  # an anacrusis (padded to a bar by the corpus) is not a full bar
            rows["real"].append(metrics(prompt_rows, note_rows(score, bar, b4, b8), prompt_bars,
                                        kept=voices_kept(prompt, score, bar, b4)))
            for name, run in runs.items():
                rows[name].append(metrics(prompt_rows, note_rows(run.score, bar, b4, b8), prompt_bars,
                                          kept=voices_kept(prompt, run.score, bar, b4)))
        result["continuation"][source] = {name: summarise(r) for name, r in rows.items() if r}
    result["demo_sketches"] = demo_voices_kept(model, tokenizer, base)
    if "skipped" in result:
        result["skipped"] = {"count": len(result["skipped"]), "examples": result["skipped"][:3]}
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result))
    if args.record:
        from scorefarm.files import write_text_atomic

        path = args.model / "training.json"
        stored = json.loads(path.read_text())
        stored["figures"] = result
        write_text_atomic(path, json.dumps(stored, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
