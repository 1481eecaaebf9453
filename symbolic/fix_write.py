"""Writing ``compose check --fix``'s re-voicing back into the score it was read from.

The fixer works on voices (``voices.voices_from_score``: one per track, or several
from a track of block chords); the file it writes is the composer's score with only
the re-voiced notes changed. Every track keeps its name, program, channel, program
changes, controllers and pitch bends and the velocities of its notes; the score keeps
its tempo map, time and key signatures, markers and resolution.

Each note of each voice is traced to the note of the score it was read from
(``voice_sources``), in the track holding most of the voice's notes. A note the fixer
re-voiced is replaced by its new pitches, each with the velocity of the note it
replaces (a note split where the voice changes pitch under it gives every piece that
note's velocity), and it ends where the note ended in the track: a legato overlap the
voice had cut is kept.

A MIDI file is edited in its own events (``smf_edit``): only the changed notes' events
are replaced, so what symusic would not write back (channels, a track's program
changes, system-exclusive and text events) stays, and a score with nothing re-voiced
is written byte for byte as it was given. The edited file is read back and must hold
the score expected; where it does not (a changed note that cannot be told among the
file's events), and for a MusicXML file, the score as read, with the new notes, is
written through ``score_io.save_score``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from pathlib import Path

import symusic

from scorefarm.errors import ScoreError
from scorefarm.files import write_bytes_atomic

from .score_io import load_score_bytes, load_score_bytes_and_programs, save_score
from .smf_edit import NewNote, replace_notes
from .voices import MUSICXML_SUFFIXES, Voices

Source = tuple[int, int]  # (index into score.tracks, index into that track's notes)
Edits = dict[int, dict[int, list[NewNote]]]  # track -> note -> the notes replacing it


def voice_sources(score, voices: Voices, name: str) -> list[list[Source]]:
    """Per voice of ``voices`` (read from ``score``), per note, the score's note it was read
    from: the note of the same onset and pitch in the pitched track holding most of the
    voice's notes (else in another, the first in order), not yet taken by a voice before;
    of several there, the one ending where the voice's does, else the shortest holding it
    (a voice's note is cut where the next begins)."""
    tracks = [t for t, track in enumerate(score.tracks) if not track.is_drum]
    onsets: dict[int, dict[tuple[int, int], list[int]]] = {}
    ends: dict[int, list[int]] = {}
    for t in tracks:
        arrays = score.tracks[t].notes.numpy()
        times, lengths, pitches = (arrays[k].tolist() for k in ("time", "duration", "pitch"))
        ends[t] = [time + length for time, length in zip(times, lengths)]
        table: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, (time, length, pitch) in enumerate(zip(times, lengths, pitches)):
            if length > 0:
                table[(time, pitch)].append(i)
        onsets[t] = table
    taken: set[Source] = set()

    def free(t: int, start: int, pitch: int) -> list[int]:
        return [i for i in onsets[t].get((start, pitch), ()) if (t, i) not in taken]

    sources: list[list[Source]] = []
    for part in voices.parts:
        held = {t: sum(bool(free(t, n.start, n.pitch)) for n in part.notes) for t in tracks}
        home = max(tracks, key=lambda t: held[t])  # of equals the first
        order = [home] + [t for t in tracks if t != home]
        mine: list[Source] = []
        for note in part.notes:
            t, found = next(((t, found) for t in order if (found := free(t, note.start, note.pitch))), (None, []))
            if t is None:
                raise ScoreError(f"cannot tell which track the note of {part.name!r} at tick {note.start} "
                                 "came from, so the fixed notes cannot be written back", name)
            i = min(found, key=lambda i: (ends[t][i] != note.end, ends[t][i] < note.end, ends[t][i], i))
            taken.add((t, i))
            mine.append((t, i))
        sources.append(mine)
    return sources


def note_edits(before: Voices, after: Voices, sources: list[list[Source]], score) -> Edits:
    """The score's notes the fixer changed (``after`` against ``before``, voice by voice), each
    with the notes replacing it: the pieces of the new voice within it, the last ending where
    the score's note ended."""
    edits: Edits = defaultdict(dict)
    for old, new, source in zip(before.parts, after.parts, sources):
        if old.notes == new.notes:
            continue
        starts = [n.start for n in old.notes]
        pieces: dict[int, list] = defaultdict(list)
        for note in new.notes:
            i = bisect_right(starts, note.start) - 1
            if i < 0 or note.end > old.notes[i].end:
                raise RuntimeError(f"the fixed {old.name} has a note at tick {note.start} outside the notes "
                                   "it re-voices")
            pieces[i].append(note)
        for i, note in enumerate(old.notes):
            if pieces[i] == [note]:
                continue
            t, j = source[i]
            written = score.tracks[t].notes[j]
            replacing = [(n.start, n.end, n.pitch) for n in pieces[i]]
            if replacing and replacing[-1][1] == note.end:
                replacing[-1] = (replacing[-1][0], written.time + written.duration, replacing[-1][2])
            edits[t][j] = replacing
    return dict(edits)


def edited_score(score, edits: Edits):
    """A copy of ``score`` with the notes of ``edits`` replaced, each new note with the
    velocity of the note it replaces."""
    out = score.copy()
    for t, changes in edits.items():
        track = out.tracks[t]
        notes: list[tuple[int, int, int, int]] = []
        for j, note in enumerate(track.notes):
            if j in changes:
                notes += [(start, end - start, pitch, note.velocity) for start, end, pitch in changes[j]]
            else:
                notes.append((note.time, note.duration, note.pitch, note.velocity))
        track.notes.clear()
        track.notes.extend([symusic.Note(*values) for values in notes])
    return out


def write_fixed(source: str | Path, out: str | Path, score, before: Voices, after: Voices) -> list[str]:
    """Write ``score`` (read from ``source``) to ``out`` with the notes the fixer changed from
    ``before`` to ``after`` replaced; returns what to tell about the file written."""
    source = Path(source)
    edits = note_edits(before, after, voice_sources(score, before, str(source)), score)
    changed = sum(len(notes) for notes in edits.values())
    expected = edited_score(score, edits)
    if source.suffix.lower() in MUSICXML_SUFFIXES:
        save_score(expected, out)
        return [f"{changed} note(s) re-voiced; every other note as read" if changed else
                "no note re-voiced: the file written holds the score as read"]
    data = source.read_bytes()
    edited = replace_notes(data, score, edits, str(source))
    if edited is not None and same_music(load_score_bytes(edited, str(source)), expected):
        write_bytes_atomic(out, edited)
        return [f"{changed} note(s) re-voiced; every other note and event as written" if changed else
                "no note re-voiced: the file written is the score as given, byte for byte"]
    _, programs = load_score_bytes_and_programs(data, str(source))  # a line's changes (arco -> pizz) kept
    save_score(expected, out, programs=programs)
    return [f"{changed} note(s) re-voiced, but they could not be told among the file's own events, so it was "
            "written as the reader reads it: channels numbered afresh, system-exclusive and text events "
            "left out"]


def same_music(a, b) -> bool:
    """The same tracks (names, programs, drum flags) with the same notes, controllers and
    pitch bends, the notes in any order."""
    if len(a.tracks) != len(b.tracks):
        return False
    for x, y in zip(a.tracks, b.tracks):
        if (x.name, x.program, x.is_drum) != (y.name, y.program, y.is_drum):
            return False
        for what in ("notes", "controls", "pitch_bends"):
            if _rows(getattr(x, what)) != _rows(getattr(y, what)):
                return False
    return True


def _rows(events) -> list[tuple]:
    arrays = events.numpy()
    return sorted(zip(*(arrays[k].tolist() for k in sorted(arrays))))
