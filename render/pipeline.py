"""The cue pipeline: one cue from its sketch to its delivered files.

``render_cue`` is a pure function of a ``CueSpec`` (the sketch travels as bytes, so
it runs the same on any Ray node) and returns every output as bytes in a
``CueProduct``; only ``write_cue`` touches the output folder, and only the driver
calls it. Stages: load and validate the sketch; the symbolic stages (extend,
harmonize, orchestrate) in ``prepare_cue``; one stem per section with FluidSynth;
re-synthesis per stem when asked; mix and master.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from scorefarm import __version__
from scorefarm.errors import CueListError, InputError, ScoreError
from scorefarm.files import sha256_bytes, write_bytes_atomic
from scorefarm.symbolic.timecode import Timecode

from .soundfonts import SoundFont

Progress = Callable[[dict[str, Any]], None]
"""Progress callback. Payload: {"cue": id, "stage": "symbolic"|"render"|"master"|"encode"|"done"}."""

#: sections that feed the mastering chain's hall-reverb send (synths stay dry)
REVERB_SECTIONS = ("strings", "woodwinds", "brass", "percussion", "keys", "choir")


@dataclass(frozen=True)
class CueSpec:
    """Everything one cue's render needs, picklable and free of the driver's disk."""

    cue_id: str
    sketch_name: str
    sketch_bytes: bytes
    soundfont: SoundFont
    soundfont_sha256: str
    film_title: str = ""
    cue_title: str = ""
    start: Timecode | None = None
    cue_options: dict[str, Any] = field(default_factory=dict)
    render: Any = None  # scorefarm.render.synth.RenderOptions
    master: Any = None  # scorefarm.render.master.MasterOptions
    resynth: Any = None  # scorefarm.render.resynth.ResynthOptions, when the cue asks for it
    resynth_model_id: str = ""  # identifies the model folder's contents (for the cache key)
    cue_list_name: str = ""  # the cue list this cue came from, for error messages
    extend_model_id: str = ""  # identifies the extension model's files when the cue extends
    arrange_model_id: str = ""  # identifies the voice-separation model's files when the cue is orchestrated
    ensemble_toml: str = ""  # the text of the cue's own ensemble file, when its ensemble is a .toml path

    def key(self) -> str:
        """Content address of this cue's outputs: inputs, options and code (version and
        ``code_fingerprint``: a toolkit changed since a folder was rendered renders it again)."""
        from scorefarm.fingerprint import code_fingerprint

        record = {
            "scorefarm": __version__,
            "code": code_fingerprint(),
            "cue_id": self.cue_id,
            "sketch_sha256": sha256_bytes(self.sketch_bytes),
            "soundfont_sha256": self.soundfont_sha256,
            "film_title": self.film_title,
            "cue_title": self.cue_title,
            "start": None if self.start is None else str(self.start),
            "cue_options": self.cue_options,
            "render": _options_record(self.render),
            "master": _options_record(self.master),
            "resynth": _options_record(self.resynth),
            "resynth_model_id": self.resynth_model_id,
            "extend_model_id": self.extend_model_id,
            "arrange_model_id": self.arrange_model_id,
            "ensemble_toml_sha256": sha256_bytes(self.ensemble_toml.encode()) if self.ensemble_toml else "",
        }
        return sha256_bytes(json.dumps(record, sort_keys=True).encode())


@dataclass
class CueProduct:
    cue_id: str
    key: str
    files: dict[str, bytes]
    manifest: dict[str, Any]
    duration_seconds: float
    loudness_lufs: float | None
    true_peak_dbtp: float
    notes: list[str]
    wall_seconds: float

    def __reduce__(self):
        # The files (a cue's WAVs: tens of MB) travel as numpy byte arrays, which pickle
        # protocol 5 hands to Ray's object store out of band, copied once; bytes would be
        # copied into the pickle stream first. ``_product_from`` makes them bytes again.
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["files"] = {name: np.frombuffer(data, dtype=np.uint8) for name, data in self.files.items()}
        return _product_from, (fields,)


def _product_from(fields: dict[str, Any]) -> CueProduct:
    files = {name: bytes(array) for name, array in fields["files"].items()}
    return CueProduct(**{**fields, "files": files})


def _options_record(options: Any) -> dict[str, Any] | None:
    if options is None:
        return None
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(options).items()}


def _emit(progress: Progress | None, cue_id: str, stage: str) -> None:
    if progress is not None:
        progress({"cue": cue_id, "stage": stage})


@dataclass
class PreparedCue:
    """A cue after its symbolic stages: the score to render (as MIDI bytes, so it
    travels between Ray nodes), the sections it renders to (the stems of the presets
    that sound: a program the SoundFont lacks may be stood in for from another
    section), and what was done."""

    midi_bytes: bytes  # the delivered <id>.mid
    sections: list[str]
    notes: list[str]
    render_bytes: bytes | None = None  # what FluidSynth plays, when it differs from midi_bytes
    musicxml_bytes: bytes | None = None  # the delivered <id>.musicxml, for an orchestrated cue


@dataclass
class RenderedStem:
    section: str
    audio: np.ndarray
    fallbacks: list[str]  # the programs the SoundFont stood in for: the cue's warnings
    notes: list[str] = field(default_factory=list)  # what else was done to the stem (re-synthesis)


def prepare_cue(spec: CueSpec) -> PreparedCue:
    """The symbolic stages: load and validate the sketch, extend it by the cue's
    ``extend_bars`` with the shipped transformer (seeded by the cue's ``seed``),
    harmonize it when the cue asks, bend its tempo map so that downbeats land on the
    cue's ``hits`` (``symbolic.hits``), and orchestrate it for the cue's ``ensemble``; then
    the stems it renders to, from the SoundFont's presets (loaded once per process).
    Bad input raises ScoreError naming the sketch."""
    from scorefarm.symbolic.score_io import load_score_bytes_and_programs, score_to_bytes, smpte_from_timecode
    from scorefarm.symbolic.smf_tracks import split_programs

    from .synth import check_render_length, score_sections

    # a line's program changes (arco -> pizz) are read beside the score: one line for the symbolic
    # stages, one track per program where the renderer plays it
    score, programs = load_score_bytes_and_programs(spec.sketch_bytes, spec.sketch_name)
    try:  # an hours-long sketch is refused before it is extended and orchestrated
        check_render_length(score)
    except ScoreError as exc:
        raise ScoreError(exc.message, spec.sketch_name) from None
    notes: list[str] = []
    bars = spec.cue_options.get("extend_bars", 0)
    if bars:
        from scorefarm.symbolic.extend import extend_for_cue

        extended = extend_for_cue(score, bars, spec.cue_options.get("seed", 0), name=spec.sketch_name)
        score = extended.score
        notes += [f"extended by {extended.added_bars} bars ({extended.added_notes} notes, key {extended.key}, "
                  f"seed {extended.seed})", *extended.notes]
    if spec.cue_options.get("harmonize"):
        from scorefarm.symbolic.harmonize import HarmonizeOptions, harmonize_score

        score, done = harmonize_score(score, HarmonizeOptions(style="film"), name=spec.sketch_name)
        programs = {}  # four new tracks
        notes += [f"harmonized (film style): {note}" for note in done]
    if spec.cue_options.get("hits") and spec.start is not None:  # after the extension: its bars can catch them
        from scorefarm.symbolic.hits import Hit, fit_hits
        from scorefarm.symbolic.timecode import Timecode

        hits = [Hit(float(Timecode.parse(label, spec.start.rate).to_seconds() - spec.start.to_seconds()), label)
                for label in spec.cue_options["hits"]]
        score, said = fit_hits(score, hits)
        notes += said
    smpte = None if spec.start is None else smpte_from_timecode(spec.start)
    ensemble = spec.cue_options.get("ensemble", "")
    if ensemble:
        from scorefarm.arrange.notation import musicxml_bytes
        from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
        from scorefarm.arrange.output import daw_midi_bytes, orchestra_score

        try:
            with tempfile.TemporaryDirectory() as folder:
                if spec.ensemble_toml:  # the user's file travelled as text: any node can read it
                    ensemble = str(Path(folder) / Path(ensemble).name)
                    Path(ensemble).write_text(spec.ensemble_toml, encoding="utf-8")
                result = orchestrate(score, OrchestrateOptions(ensemble=ensemble), name=spec.sketch_name)
        except InputError as exc:  # an unknown ensemble, a broken ensemble file: the cue list's fault
            if exc.path is None or spec.ensemble_toml:
                raise CueListError(f"cue {spec.cue_id}: {exc.message}", spec.cue_list_name or None) from None
            raise
        notes += [f"orchestrated for {result.ensemble.name}", *result.notes]
        rendered = orchestra_score(result, render=True)
        notation = musicxml_bytes(result, title=spec.cue_title or spec.cue_id, name=spec.sketch_name)
        return PreparedCue(midi_bytes=daw_midi_bytes(result, smpte=smpte),
                           sections=score_sections(rendered, spec.soundfont),
                           notes=notes + _stem_notes(rendered), render_bytes=score_to_bytes(rendered),
                           musicxml_bytes=notation)
    return PreparedCue(midi_bytes=score_to_bytes(score, smpte=smpte, programs=programs),
                       sections=score_sections(split_programs(score, programs), spec.soundfont),
                       notes=notes + _stem_notes(score))


def _stem_notes(score) -> list[str]:
    """Why a track named for one section sounds in another's stem, when one does."""
    from scorefarm.arrange.sections import misnamed_tracks

    said = misnamed_tracks(score.tracks)
    return [said] if said else []


def render_section(spec: CueSpec, prepared: PreparedCue, section: str) -> RenderedStem:
    """One stem: the section's tracks rendered at the whole cue's length."""
    from scorefarm.symbolic.score_io import load_score_bytes_and_programs
    from scorefarm.symbolic.smf_tracks import split_programs

    from .synth import RenderOptions, render_stems

    score = split_programs(*load_score_bytes_and_programs(prepared.render_bytes or prepared.midi_bytes,
                                                           spec.sketch_name))
    try:
        result = render_stems(score, spec.soundfont, spec.render or RenderOptions(), sections=[section])
    except InputError as exc:
        if exc.path is None:  # name the sketch the bad input came from
            raise type(exc)(f"{section} stem: {exc.message}", spec.sketch_name) from None
        raise
    return RenderedStem(section, result.stems[section], result.fallbacks)


def resynth_stem(spec: CueSpec, stem: RenderedStem) -> RenderedStem:
    """Re-voice one rendered stem with MusicGen-Melody (the cue's mood as prompt),
    replacing it or mixed under it as the cue asks."""
    from .musicgen import LICENCE_NOTICE, _resolve_device, load_resynth_model
    from .resynth import resynthesize
    from .synth import RenderOptions

    sample_rate = (spec.render or RenderOptions()).sample_rate
    options = spec.resynth
    bundle = load_resynth_model(options.model_dir, _resolve_device(options.device))
    fitted = []
    limit = bundle.model.config.chroma_length * bundle.chroma.hop_length / bundle.sampling_rate
    if options.window_seconds > limit:  # a checkpoint conditioned on less than 30 s of chroma
        window = math.floor(limit * 90) / 100  # a margin: chroma frames round up
        options = dataclasses.replace(options, window_seconds=window,
                                      overlap_seconds=min(options.overlap_seconds, window / 4))
        fitted.append(f"re-synthesis window shortened to {window:g} s, the model's chroma conditioning length")
    result = resynthesize(stem.audio, sample_rate, options, model=bundle)
    audio = result.audio.astype(np.float32)
    if sample_rate != 48000:  # resynthesize delivers 48 kHz
        from .master import _resample

        audio = _resample(audio, 48000, sample_rate).astype(np.float32)
    audio = audio[: stem.audio.shape[0]]
    if audio.shape[0] < stem.audio.shape[0]:
        audio = np.pad(audio, ((0, stem.audio.shape[0] - audio.shape[0]), (0, 0)))
    notes = [f"{stem.section} stem re-synthesized ({options.mode}) with {options.model_dir.name}", *fitted]
    notes += [n for n in result.notes if n != LICENCE_NOTICE] + [LICENCE_NOTICE]
    return RenderedStem(stem.section, audio, stem.fallbacks, [*stem.notes, *notes])


def render_cue(spec: CueSpec, progress: Progress | None = None) -> CueProduct:
    """Run every stage of one cue in this process and return its outputs as bytes.
    The farm runs the same stages as separate Ray tasks, with identical results."""
    started = time.perf_counter()
    _emit(progress, spec.cue_id, "symbolic")
    prepared = prepare_cue(spec)
    stems = []
    for section in prepared.sections:
        _emit(progress, spec.cue_id, f"render {section}")
        stem = render_section(spec, prepared, section)
        if spec.resynth is not None:
            _emit(progress, spec.cue_id, f"resynth {section}")
            stem = resynth_stem(spec, stem)
        stems.append(stem)
    return finish_cue(spec, prepared, stems, progress=progress, started=started)


def finish_cue(spec: CueSpec, prepared: PreparedCue, stems: list[RenderedStem],
               progress: Progress | None = None, started: float | None = None) -> CueProduct:
    """Mix (the plain sum of the stems), master, encode and describe one cue."""
    from .master import MasterOptions, master
    from .synth import RenderOptions

    started = time.perf_counter() if started is None else started
    master_options = spec.master or MasterOptions()
    render_options = spec.render or RenderOptions()
    cue_id = spec.cue_id
    sample_rate = render_options.sample_rate
    stem_audio = {stem.section: stem.audio for stem in stems}
    mix = np.sum([stem_audio[s] for s in prepared.sections], axis=0, dtype=np.float32)
    midi_bytes = prepared.midi_bytes

    _emit(progress, cue_id, "master")
    sends = [a for name, a in stem_audio.items() if name in REVERB_SECTIONS]
    reverb_bus = np.sum(sends, axis=0) if sends else None
    mastered = master(mix, sample_rate, master_options, reverb_bus=reverb_bus)

    _emit(progress, cue_id, "encode")
    warnings = list(dict.fromkeys(f for stem in stems for f in stem.fallbacks))
    notes = list(dict.fromkeys([*prepared.notes, *(n for stem in stems for n in (*stem.fallbacks, *stem.notes)),
                                *mastered.notes]))
    files: dict[str, bytes] = {}
    audio_info: dict[str, dict[str, Any]] = {}
    time_reference = 0 if spec.start is None else spec.start.to_samples(sample_rate)
    for section, audio in stem_audio.items():
        name = f"{cue_id}_{section}.wav"
        files[name], audio_info[name] = _encode(audio, sample_rate, spec, f"stem {section}", time_reference)
    mix_name = f"{cue_id}_mix.wav"
    files[mix_name], audio_info[mix_name] = _encode(mastered.audio, sample_rate, spec, "mix", time_reference)
    files[f"{cue_id}.mid"] = midi_bytes
    if prepared.musicxml_bytes is not None:
        files[f"{cue_id}.musicxml"] = prepared.musicxml_bytes

    key = spec.key()
    manifest = {
        "scorefarm": __version__,
        "key": key,
        "film": spec.film_title,
        "cue": {"id": cue_id, "title": spec.cue_title, "start": None if spec.start is None else str(spec.start),
                **spec.cue_options},
        "inputs": {
            "sketch": {"name": spec.sketch_name, "sha256": sha256_bytes(spec.sketch_bytes)},
            "soundfont": {"name": spec.soundfont.name, "licence": spec.soundfont.licence,
                          "sha256": spec.soundfont_sha256},
        },
        "options": {"render": _options_record(render_options), "master": _options_record(master_options),
                    "resynth": _options_record(spec.resynth)},
        "master": {"gain_db": round(float(mastered.gain_db), 4)},
        "outputs": {
            name: {"sha256": sha256_bytes(data), "bytes": len(data), **audio_info.get(name, {})}
            for name, data in sorted(files.items())
        },
        "notes": notes,
        "warnings": warnings,  # among the notes: what the composer hears differently from the score
    }
    _emit(progress, cue_id, "done")
    return CueProduct(
        cue_id=cue_id,
        key=key,
        files=files,
        manifest=manifest,
        duration_seconds=mix.shape[0] / sample_rate,
        loudness_lufs=_finite(mastered.loudness_lufs),
        true_peak_dbtp=float(mastered.true_peak_dbtp),
        notes=notes,
        wall_seconds=time.perf_counter() - started,
    )


def _finite(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 3)


def _encode(audio: np.ndarray, sample_rate: int, spec: CueSpec, what: str, time_reference: int):
    """WAV bytes (48 kHz / 24-bit BWF) and the manifest's figures for one file."""
    from .master import integrated_loudness
    from .truepeak import true_peak_dbtp
    from .wavio import Bext, write_wav

    description = _ascii(f"{spec.film_title} | {spec.cue_id} {spec.cue_title} | {what}".strip(" |"))
    bext = Bext(description=description[:256], originator="scorefarm", originator_reference=spec.cue_id[:32],
                time_reference=time_reference, coding_history=f"A=PCM,F={sample_rate},W=24,T=scorefarm {__version__}")
    with tempfile.TemporaryDirectory(prefix="scorefarm-") as tmp:
        path = Path(tmp) / "audio.wav"
        write_wav(path, audio, sample_rate, bit_depth=24, bext=bext)
        data = path.read_bytes()
    info = {
        "duration_seconds": round(audio.shape[0] / sample_rate, 6),
        "sample_rate": sample_rate,
        "bit_depth": 24,
        "channels": int(audio.shape[1]),
        "loudness_lufs": _finite(integrated_loudness(audio, sample_rate)),
        "true_peak_dbtp": _finite(true_peak_dbtp(audio, sample_rate)),
        "time_reference_samples": time_reference,
    }
    return data, info


def _ascii(text: str) -> str:
    """BWF text fields are ASCII: fold accents ("Zoë" -> "Zoe"), drop the rest."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def write_cue(product: CueProduct, folder: Path) -> None:
    """Write a cue's files atomically; the manifest goes last and marks the cue done."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(product.files.items()):
        write_bytes_atomic(folder / name, data)
    write_bytes_atomic(folder / "manifest.json", manifest_bytes(product.manifest))


def cached(folder: Path, key: str) -> dict[str, Any] | None:
    """The cue's manifest when its outputs exist with this key and their recorded hashes."""
    from scorefarm.files import sha256_file

    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("key") != key:
        return None
    for name, record in manifest.get("outputs", {}).items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != record.get("bytes"):
            return None
        if sha256_file(path) != record.get("sha256"):
            return None
    return manifest
