"""Harmonic analysis of any score: key by windows, a chord and a Roman numeral per beat.

- Key: Krumhansl-Schmuckler by windows of bars with a cost per modulation
  (``keyfinding``; the same profiles music21 ships, Bellman-Budge by default).
- Chord: the notes sounding in each beat, weighted by how long they sound
  (a note struck on the beat counts more, the lowest note tells the
  inversion), matched against triad and seventh-chord templates; a chord
  diatonic to the current key wins a near tie, and a change of chord between
  beats to another triad costs a little (so a passing note does not make a
  chord of its own, while G -> G7 stays free). Two rules overrule the scores:
  a complete seventh chord struck on the beat, with no other note, beats every
  triad (B D F G is G7/B, not Bdim); and where a beat's best chord has all its
  tones, smoothing may not turn it into a chord that lacks a tone and leaves a
  sounding note unexplained (D F B stays Bdim/D beside Dm).
  The defaults were chosen on half of the Monteverdi madrigals (see
  ``benchmarks/bench_analysis.py``).
- Roman numeral: the degree and secondary dominants of music21's
  ``romanNumeralFromChord`` in the beat's key (preferred for chromatic chords),
  the part of music21's analysis that is right once the chord and key are
  known; the quality and inversion figure come from the chord itself (V7 in
  A minor, not music21's V75#3), VI and VII in minor are the natural degrees
  as RomanText writes them, a diminished chord on a chromatic leading tone is
  applied (viio7/V), and IV in minor may be major. music21 is imported only
  when numerals are asked for.
- Augmented sixth chords (``augmented_sixths``): a dominant seventh chord on the
  key's b6 (Ab7 in C) that moves to V or the cadential 6/4 is a German, French or
  Italian sixth, numbered as RomanText numbers them (Ger65, Fr43, It6 over b6;
  Ger43, It64 over the tonic...), which music21 reads back; one on the b6 of the
  dominant's key is applied (Ger65/V). The chord column keeps the lead-sheet symbol,
  as a lead sheet writes them: Ab7 for the German and the Italian, Ab7b5 for the French.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import symusic.core

from scorefarm.errors import ScoreError

from .chords import (SEVENTHS, TEMPLATES, TRIAD_OF, ChordLabel, augmented_sixth_numeral, key_name, pc_name,
                     resolves_augmented_sixth, roman_numeral, scale_of)
from .keyfinding import KeyOptions, bar_keys
from .voices import Part, VNote, Voices, bar_beat, beats_of, clean_signatures, score_signatures

ROMAN_SOURCES = ("music21", "builtin")


@dataclass(frozen=True)
class AnalyzeOptions:
    key_window_bars: int = 3  # bars around each bar (keyfinding.KeyOptions)
    key_change_cost: float = 0.5
    key_profile: str = "bellman_budge"  # a table of data/key_profiles.json
    key_bass_weight: float = 0.0  # extra weight for the lowest track in key finding
    key_signature_weight: float = 0.1  # the file's key signature's say in key finding (keyfinding.KeyOptions)
    key: tuple[int, str] | None = None  # one key throughout (tonic pc, mode); None: found by windows
    roman: str = "music21"  # "music21" or "builtin" (no music21 import)
    onset_weight: float = 1.0  # extra weight of notes struck on the beat
    outside_penalty: float = 0.6  # per unit of weight outside the chord
    missing_penalty: float = 0.3  # per chord tone absent (half for a missing fifth)
    bass_root_bonus: float = 0.3
    diatonic_bonus: float = 0.15
    seventh_penalty: float = 0.15
    chord_change_cost: float = 0.3  # paid per change of chord between beats (smooths passing notes)

    def __post_init__(self):
        if self.roman not in ROMAN_SOURCES:
            raise ValueError(f"roman must be one of {ROMAN_SOURCES}, got {self.roman!r}")
        if self.key_window_bars < 1:
            raise ValueError(f"key_window_bars must be at least 1, got {self.key_window_bars}")


@dataclass(frozen=True)
class BeatLabel:
    tick: int
    bar: int
    beat: float
    key: str  # "F major", "d minor"
    tonic: int
    mode: str
    chord: str  # "C7/E", "" for silence
    root: int | None
    quality: str | None
    bass: int | None
    roman: str  # "V65", "" for silence


@dataclass
class Analysis:
    tpq: int
    beats: list[BeatLabel]
    keys: list[tuple[int, str]] = field(default_factory=list)  # (start tick, key name) per modulation
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"tpq": self.tpq, "keys": [{"tick": t, "key": k} for t, k in self.keys],
                           "beats": [asdict(b) for b in self.beats], "notes": self.notes}, indent=2)

    def table(self) -> list[tuple[str, str, str, str, str]]:
        """(bar, beat, key, chord, numeral) rows, the key shown where it changes. A bass that is
        no tone of the chord is named beside the numeral too, as the chord's slash names it:
        Bm/C# in F# minor is 'iv (bass C#)', the numeral of the chord above a passing bass."""
        rows, last_key = [], None
        for b in self.beats:
            key = b.key if b.key != last_key else ""
            last_key = b.key
            numeral = b.roman or "-"
            if b.quality is not None and (b.bass - b.root) % 12 not in TEMPLATES[b.quality]:
                numeral += f" (bass {pc_name(b.bass, (b.tonic, b.mode))})"
            rows.append((str(b.bar), f"{b.beat:g}", key, b.chord or "-", numeral))
        return rows


