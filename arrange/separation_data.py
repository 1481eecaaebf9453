"""Part-separation data: four-part scores of the music21 corpus mixed into one note list.

Each record keeps every note of a piece as (onset, duration, pitch, position in
its bar) in quarter notes, plus the part it came from: 0 is the top part
(soprano, violin I), 3 the bottom (bass, cello). Notes sounding the same pitch
at the same time in two parts (unisons) are all kept.

Sources:

- **Bach chorales** with exactly Soprano/Alto/Tenor/Bass parts, taken from
  ``symbolic.bach_corpus`` (already monophonic per voice). The chorales that
  module holds out (``is_held_out``, one in ten by hash) are this module's
  *test* split, so the harmony benchmarks' held-out chorales stay unseen here
  too; of the rest, a second hash puts about one in twelve in *validation*.
- **String quartets** (Haydn, Mozart, Beethoven ``.mxl`` movements with exactly
  four parts). A violin may play double stops, so a quartet part is not always
  monophonic. Split by a hash of the movement's corpus path: about 15% test,
  10% validation, the rest train.

music21 parses slowly (minutes for the quartets), so the records are cached as
JSON under ``corpora/build/separation.json`` (git-ignored).

Evaluation (``score_labels``): notes with the same onset and pitch cannot be told
apart in a mixed track, so a group of such notes is scored by the best matching
between its true and its predicted parts (the size of the multiset intersection).
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

CACHE_VERSION = 1
DEFAULT_CACHE = Path(__file__).resolve().parents[1] / "corpora" / "build" / "separation.json"
QUARTET_FOLDERS = ("haydn", "mozart", "beethoven")
QUARTET_SPLIT_PERCENT = {"test": 15, "validation": 10}
BACH_VALIDATION_MODULUS = 12
PARTS = 4


@dataclasses.dataclass(frozen=True)
class PartPiece:
    """One piece's notes mixed together, each with its part (0 = top)."""

    id: str  # "bach/bwv281", "quartets/mozart/k458/movement1.mxl"
    kind: str  # "bach" | "quartet"
    split: str  # "train" | "validation" | "test"
    bar_quarters: float  # length of the first bar (for reference; positions are per note)
    onset: np.ndarray  # float64 quarters, sorted by (onset, -pitch, part)
    duration: np.ndarray  # float64 quarters
    pitch: np.ndarray  # int16
    position: np.ndarray  # float64 quarters since the note's bar began
    part: np.ndarray  # int8, 0..3

    def __len__(self) -> int:
        return int(self.pitch.shape[0])

    def transposed(self, semitones: int) -> "PartPiece":
        return dataclasses.replace(self, pitch=(self.pitch + semitones).astype(np.int16))

    def window(self, start: int, stop: int) -> "PartPiece":
        sl = slice(start, stop)
        return dataclasses.replace(self, onset=self.onset[sl], duration=self.duration[sl],
                                   pitch=self.pitch[sl], position=self.position[sl], part=self.part[sl])


def hash_bucket(identity: str) -> int:
    """0..99 from a hash of a piece identity (stable across runs and machines)."""
    return int(hashlib.sha1(identity.encode("utf-8")).hexdigest()[:8], 16) % 100


def quartet_split(identity: str) -> str:
    bucket = hash_bucket(identity)
    if bucket < QUARTET_SPLIT_PERCENT["test"]:
        return "test"
    if bucket < QUARTET_SPLIT_PERCENT["test"] + QUARTET_SPLIT_PERCENT["validation"]:
        return "validation"
    return "train"


def bach_split(chorale_id: str) -> str:
    from scorefarm.symbolic.bach_corpus import is_held_out

    if is_held_out(chorale_id):
        return "test"
    digest = int(hashlib.sha256(("separation/" + chorale_id).encode("utf-8")).hexdigest(), 16)
    return "validation" if digest % BACH_VALIDATION_MODULUS == 0 else "train"


