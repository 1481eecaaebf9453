"""How different film style is from chorale style, on the same melodies.

Thirteen melodies: the demo's lullaby (``corpora/demo/sketches/4m1_lullaby.mid``,
the cue the demo film harmonizes) and the sopranos of the first twelve held-out
Bach chorales. Each is harmonized in both styles (``harmonize_melody``, the key
found from the melody) and the results are compared:

- ``beats_per_chord``: the harmonic rhythm (melody beats over chords; a chord
  repeated over the next span counts again);
- ``melody_time``: the melody's sounding time under each chord, shared out as
  ``chord_tone``, ``colour`` (outside the chord, no chord tone a half step
  under it: a 9th, 11th, 13th or major 7th), ``avoid`` (a half step above a
  chord tone, or a mode clash: B over E-flat in G major) and ``cross_relation``
  (the other inflection of a chord tone's degree: A over A-flat), as
  ``harmonize.held_note_kind`` sorts notes under held chords;
- ``rub_share``: the share of the melody's time spent a minor second or ninth
  above a lower voice sounding with it (F5 over an alto's E4);
- ``film_vocabulary_share``: the share of beats under a chord that only the film
  vocabulary has or favours (``symbolic/data/film_harmony.json``);
- ``beats_differing``: the share of beats whose sounding sonority (bass and pitch
  classes) differs between the two styles;
- ``open_position_share``: beats with more than an octave between soprano and tenor;
- ``tenor_bass_unison_share``: beats where tenor and bass sound the same pitch (a thin,
  doubled bottom);
- ``faults_per_100_beats`` and ``faults_per_100_chords``: what the voice-leading
  checker finds, each style judged by its own rules (``check_options_for``); film
  style changes chord about half as often, so per chord is the fairer comparison;
- ``seconds_per_melody``: harmonizing time, film style.

    .venv/bin/python benchmarks/bench_film_style.py

Prints one JSON line.
"""

from __future__ import annotations

import json
import platform
import time
from collections import Counter
from pathlib import Path

import bench_harmonize as bh

from scorefarm.symbolic.bach_corpus import load_chorales
from scorefarm.symbolic.film import film_vocabulary
from scorefarm.symbolic.harmonize import HarmonizeOptions, check_options_for, harmonize_melody, held_note_kind
from scorefarm.symbolic.score_io import load_score
from scorefarm.symbolic.voiceleading import check_voices

ROOT = Path(__file__).resolve().parents[1]
LULLABY = ROOT / "corpora" / "demo" / "sketches" / "4m1_lullaby.mid"


def melodies() -> list:
    held_out = [c for c in load_chorales() if c.held_out][:12]
    return [load_score(LULLABY)] + [bh.melody_score(c) for c in held_out]


def beat_states(result) -> list:
    """The sonority (bass, pitch classes relative to the key) sounding at each melody beat."""
    out, k = [], 0
    for slot in result.slots:
        while result.chords[k].end <= slot.start:
            k += 1
        out.append(result.states[k])
    return out


MELODY_CLASSES = ("chord_tone", "colour", "avoid", "cross_relation")


def melody_ticks(result) -> Counter:
    """The melody's ticks under each chord by ``MELODY_CLASSES``."""
    tonic = result.key[0]
    out = Counter()
    for note in result.voices.parts[0].notes:
        pc = (note.pitch - tonic) % 12
        for chord, (_, pcs) in zip(result.chords, result.states):
            overlap = min(note.end, chord.end) - max(note.start, chord.start)
            if overlap > 0:
                out[held_note_kind(pc, pcs)] += overlap
    return out


def rub_ticks(result) -> int:
    """Melody ticks sounding a minor second or ninth above a lower voice."""
    total = 0
    for note in result.voices.parts[0].notes:
        cuts = sorted({note.start, note.end, *(t for part in result.voices.parts[1:] for n in part.notes
                                                for t in (n.start, n.end) if note.start < t < note.end)})
        for a, b in zip(cuts, cuts[1:]):
            under = [n.pitch for part in result.voices.parts[1:] for n in part.notes if n.start <= a < n.end]
            total += (b - a) * any(note.pitch - p in (1, 13) for p in under)
    return total


def spacing_beats(result) -> tuple[int, int]:
    """(beats in open position, beats with tenor and bass in unison)."""
    def at(part, tick):
        return next((n.pitch for n in part.notes if n.start <= tick < n.end), None)

    opened = unison = 0
    soprano, _, tenor, bass = result.voices.parts
    for slot in result.slots:
        s, t, b = at(soprano, slot.start), at(tenor, slot.start), at(bass, slot.start)
        opened += s is not None and t is not None and s - t > 12
        unison += t is not None and t == b
    return opened, unison


def run() -> dict:
    vocab = film_vocabulary()
    colour = {(mode, (int(c["bass"]), tuple(sorted(c["pcs"])))) for mode in ("major", "minor") for c in vocab[mode]}
    stats = {style: Counter() for style in ("chorale", "film")}
    faults = {style: Counter() for style in stats}
    seconds = []
    for melody in melodies():
        results = {}
        for style in stats:
            start = time.perf_counter()
            result = harmonize_melody(melody, HarmonizeOptions(style=style))
            if style == "film":
                seconds.append(time.perf_counter() - start)
            results[style] = result
            s = stats[style]
            s["beats"] += len(result.slots)
            s["chords"] += len(result.chords)
            s.update(melody_ticks(result))
            s["rub_ticks"] += rub_ticks(result)
            s["colour_beats"] += sum((result.key[1], state) in colour for state in beat_states(result))
            opened, unison = spacing_beats(result)
            s["open_beats"] += opened
            s["unison_beats"] += unison
            report = check_voices(result.voices, check_options_for(style, result.key))
            faults[style].update(report.counts())
        film, chorale = beat_states(results["film"]), beat_states(results["chorale"])
        stats["film"]["differing"] += sum(a != b for a, b in zip(film, chorale))

    def summary(style: str) -> dict:
        s = stats[style]
        return {
            "beats_per_chord": round(s["beats"] / s["chords"], 3),
            "melody_time": {kind: round(s[kind] / sum(s[k] for k in MELODY_CLASSES), 4) for kind in MELODY_CLASSES},
            "rub_share": round(s["rub_ticks"] / sum(s[k] for k in MELODY_CLASSES), 4),
            "film_vocabulary_share": round(s["colour_beats"] / s["beats"], 4),
            "open_position_share": round(s["open_beats"] / s["beats"], 4),
            "tenor_bass_unison_share": round(s["unison_beats"] / s["beats"], 4),
            "faults_per_100_beats": round(100 * sum(faults[style].values()) / s["beats"], 2),
            "faults_per_100_chords": round(100 * sum(faults[style].values()) / s["chords"], 2),
            "faults": dict(sorted(faults[style].items())),
        }

    return {
        "benchmark": "film_style",
        "melodies": 13,
        "beats": stats["film"]["beats"],
        "chorale": summary("chorale"),
        "film": summary("film"),
        "beats_differing": round(stats["film"]["differing"] / stats["film"]["beats"], 4),
        "seconds_per_melody": round(sum(seconds) / len(seconds), 3),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "processor": platform.processor()},
    }


if __name__ == "__main__":
    print(json.dumps(run()))
