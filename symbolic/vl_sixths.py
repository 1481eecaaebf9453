"""The augmented sixth's resolution, a rule of the voice-leading checker (``voiceleading``).

The b6 and the #4 of an Italian, French or German sixth (Ab and F# in C; which
verticalities hold one, ``vl_slices.Slices.augmented_sixth_key``) move outward by
a half step to the fifth degree, the octave on the dominant, when the chord is
left for V or the cadential 6/4 (Aldwell & Schachter, Harmony and Voice Leading,
ch. 31; Kostka & Payne, Tonal Harmony, ch. 19). ``check_augmented_sixth`` judges
one note and reports an ``unresolved_augmented_sixth`` where it does not.
"""

from __future__ import annotations

from .chords import augmented_sixth_numeral, pc_name, pitch_name
from .vl_slices import Slices


def check_augmented_sixth(slices: Slices, v: int, i: int, k_first: int, k_last: int, add) -> None:
    """Note ``i`` of voice ``v``, sounding at ``k_first..k_last``: where it is the b6 or the #4
    of an augmented sixth chord (``Slices.augmented_sixth_key``), it should move outward by a
    half step to the fifth degree when the chord changes (Ab down to G, F# up to G in C), or
    another voice sounding it with it, or sounding it where the chord is left, should: with the
    b6 doubled, the augmented sixth resolves in the voice that falls, and the other is free (Bb3
    of It6 in D minor rising to the C# of V6 while a Bb4 falls to A4 against the G#5 rising);
    where the bass moves on from the b6 to the #4 and rises from it, an upper voice doubling
    that #4 must not rise with it (Beethoven op. 18/4 iv bar 523, the cello's Ab2-F#2-G2 under
    the viola's F#4)."""
    for k in range(k_last, k_first - 1, -1):  # the last augmented sixth it sounds in is the one it leaves
        tonic = slices.augmented_sixth_key(k)
        if tonic is None:
            continue
        degree = (slices.pitch[v][k] - tonic) % 12
        if degree not in (6, 8):
            continue
        judged = _sixth_resolution(slices, v, i, k, tonic)
        if judged is None or judged[0]:
            return
        last = slices.augmented_sixth_end(k, tonic) - 1  # where the chord is left
        doubled = {(u, at, slices.note_index[u][at]) for u in range(len(slices.pitch)) if u != v for at in (k, last)
                   if slices.pitch[u][at] is not None and (slices.pitch[u][at] - tonic) % 12 == degree}
        if any((_sixth_resolution(slices, u, index, at, tonic) or (False,))[0] for u, at, index in sorted(doubled)):
            return
        note, nxt = slices.voices.parts[v].notes[i], judged[1]
        spell, want = (tonic, "minor"), -1 if degree == 8 else 1
        add("unresolved_augmented_sixth", slices.index_at(nxt.start), (v,),
            f"{pitch_name(note.pitch, spell)} -> {pitch_name(nxt.pitch, spell)} ({'b6' if degree == 8 else '#4'} of "
            f"{_sixth_name(slices, k, tonic)} should {'fall' if degree == 8 else 'rise'} to "
            f"{pitch_name(note.pitch + want, spell)})", tick=nxt.start)
        return


def _sixth_resolution(slices: Slices, v: int, i: int, k: int, tonic: int):
    """(whether it resolves, the note it moves to) for note ``i`` of voice ``v``, the b6 or #4 of
    the augmented sixth chord at ``k`` of the key on ``tonic``; None where it is not judged: a
    note that moves on inside the augmented sixth (held or taken over into the next shape of it,
    an exchange with the other voice, through passing notes or not) is judged by the note it
    moves to, in its place; a passing note leading out of the chord is passed over (F4-F#4-G#4
    out of A minor's German sixth, Beethoven op. 132 i bar 8, is F4 to G#4); nothing is owed
    across a rest. One struck again or held over the new chord (a suspension) is judged by
    the note after. The #4 may also fall by a half step to the seventh of a V7 (F# to the F
    of G7, as the chromatic line of BWV 60.5 bar 16 takes E# to E)."""
    notes, kinds_of = slices.voices.parts[v].notes, slices.embellishing[v]
    note = notes[i]
    end = slices.augmented_sixth_end(k, tonic)
    j = i + 1
    while j + 1 < len(notes) and kinds_of[j] and slices.index_at(notes[j].start) < end:
        j += 1  # a passing note inside the chord leads on: the note it leads to is where the line goes
    if j >= len(notes) or notes[j].start > notes[j - 1].end:
        return None
    if slices.index_at(notes[j].start) < end:
        return None  # it moves on inside the chord: the next note is judged in its place
    while notes[j].pitch == note.pitch and j + 1 < len(notes) and notes[j + 1].start == notes[j].end:
        j += 1  # struck again over the chord it resolves to: the resolution is delayed
    step, degree = notes[j].pitch - note.pitch, (note.pitch - tonic) % 12
    if step == (-1 if degree == 8 else 1):
        return True, notes[j]
    arrival = slices.arrival(slices.index_at(notes[j].start))
    to_seventh = (degree == 6 and step == -1 and arrival is not None and arrival.quality == "dominant-seventh"
                  and arrival.root == (tonic + 7) % 12)
    return to_seventh, notes[j]


def _sixth_name(slices: Slices, k: int, tonic: int) -> str:
    """'Ger65 of C', 'It6 of G': the augmented sixth chord at ``k`` by its nationality and bass."""
    pcs = {(p - tonic) % 12 for _, p in slices.members(k)}
    kind = "Ger" if 3 in pcs else "Fr" if 2 in pcs else "It"
    bass = min(row[k] for row in slices.pitch if row[k] is not None)
    return f"{augmented_sixth_numeral(kind, bass % 12, tonic)} of {pc_name(tonic)}"
