"""Chord labels per beat against the Roman-numeral analyses shipped with music21.

The music21 corpus holds human analyses (.rntxt, RomanText) of 20 Bach
chorales (``bach/choraleAnalyses``) and 48 Monteverdi madrigals (beside the
scores in ``monteverdi/``). Each score is converted to a symusic score as the
toolkit would hold it (``voices.music21_to_score``) and analysed by
``analysis.analyze_score``; at every beat the label is compared with the
analyst's Roman numeral sounding at that moment:

- ``chord``: same root and same triad quality (major, minor, diminished,
  augmented; a seventh may be present or not);
- ``chord_exact``: same root, same quality including the seventh, same bass;
- ``key``: same key (tonic and mode);
- ``roman``: the same figure string, counted where the key also agrees.

As a baseline, music21 alone: ``chordify`` the score, and at each beat call
``romanNumeralFromChord`` on all the pitches sounding, in the key music21's
own ``analyze('key')`` finds for the whole piece.

    .venv/bin/python benchmarks/bench_analysis.py

Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from pathlib import Path

from scorefarm.symbolic.analysis import AnalyzeOptions, analyze_score
from scorefarm.symbolic.chords import TRIAD_OF
from scorefarm.symbolic.voices import music21_to_score

TPQ = 480
TRIADS = {"major", "minor", "diminished", "augmented"}
ALIGNED = 0.6  # share of numerals whose bass is the score's lowest note for a pair to count as aligned


def corpus_pairs() -> list[tuple[str, Path, Path]]:
    from music21 import corpus

    root = Path(corpus.getComposer("bach")[0]).parent.parent
    pairs = []
    for rn in sorted((root / "bach" / "choraleAnalyses").glob("*.rntxt")):
        bwv = re.search(r"^BWV:\s*(\S+)", rn.read_text(errors="replace"), re.M)
        if not bwv:
            continue
        candidates = [root / "bach" / f"bwv{bwv[1]}.{ext}" for ext in ("mxl", "xml", "krn")]
        score = next((c for c in candidates if c.exists()), None)
        if score:
            pairs.append(("bach", rn, score))
    for rn in sorted((root / "monteverdi").glob("*.rntxt")):
        score = rn.with_suffix(".mxl")
        if score.exists():
            pairs.append(("monteverdi", rn, score))
    return pairs


def reference(rn_path: Path):
    """[(offset, root pc, triad quality, full quality, bass pc, tonic pc, mode, figure)] by offset."""
    from music21 import converter, roman

    stream = converter.parse(str(rn_path), format="romantext")
    out = []
    for rn in stream.flatten().getElementsByClass(roman.RomanNumeral):
        quality = rn.quality if rn.quality in TRIADS else "other"
        full = rn.commonName
        seventh = rn.seventh is not None
        out.append(((rn.measureNumber, float(rn.beat)), rn.root().pitchClass, quality, seventh, rn.bass().pitchClass,
                    rn.key.tonic.pitchClass, rn.key.mode, rn.figure, frozenset(p.pitchClass for p in rn.pitches),
                    full))
    out.sort(key=lambda r: r[0])
    return out, float(stream.highestTime)


def measure_map(stream, shift_quarters: float):
    """tick position (quarters, pickup shifted) -> (measure number, beat) as the score's own
    measures count them (irregular measures included), for comparing with RomanText."""
    import bisect

    part = stream.parts[0] if hasattr(stream, "parts") and stream.parts else stream
    measures = []
    for m in part.getElementsByClass("Measure"):
        ts = m.getContextByClass("TimeSignature")
        beat_q = float(ts.beatDuration.quarterLength) if ts else 1.0
        measures.append((float(m.offset) + shift_quarters, m.number, beat_q, float(m.paddingLeft or 0.0)))
    starts = [m[0] for m in measures]

    def position(quarters: float) -> tuple[int, float]:
        i = max(0, bisect.bisect_right(starts, quarters + 1e-9) - 1)
        start, number, beat_q, padding = measures[i]
        return number, round((quarters - start + padding) / beat_q + 1, 4)

    return position


def alignment(ref, score, positions) -> float:
    """How often the analyst's bass is the lowest note sounding in the score at the
    numeral's (measure, beat): near 1 when analysis and score are the same edition,
    near chance when bars are numbered differently or the score is transposed. Uses
    the score only, never the analyser being measured."""
    notes = sorted((n.time, n.time + n.duration, n.pitch) for t in score.tracks for n in t.notes)
    lowest = {}
    for tick in sorted({n[0] for n in notes}):
        sounding = [p for a, b, p in notes if a <= tick < b]
        lowest[positions(tick / TPQ)] = min(sounding) % 12
    hits = [lowest[entry[0]] == entry[4] for entry in ref if entry[0] in lowest]
    return sum(hits) / len(hits) if hits else 0.0


def active(ref, position: tuple[int, float]):
    """The analyst's numeral sounding at (bar, beat): the last one at or before it,
    within the bars the analysis covers."""
    current = None
    for entry in ref:
        if entry[0][0] < position[0] or (entry[0][0] == position[0] and entry[0][1] <= position[1] + 1e-6):
            current = entry
        else:
            break
    if current is None or position[0] > ref[-1][0][0]:
        return None
    return current


def evaluate(pairs, options: AnalyzeOptions) -> dict:
    from music21 import converter

    totals: dict[str, dict[str, int]] = {}
    baseline: dict[str, dict[str, int]] = {}
    for collection, rn_path, score_path in pairs:
        ref, end = reference(rn_path)
        stream = converter.parse(str(score_path))
        score, first_bar, shift = music21_to_score(stream, TPQ)
        analysis = analyze_score(score, options, first_bar=first_bar)
        positions = measure_map(stream, shift / TPQ)
        collection = collection if alignment(ref, score, positions) >= ALIGNED else collection + "_misaligned"
        t = totals.setdefault(collection, {"beats": 0, "chord": 0, "chord_exact": 0, "key": 0, "roman": 0, "pieces": 0})
        t["pieces"] += 1
        for beat in analysis.beats:
            want = active(ref, positions(beat.tick / TPQ))
            if want is None:
                continue
            _, root, triad, seventh, bass, tonic, mode, figure, pcs, _ = want
            t["beats"] += 1
            if beat.root is None:
                continue
            ours_triad = TRIAD_OF[beat.quality]
            ours_seventh = beat.quality in ("dominant-seventh", "major-seventh", "minor-seventh",
                                            "half-diminished-seventh", "diminished-seventh")
            same_chord = beat.root == root and ours_triad == triad
            t["chord"] += same_chord
            t["chord_exact"] += same_chord and ours_seventh == seventh and beat.bass == bass
            same_key = beat.tonic == tonic and beat.mode == mode
            t["key"] += same_key
            t["roman"] += same_key and _norm(beat.roman) == _norm(figure)
        b = baseline.setdefault(collection, {"beats": 0, "chord": 0, "key": 0, "pieces": 0})
        b["pieces"] += 1
        _baseline(stream, ref, b)
    return {"ours": _rates(totals), "music21_chordify_baseline": _rates(baseline)}


def _baseline(stream, ref, tally) -> None:
    """music21 alone: chordify, one global key, romanNumeralFromChord at each beat."""
    from music21 import roman

    key = stream.analyze("key")
    chordified = stream.chordify()
    for measure in chordified.getElementsByClass("Measure"):
        ts = measure.getContextByClass("TimeSignature")
        beat_q = float(ts.beatDuration.quarterLength) if ts else 1.0
        chords = list(measure.getElementsByClass("Chord"))
        padding = float(measure.paddingLeft or 0.0)
        beats = int(round((float(measure.duration.quarterLength) + padding) / beat_q))
        for b in range(beats):
            at = b * beat_q - padding  # offset inside the measure
            if at < 0:
                continue
            want = active(ref, (measure.number, float(b + 1)))
            if want is None:
                continue
            tally["beats"] += 1
            sounding = [c for c in chords if float(c.offset) <= at + 1e-6 < float(c.offset + c.quarterLength)]
            if not sounding:
                continue
            rn = roman.romanNumeralFromChord(sounding[0], key)
            quality = rn.quality if rn.quality in TRIADS else "other"
            tally["chord"] += rn.root().pitchClass == want[1] and quality == want[2]
            tally["key"] += key.tonic.pitchClass == want[5] and key.mode == want[6]


def _norm(figure: str) -> str:
    return figure.replace("6/4", "64").replace("6/5", "65").replace("4/3", "43").replace("4/2", "42").replace(
        "ø", "/o").replace("[no3]", "").replace("[no5]", "")


def _rates(totals):
    out = {}
    for collection, t in sorted(totals.items()):
        out[collection] = {"pieces": t.get("pieces"), "beats": t["beats"]} | {
            k: round(v / t["beats"], 4) for k, v in t.items() if k not in ("beats", "pieces")}
    keys = [k for k in next(iter(totals.values())) if k not in ("beats", "pieces")]
    for label, chosen in (("aligned", [t for c, t in totals.items() if not c.endswith("_misaligned")]),
                          ("everything", list(totals.values()))):
        beats = sum(t["beats"] for t in chosen)
        out[label] = {"beats": beats} | {k: round(sum(t[k] for t in chosen) / beats, 4) for k in keys}
    return out


def main() -> None:
    start = time.perf_counter()
    pairs = corpus_pairs()
    result = evaluate(pairs, AnalyzeOptions())
    print(json.dumps({
        "benchmark": "analysis_vs_rntxt",
        "pieces": len(pairs),
        "chord_label_agreement_per_beat": result["ours"],
        "music21_chordify_baseline": result["music21_chordify_baseline"],
        "seconds": round(time.perf_counter() - start, 1),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()},
    }))


if __name__ == "__main__":
    main()
