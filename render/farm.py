"""The render farm: every cue of a film on Ray.

An embedded local Ray by default (dashboard off, shut down at the end), or an
existing cluster by address. Each cue is a graph of Ray tasks (prepare, one render
task per stem, finish) working on bytes and arrays; outputs come back to this
driver, which alone writes the output folder.
Outputs are content-addressed by the cue's key, so a rerun skips finished cues and
an interrupted run resumes. What runs on Ray (start, warm-up, the cue graphs, shut-down)
is ``ray_farm``; this module decides what to render and writes it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Collection, Iterator

from scorefarm import __version__
from scorefarm.errors import InputError, OutputError, ScorefarmError, SoundFontError
from scorefarm.files import (check_not_input, check_output_folder, is_temporary_name, sha256_bytes, sha256_file,
                             write_bytes_atomic)
from scorefarm.symbolic.cue_checks import film_order, overlaps, pro_duration
from scorefarm.symbolic.cuelist import CueList, cue_options_dict
from scorefarm.symbolic.timecode import Timecode

from .pipeline import CueProduct, CueSpec, cached, render_cue, write_cue
from .ray_farm import run_on_ray
from .soundfonts import SoundFont, find_entry, known_names, looks_like_path, resolve_soundfont

FarmProgress = Callable[[dict[str, Any]], None]
"""Film progress callback. Payload: {"cue": id, "state": "cached"|"queued"|"done"|"failed",
"done": n finished (any state), "total": number of cues, "reason": text when failed}."""


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
    bad_input: bool = False  # failed on the user's input (an InputError), not while working
    warnings: list[str] = field(default_factory=list)  # the cue manifest's: programs stood in for


@dataclass
class FilmReport:
    out_dir: Path
    outcomes: list[CueOutcome]
    wall_seconds: float
    ray_startup_seconds: float = 0.0  # connecting to or starting Ray, within wall_seconds
    ray_shutdown_seconds: float = 0.0  # disconnecting from or stopping Ray, within wall_seconds
    warnings: list[str] = field(default_factory=list)  # programs stood in for, cues overlapping on the timeline
    # when no cue is delivered (nothing written): the film's files already in out_dir, all
    # of an earlier run ("cue_sheet.csv", "manifest.json", "1M1/" for a cue folder with its manifest)
    earlier_files: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[CueOutcome]:
        return [o for o in self.outcomes if o.state == "failed"]

    @property
    def delivered(self) -> list[CueOutcome]:
        """The cues whose outputs are in the folder: rendered now or up to date."""
        return [o for o in self.outcomes if o.state != "failed"]


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
    created = _missing_folders(out_dir)
    check_output_dir(out_dir, cue_ids)
    try:
        yield out_dir
    except BaseException:
        _remove_empty(created)
        raise


def _missing_folders(out_dir: Path) -> list[Path]:
    """The folders on the way to ``out_dir`` (itself included) that do not exist yet, innermost first."""
    return [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()]


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (innermost first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (finished outputs are kept), or gone
            break


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
    home folder alone). A folder in the way that is missing and cannot be made is named
    (``check_output_folder``)."""
    check_output_folder(out_dir)
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


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, ScorefarmError):
        return cause.one_line()
    if isinstance(exc, ScorefarmError):
        return exc.one_line()
    text = str(cause or exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _bad_input(exc: BaseException) -> bool:
    """Did the cue fail on its input? (Ray hands a task's error back wrapped, with the
    original as ``cause``.)"""
    return isinstance(getattr(exc, "cause", None) or exc, InputError)


def _outcome_from(product_manifest: dict[str, Any], cue_id: str, state: str, wall: float) -> CueOutcome:
    outputs = product_manifest["outputs"]
    mix = outputs.get(f"{cue_id}_mix.wav", {})
    return CueOutcome(cue_id=cue_id, state=state, duration_seconds=mix.get("duration_seconds"),
                      loudness_lufs=mix.get("loudness_lufs"), true_peak_dbtp=mix.get("true_peak_dbtp"),
                      wall_seconds=wall, files=sorted(outputs), warnings=list(product_manifest.get("warnings", [])))


def render_film(cue_list: CueList, out_dir: Path, options: FarmOptions = FarmOptions(),
                progress: FarmProgress | None = None) -> FilmReport:
    """Render every cue of ``cue_list`` into ``out_dir``; cues fail independently.
    The inputs are resolved before the output folder is made, and a run that fails as
    a whole (bad SoundFont, unreachable cluster) leaves no empty folder of its own.
    A cue whose MIDI (``out_dir/<id>/<id>.mid``) would land on its sketch is refused
    first (OutputError). The cue sheet and the film's manifest are written when at
    least one cue is delivered (rendered or up to date); when none is, nothing is
    written, the folders this run made are removed again and the report names the
    film's files an earlier run left (``earlier_files``). An earlier run's cue sheet and
    film manifest are removed before this run writes its first cue, whose new outputs
    they would no longer describe (``retract_film_deliverables``). The report lists the
    cues in film order (``film_order``) and warns of the programs the SoundFont stood
    in for and of cues overlapping."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    made = _missing_folders(out_dir)
    for cue in cue_list.cues:  # each cue writes <out>/<id>/<id>.mid
        check_not_over_sketch(out_dir / cue.id, cue.id, cue.sketch)
    soundfont = resolve_soundfont(options.soundfont) if options.soundfont else resolve_film_soundfont(cue_list)
    specs = build_specs(cue_list, soundfont)
    sketches = {cue.id: cue.sketch_score for cue in cue_list.cues if cue.sketch_score is not None}
    total = len(specs)
    outcomes: dict[str, CueOutcome] = {}
    retracted = False

    def report(cue_id: str, state: str, reason: str = "") -> None:
        if progress is not None:
            progress({"cue": cue_id, "state": state, "done": len(outcomes), "total": total, "reason": reason})

    def delivered(spec: CueSpec, product: CueProduct) -> None:
        nonlocal retracted
        if not retracted:
            retract_film_deliverables(out_dir)
            retracted = True
        write_cue(product, out_dir / spec.cue_id)
        outcomes[spec.cue_id] = _outcome_from(product.manifest, spec.cue_id, "rendered", product.wall_seconds)
        report(spec.cue_id, "done")

    def failed(spec: CueSpec, exc: BaseException) -> None:
        outcomes[spec.cue_id] = CueOutcome(spec.cue_id, "failed", reason=_reason(exc), bad_input=_bad_input(exc))
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
            startup, shutdown = run_on_ray(pending, options, soundfont, delivered, failed, report, sketches)

        ordered = [outcomes[cue.id] for cue in film_order(cue_list.cues)]
        any_delivered = any(o.state != "failed" for o in ordered)
        warnings = [f"cue {o.cue_id}: {line}" for o in ordered for line in o.warnings]
        if any_delivered:
            warnings += write_film_deliverables(cue_list, out_dir, ordered)
    earlier = []
    if not any_delivered:
        _remove_empty(made)  # nothing of this run is left, not even the folders it made
        earlier = [name for name in FILM_FILES if (out_dir / name).is_file()]
        earlier += [f"{cue.id}/" for cue in film_order(cue_list.cues) if (out_dir / cue.id / "manifest.json").is_file()]
    return FilmReport(out_dir=out_dir, outcomes=ordered, wall_seconds=time.perf_counter() - started,
                      ray_startup_seconds=startup, ray_shutdown_seconds=shutdown, warnings=warnings,
                      earlier_files=earlier)


def _end_timecode(start: Timecode, duration_seconds: float) -> Timecode:
    return Timecode.from_seconds(start.to_seconds() + Fraction(duration_seconds).limit_denominator(10**6),
                                 start.rate)


#: The film's own files in the output folder, written last, from the cues' manifests.
FILM_FILES = ("cue_sheet.csv", "manifest.json")


def retract_film_deliverables(out_dir: Path) -> None:
    """Remove an earlier run's cue sheet and film manifest, before this run replaces a
    cue's outputs: they time and hash that cue as it was, and a run interrupted before
    it writes its own would leave them describing a folder that no longer holds those
    outputs. A run that writes no cue leaves them (and the earlier outputs) alone."""
    for name in FILM_FILES:
        try:
            (out_dir / name).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OutputError(f"cannot replace the earlier run's {name} ({exc.strerror or exc})",
                              out_dir / name) from None


def write_film_deliverables(cue_list: CueList, out_dir: Path, outcomes: list[CueOutcome]) -> list[str]:
    """cue_sheet.csv and the film's manifest.json, from the cues' own manifests, both in
    film order (by start timecode, ties by cue id). Returns a line for each two delivered
    cues that overlap on the timeline (start to end as the cue sheet gives them)."""
    by_id = {o.cue_id: o for o in outcomes}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["cue", "title", "start", "end", "duration", "duration_mmss", "usage", "stems"])
    film_cues, spans = [], []
    for cue in film_order(cue_list.cues):
        outcome = by_id.get(cue.id)
        if outcome is None or outcome.state == "failed" or outcome.duration_seconds is None:
            film_cues.append({"id": cue.id, "state": "failed", "reason": outcome.reason if outcome else ""})
            continue
        end = _end_timecode(cue.start, outcome.duration_seconds)
        spans.append((cue.id, cue.start, end))
        length = Timecode(end.frames - cue.start.frames, cue.start.rate)
        stems = [f for f in outcome.files if f.endswith(".wav") and not f.endswith("_mix.wav")]
        writer.writerow([cue.id, cue.title, str(cue.start), str(end), str(length),
                         pro_duration(outcome.duration_seconds), "BI", " ".join(stems)])
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
    return overlaps(spans)
