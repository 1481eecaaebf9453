"""Passing tones: a voice that leaps a third between two beats walks it in eighths.

The harmonizer writes one chord a beat; Bach's inner voices and bass fill
most thirds with a passing note on the second half of the beat. A passing
note is added only where it is diatonic (in minor, the raised sixth and
seventh when rising to the tonic), stays between its neighbours, and makes
no parallel fifths or octaves with any other voice.
"""

from __future__ import annotations

import bisect

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


def add_passing_tones(voices: Voices, key: tuple[int, str], voice_indices=(1, 2, 3)) -> Voices:
    """A copy of ``voices`` with passing eighths in the given voices (S=0 ... B=3)."""
    tonic, mode = key
    parts = [Part(p.name, list(p.notes)) for p in voices.parts]
    half_min = voices.tpq // 2  # the passing note lasts at least an eighth
    for v in voice_indices:
        i = 0
        while i < len(parts[v].notes) - 1:
            n1, n2 = parts[v].notes[i], parts[v].notes[i + 1]
            length = n1.end - n1.start
            if n1.end != n2.start or abs(n2.pitch - n1.pitch) not in (3, 4) or length < 2 * half_min:
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
