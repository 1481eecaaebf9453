"""Chord spelling by pitch class: templates, naming and Roman numerals.

Small and dependency-free, so the checker and the harmonizer can tell a chord
without importing music21. Pitch classes are integers (C = 0); a key is
(tonic_pc, "major" | "minor").
"""

from __future__ import annotations

from dataclasses import dataclass

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# quality -> intervals above the root; the first four are triads.
TEMPLATES: dict[str, tuple[int, ...]] = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "diminished": (0, 3, 6),
    "augmented": (0, 4, 8),
    "dominant-seventh": (0, 4, 7, 10),
    "major-seventh": (0, 4, 7, 11),
    "minor-seventh": (0, 3, 7, 10),
    "half-diminished-seventh": (0, 3, 6, 10),
    "diminished-seventh": (0, 3, 6, 9),
}
SEVENTHS = {q for q, iv in TEMPLATES.items() if len(iv) == 4}
TRIAD_OF = {
    "major": "major", "minor": "minor", "diminished": "diminished", "augmented": "augmented",
    "dominant-seventh": "major", "major-seventh": "major", "minor-seventh": "minor",
    "half-diminished-seventh": "diminished", "diminished-seventh": "diminished",
}
SHORT = {
    "major": "", "minor": "m", "diminished": "dim", "augmented": "aug",
    "dominant-seventh": "7", "major-seventh": "maj7", "minor-seventh": "m7",
    "half-diminished-seventh": "m7b5", "diminished-seventh": "dim7",
}
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor; degrees 6 and 7 may be raised
NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")


SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


def key_signature(tonic: int, mode: str) -> int:
    """Accidentals of a key's signature: sharps > 0, flats < 0 (six flats rather than six sharps... F#/Gb: +6)."""
    major_tonic = tonic if mode == "major" else (tonic + 3) % 12
    sharps = (major_tonic * 7) % 12
    return sharps - 12 if sharps > 6 else sharps


def key_of_signature(sharps: int, minor: bool) -> tuple[int, str]:
    """(tonic pitch class, mode) of a key signature (sharps > 0, flats < 0): ``key_signature`` reversed."""
    major_tonic = (sharps * 7) % 12
    return ((major_tonic + 9) % 12, "minor") if minor else (major_tonic, "major")


LETTERS = "CDEFGAB"
LETTER_PCS = (0, 2, 4, 5, 7, 9, 11)
# the degrees (above the tonic) whose triad is major or minor, so that a chord may lead to
# them: not vii in major, nor ii in minor (diminished)
TONICIZABLE = {"major": frozenset({0, 2, 4, 5, 7, 9}), "minor": frozenset({0, 3, 5, 7, 8, 10})}
# a chromatic pitch class above the tonic -> letters above the tonic's: the flattened degree
# above it (b2, b3, b6, b7), #4 for the tritone, a minor key's raised third, sixth and seventh
CHROMATIC_DEGREE = {1: 1, 3: 2, 4: 2, 6: 3, 8: 5, 9: 5, 10: 6, 11: 6}


def pc_name(pc: int, key: tuple[int, str] | None = None) -> str:
    """A pitch class's name, spelled with the key's accidentals when a key is given; a
    note outside the key by its scale degree (E-flat, not D-sharp, for iv's third in G
    major; the raised leading tone of a minor key with a sharp)."""
    if key is None:
        return NOTE_NAMES[pc % 12]
    tonic, mode = key
    signature = key_signature(tonic, mode)
    table = SHARP_NAMES if signature > 0 else FLAT_NAMES if signature < 0 else NOTE_NAMES
    rel = (pc - tonic) % 12
    if rel in (MAJOR_SCALE if mode == "major" else MINOR_SCALE):
        return table[pc % 12]
    return spell_above(table[tonic % 12], rel, CHROMATIC_DEGREE[rel])


def spell_above(root: str, interval: int, letters: int) -> str:
    """The note ``interval`` semitones above the spelled ``root`` ('E'), named ``letters``
    letters higher: spell_above('E', 4, 2) is 'G#' (a major third), not 'Ab'."""
    start = LETTERS.index(root[0])
    root_pc = (LETTER_PCS[start] + root.count("#") - root.count("b")) % 12
    letter = (start + letters) % 7
    shift = (root_pc + interval - LETTER_PCS[letter] + 6) % 12 - 6
    return LETTERS[letter] + ("#" * shift if shift > 0 else "b" * -shift)