def analyze_score(score, options: AnalyzeOptions = AnalyzeOptions(), name: str = "score",
                  first_bar: int = 1) -> Analysis:
    """Key, chord and Roman numeral at every beat of ``score`` (a symusic score)."""
    if not isinstance(score, symusic.core.ScoreTick):
        score = score.to("tick")
    tracks = [t for t in score.tracks if not t.is_drum and t.note_num() > 0]
    if not tracks:
        raise ScoreError("has no pitched notes to analyse", name)
    parts = [Part(t.name, sorted(VNote(n.time, n.time + n.duration, n.pitch) for n in t.notes if n.duration > 0))
             for t in tracks]
    voices = Voices(score.tpq, parts, clean_signatures(score_signatures(score)), first_bar=first_bar,
                    key_signatures=usable_key_signatures(score))
    return analyze_voices(voices, options)


def usable_key_signatures(score) -> tuple[tuple[int, int, int], ...]:
    """The score's key signatures as (tick, sharps, minor flag): those a signature can be (-7 to
    7 sharps, major or minor), the first read of several at one tick (the first track's: a
    transposing part's written key comes later in a file)."""
    out: dict[int, tuple[int, int]] = {}
    for ks in score.key_signatures:
        if -7 <= ks.key <= 7 and ks.tonality in (0, 1):
            out.setdefault(int(ks.time), (int(ks.key), int(ks.tonality)))
    return tuple((tick, key, minor) for tick, (key, minor) in sorted(out.items()))


def analyze_file(path, options: AnalyzeOptions = AnalyzeOptions()) -> Analysis:
    """Analyse a MIDI or MusicXML file (bars numbered as MusicXML numbers them)."""
    from .voices import load_any_score

    score, first_bar, _ = load_any_score(path)
    return analyze_score(score, options, name=str(path), first_bar=first_bar)


