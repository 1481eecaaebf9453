"""The voice-leading checker on known faults, clean progressions and Bach.

1. A file of known faults: every passage of
   ``symbolic/data/voice_leading_examples.json`` that plants a fault, laid out
   one per bar with a bar of rest between them, written to a MIDI file and
   checked through ``check_file`` (the path ``compose check`` takes). Every
   planted fault must be found at its bar, beat and voices; anything else
   found is listed as extra.
2. The clean textbook progressions of the same file: no fault may be reported.
   The augmented sixths (``data/augmented_sixth_examples.json``) plant one
   left unresolved and resolve two (It6 to V, Ger65 to the cadential 6/4).
3. The fixer on the known-faults file: how many faults re-voicing the inner
   voices removes, and which remain (those in the soprano or bass it may not
   touch); and its time on eight voices sounding seven pitch classes, 2 and 16
   beats (the candidates of a verticality are generated best first; building
   the whole product of choices took 13.4 s and 59.6 s on this machine); and
   its time on a long piece, BWV 66.6 repeated to 225 and 450 bars (each
   re-voiced stretch is judged by the faults in a window around it, under keys
   found once; checking the whole piece for every stretch took 2.4 s and
   10.4 s here, growing with the square of the length).
4. For scale: the checker over every Bach chorale of the music21 corpus (four
   voices, keys found by windows): faults per 100 transitions by kind, and the
   time per chorale. Passing and neighbour notes are no chord members for the
   seventh and leading-tone rules (``voiceleading``'s docstring): Bach's
   unresolved sevenths were 2.666 and leading tones 1.349 per 100 transitions
   when every note sounding counted, 1.018 and 0.973 when only passing notes
   were told apart, 0.540 and 0.952 before a seventh chord without its fifth
   counted only over its root in the bass (0.481 and 0.952 after: 20 reports
   fewer, none more; BWV 168.6 bar 3 and 304 bar 20 among them). Unresolved
   augmented sixths are always listed, with how many augmented sixth chords the
   checker reads (``augmented_sixths``: the chords, and the verticalities they
   span): Bach writes few, and resolves them (BWV 412 bar 12, the French sixth's
   B-flat and G-sharp to A; BWV 60.5 bar 16, the Italian's E-sharp falling to the
   seventh of F#7, which the rule allows).

    .venv/bin/python benchmarks/bench_check.py

Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path

from scorefarm.symbolic.bach_corpus import load_chorales
from scorefarm.symbolic.score_io import save_score
from scorefarm.symbolic.vl_examples import clean_voices, planted_faults_voices
from scorefarm.symbolic.vl_fix import fix_voices
from scorefarm.symbolic.vl_slices import Slices
from scorefarm.symbolic.voiceleading import KINDS, CheckOptions, check_file, check_voices
from scorefarm.symbolic.voices import Part, VNote, Voices, voices_to_score

TPQ = 480


def found(report) -> set[tuple]:
    return {(f.kind, f.bar, f.beat, f.voices) for f in report.faults}


def through_file(voices: Voices, folder: Path, name: str):
    path = folder / name
    save_score(voices_to_score(voices), path)
    return check_file(path, CheckOptions())


def augmented_sixths(voices: Voices) -> Counter:
    """How many augmented sixth chords the checker reads in ``voices`` (runs of verticalities
    of one key's augmented sixth), and how many verticalities they span."""
    slices = Slices(voices)
    keys = [slices.augmented_sixth_key(k) for k in range(len(slices.ticks))]
    chords = sum(1 for k, key in enumerate(keys) if key is not None and (k == 0 or keys[k - 1] != key))
    return Counter(chords=chords, verticalities=sum(key is not None for key in keys))


def dense_eight(beats: int) -> Voices:
    """Eight voices, seven pitch classes at every beat, every voice moving."""
    chords = [[84, 79, 76, 74, 71, 69, 65, 48], [86, 81, 77, 76, 72, 71, 67, 50], [88, 84, 79, 76, 72, 67, 64, 45]]
    rows = [chords[[0, 1, 2, 1][i % 4]] for i in range(beats)]
    return Voices(TPQ, [Part(f"V{v + 1}", [VNote(i * TPQ, (i + 1) * TPQ, row[v]) for i, row in enumerate(rows)])
                        for v in range(8)])


def fix_speed() -> dict:
    out = {}
    for beats in (2, 16):
        start = time.perf_counter()
        result = fix_voices(dense_eight(beats))
        out[f"{beats}_beats"] = {"seconds": round(time.perf_counter() - start, 2),
                                 "faults_before": len(result.before.faults), "faults_after": len(result.after.faults)}
    return out


def repeated_chorale(chorale, bars: int) -> Voices:
    """``chorale`` played over and over for ``bars`` bars (it must fill whole bars, its
    pickup completing its last bar)."""
    bar = chorale.time_signature[0] * 4 / chorale.time_signature[1]
    period = chorale.length_quarters - chorale.pickup_quarters
    copies = round(bars * bar / period)
    parts = [Part(name, [VNote(int(round((on + c * period) * TPQ)), int(round((on + dur + c * period) * TPQ)), p)
                         for c in range(copies) for on, dur, p in chorale.voices[name]])
             for name in ("Soprano", "Alto", "Tenor", "Bass")]
    return Voices(TPQ, parts, [(0, *chorale.time_signature)])


def fix_long(chorales) -> dict:
    chorale = next(c for c in chorales if c.id == "bwv66.6")
    out = {}
    for bars in (225, 450):
        voices = repeated_chorale(chorale, bars)
        start = time.perf_counter()
        result = fix_voices(voices)
        out[f"{bars}_bars"] = {"seconds": round(time.perf_counter() - start, 2),
                               "transitions": result.before.transitions,
                               "faults_before": len(result.before.faults), "faults_after": len(result.after.faults)}
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        planted, expected = planted_faults_voices()
        report = through_file(planted, folder, "known_faults.mid")
        got = found(report)
        missed = sorted(set(expected) - got)
        extra = sorted(got - set(expected))
        clean, _ = clean_voices()
        clean_report = through_file(clean, folder, "clean.mid")
    fix = fix_voices(planted)
    chorales = load_chorales()
    counts: Counter = Counter()
    transitions = 0
    sixths = Counter()
    elapsed = 0.0
    for chorale in chorales:
        start = time.perf_counter()
        parts = [Part(name, [VNote(int(round(on * TPQ)), int(round((on + dur) * TPQ)), p)
                             for on, dur, p in chorale.voices[name]]) for name in ("Soprano", "Alto", "Tenor", "Bass")]
        voices = Voices(TPQ, parts, [(0, *chorale.time_signature)])
        bach = check_voices(voices)
        elapsed += time.perf_counter() - start  # the sixths counted apart are not timed
        counts.update(f.kind for f in bach.faults)
        transitions += bach.transitions
        sixths.update(augmented_sixths(voices))
    print(json.dumps({
        "benchmark": "voice_leading_check",
        "known_faults": {
            "planted": len(expected),
            "found": len(expected) - len(missed),
            "missed": [list(m) for m in missed],
            "extra": [list(e) for e in extra],
            "kinds_planted": sorted({e[0] for e in expected}),
            "target": "every planted fault found",
        },
        "clean_progressions": {"chords": sum(len(p.notes) for p in clean.parts[:1]),
                               "faults_reported": len(clean_report.faults), "target": 0},
        "fix_known_faults": {"before": len(fix.before.faults), "after": len(fix.after.faults),
                             "remaining": sorted({f.kind for f in fix.after.faults})},
        "fix_eight_voices": fix_speed(),
        "fix_long_chorale": {"piece": "bwv66.6 repeated", **fix_long(chorales)},
        "bach_chorales": {
            "chorales": len(chorales), "transitions": transitions,
            "per_100_transitions": {k: round(100 * counts[k] / transitions, 3) for k in KINDS
                                    if counts[k] or k == "unresolved_augmented_sixth"},
            "augmented_sixths": dict(sixths),
            "ms_per_chorale": round(1000 * elapsed / len(chorales), 1),
        },
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()},
    }))


if __name__ == "__main__":
    main()