def pitch_name(midi: int, key: tuple[int, str] | None = None) -> str:
    """60 -> 'C4'; spelled in ``key`` when given (see ``pc_name``)."""
    return f"{pc_name(midi % 12, key)}{midi // 12 - 1}"


@dataclass(frozen=True)
class ChordLabel:
    root: int  # pitch class
    quality: str  # a TEMPLATES key
    bass: int  # pitch class of the lowest note

    @property
    def name(self) -> str:
        return self.spelled(None)

    def spelled(self, key: tuple[int, str] | None) -> str:
        """'G7/B'; with a key, its accidentals ('G#dim' in A minor, not 'Abdim'), the bass
        spelled from the root as the chord member it is (E/G#, not E/Ab, in C major). A
        diminished chord on a chromatic root a half step under a degree of the key is that
        degree's leading-tone chord, its root the raised degree below: F#dim/A (vii°/ii)
        in F major, not Gbdim/Bbb; G#dim7 (vii°7/vi) in C major, not Abdim7. Only a degree
        with a major or minor triad is led to so: Bbdim7 in C major stays (no A#)."""
        root = pc_name(self.root, key)
        if key is not None and TRIAD_OF[self.quality] == "diminished":
            tonic, mode = key
            rel = (self.root - tonic) % 12
            if rel not in (MAJOR_SCALE if mode == "major" else MINOR_SCALE) and (rel + 1) % 12 in TONICIZABLE[mode]:
                root = spell_above(pc_name(self.root + 1, key), 11, 6)
        text = root + SHORT[self.quality]
        if self.bass == self.root:
            return text
        intervals = TEMPLATES[self.quality]
        interval = (self.bass - self.root) % 12
        bass = spell_above(root, interval, 2 * intervals.index(interval)) if interval in intervals else (
            pc_name(self.bass, key))
        return f"{text}/{bass}"

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in TEMPLATES[self.quality])

    @property
    def triad(self) -> str:
        return TRIAD_OF[self.quality]

    def seventh_pc(self) -> int | None:
        return (self.root + TEMPLATES[self.quality][3]) % 12 if self.quality in SEVENTHS else None

    def owes_seventh(self, sounding, over_root: bool) -> bool:
        """Whether this seventh chord's seventh owes a resolution: the chord is complete
        (``sounding`` pitch classes hold it all), or stands over its root (``over_root``).
        Root position is where a seventh chord leaves its fifth out (V7 with its root
        doubled); inverted, it keeps all four notes, and three notes spelling one without
        its fifth over another bass are a triad and a foreign note. The checker
        (``vl_slices.Slices.seventh``) and the harmonizer's search (``voicing``) ask this."""
        return self.seventh_pc() is not None and (set(self.pitch_classes) <= set(sounding) or over_root)


def identify(pcs: set[int] | frozenset[int], bass_pc: int) -> ChordLabel | None:
    """The chord whose template holds every pitch class sounding, root and third
    present (a fifth may be missing; a seventh chord needs its seventh). None when
    no template fits exactly (non-chord tones, a bare interval)."""
    pcs = frozenset(pcs)
    best: tuple[tuple[int, int, int], ChordLabel] | None = None
    for root in pcs:
        for rank, (quality, intervals) in enumerate(TEMPLATES.items()):
            members = {(root + i) % 12 for i in intervals}
            third = (root + intervals[1]) % 12
            if not pcs <= members or third not in pcs:
                continue
            if len(intervals) == 4 and (root + intervals[3]) % 12 not in pcs:
                continue
            missing = len(members - pcs)
            # prefer complete chords, then root in the bass, then simpler qualities
            key = (missing, 0 if root == bass_pc else 1, rank)
            if best is None or key < best[0]:
                best = (key, ChordLabel(root, quality, bass_pc))
    return None if best is None else best[1]


# The augmented sixth chords, as pitch classes above their key's tonic (either mode): the lowered
# sixth degree (b6) and the raised fourth (#4) an augmented sixth apart, the tonic between them, and
# the French's second or the German's minor third (in major the raised second: Ab-C-D#-F# in C).
# The German is a dominant seventh chord to the ear (Ab7), the Italian one without its fifth; which
# it is, the chord it moves to says (``resolves_augmented_sixth``).
AUGMENTED_SIXTHS = {"It": frozenset({8, 0, 6}), "Fr": frozenset({8, 0, 2, 6}), "Ger": frozenset({8, 0, 3, 6})}
# RomanText's figures for them, as music21 reads and writes them, by the bass above the tonic: It6,
# Fr43 and Ger65 over b6 (where they usually stand), It64, Fr42 and Ger43 over the tonic, and so on
AUGMENTED_SIXTH_FIGURES = {"It": {8: "6", 0: "64", 6: "53"}, "Fr": {8: "43", 0: "42", 2: "7", 6: "65"},
                           "Ger": {8: "65", 0: "43", 3: "42", 6: "7"}}


