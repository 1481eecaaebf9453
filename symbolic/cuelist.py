"""The film's cue list (``film.toml``): reading and validating it.

The format is DESIGN.md's "Cue list": a ``[film]`` table and one ``[[cues]]`` table per
cue, paths relative to the file. Every problem is refused with a one-line
``CueListError`` that names the file, the cue (``cue 1M1``, or ``cues[3] (4th [[cues]]
table)`` when its id is missing or bad), the key, what was received and what is allowed.
Nothing is guessed and no unknown key is kept. What can be checked before rendering is
checked here: each sketch is read and parsed (a cue keeps its bytes and parsed score, so
the farm plans with them instead of parsing again) and must be short enough to render,
each ensemble is looked up, each cue must end before midnight (timecode does not wrap),
and no cue id may take a name its folder cannot have (the film's own files, Windows
device names). A sketch path written in the other Unicode form of its file's name (an
accented name from a Mac) finds the file; one in the wrong case is refused with the
name it may mean.
"""

from __future__ import annotations

import datetime
import difflib
import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import CueListError, InputError, ScoreError, TimecodeError
from .timecode import FrameRate, Timecode

FILM_KEYS = ("title", "frame_rate", "sample_rate", "loudness", "true_peak", "soundfont", "resynth_model")
CUE_KEYS = ("id", "title", "sketch", "start", "extend_bars", "harmonize", "ensemble",
            "mood", "resynth", "resynth_mode", "seed", "hits")
RESYNTH_MODES = ("mix", "replace")
TOP_LEVEL_KEYS = ("film", "cues")

SAMPLE_RATES = (44100, 48000, 96000)
LOUDNESS_RANGE_LUFS = (-40.0, -5.0)
TRUE_PEAK_RANGE_DBTP = (-10.0, 0.0)
EXTEND_BARS_MAX = 256
SEED_MAX = 2**32 - 1  # the widest seed every RNG in the pipeline takes (numpy's legacy one)
CUE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
CUE_ID_RULE = ("1 to 32 characters: letters, digits, '_', '-', '.'; starting with a letter "
               "or digit, not ending with '.', no '..'")
