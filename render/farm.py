"""The render farm: every cue of a film on Ray.

An embedded local Ray by default (dashboard off, shut down at the end), or an
existing cluster by address. Each cue is a graph of Ray tasks (prepare, one render
task per stem, finish) working on bytes and arrays; outputs come back to this
driver, which alone writes the output folder.
Outputs are content-addressed by the cue's key, so a rerun skips finished cues and
an interrupted run resumes.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import json
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Collection, Iterator

from scorefarm import __version__
from scorefarm.errors import FarmError, OutputError, ScorefarmError, SoundFontError
from scorefarm.files import check_not_input, is_temporary_name, sha256_bytes, sha256_file, write_bytes_atomic
from scorefarm.symbolic.cuelist import CueList, cue_options_dict
from scorefarm.symbolic.timecode import Timecode

from .pipeline import (CueProduct, CueSpec, PreparedCue, RenderedStem, cached, finish_cue, prepare_cue,
                       render_cue, render_section, resynth_stem, write_cue)
from .soundfonts import SoundFont, find_entry, known_names, looks_like_path, resolve_soundfont

FarmProgress = Callable[[dict[str, Any]], None]
"""Film progress callback. Payload: {"cue": id, "state": "cached"|"queued"|"done"|"failed",
"done": n finished (any state), "total": number of cues, "reason": text when failed}."""

CONNECT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class FarmOptions:
    address: str | None = None  # None: embedded local Ray; "auto", "HOST:PORT" or "ray://HOST:PORT"
    workers: int | None = None  # bound on parallel cues (None: all CPUs)
    force: bool = False  # re-render even when cached outputs match
    soundfont: str | None = None  # overrides the cue list's soundfont
    serial: bool = False  # run the same stages in this process, one cue after another (no Ray)


@dataclass
class CueOutcome:
    cue_id: str
    state: str  # "rendered" | "cached" | "failed"
    reason: str = ""
    duration_seconds: float | None = None
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    wall_seconds: float = 0.0
    files: list[str] = field(default_factory=list)


@dataclass
class FilmReport:
    out_dir: Path
    outcomes: list[CueOutcome]
    wall_seconds: float
    ray_startup_seconds: float = 0.0  # connecting to or starting Ray, within wall_seconds
    ray_shutdown_seconds: float = 0.0  # disconnecting from or stopping Ray, within wall_seconds

    @property
    def failed(self) -> list[CueOutcome]:
        return [o for o in self.outcomes if o.state == "failed"]


_SF_HASHES: dict[tuple[str, int, int], str] = {}


def soundfont_sha256(soundfont: SoundFont) -> str:
    stat = os.stat(soundfont.path)
    key = (str(soundfont.path), stat.st_size, stat.st_mtime_ns)
    if key not in _SF_HASHES:
        _SF_HASHES[key] = sha256_file(soundfont.path)
    return _SF_HASHES[key]


def film_soundfont(film) -> str | Path:
    """The film's ``soundfont`` as ``resolve_soundfont`` takes it: a catalogue name as
    written, a relative path from the film's folder (not from where compose runs)."""
    text = film.soundfont
    if find_entry(text) is not None or Path(text).expanduser().is_absolute():
        return text
    return film.folder / text


def resolve_film_soundfont(cue_list: CueList) -> SoundFont:
    """The SoundFont the film's ``[film] soundfont`` names. A SoundFontError names the
    cue list and the key, the value as written, and what was tried; for a bare name
    (no folder, no .sf2/.sf3 suffix) that is neither a catalogue name nor a file in the
    film's folder, the catalogue's names."""
    film = cue_list.film
    text = film.soundfont
    try:
        return resolve_soundfont(film_soundfont(film))
    except SoundFontError as exc:
        beside = film.folder / text
        if not looks_like_path(text) and find_entry(text) is None and not beside.exists():
            problem = (f"received {text!r}; allowed: a catalogue name ({'; '.join(known_names())}) "
                       f"or a SoundFont file (.sf2/.sf3; none at {beside})")
        else:
            where = "" if exc.path in (None, text) else f" ({exc.path})"
            problem = f"{text!r}: {exc.message}{where}"
        raise SoundFontError(f"[film]: key 'soundfont': {problem}", cue_list.path) from None


