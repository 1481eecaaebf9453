"""The voice-leading checker: the faults of common-practice part writing.

Works on ``Voices`` (monophonic parts, highest first) and reports each fault
with its bar, beat and voices. The score is read as a chain of verticalities:
the moments where any voice starts a note (or, with ``grid_ticks``, every
point of a fixed grid). A voice *moves* between two verticalities when it
sounds at both and its pitch changes; a repeated or held note does not move,
and nothing moves across a rest (the ends of notes are verticalities too).

Rules (after the usual textbook statements, e.g. Aldwell & Schachter,
Harmony and Voice Leading, ch. 5 and 8; Kostka & Payne, Tonal Harmony, ch. 5-6):

- parallel fifths / octaves: two voices a perfect fifth (or octave, unison,
  compound) apart move in the same direction to the same interval class;
  antiparallel: the same by contrary motion (P5 -> P12, P8 -> unison). Two voices
  that both leap an octave, each keeping its pitch class (G4-G3 -> G3-G2), change
  register, not harmony: no parallel. Two voices moving in octaves or unisons
  through three or more successive moves double one line, as scoring does (the
  viola doubling the cello for a phrase): the stretch is reported once, apart from
  the faults (``CheckReport.doublings``, ``vl_doubling``), and its octaves are no
  faults; a single pair, or two, of parallel octaves remain faults;
- hidden fifths / octaves: the outer voices move in similar motion into a
  perfect fifth or octave with the top voice leaping (more than a whole step);
- voice crossing: a voice sounds above the voice written over it;
- voice overlap: a voice moves past the note the neighbouring voice just held;
- spacing: more than an octave between adjacent upper voices (the bass may
  lie further below);
- range: a note outside its part's range (``data/voice_ranges.json``);
- unresolved leading tone: in an outer voice, the leading tone of a dominant
  chord (V, V7, vii°, vii°7) not rising to the tonic when the harmony moves to
  I (or VI); an inner voice may fall to the fifth instead;
- unresolved seventh: the seventh of a seventh chord not falling by step when
  the harmony changes. A lower voice is judged against the chord the lower voices
  make when they hold a whole triad under a later top note outside it (a melody's
  colour tone over a held chord does not turn the chord into a seventh chord).
  A seventh chord without its fifth counts only over its root in the bass
  (inverted, a seventh chord is complete; ``vl_slices``). An augmented sixth
  chord owes no seventh: its #4 is no G-flat;
- unresolved augmented sixth: the b6 or the #4 of an augmented sixth chord (Ab
  and F# in C: the Italian, French or German sixth, ``Slices.augmented_sixth_key``)
  not moving outward by a half step to the fifth degree, the octave on the
  dominant, when the chord changes (to V or the cadential 6/4, which is what makes
  it one). Not owed yet while the voice moves inside the chord (the next shape of
  it, an exchange); delayed where the note is held or struck again over the new
  chord; another voice sounding the same note may resolve it for both (a doubled
  b6, or the bass taking over the #4 and rising); the #4 may instead fall to the
  seventh of V7 (BWV 60.5 bar 16). The rule is ``vl_sixths``.

What is a seventh or a leading tone is judged against the harmony of the beat,
not against every note sounding: passing and neighbour notes belong to their
lines, not to the chord (``vl_slices``, which reads the score as verticalities
and names the chord of each).

The leading-tone and seventh rules need the key: give ``CheckOptions.key`` or
let ``scorefarm.symbolic.keyfinding`` find the keys by windows (or pass keys found
once to ``check_voices``). An augmented sixth's key is the one it resolves in,
whatever the key found.
"""

from __future__ import annotations

import bisect
import json
from collections import Counter
from dataclasses import asdict, dataclass, field

from scorefarm.errors import ScoreError

from .chords import ChordLabel, pitch_name
from .vl_doubling import DOUBLING_MIN_MOVES, Doubling, doubled_runs, group_runs, interval_name
from .vl_sixths import check_augmented_sixth
from .vl_slices import Slices
from .voices import Voices, format_position, voice_range, voice_ranges