# Names a cue's folder may not take: the film's own files beside the cue folders in the
# output folder (render.farm.FILM_FILES), and the device names Windows will not give a
# file or folder (with any extension), where a dub stage may copy the delivery.
FILM_FILE_NAMES = ("cue_sheet.csv", "manifest.json")
WINDOWS_DEVICE_NAMES = ("con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10)))

# The rates a film renders at: a cue's MIDI carries its start as a Standard MIDI File
# SMPTE offset, which the render writes at these (timecode.Timecode.smf_offset can
# write the others at their half; the render does not call it yet).
FILM_RATE_LABELS = ("23.976", "24", "25", "29.97", "29.97 NDF", "30")
FILM_ALLOWED_RATES = ("23.976 (or 23.98), 24, 25, 29.97 (drop-frame), 30; or as a string with the kind "
                      "after the number: '29.97 DF', '29.97 NDF' (non-drop), '23.976 fps'")
DEFAULT_FRAME_RATE = 24


@dataclass(frozen=True)
class Film:
    title: str
    frame_rate: FrameRate
    sample_rate: int
    loudness_lufs: float
    true_peak_dbtp: float
    soundfont: str  # a catalogue name or a path (relative to ``folder``), as written
    folder: Path  # the folder holding film.toml, absolute, symlinks resolved
    resynth_model: Path | None = None  # local MusicGen-Melody folder for cues with resynth = true


@dataclass(frozen=True)
class Cue:
    id: str
    title: str
    sketch: Path  # absolute, symlinks resolved, inside the film's folder
    start: Timecode
    extend_bars: int
    harmonize: bool
    ensemble: str  # "" keeps the sketch's own instruments; a name, or a .toml path relative to the film folder
    mood: str
    resynth: bool
    seed: int
    hits: tuple[Timecode, ...]
    folder: Path | None = None  # the film's folder; set by load_cue_list
    resynth_mode: str = "mix"  # the re-synthesized layer goes under the stem ("mix") or replaces it
    sketch_bytes: bytes = field(default=b"", repr=False, compare=False)  # as read and checked at load
    sketch_score: Any = field(default=None, repr=False, compare=False)  # the parsed sketch (symusic ScoreTick)


@dataclass(frozen=True)
class CueList:
    path: Path
    film: Film
    cues: tuple[Cue, ...]


# -- describing values in messages ---------------------------------------------------


def _describe(value: Any) -> str:
    """A value as TOML would show it, with its TOML type."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{value!r} (a float)"
    if isinstance(value, str):
        shown = value if len(value) <= 100 else value[:97] + "..."
        return f"{shown!r} (a string)"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"an array of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, datetime.datetime):
        return f"{value.isoformat()} (a TOML date-time)"
    if isinstance(value, datetime.date):
        return f"{value.isoformat()} (a TOML date)"
    if isinstance(value, datetime.time):
        return f"{value.isoformat()} (a TOML time; quote timecodes)"
    return repr(value)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class _Where:
    """Where in the file a value sits; raises errors that say so."""

    path: str  # the cue list's path as the user gave it
    place: str  # "[film]", "cue 1M1", "cues[3] (4th [[cues]] table)"

    def fail(self, key: str | None, problem: str) -> CueListError:
        where = self.place + (f": key '{key}'" if key is not None else "")
        return CueListError(f"{where}: {problem}", self.path)

    def wrong(self, key: str, value: Any, allowed: str) -> CueListError:
        return self.fail(key, f"received {_describe(value)}; allowed: {allowed}")

    def check_keys(self, table: dict, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                folded = {name.casefold(): name for name in allowed}
                close = difflib.get_close_matches(key.casefold(), list(folded), n=1)
                # a word of a key ('bars' for 'extend_bars'), which difflib finds too far
                close = close or [name for name in folded if key.casefold() in name.split("_")][:1]
                close = [folded[close[0]]] if close else []
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise self.fail(key, f"unknown key; {hint}allowed: {', '.join(allowed)}")

    # typed readers: each returns the value or raises naming the key

    def string(self, key: str, value: Any, *, allow_empty: bool) -> str:
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            raise self.wrong(key, value, "a string" if allow_empty else "a non-empty string")
        return value

    def line(self, key: str, value: Any) -> str:
        """A non-empty string on one line: a title, which the cue sheet's rows carry."""
        text = self.string(key, value, allow_empty=False)
        if any(unicodedata.category(c) == "Cc" for c in text):
            raise self.wrong(key, value, "a non-empty string on one line, without control characters "
                             "(it is a cell of the cue sheet)")
        return text

    def boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.wrong(key, value, "true or false")
        return value

    def integer(self, key: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.wrong(key, value, f"an integer from {low} to {high}")
        return value

    def number(self, key: str, value: Any, low: float, high: float) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not low <= value <= high:
            raise self.wrong(key, value, f"a number from {low:g} to {high:g}")
        return float(value)

    def timecode(self, key: str, value: Any, rate: FrameRate) -> Timecode:
        if not isinstance(value, str):
            raise self.wrong(key, value, f"a quoted timecode string 'HH:MM:SS:FF' at {rate}")
        try:
            return Timecode.parse(value, rate)
        except TimecodeError as exc:
            raise self.fail(key, exc.message) from None


# -- reading -------------------------------------------------------------------------


def load_cue_list(path: str | Path) -> CueList:
    """Read and validate the cue list at ``path``; raise ``CueListError`` on any problem."""
    given = str(path)
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CueListError(f"cannot read the cue list ({exc.strerror or exc})", given) from None
    try:
        text = raw.decode("utf-8-sig")  # tolerate the BOM some editors write
    except UnicodeDecodeError as exc:
        raise CueListError(f"not UTF-8 text (byte {exc.start}); TOML files must be UTF-8", given) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CueListError(f"TOML syntax error: {exc}", given) from None

    folder = path.absolute().parent.resolve()
    top = _Where(given, "top level")
    top.check_keys(data, TOP_LEVEL_KEYS)
    film = _read_film(data.get("film", {}), folder, given)

    cues_value = data.get("cues", [])
    if not isinstance(cues_value, list):
        raise top.wrong("cues", cues_value, "an array of [[cues]] tables")
    if not cues_value:
        raise top.fail("cues", "no cues; add at least one [[cues]] table with id, sketch and start")
    cues: list[Cue] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(cues_value):
        cue = _read_cue(table, index, film, given)
        earlier = seen.setdefault(cue.id.casefold(), index)
        if earlier != index:
            raise _Where(given, f"cue {cue.id}").fail(
                "id", f"duplicate id {cue.id!r}: cues[{earlier}] is already "
                f"{cues[earlier].id!r}; allowed: ids unique ignoring case (they name output files)"
            )
        cues.append(cue)
    return CueList(path=folder / path.name, film=film, cues=tuple(cues))


def _read_film(table: Any, folder: Path, given: str) -> Film:
    where = _Where(given, "[film]")
    if not isinstance(table, dict):
        raise _Where(given, "top level").wrong("film", table, "a [film] table")
    where.check_keys(table, FILM_KEYS)
    title = where.line("title", table.get("title", folder.name))
    rate_value = table.get("frame_rate", DEFAULT_FRAME_RATE)
    frame_rate = None
    if isinstance(rate_value, (int, float, str)) and not isinstance(rate_value, bool):
        try:
            frame_rate = FrameRate.parse(rate_value)
        except TimecodeError:
            pass
    if frame_rate is None:
        raise where.wrong("frame_rate", rate_value, FILM_ALLOWED_RATES)
    if frame_rate.label not in FILM_RATE_LABELS:
        raise where.fail("frame_rate", f"received {_describe(rate_value)}: {frame_rate} timecode is counted, but a "
                         "film cannot be rendered at it yet (each cue's MIDI file carries its start as an SMPTE "
                         "offset, written at 24, 25, 29.97 drop-frame or 30 frames a second only); allowed: "
                         f"{FILM_ALLOWED_RATES}")
    sample_rate = table.get("sample_rate", 48000)
    if type(sample_rate) is not int or sample_rate not in SAMPLE_RATES:
        raise where.wrong("sample_rate", sample_rate, ", ".join(map(str, SAMPLE_RATES)))
    return Film(
        title=title,
        frame_rate=frame_rate,
        sample_rate=sample_rate,
        loudness_lufs=where.number("loudness", table.get("loudness", -23.0), *LOUDNESS_RANGE_LUFS),
        true_peak_dbtp=where.number("true_peak", table.get("true_peak", -1.0), *TRUE_PEAK_RANGE_DBTP),
        soundfont=where.string("soundfont", table.get("soundfont", "default"), allow_empty=False),
        folder=folder,
        resynth_model=_model_folder(where, table.get("resynth_model", ""), folder),
    )


def _model_folder(where: _Where, value: Any, folder: Path) -> Path | None:
    """The re-synthesis model's folder (relative to the film folder or absolute; models
    live outside films, like SoundFonts). It must exist, with a model's files, when given."""
    text = where.string("resynth_model", value, allow_empty=True)
    if not text:
        return None
    target = (folder / text).resolve()
    if not target.is_dir():
        raise where.fail("resynth_model", f"no model folder at {text!r} (looked for {target}); allowed: a "
                         "local folder holding a MusicGen-Melody model (config.json, model.safetensors, ...)")
    from scorefarm.render.musicgen import missing_files

    missing = missing_files(target)
    if missing:
        raise where.fail("resynth_model", f"the model folder {text!r} is incomplete: missing {', '.join(missing)}")
    return target


def _valid_id(value: Any) -> bool:
    return (isinstance(value, str) and CUE_ID_PATTERN.fullmatch(value) is not None
            and not value.endswith(".") and ".." not in value)


def _reserved_id(cue_id: str) -> str | None:
    """Why ``cue_id`` cannot name a cue's folder, or None when it can."""
    if cue_id.casefold() in FILM_FILE_NAMES:
        return (f"{cue_id!r} is the name of the film's own {cue_id.casefold()} in the output folder, "
                "beside the cue folders")
    if cue_id.split(".")[0].casefold() in WINDOWS_DEVICE_NAMES:
        return (f"{cue_id!r} is a device name on Windows (CON, PRN, AUX, NUL, COM0-9, LPT0-9, with any "
                "extension): no file or folder there can take it")
    return None


def _read_cue(table: Any, index: int, film: Film, given: str) -> Cue:
    by_index = _Where(given, f"cues[{index}] ({_ordinal(index + 1)} [[cues]] table)")
    if not isinstance(table, dict):
        raise by_index.fail(None, f"received {_describe(table)}; allowed: a [[cues]] table")
    cue_id = table.get("id")
    where = _Where(given, f"cue {cue_id}") if _valid_id(cue_id) else by_index
    where.check_keys(table, CUE_KEYS)
    for key in ("id", "sketch", "start"):
        if key not in table:
            raise where.fail(key, f"missing; every cue needs {', '.join(('id', 'sketch', 'start'))}")
    if not _valid_id(cue_id):
        raise by_index.wrong("id", cue_id, CUE_ID_RULE)
    reserved = _reserved_id(cue_id)
    if reserved:
        raise where.fail("id", f"{reserved}; allowed: another id (the cue's folder and files take its name)")

    rate = film.frame_rate
    start = where.timecode("start", table["start"], rate)
    hits_value = table.get("hits", [])
    if not isinstance(hits_value, list):
        raise where.wrong("hits", hits_value, "an array of timecode strings")
    hits = []
    for n, item in enumerate(hits_value):
        hit = where.timecode(f"hits[{n}]", item, rate)
        if hit < start:
            raise where.fail(f"hits[{n}]", f"hit point {hit} is before the cue's start {start}; "
                             "allowed: at or after the start")
        hits.append(hit)
    sketch, sketch_bytes, sketch_score, sketch_seconds = _read_sketch(where, table["sketch"], film.folder)
    extend_bars = where.integer("extend_bars", table.get("extend_bars", 0), 0, EXTEND_BARS_MAX)
    _check_ends_by_midnight(where, start, sketch_score, sketch_seconds, extend_bars, bool(hits))
    return Cue(
        id=cue_id,
        title=where.line("title", table.get("title", cue_id)),
        sketch=sketch,
        start=start,
        extend_bars=extend_bars,
        harmonize=where.boolean("harmonize", table.get("harmonize", False)),
        ensemble=_ensemble(where, table.get("ensemble", ""), film.folder),
        mood=where.string("mood", table.get("mood", ""), allow_empty=True),
        resynth=_resynth(where, table, film),
        seed=where.integer("seed", table.get("seed", 0), 0, SEED_MAX),
        hits=tuple(hits),
        folder=film.folder,
        resynth_mode=_resynth_mode(where, table),
        sketch_bytes=sketch_bytes,
        sketch_score=sketch_score,
    )


def _resynth(where: _Where, table: dict, film: Film) -> bool:
    wanted = where.boolean("resynth", table.get("resynth", False))
    if wanted and film.resynth_model is None:
        raise where.fail("resynth", "true needs a model: set resynth_model in [film] to a local "
                         "MusicGen-Melody folder")
    return wanted


def _resynth_mode(where: _Where, table: dict) -> str:
    mode = table.get("resynth_mode", "mix")
    if mode not in RESYNTH_MODES:
        raise where.wrong("resynth_mode", mode, " or ".join(repr(m) for m in RESYNTH_MODES))
    return mode


def _ensemble(where: _Where, value: Any, folder: Path) -> str:
    """A template name, or a TOML file of the user's ensembles inside the film folder
    (kept as written, relative to the folder; checked to exist and to define the ensemble)."""
    from scorefarm.arrange.catalogue import ensembles, load_ensemble

    name = where.string("ensemble", value, allow_empty=True)
    if name.endswith(".toml"):
        target = _sketch_path(where, name, folder, key="ensemble")
        try:
            load_ensemble(str(target))
        except InputError as exc:
            raise where.fail("ensemble", exc.one_line()) from None
    elif name:
        known = sorted(ensembles())
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise where.fail("ensemble", f"unknown ensemble {name!r}; {hint}allowed: '' (the sketch's own "
                             f"instruments), a .toml file in the film folder, or one of: {', '.join(known)}")
    return name


NOTATION_SUFFIXES = (".musicxml", ".mxl", ".xml", ".mscz", ".sib", ".dorico")


def _read_sketch(where: _Where, value: Any, folder: Path) -> tuple[Path, bytes, Any, float]:
    """The sketch's path, bytes, parsed score and the second its last note ends: a file
    inside ``folder`` that is a MIDI file with notes, short enough to render. A bad
    sketch stops the film here, before anything is rendered."""
    from scorefarm.render.synth import check_render_length

    from .score_io import load_score_bytes

    target = _sketch_path(where, value, folder)
    if target.suffix.lower() in NOTATION_SUFFIXES:
        raise where.fail("sketch", f"{value!r} is a notation file; allowed: a MIDI file (.mid): a film's "
                         "sketches are rendered from MIDI (export it from the notation program)")
    try:
        data = target.read_bytes()
    except OSError as exc:
        raise where.fail("sketch", f"cannot read {value!r} ({exc.strerror or exc})") from None
    try:
        score = load_score_bytes(data, str(target))
    except ScoreError as exc:
        raise where.fail("sketch", f"{value!r} {exc.message}") from None
    try:  # a sketch too long to render stops the film now, not on a Ray worker
        seconds = check_render_length(score)
    except ScoreError as exc:
        raise where.fail("sketch", f"{value!r}: {exc.message}") from None
    return target, data, score, seconds


def _check_ends_by_midnight(where: _Where, start: Timecode, score: Any, sketch_seconds: float,
                            extend_bars: int, hits: bool = False) -> None:
    """Refuse a cue that would run past 23:59:59:FF, where timecode ends (it does not
    wrap): its length is known before rendering but for the extension, taken here as
    the rest of the sketch's last bar and ``extend_bars`` bars of its last metre, at its
    last tempo (the demo's 3M1, 18.72 s and four 5/4 bars at 96: 31.25 s, as rendered),
    and for its ``hits``, which may slow it by up to ``hits.MAX_STRETCH``."""
    from scorefarm.render.synth import RenderOptions
    from scorefarm.symbolic.hits import MAX_STRETCH

    tail = RenderOptions().tail_seconds
    extension = _extension_seconds(score, extend_bars) if extend_bars else 0.0
    slowed = 1 / (1 - MAX_STRETCH) if hits else 1.0
    length = (sketch_seconds + extension) * slowed + tail
    rate = start.rate
    day = Timecode(rate.frames_per_day - 1, rate)
    if start.to_seconds() + Fraction(length) <= day.to_seconds():
        return
    parts = [f"the sketch to its last note {sketch_seconds:.1f} s"]
    if extension:
        parts.append(f"the rest of its last bar and {extend_bars} bar{'s' if extend_bars != 1 else ''} of "
                     f"extension about {extension:.1f} s")
    if hits:
        parts.append(f"up to {MAX_STRETCH:.0%} slower to catch its hits")
    parts.append(f"the render's {tail:g} s release")
    raise where.fail("start", f"the cue runs past midnight: from {start} it lasts about {length:.1f} s "
                     f"({', '.join(parts)}), past {day}, the last timecode of the day (timecode does not wrap "
                     "at 24:00:00:00); allowed: a start that ends the cue within the day, such as "
                     f"{Timecode.from_seconds(day.to_seconds() - Fraction(math.ceil(length)), rate)} or earlier")


def _extension_seconds(score: Any, bars: int) -> float:
    """Seconds from the score's last note to the end of ``bars`` more bars of its last
    time signature (the extension starts at the bar line after the sketch), at its last
    tempo."""
    signatures, tempos = score.time_signatures, score.tempos
    numerator, denominator, since = ((signatures[-1].numerator, signatures[-1].denominator, signatures[-1].time)
                                     if len(signatures) else (4, 4, 0))
    quarters_per_minute = tempos[-1].qpm if len(tempos) else 120.0
    bar_ticks = score.ticks_per_quarter * 4 * numerator / denominator
    end = max((int(n.time + n.duration) for track in score.tracks for n in track.notes), default=0)
    rest_of_bar = -(end - since) % bar_ticks if end > since else 0
    return (rest_of_bar + bars * bar_ticks) / score.ticks_per_quarter * 60.0 / quarters_per_minute


def _sketch_path(where: _Where, value: Any, folder: Path, key: str = "sketch") -> Path:
    """The sketch's absolute, resolved path; it must be a file inside ``folder``."""
    relative = where.string(key, value, allow_empty=False)
    if Path(relative).is_absolute():
        raise where.fail(key, f"{relative!r} is an absolute path; allowed: a path "
                         f"relative to the film folder {folder}")
    try:
        target = (folder / relative).resolve()
        if not target.exists():  # written in the other Unicode form than the file's name (a Mac's NFD)
            target = _same_name_other_form(folder, relative) or target
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise where.fail(key, f"cannot resolve {relative!r} ({exc})") from None
    if not target.is_relative_to(folder):
        raise where.fail(key, f"{relative!r} resolves to {target}, outside the film folder; "
                         f"allowed: files inside {folder}")
    if not target.exists():
        raise where.fail(key, f"file not found: {relative!r} (looked for {target}){_path_hint(folder, relative)}")
    if not target.is_file():
        raise where.fail(key, f"{relative!r} is not a file ({target})")
    return target


def _walk_names(folder: Path, relative: str, same) -> Path | None:
    """``relative`` under ``folder``, each missing name replaced by the one entry of its
    folder that ``same(written, entry)`` accepts; None when a name has no single such entry."""
    here = folder
    for name in Path(relative).parts:
        if name in (".", "..") or (here / name).exists():
            here = here / name
            continue
        try:
            matches = [entry.name for entry in here.iterdir() if same(name, entry.name)]
        except OSError:
            return None
        if len(matches) != 1:
            return None
        here = here / matches[0]
    return here


def _same_name_other_form(folder: Path, relative: str) -> Path | None:
    """The file ``relative`` names when its names differ from those on disk only in
    Unicode normalization ('é' as one character or as 'e' and an accent: macOS writes
    names decomposed, most editors compose them): the same name to a composer and to a
    Mac, two names to Linux."""
    def same(written: str, entry: str) -> bool:
        return unicodedata.normalize("NFC", written) == unicodedata.normalize("NFC", entry)

    found = _walk_names(folder, relative, same)
    return found.resolve() if found is not None and found.exists() else None


def _path_hint(folder: Path, relative: str) -> str:
    """A hint for a path not found: the file it names in another case (found on a Mac,
    not on Linux), or backslashes written as folder separators."""
    def same(written: str, entry: str) -> bool:
        return unicodedata.normalize("NFC", written).casefold() == unicodedata.normalize("NFC", entry).casefold()

    found = _walk_names(folder, relative, same)
    if found is not None and found.exists():
        return (f"; did you mean {found.relative_to(folder).as_posix()!r}? (file names are case-sensitive here, "
                "unlike on macOS and Windows)")
    if "\\" in relative:
        return "; write folders with '/', not '\\', even on Windows"
    return ""


# -- records -------------------------------------------------------------------------


def cue_options_dict(cue: Cue, folder: str | Path | None = None) -> dict[str, Any]:
    """A cue's fields as a JSON-safe dict for manifests and cache keys: the sketch
    relative to the film folder (``folder``, else ``cue.folder``) in POSIX form,
    timecodes as their labels. The same cue gives the same dict on any machine."""
    base = Path(folder).resolve() if folder is not None else cue.folder
    if base is None:
        raise ValueError("cue_options_dict needs the film folder: pass folder= or load the "
                         "cue with load_cue_list")
    return {
        "id": cue.id,
        "title": cue.title,
        "sketch": cue.sketch.relative_to(base).as_posix(),
        "start": str(cue.start),
        "extend_bars": cue.extend_bars,
        "harmonize": cue.harmonize,
        "ensemble": cue.ensemble,
        "mood": cue.mood,
        "resynth": cue.resynth,
        "resynth_mode": cue.resynth_mode,
        "seed": cue.seed,
        "hits": [str(hit) for hit in cue.hits],
    }


def film_options_dict(film: Film) -> dict[str, Any]:
    """The film's settings as a JSON-safe dict (no folder: records stay portable)."""
    return {
        "title": film.title,
        "frame_rate": film.frame_rate.label,
        "drop_frame": film.frame_rate.drop_frame,
        "sample_rate": film.sample_rate,
        "loudness_lufs": film.loudness_lufs,
        "true_peak_dbtp": film.true_peak_dbtp,
        "soundfont": film.soundfont,
    }