def build_specs(cue_list: CueList, soundfont: SoundFont) -> list[CueSpec]:
    """One CueSpec per cue, with the sketch bytes the cue list read and checked at load."""
    from .master import MasterOptions
    from .synth import RenderOptions

    film = cue_list.film
    sf_hash = soundfont_sha256(soundfont)
    render = RenderOptions(sample_rate=film.sample_rate)
    master = MasterOptions(loudness_lufs=film.loudness_lufs, true_peak_dbtp=film.true_peak_dbtp,
                           sample_rate=film.sample_rate)
    specs = []
    for cue in cue_list.cues:
        resynth, model_id = None, ""
        if cue.resynth:
            from .resynth import ResynthOptions

            resynth = ResynthOptions(model_dir=film.resynth_model, prompt=cue.mood, seed=cue.seed,
                                     mode=cue.resynth_mode)
            model_id = folder_fingerprint(film.resynth_model)
        extend_id = ""
        if cue.extend_bars:
            from scorefarm.symbolic.model import default_model_dir

            extend_id = folder_fingerprint(default_model_dir())
        arrange_id, ensemble_toml = "", ""
        if cue.ensemble.endswith(".toml"):
            ensemble_toml = (cue.folder / cue.ensemble).read_text(encoding="utf-8")
        if cue.ensemble:
            from scorefarm.arrange.separate import MODEL_DIR as SEPARATION_MODEL_DIR

            arrange_id = folder_fingerprint(Path(SEPARATION_MODEL_DIR))
        specs.append(CueSpec(
            cue_id=cue.id, sketch_name=str(cue.sketch), sketch_bytes=cue.sketch_bytes or cue.sketch.read_bytes(),
            soundfont=soundfont, soundfont_sha256=sf_hash, film_title=film.title, cue_title=cue.title,
            start=cue.start, cue_options=cue_options_dict(cue), render=render, master=master,
            resynth=resynth, resynth_model_id=model_id, cue_list_name=str(cue_list.path),
            extend_model_id=extend_id, arrange_model_id=arrange_id, ensemble_toml=ensemble_toml))
    return specs


def folder_fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of a model folder's files: cheap enough
    for multi-GB weights, and any change to them changes the cue's key."""
    record = sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                    for p in Path(folder).rglob("*") if p.is_file())
    return sha256_bytes(json.dumps(record).encode())


@contextlib.contextmanager
def output_dir(out_dir: Path, cue_ids: Collection[str] = ()) -> Iterator[Path]:
    """``check_output_dir``, then the block; when the block fails, the folders this
    created are removed again if they are still empty (nothing else is touched)."""
    out_dir = Path(out_dir)
    created = [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()]
    check_output_dir(out_dir, cue_ids)
    try:
        yield out_dir
    except BaseException:
        for folder in created:  # innermost first
            try:
                folder.rmdir()
            except OSError:  # not empty (finished outputs are kept), or gone
                break
        raise


# The kinds of file a render writes: stems and mixes, MIDI, MusicXML, manifests and the
# cue sheet. The sweep takes only the temporary names of these (``is_temporary_name``).
RENDERED_SUFFIXES = (".wav", ".mid", ".musicxml", ".json", ".csv")


def check_not_over_sketch(folder: Path, cue_id: str, sketch: str | Path) -> None:
    """A render writes its MIDI to ``folder/<cue_id>.mid``: refuse, before any work, a
    render whose MIDI would land on the sketch it is made from (however named)."""
    check_not_input(Path(folder) / f"{cue_id}.mid", (sketch,), instead="give another output folder")