def augmented_sixth_tonic(label: ChordLabel) -> int | None:
    """The tonic of the key in which ``label`` may be a German or Italian sixth, a major third
    above its root (Ab7: C, its seventh Gb the F#, #4), for a dominant seventh chord; else None."""
    return (label.root + 4) % 12 if label.quality == "dominant-seventh" else None


def resolves_augmented_sixth(label: ChordLabel | None, tonic: int) -> bool:
    """Whether ``label`` is where an augmented sixth of the key on ``tonic`` goes, its b6 falling
    and its #4 rising to the fifth degree: V (a major triad or a dominant seventh on the fifth
    degree), or the cadential 6/4 (the tonic's major or minor triad over the fifth)."""
    if label is None:
        return False
    dominant = (tonic + 7) % 12
    return (label.root == dominant and label.quality in ("major", "dominant-seventh")) or (
        label.root == tonic and label.quality in ("major", "minor") and label.bass == dominant)


def augmented_sixth_numeral(kind: str, bass: int, tonic: int) -> str:
    """RomanText's numeral of an augmented sixth chord ('Ger65', 'It6', 'Fr43') by its bass; a
    bass that is no tone of it leaves the figure of b6 in the bass."""
    figures = AUGMENTED_SIXTH_FIGURES[kind]
    return kind + figures.get((bass - tonic) % 12, figures[8])


def scale_of(tonic: int, mode: str) -> tuple[int, ...]:
    steps = MAJOR_SCALE if mode == "major" else MINOR_SCALE
    return tuple((tonic + s) % 12 for s in steps)


def key_name(tonic: int, mode: str) -> str:
    """'Db major', 'g# minor': the tonic spelled by the key's own signature."""
    name = pc_name(tonic, (tonic, mode)) if mode == "major" else pc_name(tonic, ((tonic + 3) % 12, "major"))
    return f"{name} major" if mode == "major" else f"{name.lower()} minor"


def roman_numeral(label: ChordLabel, tonic: int, mode: str) -> str:
    """A Roman numeral with figures ('V7', 'ii6', 'viio7', 'bVI', 'V/V' is not
    attempted: a chromatic root gets a flat or sharp before the numeral)."""
    rel = (label.root - tonic) % 12
    degrees = MAJOR_SCALE if mode == "major" else (0, 2, 3, 5, 7, 8, 10)
    if rel in degrees:
        degree, accidental = degrees.index(rel), ""
    elif mode == "minor" and rel in (9, 11):  # raised 6 and 7 in minor
        degree, accidental = (5 if rel == 9 else 6), ("#" if rel == 9 else "")
        if rel == 11:
            accidental = ""
    elif (rel + 1) % 12 in degrees:
        degree, accidental = degrees.index((rel + 1) % 12), "b"
    else:
        degree, accidental = degrees.index((rel - 1) % 12), "#"
    numeral = NUMERALS[degree]
    triad = label.triad
    if triad in ("minor", "diminished"):
        numeral = numeral.lower()
    suffix = {"diminished": "o", "augmented": "+"}.get(triad, "")
    if label.quality == "half-diminished-seventh":
        suffix = "/o"
    inversion = _inversion(label)
    seventh = label.quality in SEVENTHS
    figure = ("", "6", "64")[inversion] if not seventh else ("7", "65", "43", "42")[inversion]
    return f"{accidental}{numeral}{suffix}{figure}"


def _inversion(label: ChordLabel) -> int:
    intervals = TEMPLATES[label.quality]
    rel = (label.bass - label.root) % 12
    return intervals.index(rel) if rel in intervals else 0


