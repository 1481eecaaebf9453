"""The score as the voice-leading checker reads it: verticalities and their harmony.

The score is read as a chain of verticalities: the moments where any voice
starts a note (or, with ``grid_ticks``, every point of a fixed grid), and the
ends of notes followed by silence. ``Slices`` holds which pitch each voice
sounds at each, and names the chord there for the leading-tone and seventh
rules (``voiceleading``).

What is a seventh or a leading tone is judged against the harmony of the beat,
not against every note sounding. A *passing note* (shorter than the beat, entered
and left by step in one direction, no rest either side) belongs to its line:
it is not judged as a seventh or a leading tone itself (the bass A3-G#3-F#3
walking down in quavers passes through the leading tone, it does not owe the
tonic), and it makes no other note a seventh (Bach's accented passing C#4 in the
tenor under E/G# does not make the soprano's B the seventh of C#m7). Only a bass
note on the beat stays a chord member though it passes: the harmony stands on it,
as figures stand over a thoroughbass. A *neighbour note* (shorter than the beat,
entered by step and left by step back to the pitch it came from, no rest either
side, off the beat: C-D-C, C-B-C) belongs to its line in the same way (the tenor's
quaver D4 between two C4s under the soprano's C5 does not make it the seventh of
Dm7, BWV 155.5 bar 2). On the beat it is an appoggiatura and stays a chord member.
A note left for a neighbour note is judged by its return, the same pitch, in its
place: the leading tone F#4 going down to a neighbour E4 under vi, back to F#4 and
up to G4 rises (BWV 328 bar 19). Where the passing and neighbour notes leave fewer
than three pitch classes, the chord a line moves into is read from every note.

A seventh chord without its fifth is read as one only over its root in the bass
(``Slices.seventh``): inverted, a seventh chord keeps all four notes, and three
notes spelling one over another bass, or over a bass that passes or neighbours,
are a triad with a note foreign to it (BWV 168.6 bar 3, BWV 304 bar 20: the sixth
over V still to fall to the fifth, where the inner voice's fifth of V was reported
as the seventh of Dmaj7/C# and F#m7/A).

A chord of a key's b6 and #4 (Ab and F# in C) and nothing but its augmented sixth
chords' notes (b6, 1, 2, b3, #4: Italian, French, German) is an augmented sixth
chord where it goes where one goes (``Slices.augmented_sixth_key``): Ab7 moving to
G, or to C over G, is the German sixth of C (Ab-C-Eb-F#; Ab-C-F# the Italian,
Ab-C-D-F# the French), whose F# rises to G as the Ab falls to it; it owes no
seventh (``Slices.augmented_sixth``), and the checker asks its b6 and #4 to move
outward to G. The chord it moves to decides, not the key found by windows: that
key often lags at a half cadence, and an augmented sixth may lead to a degree other
than the key's fifth (It+6 of V). Ab7 moving to D-flat is V7 there, its G-flat owed
a fall as before. The chord moved to is read without the sixth's own notes where
they are held or struck again over it (F# over G-B-D is G, its F# still to rise).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable

from .chords import AUGMENTED_SIXTHS, SEVENTHS, ChordLabel, augmented_sixth_tonic, identify, resolves_augmented_sixth
from .metre import counting_signature_at
from .voices import Voices, beat_length


class Slices:
    """Which pitch each voice sounds at each verticality, and whether it starts there."""

    def __init__(self, voices: Voices, grid_ticks: int | None = None):
        self.voices = voices
        if grid_ticks:
            end = voices.end_tick()
            self.ticks = list(range(0, end, grid_ticks))
        else:
            # onsets, and the ends of notes followed by silence: a rest breaks the chain
            self.ticks = sorted({t for p in voices.parts for n in p.notes for t in (n.start, n.end)})
            if self.ticks:
                self.ticks.pop()  # the very end: nothing sounds there
        self.pitch: list[list[int | None]] = []  # [voice][slice]
        self.note_index: list[list[int | None]] = []
        for part in voices.parts:
            starts = [n.start for n in part.notes]
            row, idx_row = [], []
            for tick in self.ticks:
                i = bisect.bisect_right(starts, tick) - 1
                if i >= 0 and part.notes[i].end > tick:
                    row.append(part.notes[i].pitch)
                    idx_row.append(i)
                else:
                    row.append(None)
                    idx_row.append(None)
            self.pitch.append(row)
            self.note_index.append(idx_row)
        def on_beat(tick: int) -> bool:
            return voices.bar_beat(tick)[1] % 1 == 0

        self.embellishing = [[embellishment(part.notes, i, _beat_ticks(voices, n.start), on_beat)
                              for i, n in enumerate(part.notes)] for part in voices.parts]  # [voice][note]
        bass = len(voices.parts) - 1  # on the beat the bass carries the harmony, passing or not (figured bass)
        self.chordal = [[kind is None or (v == bass and on_beat(note.start)) for kind, note in zip(kinds, part.notes)]
                        for v, (kinds, part) in enumerate(zip(self.embellishing, voices.parts))]
        self._members: dict[int, list[tuple[int, int]]] = {}
        self._sixths: dict[tuple[int, bool], int | None] = {}

    def index_at(self, tick: int) -> int:
        """The verticality sounding at ``tick`` (the last at or before it; -1 before the first)."""
        return bisect.bisect_right(self.ticks, tick) - 1

    def sonority(self, k: int) -> tuple[set[int], int] | None:
        sounding = [row[k] for row in self.pitch if row[k] is not None]
        if not sounding:
            return None
        return {p % 12 for p in sounding}, min(sounding) % 12

    def chord(self, k: int) -> ChordLabel | None:
        """The chord of every note sounding at ``k``."""
        son = self.sonority(k)
        return None if son is None else _identify(frozenset(son[0]), son[1])

    def members(self, k: int) -> list[tuple[int, int]]:
        """(voice, pitch) of the chord members sounding at ``k``: every note but the
        passing and neighbour notes (``embellishment``), which belong to the line, not
        to the chord; a bass note on the beat is a member all the same."""
        if k not in self._members:
            self._members[k] = [(v, row[k]) for v, (row, idx) in enumerate(zip(self.pitch, self.note_index))
                                if row[k] is not None and self.chordal[v][idx[k]]]
        return self._members[k]

    def harmony(self, k: int) -> ChordLabel | None:
        """The chord of the beat at ``k``: ``chord`` without the passing and neighbour
        notes. None where leaving them out leaves fewer than three pitch classes: a bare
        third between passing notes does not name the chord (D-F# is not a dominant there)."""
        members = self.members(k)
        if len(members) == sum(row[k] is not None for row in self.pitch):
            return self.chord(k)  # no note passes or neighbours here
        pcs = frozenset(p % 12 for _, p in members)
        return _identify(pcs, min(p for _, p in members) % 12) if len(pcs) >= 3 else None

    def arrival(self, k: int) -> ChordLabel | None:
        """The chord a line moves into at ``k``: ``harmony``, or ``chord`` (every note)
        where the passing and neighbour notes leave too few to name one."""
        label = self.harmony(k)
        return self.chord(k) if label is None and len({p % 12 for _, p in self.members(k)}) < 3 else label

    def chord_under_top(self, k: int) -> ChordLabel | None:
        """The chord as the voices under the top one hear it: their own triad when they
        sound a complete one, were all struck before the top voice's note (held under a
        moving melody) and the top voice is not part of it (a melody's colour tone over
        a held chord: A over C-E-flat-G is not A half-diminished), else ``harmony``. A
        top note struck with the chord (V6/5 with its root on top) is part of it."""
        members = self.members(k)
        lower = [(p, self.note_index[v][k], self.voices.parts[v]) for v, p in members if v > 0]
        if not members or members[0][0] != 0 or len(lower) < 3:
            return self.harmony(k)
        top = self.voices.parts[0].notes[self.note_index[0][k]]
        pcs = {p % 12 for p, _, _ in lower}
        held = all(part.notes[i].start < top.start for _, i, part in lower)
        if not held or len(pcs) != 3 or top.pitch % 12 in pcs:
            return self.harmony(k)
        label = _identify(frozenset(pcs), min(p for p, _, _ in lower) % 12)
        return label if label is not None and label.quality not in SEVENTHS else self.harmony(k)

    def seventh(self, k: int, label: ChordLabel | None) -> int | None:
        """The pitch class a voice owes a resolution as the seventh of ``label``, the chord
        read at ``k`` (``harmony`` or ``chord_under_top``), or None: a seventh chord without
        its fifth is one only over its root in the bass, the lowest note sounding and a chord
        member. Root position is where a seventh chord leaves its fifth out (V7 with its root
        doubled); inverted, it keeps all four notes. Three notes that spell one without its
        fifth over another bass are a triad and a note foreign to it (D over G with an E is
        the fifth of G, not the seventh of Em7/G), and where the bass passes or neighbours
        there is no bass to stand on: F#4-E4-A3 over the neighbour G2 in A2-G2-A2 is V under
        the soprano's sixth, still to fall to the fifth, not F#m7/A whose seventh E4 must
        fall (BWV 304 bar 20). An augmented sixth chord owes no seventh (``augmented_sixth``):
        its F#, an enharmonic G-flat, rises."""
        if label is None or label.seventh_pc() is None or self.augmented_sixth(k, label):
            return None
        members = self.members(k)
        lowest = min(row[k] for row in self.pitch if row[k] is not None)
        on_root = lowest % 12 == label.root and any(p == lowest for _, p in members)
        return label.seventh_pc() if label.owes_seventh({p % 12 for _, p in members}, on_root) else None

    def augmented_sixth(self, k: int, label: ChordLabel) -> bool:
        """Whether ``label``, the chord read at ``k``, is an augmented sixth chord: a dominant
        seventh chord (the German sixth, or the Italian without its fifth) whose root, as the
        b6 of a key, and seventh, as its #4, converge on that key's fifth degree
        (``augmented_sixth_key``). Ab7 going to G or to C/G is the German sixth of C, its F#
        rising (Schumann op. 41/1 ii bar 42); going to Db it is V7 of D-flat, its G-flat falling."""
        tonic = augmented_sixth_tonic(label)
        return tonic is not None and self.augmented_sixth_key(k) == tonic

    def augmented_sixth_key(self, k: int) -> int | None:
        """The tonic of the key whose augmented sixth chord sounds at ``k``, or None. Its chord
        members (``members``) hold the key's b6 and #4 (Ab and F# in C, an augmented sixth
        apart, or a diminished third inverted) and nothing outside its augmented sixth chords
        (b6, 1, 2, b3, #4: the Italian, French and German), and its tonic sounds with them, as
        in every one of them (a passing note may carry it: BWV 412 bar 12, the soprano's D5
        passing over Bb-E-G#). Without it the notes are other chords: A-E-G going to G#/B# is
        Am7 going to Ab/C in C (Beethoven op. 59/3 iv bar 348), no German sixth of C-sharp
        minor; C-D-Ab going to C#/E# an arpeggio's D5 over A-flat going to D-flat/F (op. 74 iv
        bar 378), no French sixth of F-sharp. The chord it moves to is V or
        the cadential 6/4 of that key (``chords.resolves_augmented_sixth``): the chord it moves
        to decides, not the key found by windows, which often lags at a half cadence (and an
        augmented sixth may lead to V of V). On the way there the chord may change shape
        within the family (the German's fifth passing through the French's second to the
        Italian: Schumann's viola Eb-D-C); a rest ends it. The French sixth has two readings,
        a tritone apart (Ab-C-D-F# is also D-F#-G#-C): where it goes picks one."""
        return self._augmented_sixth_key(k, every_note=False)

    def possible_augmented_sixth_key(self, k: int) -> int | None:
        """``augmented_sixth_key`` with the passing and neighbour notes counted as chord
        members: the augmented sixth a re-voicing may make where a line no longer passes or
        returns (A4-G#4-A4 sung A3-G#3-C#4 makes the G# a chord member, the #4 of an Italian
        sixth left unresolved: Beethoven op. 18/3 iv bar 488). The fixer's search asks it."""
        return self._augmented_sixth_key(k, every_note=True)

    def _augmented_sixth_key(self, k: int, every_note: bool) -> int | None:
        if (k, every_note) not in self._sixths:
            self._sixths[k, every_note] = self._find_augmented_sixth(k, every_note)
        return self._sixths[k, every_note]

    def _find_augmented_sixth(self, k: int, every_note: bool) -> int | None:
        sounding = {row[k] % 12 for row in self.pitch if row[k] is not None}
        pcs = sounding if every_note else {p % 12 for _, p in self.members(k)}
        if len(pcs) < 3:
            return None
        for low in sorted(pcs):
            tonic = (low + 4) % 12  # low as the b6, an augmented sixth under the #4
            if (low + 10) % 12 in pcs and tonic in sounding and pcs <= _family(tonic):
                end = self.augmented_sixth_end(k, tonic, every_note)
                if end is not None and any(resolves_augmented_sixth(label, tonic)
                                           for label in self._arrivals(end, tonic)):
                    return tonic
        return None

    def _arrivals(self, j: int, tonic: int):
        """The chord an augmented sixth of the key on ``tonic`` moves into at ``j``: ``arrival``,
        then the same without the sixth's own b6 and #4 held or struck again over it (a resolution
        delayed: F# over G-B-D is G, its F# still to rise, not Gmaj7)."""
        yield self.arrival(j)
        delayed = {(tonic + 8) % 12, (tonic + 6) % 12}
        rest = [p for _, p in self.members(j) if p % 12 not in delayed]
        if len(rest) < len(self.members(j)) and len({p % 12 for p in rest}) >= 2:
            yield _identify(frozenset(p % 12 for p in rest), min(rest) % 12)

    def augmented_sixth_end(self, k: int, tonic: int, every_note: bool = False) -> int | None:
        """The first verticality after ``k`` whose chord members (or, ``every_note``, its
        notes) leave the augmented sixth chords of the key on ``tonic`` (where it resolves, or
        goes elsewhere); None where a rest or the end comes first."""
        family = _family(tonic)
        for j in range(k + 1, len(self.ticks)):
            sounding = self.sonority(j)
            if sounding is None:
                return None
            members = sounding[0] if every_note else {p % 12 for _, p in self.members(j)}
            if not (members if len(members) >= 3 else sounding[0]) <= family:
                return j  # read as ``arrival`` reads a chord: every note where the members are too few
        return None


def _family(tonic: int) -> frozenset[int]:
    """The pitch classes of a key's augmented sixth chords: b6, 1, 2, b3, #4."""
    return frozenset((tonic + step) % 12 for shape in AUGMENTED_SIXTHS.values() for step in shape)


@functools.lru_cache(maxsize=4096)
def _identify(pcs: frozenset[int], bass_pc: int) -> ChordLabel | None:
    return identify(pcs, bass_pc)


def embellishment(notes, i: int, beat_ticks: int, on_beat: Callable[[int], bool]) -> str | None:
    """What ``notes[i]`` is to its line when it is no chord member, else None. Both kinds
    are shorter than the beat, joined to the notes either side (no rest), and entered and
    left by step (a semitone or a tone): "passing" goes on in the same direction (on the
    beat too: an accented passing note); "neighbour" goes back to the pitch it came from,
    off the beat only (on the beat it is an appoggiatura, a chord member). ``on_beat``
    says whether a tick falls on a beat; it is asked only about a neighbour's start."""
    if i == 0 or i + 1 >= len(notes):
        return None
    before, note, after = notes[i - 1], notes[i], notes[i + 1]
    if before.end != note.start or after.start != note.end or note.end - note.start >= beat_ticks:
        return None
    into, out = note.pitch - before.pitch, after.pitch - note.pitch
    if not (1 <= abs(into) <= 2 and 1 <= abs(out) <= 2):
        return None
    if (into > 0) == (out > 0):
        return "passing"
    return "neighbour" if after.pitch == before.pitch and not on_beat(note.start) else None


def _beat_ticks(voices: Voices, tick: int) -> int:
    """The beat's length at ``tick`` under the time signature then in force (in a pickup,
    the metre it leads to: a 3/8 pickup before 6/8 has a dotted quarter beat)."""
    return beat_length(voices.tpq, *counting_signature_at(voices.time_signatures, voices.tpq, tick))
