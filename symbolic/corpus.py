"""Training corpus: music21's bundled corpus (and a user's MIDI folder) to MIDI files.

Every *piece* (a chorale, one tune of an ABC collection, a madrigal, a quartet
movement, one of the user's MIDI files) gets an identity string such as
``essen/han1.abc#12`` or ``user/cue_1m1.mid``. The split into train / validation /
test is a pure function of that identity (``split_of``), so it never changes when
pieces are added, removed or built in another order.

music21 streams are converted to ``symusic.Score`` here (``stream_to_score``) rather
than through music21's MIDI writer, which is slow and refuses some ABC tunes; an
anacrusis is padded to a whole bar so that bar lines fall where the tokenizer counts
them. Chord symbols of ABC tunes (accompaniment guides, not notes) are dropped.

The build is cached per source file under ``<build>/cache/``: a rebuild only parses
files it has not seen (or that changed). See ``corpora/README.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

import symusic

from scorefarm.errors import InputError, ScorefarmError
from scorefarm.files import write_bytes_atomic, write_text_atomic

from .voices import one_signature_per_tick

TPQ = 480
DEFAULT_QPM = 100.0  # tempo given to pieces that have no metronome mark
DEFAULT_VELOCITY = 80
MIN_NOTES = 8
CONVERTER_VERSION = 3  # bump to invalidate caches when stream_to_score changes
SPLIT_BUCKETS = {"test": 5, "validation": 5}  # percent; the rest is train


class CorpusError(InputError):
    """A corpus source that cannot be read or a build folder that makes no sense."""


@dataclasses.dataclass(frozen=True)
class Source:
    """A named group of files in music21's corpus."""

    name: str
    folder: str  # relative to music21's corpus folder
    patterns: tuple[str, ...]
    licence: str


# The parts of music21's corpus the issue names, in build order.
SOURCES: tuple[Source, ...] = (
    Source("bach", "bach", ("bwv*.mxl", "bwv*.krn"), "music21 corpus (Bach chorales, public domain)"),
    Source("essen", "essenFolksong", ("*.abc",), "Essen Folksong Collection (EsAC), research use"),
    Source("airds", "airdsAirs", ("*.abc",), "Aird's Airs (1782-1803), public domain"),
    Source("oneills", "oneills1850", ("*.abc",), "O'Neill's Music of Ireland (1903), public domain"),
    Source("ryans", "ryansMammoth", ("*.abc",), "Ryan's Mammoth Collection (1883), public domain"),
    Source("monteverdi", "monteverdi", ("*.mxl",), "Monteverdi madrigals (music21 encodings)"),
    Source("quartets", ".", ("beethoven/**/*.mxl", "haydn/**/*.mxl", "mozart/**/*.mxl",
                             "beethoven/*.mxl"), "string quartets (music21 / MuseData encodings)"),
    Source("palestrina", "palestrina", ("*.krn",), "Palestrina masses (Humdrum encodings)"),
)


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """What goes into a corpus build."""

    sources: tuple[str, ...] = tuple(s.name for s in SOURCES)
    midi_dirs: tuple[str, ...] = ()  # folders of the user's MIDI files (source "user")
    max_files_per_source: int | None = None  # None: all files
    time_limit_seconds: float | None = None  # stop starting new source files after this
    cached_only: bool = False  # use only source files already converted (a manifest of what is built)


@dataclasses.dataclass
class Piece:
    id: str  # identity: "<source>/<file>#<tune>"
    source: str
    midi: str  # path relative to the build folder
    split: str
    notes: int
    tracks: int
    bars: float


def split_of(identity: str) -> str:
    """'train', 'validation' or 'test', from a hash of the piece's identity."""
    bucket = int(hashlib.sha1(identity.encode("utf-8")).hexdigest()[:8], 16) % 100
    if bucket < SPLIT_BUCKETS["test"]:
        return "test"
    if bucket < SPLIT_BUCKETS["test"] + SPLIT_BUCKETS["validation"]:
        return "validation"
    return "train"


def music21_corpus_folder() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


# ---------------------------------------------------------------- conversion