def analyze_voices(voices: Voices, options: AnalyzeOptions = AnalyzeOptions()) -> Analysis:
    key_opts = KeyOptions(window_bars=options.key_window_bars, change_cost=options.key_change_cost,
                          profile=options.key_profile, bass_weight=options.key_bass_weight,
                          signature_weight=options.key_signature_weight)
    per_bar = [(0, *options.key)] if options.key else bar_keys(voices, key_opts)
    notes = sorted((n.start, n.end, n.pitch) for p in voices.parts for n in p.notes)
    starts = np.asarray([n[0] for n in notes])
    beats: list[BeatLabel] = []
    keys: list[tuple[int, str]] = []
    first_note = notes[0][0] if notes else 0
    grid = [(start, end) for start, end in _beats(voices) if end > first_note]  # no rows before a pickup
    profiles = [beat_profile(notes, starts, start, end, options) for start, end in grid]
    sounding = [i for i, p in enumerate(profiles) if p is not None]
    labels: dict[int, ChordLabel] = {}
    if sounding:
        scores = np.stack([chord_scores(*profiles[i], *_key_at(per_bar, grid[i][0]), options) for i in sounding])
        keep = np.stack([_complete_stays(profiles[i][0], scores[j]) for j, i in enumerate(sounding)])
        path = _chord_path(np.where(keep, scores, -np.inf), options.chord_change_cost)
        for i, k in zip(sounding, path):
            root, quality = CHORDS[int(k)]
            labels[i] = ChordLabel(root, quality, profiles[i][1])
    sixths = augmented_sixths(labels, profiles, [_key_at(per_bar, start)[0] for start, _ in grid])
    for i, (start, end) in enumerate(grid):
        tonic, mode = _key_at(per_bar, start)
        kname = key_name(tonic, mode)
        if not keys or keys[-1][1] != kname:
            keys.append((start, kname))
        label = labels.get(i)
        bar, beat = bar_beat(start, voices.tpq, voices.time_signatures, voices.first_bar)
        if label is None:
            beats.append(BeatLabel(start, bar, beat, kname, tonic, mode, "", None, None, None, ""))
            continue
        numeral = sixths.get(i) or roman_of(label, tonic, mode, options.roman)
        chord = label.spelled((tonic, mode))
        if numeral.startswith("Fr"):  # Ab-C-D-F#: a dominant seventh chord with a lowered fifth, Ab7b5
            chord = chord.replace("7", "7b5", 1)
        beats.append(BeatLabel(start, bar, beat, kname, tonic, mode, chord, label.root, label.quality, label.bass,
                               numeral))
    return Analysis(voices.tpq, beats, keys)


def augmented_sixths(labels: dict[int, ChordLabel], profiles, tonics: list[int]) -> dict[int, str]:
    """Beat -> RomanText numeral ('Ger65', 'It6', 'Fr43'; 'Ger65/V' for one of the dominant's
    key) for the beats that are augmented sixth chords. The chord scores read all three as a
    dominant seventh chord on b6 (Ab7 in C: Ab-C-Eb-F#, the Italian without its Eb, the French
    with a D for it); it is an augmented sixth where its b6, tonic and #4 sound in the beat and
    the next chord of another root is V or the cadential 6/4 (``chords.resolves_augmented_sixth``),
    else the numeral stays (VI7 in C minor; V7 in D-flat, going to D-flat). Which one: a German
    where the b3 is struck with the beat, a French where the 2 is, else an Italian."""
    out: dict[int, str] = {}
    for i, label in labels.items():
        if label.quality != "dominant-seventh":
            continue
        following = next((labels.get(j) for j in range(i + 1, len(profiles))
                          if labels.get(j) is None or labels[j].root != label.root), None)
        weights, bass, struck = profiles[i]
        for degree, applied in ((0, ""), (7, "/V")):
            tonic = (tonics[i] + degree) % 12
            if label.root != (tonic + 8) % 12 or not resolves_augmented_sixth(following, tonic):
                continue
            if all(weights[(tonic + step) % 12] > 0 for step in (8, 0, 6)):
                kind = "Ger" if struck[(tonic + 3) % 12] else "Fr" if struck[(tonic + 2) % 12] else "It"
                out[i] = augmented_sixth_numeral(kind, bass, tonic) + applied
    return out


def _beats(voices: Voices) -> list[tuple[int, int]]:
    """(start, stop) of every beat (``voices.beats_of``) up to the last note's end."""
    end = voices.end_tick()
    return [(start, min(stop, end)) for start, stop, _ in beats_of(voices.time_signatures, voices.tpq, end)]