KINDS = (
    "parallel_fifths",
    "parallel_octaves",
    "antiparallel_fifths",
    "antiparallel_octaves",
    "hidden_fifths",
    "hidden_octaves",
    "voice_crossing",
    "voice_overlap",
    "spacing",
    "range",
    "unresolved_leading_tone",
    "unresolved_seventh",
    "unresolved_augmented_sixth",
)
PARALLEL_KINDS = frozenset({"parallel_fifths", "parallel_octaves"})
RESOLUTION_KINDS = frozenset({"unresolved_leading_tone", "unresolved_seventh", "unresolved_augmented_sixth"})

Key = tuple[int, str]  # (tonic pitch class, "major" | "minor")


@dataclass(frozen=True)
class CheckOptions:
    kinds: frozenset[str] = frozenset(KINDS)
    range_table: str = "chorale"  # a table of data/voice_ranges.json
    max_upper_spacing: int = 12  # semitones between adjacent upper voices
    hidden_needs_leap: bool = True  # hidden 5ths/8ves only when the top voice leaps
    grid_ticks: int | None = None  # check on a fixed grid instead of at onsets
    key: Key | None = None  # one key for the whole score; None: found by windows
    # two voices moving in octaves/unisons this many successive times double one line: reported
    # apart (``CheckReport.doublings``), not as parallel octaves; None: every parallel is a fault
    doubling_moves: int | None = DOUBLING_MIN_MOVES

    def __post_init__(self):
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; allowed: {', '.join(KINDS)}")
        voice_ranges(self.range_table)  # raises on an unknown table
        if self.grid_ticks is not None and self.grid_ticks <= 0:
            raise ValueError(f"grid_ticks must be positive, got {self.grid_ticks}")
        if self.doubling_moves is not None and self.doubling_moves < 1:
            raise ValueError(f"doubling_moves must be at least 1 (or None), got {self.doubling_moves}")


@dataclass(frozen=True)
class Fault:
    kind: str
    tick: int
    bar: int
    beat: float
    voices: tuple[str, ...]
    detail: str

    def describe(self) -> str:
        return f"{format_position(self.bar, self.beat)}: {self.kind.replace('_', ' ')} ({' / '.join(self.voices)}) {self.detail}"


@dataclass
class CheckReport:
    voices: list[str]
    faults: list[Fault]
    transitions: int  # pairs of consecutive verticalities examined
    keys: list[tuple[int, int, str]] = field(default_factory=list)  # (tick, tonic_pc, mode)
    notes: list[str] = field(default_factory=list)
    doublings: list[Doubling] = field(default_factory=list)  # doubled lines: scoring, not faults

    def counts(self) -> dict[str, int]:
        counter = Counter(f.kind for f in self.faults)
        return {kind: counter[kind] for kind in KINDS if counter[kind]}

    def count(self, kinds) -> int:
        return sum(1 for f in self.faults if f.kind in kinds)

    def to_json(self) -> str:
        payload = {
            "voices": self.voices,
            "transitions": self.transitions,
            "counts": self.counts(),
            "faults": [asdict(f) | {"voices": list(f.voices)} for f in self.faults],
            "notes": self.notes,
            "doublings": [{"kind": d.kind} | asdict(d) | {"voices": list(d.voices)} for d in self.doublings],
        }
        return json.dumps(payload, indent=2, sort_keys=False)


# ---------------------------------------------------------------- the checker


