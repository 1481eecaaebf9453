"""Farm scaling and overhead (issue 7).

A film of 8 cues (the demo sketches, each twice under its own id) is rendered:
  * serially in this process (the same stages, no Ray) -> serial_seconds,
  * the stages alone, no file writing -> compute_seconds,
  * on an embedded Ray with k workers, k = 1, 2 (more with --max-workers on a larger
    machine) -> wall time including Ray's start-up, which is timed on its own too.
Before timing, this process is warmed exactly as the farm warms each worker at start-up
(`warm_worker`: the SoundFont, then one-bar stand-ins that run every stage the film
runs, so libraries, models and first-call costs are paid); Ray's start-up time includes
that warm-up. Each measurement is repeated (--repeat, interleaved) and the fastest kept,
as timeit does, since the shared machine's noise is of the size of the target.
Targets: wall(k) <= 1.25 * serial / k + ray_startup, with wall(k) the whole call
(start-up, rendering, writing and Ray's shut-down); farm overhead, with Ray up:
busy = wall(1) - ray_startup - ray_shutdown, overhead = (busy - compute) / busy < 5%.
Ray's shut-down is reported on its own, and the overhead counting it too.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "corpora" / "demo"


def make_film(folder: Path, copies: int = 2) -> Path:
    shutil.copytree(DEMO / "sketches", folder / "sketches")
    text = (DEMO / "film.toml").read_text()
    head, *cues = text.split("[[cues]]")
    blocks = []
    for copy in range(copies):
        for block in cues:
            if copy:
                block = block.replace('id = "', f'id = "R{copy}', 1)
            blocks.append("[[cues]]" + block)
    (folder / "film.toml").write_text(head + "".join(blocks))
    return folder / "film.toml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from scorefarm.render.farm import FarmOptions, build_specs, render_film
    from scorefarm.render.ray_farm import warm_specs, warm_worker
    from scorefarm.render.pipeline import render_cue
    from scorefarm.render.soundfonts import resolve_soundfont
    from scorefarm.symbolic.cuelist import load_cue_list

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cue_list = load_cue_list(make_film(tmp / "film"))
        soundfont = resolve_soundfont(cue_list.film.soundfont)
        specs = build_specs(cue_list, soundfont)
        # warm this process exactly as the farm warms each worker
        warm_worker(soundfont, warm_specs(specs))

        compute = serial = float("inf")
        runs: dict[int, tuple[float, float, float]] = {}
        for _ in range(args.repeat):
            t = time.perf_counter()
            for spec in specs:
                render_cue(spec)
            compute = min(compute, time.perf_counter() - t)

            t = time.perf_counter()
            render_film(cue_list, tmp / "serial", FarmOptions(serial=True, force=True))
            serial = min(serial, time.perf_counter() - t)

            for k in range(1, args.max_workers + 1):
                t = time.perf_counter()
                report = render_film(cue_list, tmp / f"ray{k}", FarmOptions(workers=k, force=True))
                wall = time.perf_counter() - t
                assert all(o.state == "rendered" for o in report.outcomes), report.outcomes
                if k not in runs or wall < runs[k][0]:
                    runs[k] = (wall, report.ray_startup_seconds, report.ray_shutdown_seconds)

    scaling = {str(k): {"wall_seconds": round(w, 2), "ray_startup_seconds": round(up, 2),
                        "ray_shutdown_seconds": round(down, 2),
                        "bound_seconds": round(1.25 * serial / k + up, 2),
                        "speedup_vs_serial": round(serial / (w - up - down), 2),
                        "meets_target": w <= 1.25 * serial / k + up}
               for k, (w, up, down) in runs.items()}
    wall1, startup1, shutdown1 = runs[1]
    busy = wall1 - startup1 - shutdown1
    overhead = (busy - compute) / busy
    with_shutdown = (busy + shutdown1 - compute) / (busy + shutdown1)
    print(json.dumps({
        "benchmark": "farm_scaling_and_overhead",
        "cues": len(specs),
        "serial_seconds": round(serial, 2),
        "compute_seconds": round(compute, 2),
        "scaling": scaling,
        "overhead_fraction": round(overhead, 4),
        "overhead_target": 0.05,
        "overhead_meets_target": overhead < 0.05,
        "overhead_counting_ray_shutdown": round(with_shutdown, 4),
        "repeat": args.repeat,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cores": os.cpu_count()},
    }))


if __name__ == "__main__":
    main()
