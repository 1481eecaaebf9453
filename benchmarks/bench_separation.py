"""Claim: the learned voice separation recovers the parts of mixed four-part music.

The part-separation task of Dong, Donahue, Berg-Kirkpatrick and McAuley (ISMIR
2021, "Towards Automatic Instrumentation by Learning to Separate Parts in
Symbolic Multitrack Music"): the parts of each held-out test piece are mixed into
one note list, ``scorefarm.arrange.separate.separate`` assigns each note a part,
and the score is the share of notes given their original part. Notes with the
same onset and pitch in two parts (unisons) cannot be told apart in the mix and
are scored by the best matching among themselves.

Test pieces: the Bach chorales held out by ``symbolic.bach_corpus.is_held_out``
and the string-quartet movements of the music21 corpus in the hash test split
(``arrange.separation_data``). Alongside: the zone baseline (pitch boundaries fitted
on the training split in this run) on the same notes, and the published figures
(Bach: BiLSTM 97.1%, zone 73.1%; string quartets: BiLSTM 74.4%, on MusicNet, not
on these music21 quartets). Prints one JSON line and writes it to
``benchmarks/results/separation.json``.

    .venv/bin/python benchmarks/bench_separation.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

PUBLISHED = {
    "source": "Dong et al., ISMIR 2021 (note accuracy, %), as quoted in issue #5",
    "bach": {"bilstm": 97.1, "zone": 73.1, "data": "Bach chorales (music21 corpus)"},
    "quartets": {"bilstm": 74.4, "data": "MusicNet string quartets (ours: music21 corpus quartets)"},
}
TARGETS = {"bach": 97.5, "quartets": 74.4}
TPQ = 480
RESULT = Path(__file__).resolve().parent / "results" / "separation.json"


def run_kind(pieces, zones, monophonic: bool) -> dict:
    from scorefarm.arrange.separate import separate, zone_baseline
    from scorefarm.arrange.separation_data import score_labels

    model_correct = zone_correct = rank_correct = notes = 0
    seconds = bars = 0.0
    for piece in pieces:
        mixed = [(int(round(on * TPQ)), max(1, int(round(d * TPQ))), int(p))
                 for on, d, p in zip(piece.onset, piece.duration, piece.pitch)]
        start = time.perf_counter()
        result = separate(mixed, TPQ, beats_per_bar=piece.bar_quarters, monophonic=monophonic)
        seconds += time.perf_counter() - start
        bars += float(np.max(piece.onset + piece.duration)) / piece.bar_quarters
        model_correct += score_labels(piece.onset, piece.pitch, piece.part, result.labels)
        zone_correct += score_labels(piece.onset, piece.pitch, piece.part, zone_baseline(mixed, TPQ, zones))
        rank_correct += score_labels(piece.onset, piece.pitch, piece.part, rank_baseline(piece, monophonic))
        notes += len(piece)
    return {"model_accuracy": round(100 * model_correct / notes, 2), "zone_accuracy": round(100 * zone_correct / notes, 2),
            "rank_accuracy": round(100 * rank_correct / notes, 2),
            "notes": notes, "pieces": len(pieces), "bars": round(bars, 1), "monophonic": monophonic,
            "seconds_per_100_bars": round(100 * seconds / bars, 4)}


def rank_baseline(piece, monophonic: bool) -> np.ndarray:
    """A second, unlearned baseline: part = rank from the top among the notes
    sounding at the onset (clipped to the bass), through the same per-onset
    assignment as the model."""
    from scorefarm.arrange.separate import BUSY_PENALTY, PARTS, assign, onset_context

    rank_top = onset_context(piece.onset, piece.duration, piece.pitch.astype(np.int64))[0]
    probs = np.full((len(piece), PARTS), 0.01)
    probs[np.arange(len(piece)), np.minimum(rank_top, PARTS - 1)] = 0.97
    return assign(piece.onset, piece.duration, probs, monophonic=monophonic, busy_penalty=BUSY_PENALTY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave results/separation.json alone")
    args = parser.parse_args()

    import torch

    from scorefarm.arrange import separation_data as data
    from scorefarm.arrange.separate import load_model

    torch.set_num_threads(1)  # the claim is "on one core"
    pieces = data.load_pieces()
    _, config, _ = load_model()
    separate_warmup()
    out: dict = {"benchmark": "separation", "split": "test"}
    for kind, name in (("bach", "bach"), ("quartet", "quartets")):
        zones = data.fit_zones(data.select(pieces, split="train", kind=kind))
        test = data.select(pieces, split="test", kind=kind)
        figures = run_kind(test, zones, monophonic=True)
        if kind == "quartet":  # double stops: also without the one-note-per-part constraint
            loose = run_kind(test, zones, monophonic=False)
            figures["model_accuracy_polyphonic"] = loose["model_accuracy"]
        figures["zones"] = list(zones)
        figures["target"] = TARGETS[name]
        figures["pass"] = figures["model_accuracy"] >= TARGETS[name] if name == "bach" else figures["model_accuracy"] > TARGETS[name]
        figures["published"] = PUBLISHED[name]
        out[name] = figures
    total_notes = out["bach"]["notes"] + out["quartets"]["notes"]
    total_bars = out["bach"]["bars"] + out["quartets"]["bars"]
    out["seconds_per_100_bars"] = round((out["bach"]["seconds_per_100_bars"] * out["bach"]["bars"]
                                         + out["quartets"]["seconds_per_100_bars"] * out["quartets"]["bars"]) / total_bars, 4)
    out["notes"] = total_notes
    out["published_source"] = PUBLISHED["source"]
    out["baselines"] = {"zone": "fixed pitch boundaries per part, fitted on the training split (Dong et al.)",
                        "rank": "part = rank from the top among the notes sounding at the onset, clipped to 3, "
                                "through the model's per-onset assignment (no learning)"}
    out["model"] = {"layers": config["layers"], "hidden_size": config["hidden_size"], "max_notes": config["max_notes"],
                    "busy_penalty": config.get("busy_penalty")}
    out["torch_threads"] = 1
    out["load_average_1min"] = round(os.getloadavg()[0], 2)
    from scorefarm.machine import cpu_name

    out["machine"] = {"cpu": cpu_name(), "platform": platform.platform(), "python": platform.python_version(),
                      "cores": os.cpu_count(), "torch": torch.__version__}
    line = json.dumps(out)
    print(line)
    if not args.no_write:
        from scorefarm.files import write_text_atomic

        write_text_atomic(RESULT, line + "\n")


def separate_warmup() -> None:
    """Load the model and run it once so timings do not include loading."""
    from scorefarm.arrange.separate import separate

    separate([(0, 480, 60), (0, 480, 64), (0, 480, 67), (0, 480, 48)], TPQ)


if __name__ == "__main__":
    main()