def check_voices(voices: Voices, options: CheckOptions = CheckOptions(),
                 keys: list[tuple[int, int, str]] | None = None) -> CheckReport:
    """Every fault of ``options.kinds`` in ``voices``, in time order.

    ``keys`` ((tick, tonic pitch class, mode), as a report's ``keys``) are the keys
    the leading-tone and seventh rules judge by; None: ``options.key``, or the keys
    found by windows. Giving them lets a caller that checks many versions of a
    passage (the fixer) find them once."""
    slices = Slices(voices, options.grid_ticks)
    names = voices.names
    faults: list[Fault] = []
    kinds = options.kinds

    def add(kind: str, k: int, who: tuple[int, ...], detail: str, tick: int | None = None) -> None:
        at = slices.ticks[k] if tick is None else tick
        bar, beat = voices.bar_beat(at)
        faults.append(Fault(kind, at, bar, beat, tuple(names[i] for i in who), detail))

    count = len(voices.parts)
    doublings, doubled = _doublings(slices, options, voices)
    for k in range(1, len(slices.ticks)):
        _check_pairs(slices, k, count, kinds, options, add, doubled)
    for k in range(len(slices.ticks)):
        _check_vertical(slices, k, count, kinds, options, add)
    if "range" in kinds:
        _check_ranges(voices, options, add)
    judged_by: list[tuple[int, int, str]] = []
    if kinds & RESOLUTION_KINDS:
        if keys is not None:
            judged_by = keys
        else:
            judged_by = [(0, *options.key)] if options.key else _find_keys(voices)
        _check_resolutions(slices, judged_by, kinds, add)
    notes: list[str] = list(voices.said)
    if count < 2:
        notes.append("only one voice: nothing to check between voices")
    if doublings:
        notes.append(f"{len(doublings)} doubled stretch(es): voices moving in octaves or unisons through "
                     f"{options.doubling_moves} or more successive moves double one line (scoring); listed apart, "
                     "their octaves are not counted as faults")
    unranged = [name for name in names if voice_range(name, voice_ranges(options.range_table)) is None]
    if "range" in kinds and unranged:
        known = ", ".join(voice_ranges(options.range_table))
        notes.append(f"ranges checked only for the voices the '{options.range_table}' range table names ({known}); "
                     f"not for {', '.join(unranged)}")
    order = {kind: i for i, kind in enumerate(KINDS)}
    faults.sort(key=lambda f: (f.tick, order[f.kind], f.voices, f.detail))
    return CheckReport(names, faults, max(0, len(slices.ticks) - 1), judged_by, notes, doublings)


def _doublings(slices: Slices, options: CheckOptions, voices: Voices) -> tuple[list[Doubling], set]:
    """The doubled stretches (``vl_doubling``), and the transitions inside them as
    (hi, lo, k): no parallel or antiparallel octaves, nor overlaps, are faults there."""
    if options.doubling_moves is None or len(voices.parts) < 2 or not slices.ticks:
        return [], set()
    runs = doubled_runs(slices.pitch, options.doubling_moves)
    doubled = {(hi, lo, k) for (hi, lo), spans in runs.items() for first, last in spans
               for k in range(first + 1, last + 1)}
    out = []
    for (first, last), members in group_runs(runs):
        start, end = slices.ticks[first], slices.ticks[last]
        pitch = slices.pitch
        moves = sum(any((hi, lo, k) in doubled and pitch[hi][k] != pitch[hi][k - 1] and pitch[lo][k] != pitch[lo][k - 1]
                        for hi in members for lo in members if hi < lo)
                    for k in range(first + 1, last + 1))  # transitions where a doubled pair moved together
        out.append(Doubling(start, *voices.bar_beat(start), end, *voices.bar_beat(end),
                            tuple(voices.names[v] for v in members), moves,
                            interval_name(slices.pitch, members, first, last)))
    return out, doubled


def check_score(score, options: CheckOptions = CheckOptions(), name: str = "score") -> CheckReport:
    """Split a symusic score into voices and check them."""
    from .voices import voices_from_score

    return check_voices(voices_from_score(score, name), options)


def check_file(path, options: CheckOptions = CheckOptions()) -> CheckReport:
    """Check a MIDI or MusicXML file (one track or part per voice, or block chords; a
    part with double stops by its principal line: ``voices.voices_from_score``)."""
    from .voices import load_voices

    voices, _ = load_voices(path)
    require_voices(voices, path)
    return check_voices(voices, options)


