"""The Bach chorales of the music21 corpus as plain four-part records.

Used only by the learning script (``chorale_model``) and the benchmarks, never
at run time: music21 parses the corpus once (about a minute for ~400 files) and
the records are cached as JSON under ``corpora/build/`` (git-ignored).

A record keeps what learning and evaluation need, in quarter notes from the
first downbeat (a pickup is shifted so that bar lines fall on multiples of the
bar length): the four voices' notes, the key music21 finds for the whole
chorale, the time signature and the soprano's fermatas.

The held-out split is by a hash of the chorale id (the file stem without an
edition suffix, ``bwv112.5-sc`` -> ``bwv112.5``), so it never changes when the
corpus grows and no edition of a test chorale is learned from.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

VOICES = ("Soprano", "Alto", "Tenor", "Bass")
HELD_OUT_MODULUS = 10  # one chorale in ten (by hash) is held out
CACHE_VERSION = 1
DEFAULT_CACHE = Path(__file__).resolve().parents[1] / "corpora" / "build" / "bach_chorales.json"

Note = tuple[float, float, int]  # (onset_quarters, duration_quarters, midi pitch)


@dataclass(frozen=True)
class Chorale:
    id: str  # "bwv281"
    file: str  # corpus-relative file name, e.g. "bach/bwv281.krn"
    tonic_pc: int  # 0 = C
    mode: str  # "major" | "minor"
    time_signature: tuple[int, int]
    pickup_quarters: float  # how far the first note was shifted right
    voices: dict[str, list[Note]]  # Soprano, Alto, Tenor, Bass
    fermatas: tuple[float, ...]  # soprano onsets carrying a fermata

    @property
    def held_out(self) -> bool:
        return is_held_out(self.id)

    @property
    def length_quarters(self) -> float:
        return max(on + dur for notes in self.voices.values() for on, dur, _ in notes)


def chorale_id(file_stem: str) -> str:
    """'bwv112.5-sc' -> 'bwv112.5'; 'bwv120.8-a' -> 'bwv120.8'."""
    return re.sub(r"-[a-z]+$", "", file_stem.lower())


def is_held_out(identifier: str) -> bool:
    """True for the chorales kept out of learning (about one in ten)."""
    digest = hashlib.sha256(identifier.encode("utf-8")).hexdigest()
    return int(digest, 16) % HELD_OUT_MODULUS == 0


def note_at(notes: list[Note], onsets: list[float], t: float) -> Note | None:
    """The note of a monophonic voice sounding at ``t`` quarters (``onsets``: its notes'
    onsets, sorted), or None in a rest."""
    i = bisect.bisect_right(onsets, t + 1e-9) - 1
    return notes[i] if i >= 0 and notes[i][0] + notes[i][1] > t + 1e-9 else None


TUNE_GRAM = 6  # melodic intervals per window when tunes are compared
KNOWN_TUNE = 0.5  # a tune is known when this share of its windows occurs in one other soprano


def tune_windows(chorale: Chorale) -> list[tuple[int, ...]]:
    """The soprano as overlapping windows of ``TUNE_GRAM`` melodic intervals, repeated notes
    merged (so a tune sung to other words, in other note values, gives the same windows)."""
    pitches = [p for _, _, p in chorale.voices["Soprano"]]
    pitches = [p for i, p in enumerate(pitches) if i == 0 or p != pitches[i - 1]]
    steps = [b - a for a, b in zip(pitches, pitches[1:])]
    return [tuple(steps[i:i + TUNE_GRAM]) for i in range(len(steps) - TUNE_GRAM + 1)]


def tune_overlap(chorale: Chorale, others: list[Chorale]) -> float:
    """The largest share of ``chorale``'s tune windows that one of ``others`` also sings.

    Bach set many hymn tunes several times, and the held-out split is by chorale, not by
    tune: on the 30 held-out chorales this is 1.0 for five (the same tune in another
    setting), 0.56-0.88 for fifteen (the tune in another version) and 0.17-0.40 for ten
    (a tune not in the training set)."""
    windows = tune_windows(chorale)
    if not windows:
        return 0.0
    best = 0.0
    for other in others:
        theirs = set(tune_windows(other))
        best = max(best, sum(w in theirs for w in windows) / len(windows))
    return best


def load_chorales(cache: Path = DEFAULT_CACHE) -> list[Chorale]:
    """All usable Bach chorales, from the cache (built with music21 if missing)."""
    if cache.exists():
        data = json.loads(cache.read_text())
        if data.get("version") == CACHE_VERSION:
            return [_from_json(item) for item in data["chorales"]]
    chorales = extract_chorales()
    cache.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": CACHE_VERSION, "chorales": [_to_json(c) for c in chorales]}
    tmp = cache.with_suffix(".json.part")
    tmp.write_text(json.dumps(payload, separators=(",", ":")))
    tmp.replace(cache)
    return chorales


def extract_chorales() -> list[Chorale]:
    """Parse every Bach file of the music21 corpus with Soprano/Alto/Tenor/Bass parts.

    Editions of the same chorale (``bwv112.5`` and ``bwv112.5-sc``) are kept once:
    the file without a suffix wins."""
    from music21 import corpus

    paths = sorted(
        (p for p in corpus.getComposer("bach") if str(p).endswith((".mxl", ".xml", ".krn"))),
        key=lambda p: (chorale_id(Path(p).stem.replace(".mxl", "")), len(Path(p).name), str(p)),
    )
    seen: set[str] = set()
    out: list[Chorale] = []
    for path in paths:
        stem = Path(path).name.rsplit(".", 1)[0]
        ident = chorale_id(stem)
        if ident in seen:
            continue
        record = _extract_one(Path(path), ident)
        if record is not None:
            seen.add(ident)
            out.append(record)
    return out


def _extract_one(path: Path, ident: str) -> Chorale | None:
    from music21 import converter, expressions, meter

    score = converter.parse(str(path))
    parts = {}
    for part in score.parts:
        name = (part.partName or "").split()[0] if part.partName else ""
        if name in VOICES and name not in parts:
            parts[name] = part
    if set(parts) != set(VOICES):
        return None
    first_measure = parts["Soprano"].getElementsByClass("Measure")
    pickup = 0.0
    if first_measure:
        m0 = first_measure[0]
        pickup = float(m0.paddingLeft or 0.0)
    time_sigs = score.flatten().getElementsByClass(meter.TimeSignature)
    ts = (time_sigs[0].numerator, time_sigs[0].denominator) if time_sigs else (4, 4)
    voices: dict[str, list[Note]] = {}
    fermatas: list[float] = []
    for name in VOICES:
        notes: list[Note] = []
        for element in parts[name].stripTies().flatten().notes:
            duration = float(element.quarterLength)
            if duration <= 0:
                continue  # grace notes
            pitch = max(p.midi for p in element.pitches)
            onset = round(float(element.offset) + pickup, 6)
            notes.append((onset, round(duration, 6), int(pitch)))
            if name == "Soprano" and any(isinstance(e, expressions.Fermata) for e in element.expressions):
                fermatas.append(onset)
        if not notes:
            return None
        voices[name] = _monophonic(notes)
    key = score.analyze("key")
    mode = "minor" if key.mode == "minor" else "major"
    return Chorale(
        id=ident,
        file=str(path).split("/corpus/", 1)[-1],
        tonic_pc=key.tonic.pitchClass,
        mode=mode,
        time_signature=ts,
        pickup_quarters=pickup,
        voices=voices,
        fermatas=tuple(fermatas),
    )


def _monophonic(notes: list[Note]) -> list[Note]:
    """Sort by onset; a note overlapping the next one is cut where the next begins."""
    notes = sorted(notes, key=lambda n: (n[0], -n[2]))
    out: list[Note] = []
    for on, dur, pitch in notes:
        if out and out[-1][0] == on:
            continue  # two notes at once in one voice: the higher one stays
        if out and out[-1][0] + out[-1][1] > on:
            prev = out[-1]
            out[-1] = (prev[0], round(on - prev[0], 6), prev[2])
        out.append((on, dur, pitch))
    return out


def _to_json(c: Chorale) -> dict:
    return {
        "id": c.id,
        "file": c.file,
        "tonic_pc": c.tonic_pc,
        "mode": c.mode,
        "time_signature": list(c.time_signature),
        "pickup_quarters": c.pickup_quarters,
        "voices": {k: [list(n) for n in v] for k, v in c.voices.items()},
        "fermatas": list(c.fermatas),
    }


def _from_json(d: dict) -> Chorale:
    return Chorale(
        id=d["id"],
        file=d["file"],
        tonic_pc=d["tonic_pc"],
        mode=d["mode"],
        time_signature=tuple(d["time_signature"]),
        pickup_quarters=d["pickup_quarters"],
        voices={k: [(float(a), float(b), int(c)) for a, b, c in v] for k, v in d["voices"].items()},
        fermatas=tuple(d["fermatas"]),
    )