def check_output_dir(out_dir: Path, cue_ids: Collection[str] = ()) -> None:
    """Make sure ``out_dir`` can be written, and sweep away the temporary files that a
    killed run left behind there and in the cue folders ``out_dir/<cue id>`` of
    ``cue_ids``: only the atomic writer's temporary names of ``RENDERED_SUFFIXES`` files,
    never a finished output, nothing in other folders (``-o ~`` leaves the rest of the
    home folder alone)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for folder in (out_dir, *(out_dir / cue_id for cue_id in cue_ids)):
            if not folder.is_dir():
                continue
            for stale in folder.glob(".*.part"):
                if is_temporary_name(stale.name, RENDERED_SUFFIXES) and not stale.is_dir():
                    stale.unlink()
        probe = out_dir / f".scorefarm-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"output folder is not writable ({exc.strerror or exc})", out_dir) from None


def _check_reachable(address: str) -> None:
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
def _keeping_sigterm_handler() -> Iterator[None]:
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


def _start_ray(options: FarmOptions, soundfont: SoundFont):
    """Start an embedded Ray or connect to a cluster; the caller's SIGTERM handler is
    kept (``_keeping_sigterm_handler``)."""
    import logging

    import ray

    runtime_env = {"env_vars": {"SCOREFARM_SOUNDFONT": str(soundfont.path), "HF_HUB_OFFLINE": "1",
                                "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}}
    common = dict(runtime_env=runtime_env, logging_level=logging.ERROR, log_to_driver=False,
                  configure_logging=True)
    address = options.address or os.environ.get("RAY_ADDRESS") or None
    if address:
        _check_reachable(address)
        try:
            with _keeping_sigterm_handler():
                ray.init(address=address, **common)
        except (ConnectionError, RuntimeError, TimeoutError) as exc:
            raise FarmError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
    else:
        with _keeping_sigterm_handler():
            ray.init(num_cpus=options.workers or os.cpu_count() or 1, include_dashboard=False,
                     dashboard_host="127.0.0.1", **common)
    return ray


WARM_QUARTERS = 4  # the stand-in cues a worker warms up on: each a sketch's first 4/4 bar


def _warm_worker(soundfont: SoundFont, warm_specs: list[CueSpec]) -> int:
    """Warm this worker for the film: load the SoundFont, then render the short
    stand-in cues of ``_warm_specs`` (together they run every stage the film runs), so that
    each stage's libraries, models and first-call costs are paid here, once per
    worker, as the serial path pays them once per process. Returns the worker's pid."""
    from .synth import _loaded_font

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


def _warm_specs(pending: list[CueSpec], sketches: dict[str, Any] | None = None) -> list[CueSpec]:
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


def _expected_cost(spec: CueSpec, sketches: dict[str, Any] | None = None) -> float:
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
    warm = ray.remote(num_cpus=1, max_retries=1)(_warm_worker)
    want = max(1, min(workers, len(pending)))
    stand_ins = ray.put(_warm_specs(pending, sketches))
    seen: set[int] = set()
    for _ in range(2):
        seen |= set(ray.get([warm.remote(soundfont, stand_ins) for _ in range(want)]))
        if len(seen) >= want:
            break


def _finish_task(spec: CueSpec, prepared: PreparedCue, *stems: RenderedStem) -> CueProduct:
    return finish_cue(spec, prepared, list(stems))


def _run_on_ray(pending: list[CueSpec], options: FarmOptions, soundfont: SoundFont, delivered, failed,
                report, sketches: dict[str, Any] | None = None) -> tuple[float, float]:
    """Each cue is a graph of tasks: prepare (symbolic stages) -> one render task per
    stem -> finish (mix, master, encode). At most ``workers`` (else the cluster's CPUs)
    plus one cues are in flight.
    Tasks are retried by Ray when a worker or node dies; a cue's own error is not
    retried and fails that cue alone. Returns the seconds Ray took to start, its
    workers' warm-up included (``_warm_worker``: paid once per worker as the serial
    path pays it once per process), and the seconds it took to shut down."""
    t = time.perf_counter()
    ray = _start_ray(options, soundfont)
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
        queue = sorted(pending, key=lambda spec: _expected_cost(spec, sketches), reverse=True)
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
        _shutdown_ray(ray)
        shutdown = time.perf_counter() - t
    return startup, shutdown


