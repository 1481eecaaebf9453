"""Extension speed: 16 bars of a 4-part texture; prints one JSON line and writes it
to ``benchmarks/results/extend_speed.json`` (``--no-write``: print only).

    python benchmarks/bench_extend_speed.py [--model models/extend] [--threads 2] [--repeats 5]

The prompt is the first 4 bars of a 4-part Bach chorale from the build's test
split (or a made-up 4-part texture when no build exists). Measured after one warm-up
run, model loading excluded, the median of ``--repeats``:

* ``loop``: ``extend_score`` (``FastDecoder``'s KV cache, every constraint on: grammar,
  ranges, key, profile; decoding to MIDI) for 16 bars;
* ``generate``: ``model.generate`` (transformers' sampler with its own KV cache) with
  the same constraints as logits processors, on the same model, prompt and thread
  count (1).
  ``generate`` cannot slide its window, so it produces exactly the tokens the context
  has room for; its seconds per 16 bars are extrapolated from its tokens/s at the
  loop's token count for 16 bars (``seconds_per_16_bars_extrapolated``).

Tokens/s counts generated tokens; the loop's seconds per 16 bars is the wall time of
a whole run (tokenizing the prompt, decoding, writing the score). The machine is
shared: the load average before and after is reported with the figures, and the
loop's CPU seconds (``process_time``) beside its wall time, which other processes
on the two cores inflate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import symusic

from scorefarm.machine import cpu_name

ROOT = Path(__file__).resolve().parents[1]


def chorale_prompt(build: Path) -> tuple[symusic.Score, str]:
    from scorefarm.symbolic.extend import bar_starts

    manifest = build / "manifest.json"
    if manifest.exists():
        pieces = json.loads(manifest.read_text())["pieces"]
        for piece in pieces:
            if piece["source"] == "bach" and piece["split"] == "test" and piece["tracks"] == 4:
                score = symusic.Score(str(build / piece["midi"]))
                b4 = bar_starts(score, score.end())[4]
                for track in score.tracks:
                    track.notes = track.notes.filter(lambda n: n.time < b4)
                if all(t.note_num() for t in score.tracks):
                    return score, piece["id"]
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    score.tempos.append(symusic.Tempo(0, 80.0))
    for v, base in enumerate([72, 64, 57, 48]):
        track = symusic.Track(f"voice {v}", 0, False)
        for i in range(16):
            track.notes.append(symusic.Note(i * 480, 480, base + [0, 2, 4, 5][i % 4], 80))
        score.tracks.append(track)
    return score, "made-up 4-part texture"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "extend")
    parser.add_argument("--build", type=Path, default=ROOT / "corpora" / "build")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only; leave results/extend_speed.json alone")
    args = parser.parse_args(argv)
    load_before = [round(x, 2) for x in os.getloadavg()]

    import torch
    from transformers import LogitsProcessorList

    from scorefarm.symbolic.extend import ExtendOptions, extend_score, plan_extension
    from scorefarm.symbolic.model import load_model
    from scorefarm.symbolic.tokenizer import Vocab

    torch.set_num_threads(args.threads)
    model, tokenizer, record = load_model(args.model)
    vocab = Vocab.of(tokenizer)
    prompt, prompt_name = chorale_prompt(args.build)
    context = int(model.config.max_position_embeddings)

    cpu_seconds = []

    def run_loop(seed: int):
        t0, c0 = time.perf_counter(), time.process_time()
        result = extend_score(prompt, ExtendOptions(bars=args.bars, seed=seed), model=model, tokenizer=tokenizer)
        cpu_seconds.append(time.process_time() - c0)
        return time.perf_counter() - t0, result.tokens_generated

    def run_generate(seed: int):
        """Plain ``generate`` cannot slide its window: it runs the same prompt and the
        same processors for as many tokens as the context leaves (exactly that many)."""
        plan = plan_extension(prompt, ExtendOptions(bars=args.bars, seed=seed), tokenizer, context)
        torch.manual_seed(seed)
        ids = torch.tensor([plan.ids])
        n = context - len(plan.ids)
        before = torch.get_num_threads()
        torch.set_num_threads(1)  # the loop's setting (extend_score decodes on one thread)
        try:
            t0 = time.perf_counter()
            out = model.generate(ids, do_sample=True, temperature=0.9, top_p=0.95, top_k=0, max_new_tokens=n,
                                 min_new_tokens=n, logits_processor=LogitsProcessorList(plan.processors),
                                 pad_token_id=vocab.pad)
            seconds = time.perf_counter() - t0
        finally:
            torch.set_num_threads(before)
        return seconds, int(out.shape[1] - len(plan.ids))

    results = {}
    for name, fn in (("loop", run_loop), ("generate", run_generate)):
        fn(0)  # warm-up
        times, tokens = [], []
        for r in range(args.repeats):
            seconds, n = fn(r + 1)
            times.append(seconds)
            tokens.append(n)
        results[name] = {"seconds_per_run_median": round(statistics.median(times), 3),
                         "tokens_per_run_median": int(statistics.median(tokens)),
                         "tokens_per_second": round(sum(tokens) / sum(times), 1)}
    loop_tokens = results["loop"]["tokens_per_run_median"]
    results["loop"]["seconds_per_16_bars"] = round(results["loop"]["seconds_per_run_median"] * 16 / args.bars, 3)
    results["loop"]["cpu_seconds_per_16_bars"] = round(statistics.median(cpu_seconds[1:]) * 16 / args.bars, 3)
    # generate cannot reach 16 bars inside the context: its time for the loop's token count
    results["generate"]["seconds_per_16_bars_extrapolated"] = round(
        loop_tokens * 16 / args.bars / results["generate"]["tokens_per_second"], 3)
    line = json.dumps({
        "bench": "extend_speed", "model": str(args.model), "model_step": record.get("step"),
        "prompt": prompt_name, "bars": args.bars, "threads": args.threads, "repeats": args.repeats,
        "machine": f"{cpu_name()}, {os.cpu_count()} cores", "torch": torch.__version__,
        "load_average_before": load_before, "load_average": [round(x, 2) for x in os.getloadavg()], **results,
    })
    print(line)
    if not args.no_write:
        out = ROOT / "benchmarks" / "results" / "extend_speed.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