def require_voices(voices: Voices, source) -> None:
    """Voice leading is between voices: refuse a score of one (``ScoreError``)."""
    if len(voices.parts) < 2:
        names = ", ".join(voices.names) or "none"
        said = f" ({'; '.join(voices.said)})" if voices.said else ""  # a track of chords read as one line
        raise ScoreError(f"has {len(voices.parts)} voice ({names}); checking voice leading needs at least two "
                         f"voices{said}", source)


def _find_keys(voices: Voices) -> list[tuple[int, int, str]]:
    from .keyfinding import key_regions

    return key_regions(voices)


def _motion(a: int, b: int) -> int:
    return (b > a) - (b < a)


def _check_pairs(slices: Slices, k: int, count: int, kinds, options: CheckOptions, add, doubled: set) -> None:
    prev, cur = k - 1, k
    pitch = slices.pitch
    for hi in range(count):
        for lo in range(hi + 1, count):
            a1, b1, a2, b2 = pitch[hi][prev], pitch[lo][prev], pitch[hi][cur], pitch[lo][cur]
            if None in (a1, b1, a2, b2):
                continue
            move_a, move_b = _motion(a1, a2), _motion(b1, b2)
            motion = f"{pitch_name(a1)}-{pitch_name(b1)} -> {pitch_name(a2)}-{pitch_name(b2)}"
            inside = (hi, lo, cur) in doubled  # a doubled line's octaves and overlaps are scoring
            if move_a and move_b:
                before, after = abs(a1 - b1) % 12, abs(a2 - b2) % 12
                same_classes = a1 % 12 == a2 % 12 and b1 % 12 == b2 % 12  # both leapt octaves: register
                for cls, label in ((7, "fifths"), (0, "octaves")):
                    if before == cls and after == cls and not same_classes and not (inside and cls == 0):
                        kind = ("parallel_" if move_a == move_b else "antiparallel_") + label
                        if kind in kinds:
                            add(kind, cur, (hi, lo), motion)
                # hidden: outer voices only, similar motion into a perfect interval
                if hi == 0 and lo == count - 1 and move_a == move_b and after in (0, 7) and before != after:
                    leap = abs(a2 - a1) > 2
                    kind = "hidden_fifths" if after == 7 else "hidden_octaves"
                    if kind in kinds and (leap or not options.hidden_needs_leap):
                        add(kind, cur, (hi, lo), motion)
            if lo == hi + 1 and "voice_overlap" in kinds and not inside:
                # a voice passes the note its neighbour just left (crossing is reported apart)
                if move_b and b2 > a1 and b2 <= a2:
                    add("voice_overlap", cur, (lo, hi), f"{pitch_name(b2)} above the {pitch_name(a1)} just sounded")
                elif move_a and a2 < b1 and a2 >= b2:
                    add("voice_overlap", cur, (hi, lo), f"{pitch_name(a2)} below the {pitch_name(b1)} just sounded")


def _check_vertical(slices: Slices, k: int, count: int, kinds, options: CheckOptions, add) -> None:
    pitch = slices.pitch
    for hi in range(count - 1):
        lo = hi + 1
        a, b = pitch[hi][k], pitch[lo][k]
        if a is None or b is None:
            continue
        pa = pitch[hi][k - 1] if k else None
        pb = pitch[lo][k - 1] if k else None
        if "voice_crossing" in kinds and b > a and not (pa is not None and pb is not None and pb > pa):
            add("voice_crossing", k, (lo, hi), f"{pitch_name(b)} above {pitch_name(a)}")
        upper_pair = lo < count - 1  # the bass may lie further below
        if "spacing" in kinds and upper_pair and a - b > options.max_upper_spacing:
            was_wide = pa is not None and pb is not None and pa - pb > options.max_upper_spacing
            if not was_wide:
                add("spacing", k, (hi, lo), f"{pitch_name(a)}-{pitch_name(b)}, {a - b} semitones apart")


