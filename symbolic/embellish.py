"""Passing tones: a voice that leaps a third between two beats walks it in eighths.

The harmonizer writes one chord a beat; Bach's inner voices and bass fill
most thirds with a passing note on the second half of the beat. How often is
learned from the training chorales (``passing_rates``, kept in the chorale
model): in Bach's chorales the bass walks 71-88 % of its thirds, the tenor
53-73 %, the alto 67-79 % except a falling major third (34 %). With those
rates, a third is filled only where Bach fills that voice's third more often
than not. A passing note is added only where it is diatonic (in minor, the
raised sixth and seventh when rising to the tonic), stays between its
neighbours, and makes no parallel fifths or octaves with any other voice.
"""

from __future__ import annotations

import bisect

from .bach_corpus import note_at
from .voices import Part, VNote, Voices

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)


def _scale_step(low: int, high: int, tonic: int, mode: str, rising: bool, target: int) -> int | None:
    """The one scale tone strictly between ``low`` and ``high`` (a third apart), or None."""
    scale = {(tonic + s) % 12 for s in (MAJOR if mode == "major" else MINOR)}
    if mode == "minor" and rising and (target - tonic) % 12 in (0, 11):
        scale = (scale - {(tonic + 8) % 12, (tonic + 10) % 12}) | {(tonic + 9) % 12, (tonic + 11) % 12}
    between = [p for p in range(low + 1, high) if p % 12 in scale]
    return between[0] if len(between) == 1 else None


def _pitch_at(part: Part, starts: list[int], tick: int) -> int | None:
    i = bisect.bisect_right(starts, tick) - 1
    return part.notes[i].pitch if i >= 0 and part.notes[i].end > tick else None


def _parallel(a1, a2, b1, b2) -> bool:
    if None in (a1, a2, b1, b2) or a1 == a2 or b1 == b2:
        return False
    return abs(a1 - b1) % 12 == abs(a2 - b2) % 12 and abs(a2 - b2) % 12 in (0, 7)


THIRDS = (-4, -3, 3, 4)


def passing_rates(chorales) -> dict[str, dict[str, float]]:
    """Per lower voice and signed third (semitones, "-4" ... "4") between the notes
    sounding on two consecutive quarter beats: the share of Bach's that walk it with
    a note strictly between them on the half beat (``chorales``: bach_corpus records)."""
    counts = {name: {str(i): [0, 0] for i in THIRDS} for name in ("Alto", "Tenor", "Bass")}
    for chorale in chorales:
        for name, table in counts.items():
            notes = chorale.voices[name]
            onsets = [on for on, _, _ in notes]

            def at(t: float, notes=notes, onsets=onsets) -> int | None:
                note = note_at(notes, onsets, t)
                return None if note is None else note[2]

            for beat in range(int(chorale.length_quarters) - 1):
                first, mid, second = at(beat), at(beat + 0.5), at(beat + 1)
                if None in (first, mid, second) or second - first not in THIRDS:
                    continue
                cell = table[str(second - first)]
                cell[0] += min(first, second) < mid < max(first, second)
                cell[1] += 1
    return {name: {i: round(filled / total, 4) if total else 0.0 for i, (filled, total) in table.items()}
            for name, table in counts.items()}


def add_passing_tones(voices: Voices, key: tuple[int, str], voice_indices=(1, 2, 3),
                      rates: dict[str, dict[str, float]] | None = None) -> Voices:
    """A copy of ``voices`` with passing eighths in the given voices (S=0 ... B=3);
    with ``rates`` (``passing_rates``), only in the thirds Bach fills more often than not."""
    tonic, mode = key
    parts = [Part(p.name, list(p.notes)) for p in voices.parts]
    # The passing note lasts at least an eighth, or one tick where a quarter is one tick
    # (a MIDI file may say 1 tick per quarter): there only notes of two beats or more
    # are split, at the same places as at a finer resolution.
    half_min = max(1, voices.tpq // 2)
    for v in voice_indices:
        i = 0
        while i < len(parts[v].notes) - 1:
            n1, n2 = parts[v].notes[i], parts[v].notes[i + 1]
            length = n1.end - n1.start
            if n1.end != n2.start or abs(n2.pitch - n1.pitch) not in (3, 4) or length < 2 * half_min:
                i += 1
                continue
            if rates is not None and rates.get(parts[v].name, {}).get(str(n2.pitch - n1.pitch), 0.0) <= 0.5:
                i += 1
                continue
            mid = n1.start + max(half_min, (length // 2) // half_min * half_min)
            if mid >= n1.end:
                i += 1
                continue
            rising = n2.pitch > n1.pitch
            passing = _scale_step(min(n1.pitch, n2.pitch), max(n1.pitch, n2.pitch), tonic, mode, rising, n2.pitch)
            if passing is None or not _fits(parts, v, n1, n2, mid, passing):
                i += 1
                continue
            parts[v].notes[i : i + 1] = [VNote(n1.start, mid, n1.pitch), VNote(mid, n1.end, passing)]
            i += 2
    return voices.with_parts(parts)


def _fits(parts: list[Part], v: int, n1: VNote, n2: VNote, mid: int, passing: int) -> bool:
    for u, other in enumerate(parts):
        if u == v:
            continue
        starts = [n.start for n in other.notes]
        before_mid, at_mid = _pitch_at(other, starts, mid - 1), _pitch_at(other, starts, mid)
        before_end, after = _pitch_at(other, starts, n2.start - 1), _pitch_at(other, starts, n2.start)
        if at_mid is not None and ((u < v and passing >= at_mid) or (u > v and passing <= at_mid)):
            return False  # would cross or meet a neighbour
        if _parallel(n1.pitch, passing, before_mid, at_mid) or _parallel(passing, n2.pitch, before_end, after):
            return False
    return True