def make_piece(identity: str, kind: str, split: str, bar_quarters: float,
               rows: Sequence[tuple[float, float, int, float, int]]) -> PartPiece:
    """A piece from (onset, duration, pitch, position, part) rows, sorted."""
    rows = sorted(rows, key=lambda r: (r[0], -r[2], r[4], -r[1]))
    arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
    return PartPiece(id=identity, kind=kind, split=split, bar_quarters=float(bar_quarters),
                     onset=arr[:, 0].copy(), duration=arr[:, 1].copy(), pitch=arr[:, 2].astype(np.int16),
                     position=arr[:, 3].copy(), part=arr[:, 4].astype(np.int8))


# ---------------------------------------------------------------- extraction


def bach_pieces() -> list[PartPiece]:
    from scorefarm.symbolic.bach_corpus import VOICES, load_chorales

    out = []
    for chorale in load_chorales():
        num, den = chorale.time_signature
        bar = num * 4.0 / den
        rows = [(on, dur, pitch, round(on % bar, 6), index)
                for index, name in enumerate(VOICES) for on, dur, pitch in chorale.voices[name]]
        out.append(make_piece("bach/" + chorale.id, "bach", bach_split(chorale.id), bar, rows))
    return out


def quartet_files() -> list[Path]:
    from scorefarm.symbolic.corpus import music21_corpus_folder

    root = music21_corpus_folder()
    return sorted(p for folder in QUARTET_FOLDERS for p in (root / folder).rglob("*.mxl"))


def quartet_piece(path: Path) -> PartPiece | None:
    """One quartet movement, or None when the file does not have exactly four parts."""
    from music21 import converter

    from scorefarm.symbolic.corpus import music21_corpus_folder

    score = converter.parse(str(path))
    parts = list(score.parts)
    if len(parts) != PARTS:
        return None
    measures = parts[0].getElementsByClass("Measure")
    starts = sorted({float(m.offset) for m in measures}) or [0.0]
    bar = float(measures[1].offset - measures[0].offset) if len(measures) > 1 else 4.0
    rows = []
    for index, part in enumerate(parts):
        for element in part.stripTies().flatten().notes:
            length = float(element.duration.quarterLength)
            if length <= 0 or element.duration.isGrace:
                continue
            onset = round(float(element.offset), 6)
            bar_start = starts[max(0, bisect.bisect_right(starts, onset + 1e-9) - 1)]
            for p in element.pitches:
                rows.append((onset, round(length, 6), int(p.midi), round(onset - bar_start, 6), index))
    if not rows:
        return None
    identity = "quartets/" + path.relative_to(music21_corpus_folder()).as_posix()
    return make_piece(identity, "quartet", quartet_split(identity), bar, rows)


def extract_all(progress=None, file_cache: Path | None = None, reverse: bool = False) -> list[PartPiece]:
    """Every piece; each quartet file's result is kept under ``file_cache`` (when
    given) so an interrupted or parallel build resumes where it stopped."""
    pieces = bach_pieces()
    files = quartet_files()
    for path in (reversed(files) if reverse else files):
        piece = _cached_quartet(path, file_cache)
        if progress is not None:
            progress(f"{path.name}: {'skipped' if piece is None else len(piece)}")
        if piece is not None:
            pieces.append(piece)
    pieces.sort(key=lambda p: p.id)
    return pieces


def _cached_quartet(path: Path, file_cache: Path | None) -> PartPiece | None:
    if file_cache is None:
        return quartet_piece(path)
    from scorefarm.files import write_text_atomic

    key = file_cache / (path.parent.name + "__" + path.name + ".json")
    if key.exists():
        d = json.loads(key.read_text())
        return None if d is None else _from_json(d)
    piece = quartet_piece(path)
    write_text_atomic(key, json.dumps(None if piece is None else _to_json(piece), separators=(",", ":")))
    return piece


def load_pieces(cache: Path = DEFAULT_CACHE, progress=None, reverse: bool = False) -> list[PartPiece]:
    """All pieces, from the cache (built with music21 when missing or stale)."""
    if cache.exists():
        data = json.loads(cache.read_text())
        if data.get("version") == CACHE_VERSION:
            return [_from_json(d) for d in data["pieces"]]
    from scorefarm.files import write_text_atomic

    pieces = extract_all(progress, cache.with_name(cache.stem + "_files"), reverse)
    payload = {"version": CACHE_VERSION, "pieces": [_to_json(p) for p in pieces]}
    write_text_atomic(cache, json.dumps(payload, separators=(",", ":")))
    return pieces