def _key_at(per_bar, tick: int) -> tuple[int, str]:
    current = per_bar[0]
    for entry in per_bar:
        if entry[0] <= tick:
            current = entry
    return current[1], current[2]


def beat_profile(notes, starts: np.ndarray, start: int, end: int, options: AnalyzeOptions):
    """(pitch-class weights summing to 1, bass pitch class, pitch classes sounding at ``start``)
    of [start, end), or None in silence."""
    weights = np.zeros(12)
    at_onset = np.zeros(12, dtype=bool)
    lo = int(np.searchsorted(starts, end, side="left"))
    bass_at_onset, bass_any = None, None
    length = end - start
    for n_start, n_end, pitch in notes[:lo]:
        overlap = min(n_end, end) - max(n_start, start)
        if overlap <= 0:
            continue
        weights[pitch % 12] += overlap / length
        if n_start <= start < n_end:
            weights[pitch % 12] += options.onset_weight * (1.0 if n_start == start else 0.5)
            at_onset[pitch % 12] = True
            bass_at_onset = pitch if bass_at_onset is None else min(bass_at_onset, pitch)
        bass_any = pitch if bass_any is None else min(bass_any, pitch)
    if bass_any is None:
        return None
    bass = (bass_at_onset if bass_at_onset is not None else bass_any) % 12
    return weights / weights.sum(), bass, at_onset


CHORDS = [(root, quality) for quality in TEMPLATES for root in range(12)]
_MEMBERS = np.zeros((len(CHORDS), 12))
for _i, (_root, _quality) in enumerate(CHORDS):
    for _k, _iv in enumerate(TEMPLATES[_quality]):
        _MEMBERS[_i, (_root + _iv) % 12] = 0.5 if _k == 2 else 1.0  # a missing fifth costs half


_IS_SEVENTH = np.asarray([quality in SEVENTHS for _, quality in CHORDS])
_SEVENTH_MARGIN = 0.05  # how far a complete seventh chord is lifted above the best triad
_SAME_ROOT = np.asarray([[a[0] == b[0] and TRIAD_OF[a[1]] == TRIAD_OF[b[1]] for b in CHORDS] for a in CHORDS])


def _chord_path(scores: np.ndarray, change_cost: float) -> list[int]:
    """Best chord per beat, paying ``change_cost`` when the triad changes (G -> G7 is free)."""
    cost = np.where(_SAME_ROOT, 0.0, change_cost)
    best = scores[0].copy()
    backs = []
    for row in scores[1:]:
        total = best[:, None] - cost
        back = np.argmax(total, axis=0)
        best = total[back, np.arange(len(back))] + row
        backs.append(back)
    path = [int(np.argmax(best))]
    for back in reversed(backs):
        path.append(int(back[path[-1]]))
    return path[::-1]


def chord_scores(weights: np.ndarray, bass: int, at_onset: np.ndarray, tonic: int, mode: str,
                 options: AnalyzeOptions) -> np.ndarray:
    """How well each of ``CHORDS`` explains a beat's pitch-class weights (``at_onset``: the
    pitch classes sounding as the beat starts)."""
    member = _MEMBERS > 0
    inside = member @ weights
    score = inside - options.outside_penalty * (1.0 - inside)
    score -= options.missing_penalty * ((weights[None, :] == 0) * _MEMBERS).sum(axis=1)
    sizes = member.sum(axis=1)
    score -= options.seventh_penalty * (sizes == 4)
    diatonic = _diatonic(tonic, mode)
    for i, (root, quality) in enumerate(CHORDS):
        if quality == "augmented":
            score[i] -= options.seventh_penalty
        if root == bass:
            score[i] += options.bass_root_bonus
        if (root, quality) in diatonic:
            score[i] += options.diatonic_bonus
    # A complete seventh chord struck on the beat, every note of the beat one of its tones, beats
    # every triad, since each leaves one of its notes unexplained (the triad on its bass included:
    # B D F G is G7/B, not Bdim).
    complete = np.flatnonzero(_IS_SEVENTH & (member == at_onset).all(axis=1) & (member | (weights == 0)).all(axis=1))
    if complete.size:
        score[complete] += max(0.0, score[~_IS_SEVENTH].max() + _SEVENTH_MARGIN - score[complete].max())
    return score


