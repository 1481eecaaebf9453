"""The score's key signatures and the spelling of its pitches.

The keys are the reduction's own key signatures, spelled as it spells them (A-flat minor
stays seven flats), each in force from its tick (of several at one tick the last, a
signature restating the key in force left out), else the one key the project's key finder
hears (``orchestrate.reduction_key``), in the fewest sharps or flats. Before the first
signature the first one's key holds (a sketch whose signature stands a little after 0).
Each part writes them transposed for its instrument (``PartKeys``), a transposed signature
never in seven sharps or flats (``written_fifths``: concert G-sharp minor is B-flat minor
for a B-flat clarinet, not A-sharp minor), six on the concert key's side (concert E major
is F-sharp major for it, not G-flat major): a new signature on the bar line
at or after the tick where the sketch's changes (a notation program changes key on a bar
line), every note spelled from the key in force where it is struck (``Speller``: A-flat
major writes E-flat and D-flat, never D-sharp and C-sharp), so that a note leading into the
new key a beat before its bar line is spelled in it. A transposing part's notes are spelled
in concert pitch from the concert key, then moved by the interval from the concert key to
the written one (``Transposed``), so a part reads what the concert parts read, transposed:
the concert A natural of the Maple Leaf Rag's D-flat trio is E for the horn in F, not the
F-flat its written A-flat major would give alone.
"""

from __future__ import annotations

import bisect
from fractions import Fraction

# Chromatic degrees spelled as composers spell them, by interval above the tonic:
# major: #1 (V/ii), b3 and b6 (mixture), #4 (V/V), b7 (V/IV); minor: b2 (Neapolitan),
# #3 (the Picardy third), #4, and the raised 6th and 7th of the melodic minor.
_CHROMATIC = {"major": {1: "A1", 3: "m3", 6: "A4", 8: "m6", 10: "m7"},
              "minor": {1: "m2", 4: "M3", 6: "A4", 9: "M6", 11: "M7"}}


class Speller:
    """Pitch names from a key: its scale degrees, then the usual chromatic ones (``_CHROMATIC``),
    one that would take a double flat by its nearer name (a flat key's mixture: D-flat major's
    flat 6th is A; double sharps stay: G-sharp minor's leading note is F double-sharp). For a
    harp, ``pedals(pitches)`` spells a bar by the strings one pedal setting plays it on."""

    def __init__(self, key):
        from music21 import pitch

        names = {p.pitchClass: p.name for p in key.getScale().getPitches("C4", "B4")}
        for semitones, interval in _CHROMATIC[key.mode].items():
            spelled = key.tonic.transpose(interval)
            if spelled.accidental is not None and spelled.accidental.alter < -1:
                spelled = spelled.simplifyEnharmonic()  # D-flat major's flat 6th: A, not B double-flat
            names.setdefault((key.tonic.pitchClass + semitones) % 12, spelled.name)
        self.names = names
        self.bar_names: dict[int, str] = {}
        self._pitch = pitch.Pitch

    def pedals(self, pitches) -> None:
        """Spell what follows by one setting of the harp's pedals that plays all of
        ``pitches`` (a bar's), the key's names kept where they can be: C and C sharp are
        C and D flat on a harp. Without such a setting, the key's spelling."""
        from .harp import pedal_setting

        self.bar_names = pedal_setting(pitches, self.names) or {}

    def pitch(self, midi: int):
        spelled = self._pitch(self.bar_names.get(midi % 12) or self.names[midi % 12])
        spelled.octave = 4
        spelled.octave += (midi - spelled.midi) // 12  # B-sharp and C-flat cross the octave's letter boundary
        return spelled


_LETTERS = "CDEFGAB"
_NATURALS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class Transposed:
    """A transposing part's spelling: the concert speller's name for the sounding pitch,
    moved by the interval from the concert key's tonic to the written key's (``written``:
    its speller; F horn: up a fifth, the letter four steps on; a B-flat instrument in
    concert B major writes D-flat major: a diminished third, two letters). Where the move
    makes a double sharp or flat the concert name has not (concert G natural in B major, a
    B double-flat in that D-flat major), the written key's own name is taken instead (A), as
    engravers keep transposed parts free of double accidentals the concert pitch has not
    (Gould, "Behind Bars"); that name is a double sharp only where the written key itself
    calls for one (G-sharp minor's leading note, F double-sharp)."""

    def __init__(self, concert: Speller, written: Speller, concert_tonic: str, written_tonic: str,
                 transposition: int):
        self.written = written
        letters = (_LETTERS.index(written_tonic[0]) - _LETTERS.index(concert_tonic[0])) % 7
        self.names: dict[int, str] = {}
        for pc, name in concert.names.items():
            letter = _LETTERS[(_LETTERS.index(name[0]) + letters) % 7]
            alter = ((pc - transposition) - _NATURALS[letter] + 6) % 12 - 6
            moved = letter + ("#" * alter if alter > 0 else "-" * -alter)
            if abs(alter) > 1 and abs(alter) > len(name) - 1:
                moved = written.names[(pc - transposition) % 12]
            self.names[(pc - transposition) % 12] = moved

    def pitch(self, midi: int):
        """The music21 pitch for the written MIDI pitch ``midi``."""
        spelled = self.written._pitch(self.names[midi % 12])
        spelled.octave = 4
        spelled.octave += (midi - spelled.midi) // 12
        return spelled