def stream_to_score(stream, *, tpq: int = TPQ) -> symusic.Score:
    """Convert a music21 Score (or Part) to a symusic tick score.

    One track per part (program from the part's instrument, else 0), at sounding
    pitch (a part music21 read with a ``<transpose>`` is moved to concert pitch, as
    ``voices`` reads MusicXML), ties merged, chords split into notes, grace notes and
    chord symbols dropped; time signatures and metronome marks from the first part;
    an anacrusis padded to a full bar."""
    from music21 import harmony, meter, note as m21note, tempo

    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    shift = _pickup_padding(parts[0])
    score = symusic.Score(tpq)
    first = parts[0].flatten()
    signatures = [(_ticks(ts.offset + shift if ts.offset > 0 else 0.0, tpq), ts.numerator, ts.denominator)
                  for ts in first.getElementsByClass(meter.TimeSignature)]
    for sig in one_signature_per_tick(signatures):  # of several at one tick the last
        score.time_signatures.append(symusic.TimeSignature(*sig))
    if not score.time_signatures:
        score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    marks = [(mm.offset, mm.getQuarterBPM()) for mm in first.getElementsByClass(tempo.MetronomeMark)
             if mm.getQuarterBPM()]
    if not marks or marks[0][0] > 0:
        marks.insert(0, (0.0, DEFAULT_QPM))
    for offset, qpm in marks:
        time_ = _ticks(offset + shift if offset > 0 else 0.0, tpq)
        if score.tempos and score.tempos[-1].time == time_:
            score.tempos.pop()
        score.tempos.append(symusic.Tempo(time_, float(qpm)))
    for index, part in enumerate(parts):
        instrument = part.getInstrument(returnDefault=False) if hasattr(part, "getInstrument") else None
        program = instrument.midiProgram if instrument is not None and instrument.midiProgram is not None else 0
        name = (part.partName or (instrument.partName if instrument is not None else None) or f"part {index + 1}")
        track = symusic.Track(str(name), int(program) % 128, False)
        if getattr(part, "atSoundingPitch", None) is False:  # written pitch: a transposing part
            part = part.toSoundingPitch(inPlace=False)
        flat = part.stripTies().flatten() if part.hasMeasures() else part.flatten().stripTies()
        for element in flat.notes:
            if isinstance(element, harmony.Harmony):
                continue
            length = float(element.duration.quarterLength)
            if length <= 0 or element.duration.isGrace:
                continue
            start = _ticks(float(element.offset) + shift, tpq)
            duration = max(1, _ticks(length, tpq))
            velocity = element.volume.velocity if element.volume.velocity else DEFAULT_VELOCITY
            pitches = [element.pitch] if isinstance(element, m21note.Note) else list(element.pitches)
            for pitch in pitches:
                if 0 <= pitch.midi <= 127:
                    track.notes.append(symusic.Note(start, duration, int(pitch.midi), int(velocity)))
        if track.note_num():
            track.notes.sort(key=lambda n: (n.time, n.pitch))
            score.tracks.append(track)
    return score


def _ticks(quarters: float, tpq: int) -> int:
    return int(round(float(quarters) * tpq))


def _pickup_padding(part) -> float:
    """Quarters to add in front so that an anacrusis fills a whole bar."""
    measures = part.getElementsByClass("Measure") if hasattr(part, "getElementsByClass") else []
    if not len(measures):
        return 0.0
    first = measures[0]
    padding = float(first.paddingLeft or 0.0)
    if padding > 0:
        return padding
    bar = first.barDuration.quarterLength if first.timeSignature or first.getContextByClass("TimeSignature") else None
    if bar and len(measures) > 1 and 0 < first.duration.quarterLength < bar:
        return float(bar - first.duration.quarterLength)
    return 0.0


def _abc_tunes(path: Path) -> Iterator[tuple[str, object]]:
    """(tune key, music21 Score) for every tune of an ABC file; a broken tune yields
    (key, exception)."""
    from music21 import abcFormat
    from music21.abcFormat import translate

    text = path.read_text(encoding="latin-1")
    handler = abcFormat.ABCFile().readstr(text)
    tunes = handler.splitByReferenceNumber() if handler.definesReferenceNumbers() else {1: handler}
    for number in sorted(tunes):
        try:
            yield str(number), translate.abcToStreamScore(tunes[number])
        except Exception as exc:  # music21 raises many types for malformed tunes
            yield str(number), exc


def _file_pieces(path: Path) -> Iterator[tuple[str, object]]:
    """(key within the file, music21 stream or exception) for each piece of a file."""
    if path.suffix.lower() == ".abc":
        yield from _abc_tunes(path)
        return
    from music21 import converter

    try:
        parsed = converter.parse(str(path))
    except Exception as exc:  # music21 raises many types for files it cannot read
        yield "", exc
        return
    if "Opus" in parsed.classes:
        for index, item in enumerate(parsed.scores):
            yield str(index + 1), item
    else:
        yield "", parsed


# ---------------------------------------------------------------- the build


Progress = Callable[[dict], None]