_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def parse_key(text: str) -> tuple[int, str]:
    """'D minor', 'd', 'Dm', 'F# major', 'Bb', 'bb minor' -> (tonic pc, mode).

    A lower-case letter or an 'm'/'minor' suffix means minor; raises ValueError."""
    raw = text.strip()
    words = raw.replace("-", " ").split()
    if not words:
        raise ValueError("an empty key")
    head, rest = words[0], [w.lower() for w in words[1:]]
    mode = None
    if rest:
        if rest[0] in ("major", "maj", "dur"):
            mode = "major"
        elif rest[0] in ("minor", "min", "moll"):
            mode = "minor"
        else:
            raise ValueError(f"key {text!r}: {rest[0]!r} is not 'major' or 'minor'")
    if head[-1:] == "m" and len(head) > 1 and head[-2:] != "bm" or head.endswith("min"):
        head = head[: -3] if head.endswith("min") else head[:-1]
        mode = mode or "minor"
    elif head.endswith("bm") and len(head) > 2:
        head, mode = head[:-1], mode or "minor"
    letter = head[:1]
    if letter.upper() not in _LETTERS:
        raise ValueError(f"key {text!r}: {letter!r} is not a note letter A-G")
    accidentals = head[1:]
    if any(ch not in "#b" for ch in accidentals):
        raise ValueError(f"key {text!r}: {accidentals!r} is not a run of '#' or 'b'")
    tonic = (_LETTERS[letter.upper()] + accidentals.count("#") - accidentals.count("b")) % 12
    if mode is None:
        mode = "minor" if letter.islower() else "major"
    return tonic, mode


def parse_pitch(name: str) -> int:
    """'C#4' / 'Bb2' / 'D5' -> MIDI number (C4 = 60); raises ValueError."""
    text = name.strip()
    letter, rest = text[:1].upper(), text[1:]
    if letter not in _LETTERS:
        raise ValueError(f"pitch {name!r}: {text[:1]!r} is not a note letter A-G")
    shift = 0
    while rest[:1] in ("#", "b"):
        shift += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    try:
        octave = int(rest)
    except ValueError:
        raise ValueError(f"pitch {name!r}: {rest!r} is not an octave number") from None
    return 12 * (octave + 1) + _LETTERS[letter] + shift


# an added tone over a triad, as an interval above its root -> the symbol's suffix
ADDED = {2: "add9", 5: "add11", 9: "6", 11: "maj7"}
SUSPENDED = {(0, 2, 7): "sus2", (0, 5, 7): "sus4", (0, 5, 7, 10): "7sus4"}
# an interval above a chord's root -> letters above the root's: 2nd/9th 1, 3rd 2, 4th/11th 3, 5th 4, 6th 5, 7th 6
LETTER_STEPS = {0: 0, 1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 4, 7: 4, 8: 4, 9: 5, 10: 6, 11: 6}


def chord_symbol(bass: int, pcs, key: tuple[int, str]) -> str:
    """A lead-sheet symbol for a sonority (bass and pitch classes above the tonic):
    'D/F#', 'Cm', 'Gadd9', 'Dsus4'; a sonority without one is spelled out, 'C+D+F/D'."""
    tonic = key[0]
    absolute = {(p + tonic) % 12 for p in pcs}
    bass_pc = (bass + tonic) % 12
    label = identify(absolute, bass_pc)
    if label is not None and set(label.pitch_classes) == absolute:
        return label.spelled(key)
    for root in sorted(absolute, key=lambda r: (r != bass_pc, r)):  # the bass as root first
        shape = tuple(sorted((p - root) % 12 for p in absolute))
        suffix = SUSPENDED.get(shape)
        if suffix is None and len(absolute) == 4:
            for added, added_suffix in ADDED.items():
                rest = {(p - root) % 12 for p in absolute} - {added}
                triad = identify({(p + root) % 12 for p in rest}, root)
                if triad is not None and triad.root == root and triad.quality in ("major", "minor") and (
                        set(triad.pitch_classes) == {(p + root) % 12 for p in rest}):
                    suffix = SHORT[triad.quality] + added_suffix
                    break
        if suffix is not None:
            name = pc_name(root, key)
            if bass_pc == root:
                return name + suffix
            interval = (bass_pc - root) % 12
            return f"{name}{suffix}/{spell_above(name, interval, LETTER_STEPS[interval])}"
    if len(absolute) == 2:  # an open fifth, or a triad missing its fifth
        other = ((set(absolute) - {bass_pc}) or {bass_pc}).pop()
        interval = (other - bass_pc) % 12
        names = {7: "5", 4: "(no5)", 3: "m(no5)"}
        if interval in names:
            return pc_name(bass_pc, key) + names[interval]
    upward = sorted(absolute, key=lambda p: (p - bass_pc) % 12)
    return "+".join(pc_name(p, key) for p in upward) + f"/{pc_name(bass_pc, key)}"