def key_for(pc: int, mode: str):
    """The spelling of the key on ``pc`` with the fewest sharps or flats (a music21 Key; of
    two with six, the flat one: G-flat major, E-flat minor)."""
    from music21 import key

    keys = [key.KeySignature(n).asKey(mode) for n in range(-7, 8)]
    return min((k for k in keys if k.tonic.pitchClass == pc), key=lambda k: abs(k.sharps))


def written_fifths(fifths: int, mode: str, transposition: int) -> int:
    """The key signature (sharps > 0, flats < 0) a part transposing by ``transposition``
    semitones (sounding = written + transposition) writes for the concert signature
    ``fifths``: the concert one moved by the written interval's fifths (B-flat: two sharps
    more, F: one, E-flat: three, A: three flats more, G: one flat more), written
    enharmonically when that makes seven or more (concert G-sharp minor for a B-flat
    clarinet is B-flat minor, not A-sharp minor; concert B major is D-flat major, not
    C-sharp major), as engravers write transposed parts (Gould, "Behind Bars": no transposed
    part in seven sharps or flats). Six stay on the concert key's side (concert E major is
    F-sharp major for B-flat, not G-flat major; concert B major F-sharp major for the horn),
    but for a minor key on six sharps, whose leading note is a double sharp: D-sharp minor
    is written E-flat minor. A part at concert pitch (or octaves from it) writes the concert
    signature as it is."""
    if transposition % 12 == 0:
        return fifths
    moved = fifths + (-transposition * 7 + 6) % 12 - 6  # up a tone: +2; up a fifth: +1; up a minor third: -3
    if moved > 6 or (moved == 6 and mode == "minor"):
        return moved - 12
    if moved < -6:
        return moved + 12
    return moved


def concert_keys(orchestration, end: Fraction) -> list[tuple[Fraction, int, str]]:
    """(offset in quarters, key signature: sharps > 0, flats < 0, mode) of each key in force
    before ``end`` (the score's last bar line), the first at 0: the reduction's key
    signatures, spelled as it spells them (A-flat minor stays seven flats, not G-sharp
    minor's five sharps, which would turn its leading note G into F double-sharp), else the
    key heard, with the fewest sharps or flats (``key_for``)."""
    from scorefarm.symbolic.chords import key_of_signature

    from .orchestrate import reduction_key

    source = orchestration.source
    at: dict[int, tuple[int, str]] = {}
    for signature in sorted(source.key_signatures, key=lambda sig: sig.time):  # stable: file order at one tick
        tonic, mode = key_of_signature(signature.key, bool(signature.tonality))
        # a signature of more than seven sharps or flats (not a real one) is the key it names, fewest spelled
        at[signature.time] = (signature.key if abs(signature.key) <= 7 else key_for(tonic, mode).sharps, mode)
    if not at:
        tonic, mode = reduction_key(orchestration.source_notes)
        return [(Fraction(0), key_for(tonic, mode).sharps, mode)]
    keys: list[tuple[Fraction, int, str]] = []
    for tick, key in sorted(at.items()):
        offset = Fraction(tick, source.tpq) if keys else Fraction(0)
        if offset < end and (not keys or keys[-1][1:] != key):
            keys.append((offset, *key))
    return keys


class PartKeys:
    """One part's keys, written for its instrument: ``shown`` the signatures to write
    (offset on a bar line, music21 Key), ``speller(onset)`` the spelling in force there."""

    def __init__(self, keys: list[tuple[Fraction, int, str]], transposition: int, lines: list[Fraction],
                 end: Fraction):
        """``keys``: ``concert_keys``; ``lines``: the bar lines in quarters; ``end``: the
        score's last bar line (a change shown there or later is not shown)."""
        from music21 import key as m21key

        self.starts = [offset for offset, _, _ in keys]
        concert = [m21key.KeySignature(fifths).asKey(mode) for _, fifths, mode in keys]
        written = [m21key.KeySignature(written_fifths(fifths, mode, transposition)).asKey(mode)
                   for _, fifths, mode in keys]
        self.spellers: list = [Speller(key) for key in written]
        if transposition % 12:  # spelled in concert pitch, then transposed (an octave changes no name)
            self.spellers = [Transposed(Speller(sounding), speller, sounding.tonic.name, key.tonic.name, transposition)
                             for sounding, key, speller in zip(concert, written, self.spellers)]
        self.shown: list[tuple[Fraction, object]] = []
        for offset, key in zip(self.starts, written):
            after = bisect.bisect_left(lines, offset)
            line = lines[after] if after < len(lines) else end
            if line >= end and offset > 0:
                continue
            if self.shown and self.shown[-1][0] == line:
                self.shown.pop()  # two changes before one bar line: the later is shown there
            if not self.shown or self.shown[-1][1].sharps != key.sharps or self.shown[-1][1].mode != key.mode:
                self.shown.append((line, key))

    def speller(self, onset: Fraction):
        return self.spellers[max(0, bisect.bisect_right(self.starts, onset) - 1)]