def _shutdown_ray(ray) -> None:
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
    with _keeping_sigterm_handler():  # Ray 2.x leaves it alone here; a later one may not
        ray.shutdown()


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, ScorefarmError):
        return cause.one_line()
    if isinstance(exc, ScorefarmError):
        return exc.one_line()
    text = str(cause or exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _outcome_from(product_manifest: dict[str, Any], cue_id: str, state: str, wall: float) -> CueOutcome:
    outputs = product_manifest["outputs"]
    mix = outputs.get(f"{cue_id}_mix.wav", {})
    return CueOutcome(cue_id=cue_id, state=state, duration_seconds=mix.get("duration_seconds"),
                      loudness_lufs=mix.get("loudness_lufs"), true_peak_dbtp=mix.get("true_peak_dbtp"),
                      wall_seconds=wall, files=sorted(outputs))


def render_film(cue_list: CueList, out_dir: Path, options: FarmOptions = FarmOptions(),
                progress: FarmProgress | None = None) -> FilmReport:
    """Render every cue of ``cue_list`` into ``out_dir``; cues fail independently.
    The inputs are resolved before the output folder is made, and a run that fails as
    a whole (bad SoundFont, unreachable cluster) leaves no empty folder of its own.
    A cue whose MIDI (``out_dir/<id>/<id>.mid``) would land on its sketch is refused
    first (OutputError)."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    for cue in cue_list.cues:  # each cue writes <out>/<id>/<id>.mid
        check_not_over_sketch(out_dir / cue.id, cue.id, cue.sketch)
    soundfont = resolve_soundfont(options.soundfont) if options.soundfont else resolve_film_soundfont(cue_list)
    specs = build_specs(cue_list, soundfont)
    sketches = {cue.id: cue.sketch_score for cue in cue_list.cues if cue.sketch_score is not None}
    total = len(specs)
    outcomes: dict[str, CueOutcome] = {}

    def report(cue_id: str, state: str, reason: str = "") -> None:
        if progress is not None:
            progress({"cue": cue_id, "state": state, "done": len(outcomes), "total": total, "reason": reason})

    def delivered(spec: CueSpec, product: CueProduct) -> None:
        write_cue(product, out_dir / spec.cue_id)
        outcomes[spec.cue_id] = _outcome_from(product.manifest, spec.cue_id, "rendered", product.wall_seconds)
        report(spec.cue_id, "done")

    def failed(spec: CueSpec, exc: BaseException) -> None:
        outcomes[spec.cue_id] = CueOutcome(spec.cue_id, "failed", reason=_reason(exc))
        report(spec.cue_id, "failed", outcomes[spec.cue_id].reason)

    with output_dir(out_dir, [spec.cue_id for spec in specs]):
        pending = []
        for spec in specs:
            manifest = None if options.force else cached(out_dir / spec.cue_id, spec.key())
            if manifest is not None:
                outcomes[spec.cue_id] = _outcome_from(manifest, spec.cue_id, "cached", 0.0)
                report(spec.cue_id, "cached")
            else:
                pending.append(spec)

        startup = shutdown = 0.0
        if pending and options.serial:
            for spec in pending:
                report(spec.cue_id, "queued")
                try:
                    product = render_cue(spec)
                except ScorefarmError as exc:
                    failed(spec, exc)
                    continue
                delivered(spec, product)
        elif pending:
            startup, shutdown = _run_on_ray(pending, options, soundfont, delivered, failed, report, sketches)

        ordered = [outcomes[s.cue_id] for s in specs]
        write_film_deliverables(cue_list, out_dir, ordered)
    return FilmReport(out_dir=out_dir, outcomes=ordered, wall_seconds=time.perf_counter() - started,
                      ray_startup_seconds=startup, ray_shutdown_seconds=shutdown)


def _end_timecode(start: Timecode, duration_seconds: float) -> Timecode:
    return Timecode.from_seconds(start.to_seconds() + Fraction(duration_seconds).limit_denominator(10**6),
                                 start.rate)


def write_film_deliverables(cue_list: CueList, out_dir: Path, outcomes: list[CueOutcome]) -> None:
    """cue_sheet.csv and the film's manifest.json, from the cues' own manifests."""
    by_id = {o.cue_id: o for o in outcomes}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["cue", "title", "start", "end", "duration", "usage", "stems"])
    film_cues = []
    for cue in cue_list.cues:
        outcome = by_id.get(cue.id)
        if outcome is None or outcome.state == "failed" or outcome.duration_seconds is None:
            film_cues.append({"id": cue.id, "state": "failed", "reason": outcome.reason if outcome else ""})
            continue
        end = _end_timecode(cue.start, outcome.duration_seconds)
        length = Timecode(end.frames - cue.start.frames, cue.start.rate)
        stems = [f for f in outcome.files if f.endswith(".wav") and not f.endswith("_mix.wav")]
        writer.writerow([cue.id, cue.title, str(cue.start), str(end), str(length), "BI", " ".join(stems)])
        manifest_path = out_dir / cue.id / "manifest.json"
        film_cues.append({"id": cue.id, "state": "delivered", "start": str(cue.start), "end": str(end),
                          "manifest_sha256": sha256_file(manifest_path)})
    write_bytes_atomic(out_dir / "cue_sheet.csv", buffer.getvalue().encode())
    film = cue_list.film
    manifest = {
        "scorefarm": __version__,
        "film": {"title": film.title, "frame_rate": str(film.frame_rate.exact), "drop_frame": film.frame_rate.drop_frame,
                 "sample_rate": film.sample_rate, "loudness_lufs": film.loudness_lufs,
                 "true_peak_dbtp": film.true_peak_dbtp, "soundfont": film.soundfont},
        "cue_list_sha256": sha256_bytes(cue_list.path.read_bytes()),
        "cues": film_cues,
    }
    write_bytes_atomic(out_dir / "manifest.json", (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