def build_corpus(build_dir: str | Path, options: BuildOptions = BuildOptions(),
                 progress: Progress | None = None) -> dict:
    """Build (or update) the corpus under ``build_dir``; return the manifest.

    Writes ``midi/<source>/...mid`` per piece, ``cache/<source>/<file>.json`` per
    source file and ``manifest.json``. ``progress`` gets
    ``{"source", "file", "pieces", "failed", "seconds"}`` after each source file."""
    build = Path(build_dir)
    known = {s.name: s for s in SOURCES}
    unknown = [name for name in options.sources if name not in known]
    if unknown:
        raise CorpusError(f"unknown corpus source(s) {unknown}; known: {sorted(known)}")
    started = time.monotonic()
    root = music21_corpus_folder()
    entries: list[dict] = []
    stats: dict[str, dict] = {}
    stopped_early = False
    jobs: list[tuple[str, Path, Path]] = []  # (source, file, base folder for names)
    for name in options.sources:
        source = known[name]
        folder = root / source.folder
        files = sorted({f for pattern in source.patterns for f in folder.glob(pattern)})
        if options.max_files_per_source is not None:
            files = files[: options.max_files_per_source]
        jobs += [(name, f, folder) for f in files]
    for midi_dir in options.midi_dirs:
        folder = Path(midi_dir)
        if not folder.is_dir():
            raise CorpusError("is not a folder of MIDI files", folder)
        files = sorted(f for f in folder.rglob("*") if f.suffix.lower() in (".mid", ".midi"))
        if not files:
            raise CorpusError("holds no .mid or .midi files", folder)
        jobs += [("user", f, folder) for f in files]
    for name, path, base in jobs:
        if options.time_limit_seconds is not None and time.monotonic() - started > options.time_limit_seconds:
            stopped_early = True
            break
        t0 = time.monotonic()
        record = _build_file(build, name, path, path.relative_to(base).as_posix(), options.cached_only)
        if record is None:
            stopped_early = True
            continue
        entries += record["pieces"]
        st = stats.setdefault(name, {"files": 0, "pieces": 0, "failed": 0})
        st["files"] += 1
        st["pieces"] += len(record["pieces"])
        st["failed"] += record["failed"]
        if progress is not None:
            progress({"source": name, "file": str(path), "pieces": len(record["pieces"]),
                      "failed": record["failed"], "seconds": time.monotonic() - t0})
    entries.sort(key=lambda e: e["id"])
    counts = {split: sum(1 for e in entries if e["split"] == split) for split in ("train", "validation", "test")}
    manifest = {
        "format": 1,
        "converter_version": CONVERTER_VERSION,
        "options": dataclasses.asdict(options),
        "split_percent": {**SPLIT_BUCKETS, "train": 100 - sum(SPLIT_BUCKETS.values())},
        "stopped_early": stopped_early,
        "sources": stats,
        "counts": counts,
        "pieces": entries,
    }
    write_text_atomic(build / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return manifest


def _build_file(build: Path, source: str, path: Path, relname: str, cached_only: bool = False) -> dict | None:
    """Convert one source file's pieces (or reuse the cached result; None when
    ``cached_only`` and there is none)."""
    stat = path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "converter": CONVERTER_VERSION}
    cache = build / "cache" / source / (relname.replace("/", "__") + ".json")
    if cache.exists():
        try:
            record = json.loads(cache.read_text())
            if record.get("stamp") == stamp and all((build / p["midi"]).exists() for p in record["pieces"]):
                return record
        except (OSError, ValueError):
            pass
    if cached_only:
        return None
    pieces: list[dict] = []
    failed = 0
    if source == "user":
        items = [("", path)]
    else:
        items = _file_pieces(path)
    for key, item in items:
        identity = f"{source}/{relname}" + (f"#{key}" if key else "")
        try:
            score = _user_score(item) if source == "user" else _checked(item)
        except ScorefarmError:
            failed += 1
            continue
        if score is None:
            failed += 1
            continue
        stem = relname.replace("/", "__").rsplit(".", 1)[0] + (f"_{key}" if key else "")
        midi_rel = f"midi/{source}/{stem}.mid"
        write_bytes_atomic(build / midi_rel, score.dumps_midi())
        pieces.append(dataclasses.asdict(Piece(
            id=identity, source=source, midi=midi_rel, split=split_of(identity),
            notes=sum(t.note_num() for t in score.tracks), tracks=len(score.tracks),
            bars=round(score.end() / (score.ticks_per_quarter * 4), 2),
        )))
    record = {"stamp": stamp, "file": str(path), "pieces": pieces, "failed": failed}
    write_text_atomic(cache, json.dumps(record) + "\n")
    return record


def _checked(item) -> symusic.Score | None:
    if isinstance(item, Exception):
        return None
    try:
        score = stream_to_score(item)
    except Exception:  # music21 streams that cannot be walked (broken encodings)
        return None
    if sum(t.note_num() for t in score.tracks) < MIN_NOTES:
        return None
    return score


def _user_score(path: Path) -> symusic.Score | None:
    from scorefarm.symbolic.score_io import load_score

    score = load_score(path)
    score.tracks = [t for t in score.tracks if not t.is_drum]
    if sum(t.note_num() for t in score.tracks) < MIN_NOTES:
        return None
    return score.resample(TPQ, min_dur=1) if score.ticks_per_quarter != TPQ else score


def load_manifest(build_dir: str | Path) -> dict:
    path = Path(build_dir) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CorpusError("has no manifest.json; build the corpus first "
                          "(python corpora/build_corpus.py)", Path(build_dir)) from None
    except (OSError, ValueError) as exc:
        raise CorpusError(f"manifest.json cannot be read ({exc})", Path(build_dir)) from None


def pieces_of(manifest: dict, split: str, sources: Iterable[str] | None = None) -> list[dict]:
    wanted = None if sources is None else set(sources)
    return [p for p in manifest["pieces"] if p["split"] == split and (wanted is None or p["source"] in wanted)]