def _check_ranges(voices: Voices, options: CheckOptions, add) -> None:
    table = voice_ranges(options.range_table)
    for index, part in enumerate(voices.parts):
        span = voice_range(part.name, table)
        if span is None:
            continue
        low, high = span
        for note in part.notes:
            if not low <= note.pitch <= high:
                where = "below" if note.pitch < low else "above"
                add("range", 0, (index,), f"{pitch_name(note.pitch)} {where} {pitch_name(low)}-{pitch_name(high)}",
                    tick=note.start)


def key_at(keys: list[tuple[int, int, str]], tick: int) -> tuple[int, str]:
    current = keys[0]
    for entry in keys:
        if entry[0] <= tick:
            current = entry
    return current[1], current[2]


def _slice_at(slices: Slices, tick: int) -> int:
    return slices.index_at(tick)


def _check_resolutions(slices: Slices, keys, kinds, add) -> None:
    count = len(slices.voices.parts)
    chord = slices.harmony  # the chord of the beat, passing and neighbour notes left out
    sixths = [k for k in range(len(slices.ticks)) if slices.augmented_sixth_key(k) is not None] if (
        "unresolved_augmented_sixth" in kinds) else []
    for v, part in enumerate(slices.voices.parts):
        outer = v in (0, count - 1)
        kinds_of = slices.embellishing[v]
        for i, note in enumerate(part.notes[:-1]):
            nxt = part.notes[i + 1]
            if nxt.start > note.end or kinds_of[i] or kinds_of[i + 1] == "neighbour":
                # no resolution is expected across a rest, nor of a passing or neighbour note; a note
                # left for a neighbour comes back, and its return is judged in its place
                continue
            k_first, k_last = _slice_at(slices, note.start), _slice_at(slices, note.end - 1)
            k_next = _slice_at(slices, nxt.start)
            if k_first < 0 or k_next <= k_last:
                continue
            tonic, mode = key_at(keys, note.start)
            target = slices.arrival(k_next)
            step = nxt.pitch - note.pitch
            if "unresolved_leading_tone" in kinds and note.pitch % 12 == (tonic + 11) % 12 and target:
                dominant = any(is_dominant(chord(k), tonic) for k in range(k_first, k_last + 1))
                to_tonic = target.root == tonic and target.triad in ("major", "minor")
                deceptive = target.root == (tonic + (8 if mode == "minor" else 9)) % 12
                if dominant and (to_tonic or deceptive) and step != 1:
                    frustrated = not outer and step in (-3, -4) and nxt.pitch % 12 == (tonic + 7) % 12
                    if not frustrated:
                        add("unresolved_leading_tone", k_next, (v,),
                            f"{pitch_name(note.pitch, (tonic, mode))} -> {pitch_name(nxt.pitch, (tonic, mode))} (leading tone of "
                            f"{_key_label(tonic, mode)} should rise to the tonic)", tick=nxt.start)
            if "unresolved_seventh" in kinds and target and step not in (-1, -2):
                for k in range(k_first, k_last + 1):
                    label = chord(k) if v == 0 else slices.chord_under_top(k)
                    if label and slices.seventh(k, label) == note.pitch % 12 and target.root != label.root:
                        add("unresolved_seventh", k_next, (v,),
                            f"{pitch_name(note.pitch, (tonic, mode))} -> {pitch_name(nxt.pitch, (tonic, mode))} "
                            f"(seventh of {label.spelled((tonic, mode))} "
                            "should fall by step)", tick=nxt.start)
                        break
            if sixths and bisect.bisect_left(sixths, k_first) < bisect.bisect_right(sixths, k_last):
                check_augmented_sixth(slices, v, i, k_first, k_last, add)


def is_dominant(label: ChordLabel | None, tonic: int) -> bool:
    if label is None:
        return False
    if label.root == (tonic + 7) % 12 and label.quality in ("major", "dominant-seventh"):
        return True
    return label.root == (tonic + 11) % 12 and label.quality in (
        "diminished", "diminished-seventh", "half-diminished-seventh")


def _key_label(tonic: int, mode: str) -> str:
    from .chords import key_name

    return key_name(tonic, mode)
