"""The farm's Ray side: start an embedded Ray or reach a cluster, warm the workers,
run each cue as a graph of tasks, and shut down.

``render_film`` (``farm``) decides what to render and writes every output; this
module only moves work through Ray: ``run_on_ray`` takes the cues still to render
and hands each finished product to the driver's ``delivered``. The caller's SIGTERM
handler survives ``ray.init`` (``keeping_sigterm_handler``).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterator

from scorefarm.errors import FarmError

from .pipeline import (CueProduct, CueSpec, PreparedCue, RenderedStem, finish_cue, prepare_cue, render_cue,
                       render_section, resynth_stem)
from .soundfonts import SoundFont

if TYPE_CHECKING:
    from .farm import FarmOptions

CONNECT_TIMEOUT_SECONDS = 10.0


def check_reachable(address: str) -> None:
    """Fail within seconds, not minutes, when a cluster address does not answer."""
    if address == "auto":
        return
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise FarmError(f"cluster address {address!r} is not 'auto', 'HOST:PORT' or 'ray://HOST:PORT'")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_SECONDS):
            pass
    except OSError as exc:
        raise FarmError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); "
                        "start one with `ray start --head` or leave out --address for an embedded Ray") from None


@contextlib.contextmanager
def keeping_sigterm_handler() -> Iterator[None]:
    """Give back the SIGTERM handler the block replaced. ``ray.init`` installs its own
    (``sys.exit(signum)``) and never restores the caller's: compose's, which says one
    line, exits 143 and lets a second SIGTERM kill at once, would be lost. A SIGTERM
    that lands inside the block, where Ray's handler turns it into ``SystemExit(15)``,
    is handed to the caller's handler. A caller that had left SIGTERM at its default
    keeps Ray's (an exit that shuts the embedded Ray down), as before. Signal handlers
    belong to the main thread; elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.getsignal(signal.SIGTERM)
    try:
        yield
    except SystemExit as exc:
        _put_back_sigterm_handler(handler)
        if exc.code == signal.SIGTERM and callable(handler):
            handler(signal.SIGTERM, None)  # compose's says its line and exits 143
        raise
    except BaseException:
        _put_back_sigterm_handler(handler)
        raise
    _put_back_sigterm_handler(handler)


def _put_back_sigterm_handler(handler) -> None:
    # None: a handler set outside Python, which cannot be put back
    if handler is not None and handler is not signal.SIG_DFL:
        signal.signal(signal.SIGTERM, handler)


