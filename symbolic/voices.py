"""Scores as separate voices, the form the harmony stages work on.

A ``Voices`` holds monophonic parts, highest first, as (start, end, pitch) in
ticks, with the time-signature map to tell bars and beats (``metre``, whose names
this module re-exports). It is made from a ``symusic.Score`` (one track per voice,
a track of block chords split by pitch, or a line with double stops read as its
principal line: ``track_voices``), or from a MusicXML file through
music21, and turned back into a ``symusic.Score`` with one named track per voice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import symusic
import symusic.core

from scorefarm.errors import ScoreError

# the bar and beat arithmetic lives in ``metre``; its names are imported from here too (``__all__``)
from .metre import (
    Pickup, bar_beat, bar_starts_of, bar_starts_through, bar_ticks, beat_length, beats_of, clean_signatures,
    counting_signature_at, explicit_signatures, format_position, one_signature_per_tick, pickup_of,
    score_signatures, signature_at,
)
from .track_voices import StopsLine, split_track

SATB = ("Soprano", "Alto", "Tenor", "Bass")
MAX_VOICES = 8


@dataclass(frozen=True, order=True)
class VNote:
    start: int
    end: int
    pitch: int


@dataclass
class Part:
    name: str
    notes: list[VNote]


@dataclass
class Voices:
    """Monophonic parts (highest first) on a tick grid."""

    tpq: int
    parts: list[Part]
    time_signatures: list[tuple[int, int, int]] = field(default_factory=lambda: [(0, 4, 4)])
    first_bar: int = 1  # the first bar's number (a MusicXML file's first measure's: 0 for some pickups)
    pickup_ticks: int = 0  # ticks of silence put before a pickup so bar lines fall right
    said: tuple[str, ...] = ()  # what reading the score left out, as sentences (``voices_from_score``)
    # the file's key signatures: (tick, sharps (flats < 0), 1 where it says minor else 0)
    key_signatures: tuple[tuple[int, int, int], ...] = ()

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parts]

    def end_tick(self) -> int:
        return max((n.end for p in self.parts for n in p.notes), default=0)

    def with_parts(self, parts: list[Part]) -> "Voices":
        return replace(self, parts=parts)

    def bar_beat(self, tick: int) -> tuple[int, float]:
        """(bar number, beat from 1) of a tick; beats follow the time signature
        (a dotted quarter in 6/8, 9/8, 12/8), a pickup's the bar it leads to
        (``metre.pickup_of``)."""
        return bar_beat(tick, self.tpq, self.time_signatures, self.first_bar)


# ---------------------------------------------------------------- ranges


@lru_cache(maxsize=None)
def voice_ranges(style: str = "chorale") -> dict[str, tuple[int, int]]:
    """Lowest and highest MIDI note of each SATB voice (data/voice_ranges.json)."""
    data = json.loads(resources.files("scorefarm.symbolic").joinpath("data/voice_ranges.json").read_text())
    if style not in data or style.startswith("_"):
        allowed = ", ".join(k for k in data if not k.startswith("_"))
        raise ValueError(f"unknown range table {style!r}; allowed: {allowed}")
    return {name: (int(lo), int(hi)) for name, (lo, hi) in data[style].items()}


# The names a part of each range goes by: English, Italian, Latin and German, singular and
# plural, with the one-letter abbreviations of SATB scores ("S.", "Sop. 2", "Tenori I").
# Quinto / Quintus / Sextus (a madrigal's fifth and sixth voices) lie in no one range.
VOICE_ALIASES = {
    "Soprano": ("soprano", "sopranos", "soprani", "sop", "s", "sopran", "canto", "cantus", "superius",
                "discantus", "treble", "trebles"),
    "Alto": ("alto", "altos", "alti", "a", "alt", "altus", "contralto", "contratenor"),
    "Tenor": ("tenor", "tenors", "tenori", "tenore", "t", "ten"),
    "Bass": ("bass", "basses", "bassi", "basso", "bassus", "b", "bs"),
}
_ALIAS = {alias: voice for voice, aliases in VOICE_ALIASES.items() for alias in aliases}
_TRACK_SUFFIX = re.compile(r"\s*\(track \d+\)$")
_NUMBERING = frozenset({"i", "ii", "iii", "iv", "1", "2", "3", "4", "1st", "2nd", "3rd", "4th"})


def voice_range(name: str, table: dict[str, tuple[int, int]]) -> tuple[int, int] | None:
    """The range ``table`` (``voice_ranges``) gives a part named ``name``, under any name
    ``VOICE_ALIASES`` lists ('Canto', 'Basso', 'Tenor II', 'S.'); None for another part."""
    if name in table:
        return table[name]
    name = _TRACK_SUFFIX.sub("", name or "")  # 'Tenor (track 3)': a name two tracks share (``_distinct``)
    if name in table:
        return table[name]
    words = [w for w in re.findall(r"[a-z0-9]+", name.lower()) if w not in _NUMBERING]
    voice = _ALIAS.get(words[0]) if len(words) == 1 else None
    return table.get(voice) if voice else None


# ---------------------------------------------------------------- from symusic


def voices_from_score(score, name: str = "score", *, max_voices: int = MAX_VOICES, first_bar: int = 1) -> Voices:
    """Split a score into monophonic voices, highest first.

    Tracks that never sound two notes at once are one voice each. A track with
    chords is split by pitch when it holds the same number of notes at every
    onset (a chorale written as block chords, or S+A on one staff). A track that
    strikes chords at some onsets only is an instrument's line with double stops:
    its principal line is kept, the top note of each chord, or the bottom one in
    the lowest part (the bass), and ``said`` counts the notes left out. A part of
    chords (chords of three notes or more at over a quarter of its onsets: a
    keyboard or guitar accompaniment) is refused, as is a track whose notes or
    chords overlap: which note belongs to which voice cannot be told (the error names
    the first place, its bars numbered from ``first_bar``). The rules and their
    threshold: ``track_voices``."""
    if not isinstance(score, symusic.core.ScoreTick):
        score = score.to("tick")
    tracks = [t for t in score.tracks if not t.is_drum and t.note_num() > 0]
    if not tracks:
        raise ScoreError("has no pitched notes to check", name)
    signatures = clean_signatures(score_signatures(score))

    def position(tick: int) -> str:
        return format_position(*bar_beat(tick, score.tpq, signatures, first_bar))

    read: list[tuple[str, int, list[list[tuple[int, int, int]]] | StopsLine]] = []
    for index, track in enumerate(tracks):
        notes = sorted((n.time, n.time + n.duration, n.pitch) for n in track.notes if n.duration > 0)
        label = track.name.strip() or f"track {index + 1}"
        graces = track.note_num() - len(notes)  # the notes of no length, left out above
        read.append((label, graces, split_track(notes, label, name, position)))
    bass = _lowest_line(read)
    parts: list[Part] = []
    track_of: dict[int, int] = {}  # id of a part -> its track's number, for names two tracks share
    said: list[str] = []
    for index, (label, graces, voices) in enumerate(read):
        first = len(parts)
        if graces:
            said.append(f"track {label!r}: {graces} grace note(s) of no length left out")
        if isinstance(voices, StopsLine):
            line, left_out = voices.line(index == bass)
            parts.append(Part(label, _monophonic(line)))
            said.append(voices.said(index == bass, left_out))
        elif len(voices) == 1:
            parts.append(Part(label, _monophonic(voices[0])))
        else:
            parts.extend(Part(f"{label} {rank + 1}", _monophonic(v)) for rank, v in enumerate(voices))
        track_of.update((id(part), index + 1) for part in parts[first:])
    if len(parts) > max_voices:
        raise ScoreError(f"has {len(parts)} voices; at most {max_voices} can be checked", name)
    parts.sort(key=lambda p: -_mean_pitch(p))
    parts = _distinct(parts, _name_parts(parts), [track_of[id(p)] for p in parts])
    return Voices(tpq=score.tpq, parts=parts, time_signatures=signatures, first_bar=first_bar, said=tuple(said))


def _lowest_line(read) -> int | None:
    """The index of the track read as a line with double stops that is the lowest part (its
    top line lowest on average of all the voices), or None when the lowest part is another."""
    lowest, index_of = None, None
    for index, (_, _, voices) in enumerate(read):
        lines = [voices.line(False)[0]] if isinstance(voices, StopsLine) else voices
        for line in lines:
            mean = _mean_pitch(Part("", _monophonic(line)))
            if lowest is None or mean <= lowest:  # of equals the later, as the sort by pitch leaves last
                lowest, index_of = mean, (index if isinstance(voices, StopsLine) else None)
    return index_of


def _mean_pitch(part: Part) -> float:
    total = sum((n.end - n.start) * n.pitch for n in part.notes)
    length = sum(n.end - n.start for n in part.notes)
    return total / length if length else 0.0


def _monophonic(notes: list[tuple[int, int, int]]) -> list[VNote]:
    out: list[VNote] = []
    for start, end, pitch in notes:
        if out and out[-1].end > start:
            out[-1] = VNote(out[-1].start, start, out[-1].pitch)
        out.append(VNote(start, end, pitch))
    return [n for n in out if n.end > n.start]


# a track name that names no voice or instrument: what a sequencer or an export calls a track
_GENERIC_NAME = re.compile(r"(track|voice|part|staff|piano|untitled|instrument|channel|ch|midi)?\s*\d*")


def _name_parts(parts: list[Part]) -> list[Part]:
    """Keep voice names a checker knows (Soprano, S, Alto, ...); four voices whose other
    names name nothing ('Piano', 'Track 3', or one name for all four) are called Soprano,
    Alto, Tenor, Bass from the top. A quartet's 'Violin I' ... 'Cello' keep theirs (and
    are not range-checked as singers)."""
    known = {"s": "Soprano", "a": "Alto", "t": "Tenor", "b": "Bass"}
    named = []
    for part in parts:
        word = part.name.split()[0].lower() if part.name.split() else ""
        canonical = next((v for v in SATB if v.lower() == word), known.get(word))
        named.append(canonical)
    generic = len({part.name for part in parts}) == 1 or all(
        canon is not None or _GENERIC_NAME.fullmatch(part.name.strip().lower()) for part, canon in zip(parts, named))
    if len(parts) == 4 and (None in named or len(set(named)) < 4) and generic:
        named = list(SATB)
    out = []
    for part, canon in zip(parts, named):
        out.append(Part(canon or part.name, part.notes))
    return out


def _distinct(read: list[Part], named: list[Part], tracks: list[int]) -> list[Part]:
    """Names the report can tell apart: where ``_name_parts`` gave two parts one name
    ('Tenor I' and 'Tenor II' both 'Tenor') their names as read are kept if those differ,
    and a name two tracks share ('Violin', 'Violin'; Palestrina's two 'Tenor' tracks) is
    told by its track's number among the tracks of notes: 'Tenor (track 3)'."""
    names = [p.name for p in named]
    for name in {n for n in names if names.count(n) > 1}:
        same = [i for i, n in enumerate(names) if n == name]
        if len({read[i].name for i in same}) == len(same):
            for i in same:
                names[i] = read[i].name
    for name in {n for n in names if names.count(n) > 1}:
        for i, n in enumerate(names):
            if n == name:
                names[i] = f"{n} (track {tracks[i]})"
    return [Part(name, part.notes) for name, part in zip(names, named)]


# ---------------------------------------------------------------- to symusic


VOICE_PROGRAMS = {"Soprano": 52, "Alto": 52, "Tenor": 52, "Bass": 52}  # GM 53 "Choir Aahs"


def voices_to_score(voices: Voices, template=None, *, velocity: int = 80, programs: dict[str, int] | None = None):
    """One named track per voice; tempo, time and key signatures from ``template``
    (a symusic score) when given."""
    score = symusic.Score(voices.tpq)
    if template is not None:
        for tempo in template.tempos:
            score.tempos.append(symusic.Tempo(tempo.time, qpm=tempo.qpm))
        for ts in template.time_signatures:
            score.time_signatures.append(symusic.TimeSignature(ts.time, ts.numerator, ts.denominator))
        for ks in template.key_signatures:
            score.key_signatures.append(symusic.KeySignature(ks.time, ks.key, ks.tonality))
    else:
        score.tempos.append(symusic.Tempo(0, qpm=120.0))
        for start, num, den in voices.time_signatures:
            score.time_signatures.append(symusic.TimeSignature(start, num, den))
    programs = programs or VOICE_PROGRAMS
    for part in voices.parts:
        track = symusic.Track(part.name, programs.get(part.name, 52), False)
        for note in part.notes:
            track.notes.append(symusic.Note(note.start, note.end - note.start, note.pitch, velocity))
        score.tracks.append(track)
    return score


# ---------------------------------------------------------------- from MusicXML


MUSICXML_SUFFIXES = (".musicxml", ".xml", ".mxl")


def load_voices(path: str | Path, *, tpq: int = 480) -> tuple[Voices, object]:
    """Read a MIDI or MusicXML file as voices; returns (voices, symusic score)."""
    score, first_bar, pickup = load_any_score(path, tpq=tpq)
    voices = voices_from_score(score, str(path), first_bar=first_bar)
    voices.pickup_ticks = pickup
    return voices, score


def load_any_score(path: str | Path, *, tpq: int = 480):
    """A MIDI file (checked by ``score_io.load_score``) or a MusicXML file (through
    music21) as a symusic score; returns (score, first bar number, pickup ticks)."""
    path = Path(path)
    if path.suffix.lower() in MUSICXML_SUFFIXES:
        return _musicxml_to_score(path, tpq)
    from scorefarm.symbolic.score_io import load_score

    return load_score(path), 1, 0


MIDI_SUFFIXES = (".mid", ".midi")


def check_midi_output(path: str | Path, inputs: tuple[str | Path, ...] = ()) -> Path:
    """Outputs are MIDI files: refuse another suffix, a folder, or one of ``inputs``
    before any work is done."""
    from scorefarm.files import check_output

    return check_output(path, MIDI_SUFFIXES, "a MIDI file", inputs=inputs)


def _musicxml_to_score(path: Path, tpq: int):
    if not path.exists():
        raise ScoreError("does not exist", path)
    if not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file (a pipe, socket or device)"
        raise ScoreError(f"is {kind}; give the path of a MusicXML file (.musicxml, .xml or .mxl)", path)
    if not path.stat().st_size:
        raise ScoreError("is empty (0 bytes); a MusicXML file was expected", path)
    import warnings
    import zipfile
    from xml.etree.ElementTree import ParseError

    from music21 import converter
    from music21.exceptions21 import Music21Exception

    with warnings.catch_warnings(record=True) as said:  # music21's warnings about a file it then refuses
        try:
            stream = converter.parse(str(path))
        except (Music21Exception, ParseError, zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
            raise ScoreError(f"is not a readable MusicXML file ({' '.join(str(exc).split())[:200]})", path) from None
        except TypeError:  # music21 reading an .mxl archive that holds no score
            raise ScoreError("is not a readable MusicXML file (no score found in it)", path) from None
    for warning in said:  # the file was read: pass music21's warnings on as they were
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if not stream.flatten().notes:
        raise ScoreError("has no notes (a MusicXML file without notes)", path)
    return music21_to_score(stream, tpq)


def music21_to_score(stream, tpq: int = 480):
    """A music21 score as a symusic score, one track per part (ties joined, a
    pickup shifted right so bar lines fall on whole bars), at sounding pitch. A part
    with a MusicXML ``<transpose>`` element (clarinet in B-flat, horn in F, double bass)
    is encoded at written pitch and moved to sounding pitch by music21's
    ``toSoundingPitch``; a part without one is at sounding pitch, as MusicXML defines
    it, even where music21 knows a transposition from the instrument's name alone. An
    octave clef (a tenor's treble-8vb) and an octave line change how notes are shown,
    not their encoded pitch. Returns
    (score, first_bar, pickup_ticks): first_bar is the first measure's own number, as
    the file prints it (a pickup is measure 0 in most files, ours among them, 1 in some),
    1 without measures."""
    from music21 import key as m21key, meter, tempo

    parts = list(getattr(stream, "parts", [])) or [stream]
    pickup_q = 0.0
    measures = list(parts[0].getElementsByClass("Measure"))
    if measures and measures[0].paddingLeft:
        pickup_q = float(measures[0].paddingLeft)
    first_bar = measures[0].number if measures else 1
    shift = int(round(pickup_q * tpq))
    score = symusic.Score(tpq)
    # every metronome mark with a number, of several at one tick the last (each part may repeat
    # it); the first also stands from the start
    tempos: dict[int, float] = {}
    for mark in stream.flatten().getElementsByClass(tempo.MetronomeMark):
        bpm = mark.getQuarterBPM() if mark.number else None
        if bpm:
            tempos[0 if not tempos or mark.offset == 0 else int(round(float(mark.offset) * tpq)) + shift] = float(bpm)
    for tick, bpm in sorted(tempos.items()) or [(0, 100.0)]:
        score.tempos.append(symusic.Tempo(tick, qpm=bpm))
    signatures: dict[int, tuple[int, int]] = {}
    for ts in stream.flatten().getElementsByClass(meter.TimeSignature):
        tick = 0 if ts.offset == 0 else int(round(float(ts.offset) * tpq)) + shift
        signatures[tick] = (ts.numerator, ts.denominator)  # of several at one tick the last, as in a MIDI file
    # a bar written short mid-score (music21 reads it as paddingRight; the bar after it
    # whole) ends where the next begins: the metre restated there puts a bar line there
    # (unless the file writes a signature there itself)
    for before, after in zip(measures, measures[1:]):
        if before.paddingRight and not after.paddingLeft:
            restated = after.getContextByClass(meter.TimeSignature)
            if restated is not None:
                tick = int(round(float(after.offset) * tpq)) + shift
                signatures.setdefault(tick, (restated.numerator, restated.denominator))
    for tick, (numerator, denominator) in sorted(signatures.items()) or [(0, (4, 4))]:
        score.time_signatures.append(symusic.TimeSignature(tick, numerator, denominator))
    # key signatures as a concert-pitch part writes them (a transposing part's are written keys)
    concert = next((p for p in parts if getattr(p, "atSoundingPitch", None) is not False), None)
    keys: dict[int, tuple[int, int]] = {}
    for ks in (concert.flatten().getElementsByClass(m21key.KeySignature) if concert is not None else []):
        tick = 0 if ks.offset == 0 else int(round(float(ks.offset) * tpq)) + shift
        minor = 1 if isinstance(ks, m21key.Key) and ks.mode == "minor" else 0
        keys[tick] = (int(ks.sharps), minor)
    for tick, (sharps, minor) in sorted(keys.items()):
        if -7 <= sharps <= 7:
            score.key_signatures.append(symusic.KeySignature(tick, sharps, minor))
    for index, part in enumerate(parts):
        # music21 names a part without an id in the file by a number of its own (its memory
        # address): never a track name, which must be the same on every run
        named = part.partName or (part.id if isinstance(part.id, str) else None)
        track = symusic.Track(named or f"Part {index + 1}", 52, False)
        line = part.stripTies()  # a copy: the caller's stream is left as it was
        if part.atSoundingPitch is False:  # set by music21 where the part has a <transpose>
            line.toSoundingPitch(inPlace=True)
        for element in line.flatten().notes:
            duration = float(element.quarterLength)
            if duration <= 0:
                continue
            start = int(round(float(element.offset) * tpq)) + shift
            length = int(round(duration * tpq))
            for pitch in element.pitches:
                track.notes.append(symusic.Note(start, length, int(pitch.midi), 80))
        if track.note_num():
            score.tracks.append(track)
    return score, first_bar, shift


__all__ = [
    "SATB", "MAX_VOICES", "VNote", "Part", "Voices", "voice_ranges", "voice_range", "VOICE_ALIASES",
    "voices_from_score", "VOICE_PROGRAMS",
    "voices_to_score", "MUSICXML_SUFFIXES", "MIDI_SUFFIXES", "load_voices", "load_any_score", "check_midi_output",
    "music21_to_score",
    # from metre
    "Pickup", "bar_beat", "bar_starts_of", "bar_starts_through", "bar_ticks", "beat_length", "beats_of",
    "clean_signatures", "counting_signature_at", "explicit_signatures", "format_position", "one_signature_per_tick",
    "pickup_of", "score_signatures", "signature_at",
]