def _complete_stays(weights: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Which chords smoothing may choose at a beat: where the beat's best chord has all its tones
    sounding, not one that lacks a tone and leaves a sounding note unexplained (D F B between
    Am and Dm stays Bdim/D: Dm would need an A and has no place for the B)."""
    member, sounding = _MEMBERS > 0, weights > 0
    if (member[int(np.argmax(scores))] & ~sounding).any():
        return np.ones(len(CHORDS), dtype=bool)
    return ~((member & ~sounding).any(axis=1) & (sounding & ~member).any(axis=1))


@lru_cache(maxsize=48)
def _diatonic(tonic: int, mode: str) -> frozenset[tuple[int, str]]:
    """(root, quality) of the triads and sevenths built on the key's scale (minor: harmonic too)."""
    scales = [scale_of(tonic, mode)]
    if mode == "minor":
        harmonic = list(scales[0])
        harmonic[6] = (tonic + 11) % 12
        scales.append(tuple(harmonic))
    out = set()
    for scale in scales:
        pcs = set(scale)
        for root in scale:
            for quality, intervals in TEMPLATES.items():
                if all((root + i) % 12 in pcs for i in intervals):
                    out.add((root, quality))
    return frozenset(out)


def roman_of(label: ChordLabel, tonic: int, mode: str, source: str = "music21") -> str:
    if source == "builtin":
        return roman_numeral(label, tonic, mode)
    return _music21_roman(label.root, label.quality, label.bass, tonic, mode)


INTERVAL_NAMES = {
    "major": ("M3", "P5"), "minor": ("m3", "P5"), "diminished": ("m3", "d5"), "augmented": ("M3", "A5"),
    "dominant-seventh": ("M3", "P5", "m7"), "major-seventh": ("M3", "P5", "M7"),
    "minor-seventh": ("m3", "P5", "m7"), "half-diminished-seventh": ("m3", "d5", "m7"),
    "diminished-seventh": ("m3", "d5", "d7"),
}
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B")


DIMINISHED = ("diminished", "diminished-seventh", "half-diminished-seventh")
QUALITY_SIGN = {"diminished": "o", "diminished-seventh": "o", "half-diminished-seventh": "ø", "augmented": "+"}


@lru_cache(maxsize=4096)
def _music21_roman(root: int, quality: str, bass: int, tonic: int, mode: str) -> str:
    """The numeral music21 names (its degree, its secondary dominants) with the quality and
    the figure of the chord as it is: V7, not V75#3, for E7 in A minor; viio65, not viio#653;
    VI and VII for the natural degrees of a minor key, as RomanText writes them."""
    from music21 import chord, key, pitch, roman

    figure = _figure(quality, (bass - root) % 12)
    target = _leading_tone_target(root, quality, tonic, mode)
    if target is not None:  # an applied leading-tone chord: F#dim7 in C is viio7/V, not #ivo7
        return f"vii{QUALITY_SIGN[quality]}{figure}/{target}"
    k = key.Key(_tonic_name(tonic, mode), mode)
    spelled = {p.pitchClass: p.name for p in k.getPitches()}
    if mode == "minor":
        for interval in ("M6", "M7"):
            raised = k.tonic.transpose(interval)
            spelled.setdefault(raised.pitchClass, raised.name)
    if root in spelled:
        root_pitch = pitch.Pitch(spelled[root] + "4")
    elif quality in DIMINISHED and (root - 1) % 12 in spelled:
        root_pitch = pitch.Pitch(spelled[(root - 1) % 12] + "4").transpose("A1")  # a raised degree: a leading tone
    elif (root + 1) % 12 in spelled:
        root_pitch = pitch.Pitch(spelled[(root + 1) % 12] + "4").transpose("-A1")  # a lowered degree: bII, bVI
    else:
        root_pitch = pitch.Pitch((_FLAT_NAMES if k.sharps < 0 else _SHARP_NAMES)[root] + "4")
    tones = [root_pitch.transpose(i) for i in INTERVAL_NAMES[quality]]
    secondary = (root, quality) not in _numeral_diatonic(tonic, mode) and quality in ("major", "dominant-seventh")
    rn = roman.romanNumeralFromChord(chord.Chord([root_pitch, *tones]), k, preferSecondaryDominants=secondary)
    if not rn.romanNumeralAlone:  # nothing music21 could name by degree
        return rn.figure
    text = _degree(rn, tonic, mode) + QUALITY_SIGN.get(quality, "") + figure
    if rn.secondaryRomanNumeral is not None:
        text += "/" + _degree(rn.secondaryRomanNumeral, tonic, mode)
    return text


def _figure(quality: str, bass_interval: int) -> str:
    """The inversion figure: '', '6', '64'; '7', '65', '43', '42'. A bass that is not a chord
    tone leaves the chord in root position."""
    intervals = TEMPLATES[quality]
    inversion = intervals.index(bass_interval) if bass_interval in intervals else 0
    return ("7", "65", "43", "42")[inversion] if quality in SEVENTHS else ("", "6", "64")[inversion]


def _degree(rn, tonic: int, mode: str) -> str:
    """A music21 numeral's accidental and degree ('bII', 'V'). In a minor key, upper-case VI and
    VII are the natural degrees (F and G in A minor) and a raised one takes a sharp, as RomanText
    reads them; music21 writes bVI and bVII for the natural ones."""
    front, numeral = rn.frontAlterationString, rn.romanNumeralAlone
    if mode == "minor" and numeral in ("VI", "VII"):
        natural = 8 if numeral == "VI" else 10
        rel = (rn.root().pitchClass - tonic) % 12
        front = "" if rel == natural else "#" if rel == natural + 1 else front
    return front + numeral


def _leading_tone_target(root: int, quality: str, tonic: int, mode: str) -> str | None:
    """For a diminished chord on a note outside the key, a semitone below a degree whose chord
    is major or minor, that degree's numeral (Bdim in F: 'V'); otherwise None."""
    if quality not in DIMINISHED:
        return None
    scale = set(scale_of(tonic, mode)) | ({(tonic + 9) % 12, (tonic + 11) % 12} if mode == "minor" else set())
    target = (root + 1) % 12
    if root in scale or target not in scale_of(tonic, mode):
        return None
    diatonic = _diatonic(tonic, mode)
    triad = next((q for q in ("major", "minor") if (target, q) in diatonic), None)
    return None if triad is None else roman_numeral(ChordLabel(target, triad, target), tonic, mode)


@lru_cache(maxsize=48)
def _numeral_diatonic(tonic: int, mode: str) -> frozenset[tuple[int, str]]:
    """The chords named by degree rather than as secondary dominants: the key's own, and in minor
    the major IV of the raised sixth (D major in A minor is IV, not V/VII)."""
    extra = {((tonic + 5) % 12, "major")} if mode == "minor" else set()
    return _diatonic(tonic, mode) | extra


def _tonic_name(tonic: int, mode: str) -> str:
    """A key's tonic as music21 spells it, choosing the spelling with fewer accidentals."""
    major = tonic if mode == "major" else (tonic + 3) % 12
    flats_side = {1: "D-", 3: "E-", 5: "F", 8: "A-", 10: "B-", 6: "G-"}
    name = flats_side.get(major)
    relative = name if name else _SHARP_NAMES[major]
    if mode == "major":
        return relative
    minor_names = {"C": "a", "G": "e", "D": "b", "A": "f#", "E": "c#", "B": "g#", "F": "d", "B-": "g", "E-": "c",
                   "A-": "f", "D-": "b-", "G-": "e-", "F#": "d#", "C#": "a#"}
    return minor_names[relative]


__all__ = ["AnalyzeOptions", "Analysis", "BeatLabel", "analyze_file", "analyze_score", "analyze_voices"]
