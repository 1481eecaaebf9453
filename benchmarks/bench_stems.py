"""Claim: rendering one stem per section costs no more than 1.2x the FluidSynth CLI
rendering the same MIDI file to one stereo WAV.

Builds a ~60 s, four-section cue (strings, woodwinds, brass, percussion: 14 tracks, with
CC1/CC11 swells, a tempo change and an orchestral drum kit), writes it as MIDI, then
times, as the median of 3 runs each:

(a) ``fluidsynth -ni -F out.wav -r 48000 -O s24 -R 0 -C 0 SF2 cue.mid``: a fresh process
    that loads the SoundFont, renders the whole file and writes a 24-bit WAV;
(b) ``render_stems`` in a fresh Python process: interpreter start, imports, reading the
    MIDI file, loading the SoundFont and rendering all four stems in one call (no WAV
    is written; its render also runs 2 s longer, the release tail);
(c) the same with one ``render_stems(..., sections=[s])`` call per stem, as the cue
    pipeline and the farm call it (one Ray task per stem; here one after another).

Prints one JSON line. Run: ``.venv/bin/python benchmarks/bench_stems.py [--soundfont X]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import symusic

TPQ = 480
SEED = 20240611

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import symusic
from scorefarm.render.soundfonts import resolve_soundfont
from scorefarm.render.synth import render_stems
t1 = time.perf_counter()
score = symusic.Score(sys.argv[1])
font = resolve_soundfont(sys.argv[2])
if sys.argv[3] == "per-stem":
    from scorefarm.render.synth import score_sections
    stems = {s: render_stems(score, font, sections=[s]).stems[s] for s in score_sections(score)}
else:
    stems = render_stems(score, font).stems
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "render_with_soundfont_load": t2 - t1,
                  "frames": len(next(iter(stems.values()))), "sections": list(stems)}))
"""


def _track(name: str, program: int, is_drum: bool = False) -> symusic.Track:
    return symusic.Track(name, program, is_drum)


def _note(track, beat, beats, pitch, velocity):
    track.notes.append(symusic.Note(int(round(beat * TPQ)), max(1, int(round(beats * TPQ))), int(pitch), int(velocity)))


def _swell(track, beat, beats, low, high, controller=11, steps=16):
    """A crescendo-diminuendo on one controller, as an orchestrator's CC lane would."""
    for k in range(steps + 1):
        shape = np.sin(np.pi * k / steps)
        value = int(round(low + (high - low) * shape))
        track.controls.append(symusic.ControlChange(int(round((beat + beats * k / steps) * TPQ)), controller, value))


def build_cue(bars: int = 24) -> symusic.Score:
    rng = np.random.default_rng(SEED)
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, 96.0))
    score.tempos.append(symusic.Tempo(16 * 4 * TPQ, 92.0))  # a slight broadening for the last bars
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    # i - VI - III - VII in D minor, one chord per bar
    chords = [[38, 50, 57, 62, 65], [34, 46, 53, 58, 62], [41, 53, 57, 60, 65], [36, 48, 55, 60, 64]]
    strings = [_track(n, p) for n, p in (("Violin I", 40), ("Violin II", 40), ("Viola", 41),
                                         ("Violoncello", 42), ("Contrabass", 43))]
    winds = [_track(n, p) for n, p in (("Flute", 73), ("Oboe", 68), ("Clarinet in Bb", 71), ("Bassoon", 70))]
    brass = [_track(n, p) for n, p in (("Horn in F", 60), ("Trumpet in Bb", 56), ("Trombone", 57))]
    timpani, kit = _track("Timpani", 47), _track("Percussion", 48, is_drum=True)
    melody = [74, 72, 69, 70, 72, 74, 77, 76, 74, 72, 70, 69]
    for bar in range(bars):
        beat, chord = bar * 4.0, chords[bar % 4]
        for voice, track in zip((4, 3, 2, 1, 0), strings):  # sustained divisi chord, bowed swells
            pitch = chord[voice] + (12 if track.name.startswith("Violin") else 0)
            _note(track, beat, 4.0, pitch, 70 + rng.integers(0, 15))
            _swell(track, beat, 4.0, 60, 110)
        _swell(strings[0], beat, 4.0, 40, 90, controller=1)
        if bar >= 4:  # melody in flute/oboe, arpeggios in clarinet, bass line in bassoon
            for k in range(4):
                pitch = melody[(bar * 4 + k) % len(melody)]
                _note(winds[0 if bar % 2 else 1], beat + k, 0.95, pitch, 80 + rng.integers(0, 20))
            for k in range(8):
                _note(winds[2], beat + 0.5 * k, 0.45, chord[1 + k % 4] + 12, 60 + rng.integers(0, 20))
            _note(winds[3], beat, 2.0, chord[0] + 12, 70)
            _note(winds[3], beat + 2, 2.0, chord[2], 70)
        if bar >= 8:  # brass: horn pads, trumpet calls every other bar, trombone roots
            _note(brass[0], beat, 4.0, chord[2] + 12, 75)
            _note(brass[0], beat, 4.0, chord[3], 70)
            _swell(brass[0], beat, 4.0, 70, 120)
            if bar % 2 == 0:
                for k, (off, dur) in enumerate(((0, 0.75), (0.75, 0.25), (1, 2.0))):
                    _note(brass[1], beat + off, dur, chord[3] + 12 + (0, 0, 5)[k], 95)
            _note(brass[2], beat, 3.5, chord[0] + 12, 85)
        # percussion: timpani roll into each phrase, kit hits on downbeats
        if bar % 4 == 3:
            for k in range(16):
                _note(timpani, beat + 2 + k / 8, 0.12, chord[0] if k % 2 else chord[0] + 7, 60 + 4 * k)
        _note(kit, beat, 0.5, 35 if bar % 2 else 36, 100)  # bass drum
        if bar % 4 == 0:
            _note(kit, beat, 2.0, 49, 90)  # crash cymbal
        for k in range(4):
            _note(kit, beat + k + 0.5, 0.25, 42, 50 + rng.integers(0, 20))
    for track in (*strings, *winds, *brass, timpani, kit):
        score.tracks.append(track)
    return score


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _median_run(cmd: list[str], runs: int) -> tuple[float, float, list[str]]:
    """Median wall and CPU (user + system) seconds of ``cmd`` run ``runs`` times."""
    walls, cpus, outputs = [], [], []
    for _ in range(runs):
        cpu, start = _children_cpu(), time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
        if done.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        outputs.append(done.stdout)
    return statistics.median(walls), statistics.median(cpus), outputs


