"""How one track's notes become voices (``voices.voices_from_score`` asks, track by track).

- A track that never sounds two notes at once is one voice.
- A track of block chords of one size, each ended before the next, is split by pitch
  into that many voices (a chorale written as block chords, S+A on one staff, a violin
  in double stops throughout).
- A track that strikes chords at some onsets and single notes at others is one
  instrument's line with double stops, as a string player reads it: the track is
  checked as its *principal line*, and the other notes of each stop are left out
  (counted, and the report says how many). The principal line is the top note of each
  chord in every part but the lowest, and the bottom note in the lowest part, the bass
  (Schumann's cello striking A2 with its open E3 at a third of its onsets is the bass
  A2; reading its top notes would find fifths that are not in the music, going on by
  the nearest note misses the bass's octaves). A note of the line held while another
  voice of the track moves beyond it stays the line (a held top note over moving
  notes, a pedal under them): a note struck under a held top note, or over a held
  bass, and sounding with it for more than half its length is left out.
- A track that strikes chords of three or more notes at more than a quarter of its
  onsets (``CHORD_TRACK_SHARE``) is a part of chords, a keyboard or guitar
  accompaniment, and no line: it is refused, as are tracks of notes that overlap
  without chords (two voices in one track) and block chords that overlap. String parts
  strike such chords at cadences: 2 % of the onsets of Schumann's first violin in
  op. 41/1 ii, none in Mozart's K. 80; the left hand of Joplin's Maple Leaf Rag strikes
  them at 41 % of its onsets (its right hand at 6 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from scorefarm.errors import ScoreError

Note = tuple[int, int, int]  # (start, end, pitch) in ticks

# a track striking chords of three or more notes at more than this share of its onsets is a
# part of chords (a keyboard or guitar accompaniment), not a line with double stops
CHORD_TRACK_SHARE = 0.25


@dataclass(frozen=True)
class StopsLine:
    """A track read as one line though it strikes chords at some onsets: which of each
    chord's notes the line takes is known only once the lowest part is (``line``)."""

    label: str
    onsets: dict[int, list[Note]]
    count: int  # the track's notes

    def line(self, bass: bool) -> tuple[list[Note], int]:
        """The principal line (the bottom notes when ``bass``, else the top ones), monophonic,
        and how many of the track's notes it leaves out."""
        line: list[Note] = []
        for start in sorted(self.onsets):
            pick = min(self.onsets[start], key=lambda n: (n[2], -n[1])) if bass else \
                max(self.onsets[start], key=lambda n: (n[2], n[1]))
            if line and _held(line[-1], pick) and (line[-1][2] < pick[2] if bass else line[-1][2] > pick[2]):
                continue  # the line's note sounds on beyond the new ones: they are another voice's
            line.append(pick)
        return line, self.count - len(line)

    def said(self, bass: bool, left_out: int) -> str:
        which = "the bottom note, the bass" if bass else "the top note"
        return (f"track {self.label!r}: {left_out} note(s) of double stops left out, the line kept "
                f"(at each, {which})")


def split_track(notes: list[Note], label: str, name: str,
                position: Callable[[int], str]) -> list[list[Note]] | StopsLine:
    """The voices of one track's notes ((start, end, pitch), sorted): a list of voices (each a
    list of notes, highest first), or a ``StopsLine`` for a line with double stops. Raises
    ``ScoreError`` for a track whose voices cannot be told apart; ``position`` names a tick
    for the error ('bar 3 beat 2'), ``name`` the file."""
    if not notes:
        return []
    onsets: dict[int, list[Note]] = {}
    for note in notes:
        onsets.setdefault(note[0], []).append(note)
    sizes = {len(v) for v in onsets.values()}
    if sizes == {1} and first_overlap(notes) is None:
        return [notes]
    if len(sizes) == 1 and _first_overlap_chord(onsets) is None:
        count = sizes.pop()
        voices: list[list[Note]] = [[] for _ in range(count)]
        for start in sorted(onsets):
            for rank, note in enumerate(sorted(onsets[start], key=lambda n: -n[2])):
                voices[rank].append(note)
        return voices
    low, high = min(sizes), max(sizes)
    if low == high == 1:  # single notes, but one starts well before the previous ends
        raise ScoreError(
            f"track {label!r} has single notes that overlap (a note starts before the previous one "
            f"has ended, first at {position(first_overlap(notes))}), so its voices cannot be told "
            "apart; give each voice a track of its own, or end each note where the next begins",
            name,
        )
    if low == high:  # block chords of one size, but a chord still sounds when the next starts
        raise ScoreError(
            f"track {label!r} has chords of {low} notes that overlap (a note still sounds when the next "
            f"chord starts, first at {position(_first_overlap_chord(onsets))}), so its voices cannot "
            "be told apart; give each voice a track of its own, or end each chord where the next begins",
            name,
        )
    chords = sum(len(v) >= 3 for v in onsets.values())
    if chords > CHORD_TRACK_SHARE * len(onsets):
        raise ScoreError(
            f"track {label!r} strikes chords of three or more notes at {chords} of its {len(onsets)} onsets "
            f"({chords / len(onsets):.0%}; a line with double stops strikes them at a quarter at most): a part "
            "of chords is no voice, and its voices cannot be told apart; give one track per voice "
            "(or block chords of one size)",
            name,
        )
    return StopsLine(label, onsets, len(notes))


def _held(note: Note, new: Note) -> bool:
    """``note`` sounds on through more than half of ``new``, struck after it: held while
    another voice moves, not a legato overlap into the next note."""
    return 2 * (note[1] - new[0]) > new[1] - new[0]


def first_overlap(notes: list[Note]) -> int | None:
    """Where the first note starts before the previous one has ended (a little legato
    overlap, up to a quarter of the earlier note, is forgiven); None when none does."""
    for prev, cur in zip(notes, notes[1:]):
        overlap = prev[1] - cur[0]
        if overlap > 0 and overlap > (prev[1] - prev[0]) // 4:
            return cur[0]
    return None


def _first_overlap_chord(onsets: dict[int, list[Note]]) -> int | None:
    """Where the first chord starts while a note of the chord before still sounds; None
    when every note of a chord ends before the next chord starts."""
    starts = sorted(onsets)
    for start, nxt in zip(starts, starts[1:]):
        if any(n[1] > nxt for n in onsets[start]):
            return nxt
    return None
