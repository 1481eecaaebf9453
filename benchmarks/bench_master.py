"""Claim: mastering lands within +-0.2 LU of the loudness target with the true
peak at or under the ceiling, on a generated signal set.

Masters each signal to -23 LUFS / -1 dBTP (and, as a harder second run where
the limiter must work, to -16 LUFS), writes it as the project delivers it
(48 kHz 24-bit WAV), reads the file back and measures it: integrated loudness
with pyloudnorm (BS.1770-4), true peak with our Annex 2 meter. Also reports the
meter's reading on a sine at fs/4 with 45 degree phase whose samples peak at
0 dBFS (true value +3.01 dBTP). Prints one JSON line.

    .venv/bin/python benchmarks/bench_master.py
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy import signal

from scorefarm.render.master import MasterOptions, master
from scorefarm.render.truepeak import true_peak_dbtp
from scorefarm.render.wavio import read_wav, write_wav

FS = 48000
TARGET_LUFS = -23.0
CEILING_DBTP = -1.0
TOLERANCE_LU = 0.2


def stereo_sine(dbfs: float, seconds: float, freq: float = 1000.0) -> np.ndarray:
    x = 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * np.arange(int(FS * seconds)) / FS)
    return np.stack([x, x], 1)


def tech3341(case: int) -> np.ndarray:
    """EBU Tech 3341 loudness cases 1-5 at their full durations: stereo 1 kHz
    sine sequences of (dBFS, seconds); all read -23.0 LUFS except case 2 (-33)."""
    sequence = {
        1: [(-23, 20)],
        2: [(-33, 20)],
        3: [(-36, 10), (-23, 60), (-36, 10)],
        4: [(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)],
        5: [(-26, 20), (-20, 20.1), (-26, 20)],
    }[case]
    return np.concatenate([stereo_sine(level, seconds) for level, seconds in sequence])


def pink_noise(seconds: float, seed: int = 0) -> np.ndarray:
    white = np.random.default_rng(seed).standard_normal((int(FS * seconds), 2))
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    return 0.1 * signal.lfilter(b, a, white, axis=0)


def transients(seconds: float = 20.0, seed: int = 2) -> np.ndarray:
    """Loud: full-scale noise bursts (snare/clap-like, 60/s decay) four times a
    second over a -54 dBFS noise floor; crest factor well above 20 dB."""
    rng = np.random.default_rng(seed)
    n = int(FS * seconds)
    out = 0.002 * rng.standard_normal((n, 2))
    m = FS // 10
    for i in range(0, n - m, FS // 4):
        out[i : i + m] += (np.exp(-60 * np.arange(m) / FS) * rng.standard_normal(m))[:, None]
    return np.clip(out, -1.0, 1.0)


def quiet_pad(seconds: float = 20.0) -> np.ndarray:
    """Quiet and sustained: a slowly swelling low string pad around -50 dBFS."""
    t = np.arange(int(FS * seconds)) / FS
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * t / seconds - np.pi / 2)
    notes_hz = [65.4, 98.0, 130.8, 196.0]  # C2 G2 C3 G3
    pad = sum(np.sin(2 * np.pi * f * t) / (k + 1) for k, f in enumerate(notes_hz))
    left = 0.003 * swell * pad
    right = 0.003 * swell * np.roll(pad, 240)
    return np.stack([left, right], 1)


def fs4_45_reading() -> float:
    x = np.sin(2 * np.pi * 0.25 * np.arange(FS) + np.pi / 4)
    x /= np.max(np.abs(x))
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(960) / 960)
    x[:960] *= ramp
    x[-960:] *= ramp[::-1]
    return true_peak_dbtp(x, FS)


def machine() -> str:
    from scorefarm.machine import cpu_name

    return f"{cpu_name()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def run(signals: dict[str, np.ndarray], target_lufs: float, folder: Path) -> dict:
    """Master every signal to ``target_lufs`` / -1 dBTP and measure the 24-bit files."""
    options = MasterOptions(loudness_lufs=target_lufs, true_peak_dbtp=CEILING_DBTP)
    meter = pyloudnorm.Meter(FS)
    results = {}
    for name, mix in signals.items():
        started = time.perf_counter()
        result = master(mix, FS, options)
        seconds = time.perf_counter() - started
        path = folder / f"{name}.wav"
        write_wav(path, result.audio, FS, 24)
        delivered = read_wav(path).audio
        error = meter.integrated_loudness(delivered) - target_lufs
        results[name] = {
            "input_lufs": round(meter.integrated_loudness(mix), 3),
            "loudness_error_lu": round(error, 4) + 0.0,  # + 0.0: no "-0.0"
            "true_peak_dbtp": round(true_peak_dbtp(delivered, FS), 3),
            "gain_db": round(result.gain_db, 2),
            "realtime_factor": round(len(mix) / FS / seconds, 1),
            "notes": result.notes,
        }
    max_error = max(abs(r["loudness_error_lu"]) for r in results.values())
    max_peak = max(r["true_peak_dbtp"] for r in results.values())
    return {
        "target_lufs": target_lufs,
        "ceiling_dbtp": CEILING_DBTP,
        "signals": results,
        "max_abs_loudness_error_lu": max_error,
        "max_true_peak_dbtp": max_peak,
        "pass": bool(max_error <= TOLERANCE_LU and max_peak <= CEILING_DBTP),
    }


def main() -> None:
    import pedalboard

    signals = {f"tech3341-{case}": tech3341(case) for case in range(1, 6)}
    signals["pink-noise"] = pink_noise(20.0)
    signals["loud-transients"] = transients()
    signals["quiet-sustained"] = quiet_pad()
    with tempfile.TemporaryDirectory() as folder:
        main_run = run(signals, TARGET_LUFS, Path(folder))
        # a louder target, where the true-peak limiter has to work
        loud_run = run(signals, -16.0, Path(folder))
    reading = fs4_45_reading()
    print(json.dumps({
        "benchmark": "master",
        **main_run,
        "also_at_minus_16_lufs": loud_run,
        "fs4_45deg_sine_reading_dbtp": round(reading, 3),
        "fs4_45deg_sine_expected_dbtp": 3.01,
        "versions": {"pedalboard": pedalboard.__version__,
                     "pyloudnorm": getattr(pyloudnorm, "__version__", "0.2.0")},
        "machine": machine(),
    }))


if __name__ == "__main__":
    main()