def _warm_render_seconds(midi: Path, soundfont) -> float:
    """render_stems alone, SoundFont already loaded in this process (median of 3)."""
    from scorefarm.render.synth import render_stems

    score = symusic.Score(str(midi))
    render_stems(score, soundfont)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        render_stems(score, soundfont)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soundfont", default="default")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from scorefarm.render.soundfonts import resolve_soundfont

    soundfont = resolve_soundfont(args.soundfont)
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "cue.mid"
        build_cue().dump_midi(str(midi))
        cli = ["fluidsynth", "-ni", "-F", str(Path(tmp) / "out.wav"), "-r", "48000", "-O", "s24",
               "-R", "0", "-C", "0", str(soundfont.path), str(midi)]
        cli_seconds, cli_cpu, _ = _median_run(cli, args.runs)
        with wave.open(str(Path(tmp) / "out.wav")) as wav:
            cli_audio_seconds = wav.getnframes() / wav.getframerate()
        child = [sys.executable, "-c", CHILD, str(midi), str(soundfont.path), "all"]
        stems_seconds, stems_cpu, outputs = _median_run(child, args.runs)
        per_stem_seconds, per_stem_cpu, _ = _median_run(child[:-1] + ["per-stem"], args.runs)
        inner = [json.loads(o.strip().splitlines()[-1]) for o in outputs]
        warm = _warm_render_seconds(midi, soundfont)
        version = subprocess.run(["fluidsynth", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    frames = inner[0]["frames"]
    print(json.dumps({
        "benchmark": "stems_vs_fluidsynth_cli",
        "cli_seconds": round(cli_seconds, 3),
        "stems_seconds": round(stems_seconds, 3),
        "ratio": round(stems_seconds / cli_seconds, 3),
        "target_ratio": 1.2,
        "sections": len(inner[0]["sections"]),
        "audio_seconds": round(frames / 48000, 2),
        "cli_audio_seconds": round(cli_audio_seconds, 2),
        "stems_mode": "fresh process: interpreter, imports, MIDI read, SoundFont load, all stems in one call; no WAV written",
        "per_stem_seconds": round(per_stem_seconds, 3),
        "per_stem_ratio": round(per_stem_seconds / cli_seconds, 3),
        "per_stem_cpu_ratio": round(per_stem_cpu / cli_cpu, 3),
        "per_stem_mode": "as stems_mode, one call per stem (the cue pipeline's and the farm's path)",
        "cli_cpu_seconds": round(cli_cpu, 3),
        "stems_cpu_seconds": round(stems_cpu, 3),
        "cpu_ratio": round(stems_cpu / cli_cpu, 3),
        "stems_inside_process": {**{k: round(statistics.median(i[k] for i in inner), 3)
                                    for k in ("imports", "render_with_soundfont_load")},
                                 "render_soundfont_cached": round(warm, 3)},
        "load_average_1min": round(os.getloadavg()[0], 2),
        "soundfont": soundfont.name,
        "fluidsynth": version,
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "cores": os.cpu_count()},
    }))


if __name__ == "__main__":
    main()