def start_ray(options: FarmOptions, soundfont: SoundFont):
    """Start an embedded Ray or connect to a cluster; the caller's SIGTERM handler is
    kept (``keeping_sigterm_handler``)."""
    import logging

    import ray

    runtime_env = {"env_vars": {"SCOREFARM_SOUNDFONT": str(soundfont.path), "HF_HUB_OFFLINE": "1",
                                "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}}
    common = dict(runtime_env=runtime_env, logging_level=logging.ERROR, log_to_driver=False,
                  configure_logging=True)
    address = options.address or os.environ.get("RAY_ADDRESS") or None
    if address:
        check_reachable(address)
        try:
            with keeping_sigterm_handler():
                ray.init(address=address, **common)
        except (ConnectionError, RuntimeError, TimeoutError) as exc:
            raise FarmError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
    else:
        with keeping_sigterm_handler():
            ray.init(num_cpus=options.workers or os.cpu_count() or 1, include_dashboard=False,
                     dashboard_host="127.0.0.1", **common)
    return ray


WARM_QUARTERS = 4  # the stand-in cues a worker warms up on: each a sketch's first 4/4 bar


def warm_worker(soundfont: SoundFont, warm_specs: list[CueSpec]) -> int:
    """Warm this worker for the film: load the SoundFont, then render the short
    stand-in cues of ``warm_specs`` (together they run every stage the film runs), so that
    each stage's libraries, models and first-call costs are paid here, once per
    worker, as the serial path pays them once per process. Returns the worker's pid."""
    from .fluid import _loaded_font

    _loaded_font(soundfont)
    for spec in warm_specs:
        try:
            render_cue(spec)
        except Exception:  # noqa: BLE001 - a warm-up only warms; the cue's own task reports its error
            pass
    # What is loaded now (libraries, models, the SoundFont's tables) lives as long as the
    # worker: moved out of the collector's view, a full collection during a cue scans only
    # that cue's objects (measured in a Ray worker: up to 0.19 s each before, 0.03 s after)
    gc.collect()
    gc.freeze()
    return os.getpid()


def _sketch_score(spec: CueSpec, sketches: dict[str, Any] | None):
    """The cue's parsed sketch: the one the cue list parsed at load, else parsed here."""
    from scorefarm.symbolic.score_io import load_score_bytes

    score = (sketches or {}).get(spec.cue_id)
    return score if score is not None else load_score_bytes(spec.sketch_bytes, spec.sketch_name)


def warm_specs(pending: list[CueSpec], sketches: dict[str, Any] | None = None) -> list[CueSpec]:
    """Short stand-ins that together run every symbolic stage the film's cues run (the
    first cue running each stage; the first cue when none runs any), each cut to its
    sketch's first bar and extended by at most one bar. Re-synthesis is left out: its
    model loads on first use. ``sketches``: the parsed sketches by cue id, when known."""
    from scorefarm.symbolic.score_io import note_count, score_to_bytes

    first: dict[str, CueSpec] = {}
    for spec in pending:
        for key in ("extend_bars", "harmonize", "ensemble"):
            if spec.cue_options.get(key):
                first.setdefault(key, spec)
    chosen = list({id(spec): spec for spec in first.values()}.values()) or pending[:1]
    stand_ins = []
    for spec in chosen:
        try:
            score = _sketch_score(spec, sketches)
            short = score.clip(0, score.ticks_per_quarter * WARM_QUARTERS, clip_end=True)
            if not note_count(short):
                continue
            sketch = score_to_bytes(short)
        except Exception:  # noqa: BLE001 - a bad sketch fails in its own task, with its own message
            continue
        options = dict(spec.cue_options)
        if options.get("extend_bars"):
            options["extend_bars"] = 1
        stand_ins.append(replace(spec, sketch_bytes=sketch, cue_options=options, resynth=None))
    return stand_ins


def expected_cost(spec: CueSpec, sketches: dict[str, Any] | None = None) -> float:
    """A rough cost of rendering a cue, to start the longest first: its sketch's
    length (plus the bars the model adds), more for the symbolic stages it runs.
    The order changes no output, only how well the workers are kept busy."""
    from scorefarm.symbolic.score_io import score_seconds

    try:
        seconds = score_seconds(_sketch_score(spec, sketches))
    except Exception:  # a bad sketch fails in its own task, with its own message
        return 0.0
    seconds *= 1 + 0.25 * spec.cue_options.get("extend_bars", 0) / 4
    return seconds * (1.5 if spec.cue_options.get("ensemble") else 1.0)


def _warm_workers(ray, pending: list[CueSpec], soundfont: SoundFont, workers: int,
                  sketches: dict[str, Any] | None = None) -> None:
    """Start the workers the film will use and warm each (at most two rounds: Ray may
    hand two warm-up tasks to one worker)."""
    warm = ray.remote(num_cpus=1, max_retries=1)(warm_worker)
    want = max(1, min(workers, len(pending)))
    stand_ins = ray.put(warm_specs(pending, sketches))
    seen: set[int] = set()
    for _ in range(2):
        seen |= set(ray.get([warm.remote(soundfont, stand_ins) for _ in range(want)]))
        if len(seen) >= want:
            break


def _finish_task(spec: CueSpec, prepared: PreparedCue, *stems: RenderedStem) -> CueProduct:
    return finish_cue(spec, prepared, list(stems))


def run_on_ray(pending: list[CueSpec], options: FarmOptions, soundfont: SoundFont, delivered, failed,
                report, sketches: dict[str, Any] | None = None) -> tuple[float, float]:
    """Each cue is a graph of tasks: prepare (symbolic stages) -> one render task per
    stem -> finish (mix, master, encode). At most ``workers`` (else the cluster's CPUs)
    plus one cues are in flight.
    Tasks are retried by Ray when a worker or node dies; a cue's own error is not
    retried and fails that cue alone. Returns the seconds Ray took to start, its
    workers' warm-up included (``warm_worker``: paid once per worker as the serial
    path pays it once per process), and the seconds it took to shut down."""
    t = time.perf_counter()
    ray = start_ray(options, soundfont)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        _warm_workers(ray, pending, soundfont, min(options.workers or cpus, cpus), sketches)
        startup = time.perf_counter() - t
        remote = dict(num_cpus=1, max_retries=3, retry_exceptions=False)
        prepare_t = ray.remote(**remote)(prepare_cue)
        stem_t = ray.remote(**remote)(render_section)
        finish_t = ray.remote(**remote)(_finish_task)
        # re-synthesis wants an accelerator when the cluster has one
        gpu = ray.cluster_resources().get("GPU", 0) > 0
        resynth_t = ray.remote(**{**remote, **({"num_gpus": 1} if gpu else {})})(resynth_stem)
        # one cue more than there are workers: its prepare task waits in Ray's queue, so a
        # worker that finishes a cue starts the next at once instead of after a round trip
        # to this driver
        limit = (options.workers or cpus) + 1
        # longest first: no long cue left for last
        queue = sorted(pending, key=lambda spec: expected_cost(spec, sketches), reverse=True)
        preparing: dict[Any, tuple[CueSpec, Any]] = {}
        finishing: dict[Any, CueSpec] = {}

        def top_up() -> None:
            while queue and len(preparing) + len(finishing) < limit:
                spec = queue.pop(0)
                spec_ref = ray.put(spec)
                preparing[prepare_t.remote(spec_ref)] = (spec, spec_ref)
                report(spec.cue_id, "queued")

        while queue or preparing or finishing:
            top_up()
            ready, _ = ray.wait([*preparing, *finishing], num_returns=1)
            for ref in ready:
                if ref in preparing:
                    spec, spec_ref = preparing.pop(ref)
                    try:
                        prepared: PreparedCue = ray.get(ref)
                    except Exception as exc:  # the cue's own input: report it, go on
                        top_up()
                        failed(spec, exc)
                        continue
                    stems = [stem_t.remote(spec_ref, ref, section) for section in prepared.sections]
                    if spec.resynth is not None:
                        stems = [resynth_t.remote(spec_ref, stem) for stem in stems]
                    finishing[finish_t.remote(spec_ref, ref, *stems)] = spec
                    report(spec.cue_id, "rendering")
                else:
                    spec = finishing.pop(ref)
                    top_up()  # its tasks are done: start the next cue before fetching and writing this one
                    try:
                        product: CueProduct = ray.get(ref)
                    except Exception as exc:
                        failed(spec, exc)
                        continue
                    delivered(spec, product)
    finally:
        t = time.perf_counter()
        shutdown_ray(ray)
        shutdown = time.perf_counter() - t
    return startup, shutdown


def shutdown_ray(ray) -> None:
    """Stop Ray, or disconnect from a cluster.

    An embedded Ray's autoscaler monitor is stopped first. ``ray.shutdown`` stops the
    GCS before the monitor, and the monitor's SIGTERM handler then tries to report to
    the stopped GCS until Ray's one-second grace runs out: a second of every film's
    wall time (Ray 2.60). The monitor has nothing to save, so SIGKILL is right for it.
    On a cluster reached by address this driver owns no processes and nothing changes."""
    worker = getattr(getattr(ray, "_private", None), "worker", None)
    node = getattr(worker, "_global_node", None)
    processes = getattr(node, "all_processes", None) or {}
    for info in processes.get("monitor", []):  # ray_constants.PROCESS_TYPE_MONITOR
        process = getattr(info, "process", None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    with keeping_sigterm_handler():  # Ray 2.x leaves it alone here; a later one may not
        ray.shutdown()