def _to_json(p: PartPiece) -> dict:
    return {"id": p.id, "kind": p.kind, "split": p.split, "bar_quarters": p.bar_quarters,
            "rows": [[float(a), float(b), int(c), float(d), int(e)]
                     for a, b, c, d, e in zip(p.onset, p.duration, p.pitch, p.position, p.part)]}


def _from_json(d: dict) -> PartPiece:
    return make_piece(d["id"], d["kind"], d["split"], d["bar_quarters"], [tuple(r) for r in d["rows"]])


def select(pieces: Sequence[PartPiece], *, split: str | None = None, kind: str | None = None) -> list[PartPiece]:
    return [p for p in pieces if (split is None or p.split == split) and (kind is None or p.kind == kind)]


def windows(piece: PartPiece, length: int, stride: int) -> Iterator[PartPiece]:
    """Overlapping windows of ``length`` notes (a short piece is one window)."""
    n = len(piece)
    if n <= length:
        yield piece
        return
    for start in range(0, n - length + stride, stride):
        start = min(start, n - length)
        yield piece.window(start, start + length)
        if start == n - length:
            return


# ---------------------------------------------------------------- scoring


def score_labels(onset: np.ndarray, pitch: np.ndarray, truth: np.ndarray, predicted: np.ndarray) -> int:
    """How many notes got their original part, where notes with the same onset and
    pitch (indistinguishable in the mix) are matched at best among themselves."""
    groups: dict[tuple[float, int], tuple[Counter, Counter]] = {}
    for on, p, t, q in zip(onset.tolist(), pitch.tolist(), truth.tolist(), predicted.tolist()):
        true_parts, predicted_parts = groups.setdefault((round(on, 6), int(p)), (Counter(), Counter()))
        true_parts[t] += 1
        predicted_parts[q] += 1
    return sum(sum((a & b).values()) for a, b in groups.values())


def fit_zones(pieces: Sequence[PartPiece]) -> tuple[int, int, int]:
    """The zone baseline's boundaries (lowest pitch of parts 0, 1, 2) that label
    the most notes of ``pieces`` correctly, found exactly by dynamic programming
    over pitch (parts must not rise as pitch falls)."""
    counts = np.zeros((128, PARTS), dtype=np.int64)
    for piece in pieces:
        np.add.at(counts, (np.clip(piece.pitch, 0, 127), piece.part), 1)
    # best[k][p]: most notes correct for pitches 0..p with pitch p given part k,
    # where parts are non-increasing in index as pitch rises (3 lowest .. 0 highest).
    best = np.full((PARTS, 128), -1, dtype=np.int64)
    back = np.zeros((PARTS, 128), dtype=np.int64)
    for p in range(128):
        for k in range(PARTS - 1, -1, -1):
            if p == 0:
                best[k, p] = counts[p, k]
                continue
            prev = [best[j, p - 1] for j in range(k, PARTS)]
            j = int(np.argmax(prev)) + k
            best[k, p] = best[j, p - 1] + counts[p, k]
            back[k, p] = j
    k = int(np.argmax(best[:, 127]))
    labels = [0] * 128
    for p in range(127, -1, -1):
        labels[p] = k
        k = int(back[k, p]) if p > 0 else k
    bounds = []
    for part in range(PARTS - 1):  # lowest pitch labelled with part or higher
        above = [p for p in range(128) if labels[p] <= part]
        bounds.append(min(above) if above else 128)
    return tuple(int(b) for b in bounds)


if __name__ == "__main__":  # build the cache: python -m scorefarm.arrange.separation_data
    import time

    t0 = time.monotonic()
    import sys

    loaded = load_pieces(progress=lambda line: print(line, flush=True), reverse="--reverse" in sys.argv)
    for kind in ("bach", "quartet"):
        for split in ("train", "validation", "test"):
            chosen = select(loaded, split=split, kind=kind)
            print(kind, split, len(chosen), "pieces", sum(len(p) for p in chosen), "notes")
    print(f"{time.monotonic() - t0:.1f} s")
