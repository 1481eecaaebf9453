"""Orchestration benchmark: part separation through `orchestrate --strict`, playability,
note recall and speed. Prints one JSON line; writes benchmarks/results/orchestrate.json.

Part separation is the task of Dong et al., "Towards Automatic Instrumentation by
Learning to Separate Parts in Symbolic Multitrack Music" (ISMIR 2021): the parts of
each held-out piece are mixed into one piano track, orchestrated in strict mode for
the matching ensemble (choir for the Bach chorales, string quartet for the quartets),
and a note is right when the instrument it lands on plays its original part. Notes
with the same onset and pitch in two parts cannot be told apart in the mix; they are
matched at best among themselves. The zone baseline (fixed pitch boundaries fitted on
the training split) is measured on the same notes in the same run.

Playability: every placed note of every benchmark piece (strict, and full-orchestra
with doublings) and of every demo cue is checked against its instrument's
professional range and its part's notes-at-once (demo cues after their extension and
harmonization, as the cue pipeline runs them). Recall: the share of the source's
(onset, pitch) pairs that some instrument plays, with doublings. Speed: a 100-bar
reduction (a held-out quartet movement's mix, cut to 100 bars) orchestrated for the
full orchestra on one thread, best of three.

    .venv/bin/python benchmarks/bench_orchestrate.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import symusic
import torch

from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.arrange.separate import zone_baseline
from scorefarm.arrange.separation_data import fit_zones, load_pieces, score_labels, select
from scorefarm.machine import cpu_name

TPQ = 480
ROOT = Path(__file__).resolve().parents[1]
ENSEMBLE = {"bach": "choir", "quartet": "string-quartet"}
PUBLISHED = {"bach": {"bilstm": 97.1, "zone": 73.1},
             "quartet": {"bilstm": 74.4, "data": "MusicNet string quartets (ours: the music21 corpus quartets)"}}


def piece_score(piece) -> symusic.Score:
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, 100.0))
    beats = max(1, round(piece.bar_quarters))
    score.time_signatures.append(symusic.TimeSignature(0, beats, 4))
    track = symusic.Track("Piano", 0, False)
    for on, dur, pitch in zip(piece.onset.tolist(), piece.duration.tolist(), piece.pitch.tolist()):
        track.notes.append(symusic.Note(round(on * TPQ), max(1, round(dur * TPQ)), int(pitch), 80))
    score.tracks.append(track)
    return score


def violations(result) -> tuple[int, int]:
    """(notes outside their instrument's professional range, moments over a part's notes-at-once)."""
    out_of_range = over = 0
    for index, part in enumerate(result.ensemble.parts):
        notes = [p for p in result.placed if p.part == index]
        out_of_range += sum(not part.instrument.in_range(p.pitch) for p in notes if not part.instrument.unpitched)
        edges = sorted([(p.time, 1) for p in notes] + [(p.time + max(p.duration, 1), -1) for p in notes],
                       key=lambda e: (e[0], e[1]))
        count = 0
        for _, step in edges:
            count += step
            over += step > 0 and count > part.max_notes
    return out_of_range, over


def recall(score: symusic.Score, result) -> tuple[int, int]:
    source = {(n.time, n.pitch) for t in score.tracks if not t.is_drum for n in t.notes}
    return len(source & {(p.time, p.pitch) for p in result.placed}), len(source)


def separation(kind: str, pieces, limit: int | None) -> dict:
    test = select(pieces, split="test", kind=kind)[:limit]
    zones = fit_zones(select(pieces, split="train", kind=kind))
    lane_of = None
    right = zone_right = total = 0
    bad_range = bad_chords = found = wanted = 0
    for piece in test:
        score = piece_score(piece)
        strict = orchestrate(score, OrchestrateOptions(ensemble=ENSEMBLE[kind], strict=True))
        if lane_of is None:
            pitched = [i for i, p in enumerate(strict.ensemble.parts) if not p.instrument.unpitched]
            lane_of = {part: lane for lane, part in enumerate(pitched)}
        predicted = np.array([lane_of.get(int(p), -1) for p in strict.part_of_source])
        onsets, pitches = strict.source_notes[:, 0], strict.source_notes[:, 2]
        truth_onsets = np.round(piece.onset * TPQ).astype(np.int64)
        right += score_labels(*_aligned(truth_onsets, piece.pitch, piece.part, onsets, pitches, predicted))
        notes = [(int(o), max(1, int(round(d * TPQ))), int(p)) for o, d, p in
                 zip(truth_onsets, piece.duration, piece.pitch)]
        zone_right += score_labels(truth_onsets, piece.pitch, piece.part, zone_baseline(notes, TPQ, zones))
        total += len(piece)
        full = orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))
        for result in (strict, full):
            r, c = violations(result)
            bad_range, bad_chords = bad_range + r, bad_chords + c
        got, of = recall(score, full)
        found, wanted = found + got, wanted + of
    return {"pieces": len(test), "notes": total, "accuracy": round(100 * right / max(total, 1), 2),
            "zone_baseline": round(100 * zone_right / max(total, 1), 2), "zones": list(zones),
            "published": PUBLISHED[kind], "out_of_range": bad_range, "over_notes_at_once": bad_chords,
            "recall_full_orchestra": round(found / max(wanted, 1), 4)}


def _aligned(truth_onsets, truth_pitches, truth_parts, onsets, pitches, predicted):
    """Truth and prediction in one order (by onset, pitch): score_labels compares
    them group by group of equal (onset, pitch), so order inside a group is free."""
    t_order = np.lexsort((truth_pitches, truth_onsets))
    p_order = np.lexsort((pitches, onsets))
    assert np.array_equal(truth_onsets[t_order], onsets[p_order]) and np.array_equal(
        truth_pitches[t_order], pitches[p_order]), "the orchestration lost or moved a source note"
    return onsets[p_order], pitches[p_order], truth_parts[t_order], predicted[p_order]


def demo_cues() -> dict:
    from scorefarm.symbolic.cuelist import load_cue_list
    from scorefarm.symbolic.score_io import load_score

    checked = {}
    for cue in load_cue_list(ROOT / "corpora" / "demo" / "film.toml").cues:
        if not cue.ensemble:
            continue
        score = load_score(cue.sketch)
        if cue.extend_bars:  # the cue pipeline's stages before orchestration
            from scorefarm.symbolic.extend import extend_for_cue

            score = extend_for_cue(score, cue.extend_bars, cue.seed, name=str(cue.sketch)).score
        if cue.harmonize:
            from scorefarm.symbolic.harmonize import HarmonizeOptions, harmonize_score

            score, _ = harmonize_score(score, HarmonizeOptions(style="film"), name=str(cue.sketch))
        result = orchestrate(score, OrchestrateOptions(ensemble=cue.ensemble))
        r, c = violations(result)
        got, of = recall(score, result)
        checked[cue.id] = {"ensemble": cue.ensemble, "out_of_range": r, "over_notes_at_once": c,
                           "recall": round(got / max(of, 1), 4)}
    return checked


def speed(pieces) -> dict:
    quartets = sorted(select(pieces, split="test", kind="quartet"), key=lambda p: -len(p))
    piece = quartets[0]
    bars = 100
    keep = piece.onset < bars * piece.bar_quarters
    cut = piece.window(0, int(keep.sum()))
    score = piece_score(cut)
    torch.set_num_threads(1)
    orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))  # the model loads once per process
    best = min(_timed(score) for _ in range(3))
    return {"piece": piece.id, "bars": round(float(cut.onset.max() / cut.bar_quarters), 1),
            "notes": len(cut), "seconds": round(best, 3), "threads": 1}


def _timed(score) -> float:
    started = time.perf_counter()
    orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="test pieces per corpus (default: all)")
    args = parser.parse_args()
    pieces = load_pieces()
    result = {
        "bench": "orchestrate",
        "bach": separation("bach", pieces, args.limit),
        "quartets": separation("quartet", pieces, args.limit),
        "demo_cues": demo_cues(),
        "speed_100_bars": speed(pieces),
        "machine": {"cpu": cpu_name(), "cores": 2, "python": platform.python_version(),
                    "torch_threads_speed": 1},
    }
    line = json.dumps(result, sort_keys=True)
    print(line)
    out = ROOT / "benchmarks" / "results" / "orchestrate.json"
    out.write_text(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
