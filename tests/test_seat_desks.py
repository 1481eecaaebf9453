"""A track that names its desk sits on that desk's part: a string quartet's two violins,
orchestrated for strings, play on Violins I and Violins II, never on each other's part,
even where a violin's track is no line.

The cause, found on music21's Mozart K. 80 exported to MIDI: music21 writes a grace note
(no length) as a note-off before its own note-on at one tick; a reader pairs that note-on
with the next note-off of its pitch, and from there each note of the pitch ends where the
next one does. The first violin's line reads as a chain of held notes (``seating.is_line``
says no), so both violin tracks were seated as chords on both violin sections and their
notes met on each other's part."""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np
import pytest
import symusic

from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.arrange.seating import is_line

TPQ = 480

# The first violin's tune, one note an eighth, (beat, pitch); a grace note (no length)
# before the notes struck at GRACES, a step above them.
TUNE = [74, 76, 78, 79, 81, 79, 78, 76, 74, 76, 78, 79, 81, 83, 81, 79,
        78, 76, 74, 76, 78, 79, 81, 79, 78, 76, 74, 73, 74, 76, 78, 74]
GRACES = {2: 79, 4: 83, 10: 79, 12: 83, 18: 78, 22: 83, 26: 76}
# The second violin: one note a beat, under the tune.
SECOND = [67, 69, 71, 69, 67, 66, 67, 69, 71, 72, 71, 69, 67, 66, 64, 66]


def as_read(notes: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """(onset, duration, pitch) in ticks as a MIDI reader gives them back from music21's
    file: at one tick the note-offs come before the note-ons; each note-off ends the
    earliest note of its pitch still open; a note-off with none open is lost, and a note
    left open at the end is lost with it (as symusic reads it)."""
    events = sorted([(onset + duration, 0, pitch) for onset, duration, pitch in notes]
                    + [(onset, 1, pitch) for onset, _, pitch in notes])
    open_notes: dict[int, deque[int]] = defaultdict(deque)
    read = []
    for tick, is_on, pitch in events:
        if is_on:
            open_notes[pitch].append(tick)
        elif open_notes[pitch]:
            onset = open_notes[pitch].popleft()
            read.append((onset, tick - onset, pitch))
    return sorted(read)


def violins(make_score, first: str = "Violin I", second: str = "Violin II") -> symusic.Score:
    eighth = TPQ // 2
    tune = [(i * eighth, eighth, pitch) for i, pitch in enumerate(TUNE)]
    tune += [(i * eighth, 0, pitch) for i, pitch in GRACES.items()]
    read = as_read(tune)
    score = make_score([(onset / TPQ, duration / TPQ, pitch, 80) for onset, duration, pitch in read], name=first,
                       program=40)
    score.tracks.append(make_score([(beat, 1.0, pitch, 70) for beat, pitch in enumerate(SECOND)], name=second,
                                   program=40).tracks[0])
    return score


def seated(result) -> dict[str, str]:
    """Track name -> the parts it sits on, from the orchestration's report."""
    line = next(n for n in result.notes if n.startswith("tracks seated: "))
    return dict(entry.split(" on ") for entry in line[len("tracks seated: "):].split("; "))


def track_notes(score: symusic.Score, index: int) -> np.ndarray:
    a = score.tracks[index].notes.numpy()
    rows = np.stack([a["time"], a["duration"], a["pitch"]], axis=1).astype(np.int64)
    return rows[np.argsort(rows[:, 0], kind="stable")]


def test_a_grace_note_read_back_holds_each_later_note_of_its_pitch_over_the_next(make_score):
    # the cause, as the reader gives it: the first violin's line is no line
    score = violins(make_score)
    first = track_notes(score, 0)
    held = [(onset, pitch) for onset, duration, pitch in first.tolist()
            if any(o > onset and o < onset + duration for o, _, p in first.tolist() if p == pitch)]
    assert len(held) >= 8  # notes still sounding when their pitch is struck again
    assert not is_line(first, TPQ)
    assert is_line(track_notes(score, 1), TPQ)


@pytest.mark.parametrize("ensemble, desks", [("strings", ("Violins I", "Violins II")),
                                             ("chamber", ("Violin I", "Violin II")),
                                             ("full-orchestra", ("Violins I", "Violins II"))])
@pytest.mark.parametrize("names", [("Violin I", "Violin II"), ("1st Violin", "2nd Violin"),
                                   ("Violins 1", "Violins 2")])
def test_each_violin_track_plays_on_its_own_desk(make_score, ensemble, desks, names):
    result = orchestrate(violins(make_score, *names), OrchestrateOptions(ensemble=ensemble))
    assert seated(result) == {names[0]: desks[0], names[1]: desks[1]}
    labels = [p.label for p in result.ensemble.parts]
    for track, desk in enumerate(desks):
        parts = {labels[i] for i in result.part_of_source[result.track_of_source == track].tolist()}
        assert parts == {desk}, (names[track], parts)
    # and no note of one violin meets a note of the other on one part
    on_desk = defaultdict(set)
    for p in result.placed:
        if p.source >= 0:
            on_desk[labels[p.part]].add(int(result.track_of_source[p.source]))
    assert on_desk[desks[0]] == {0} and on_desk[desks[1]] == {1}


def test_a_second_violin_named_first_keeps_its_desk(make_score):
    # the track order does not decide: the second violin's track listed first
    score = violins(make_score)
    score.tracks = [score.tracks[1], score.tracks[0]]
    result = orchestrate(score, OrchestrateOptions(ensemble="strings"))
    assert seated(result) == {"Violin II": "Violins II", "Violin I": "Violins I"}


def test_a_desk_named_chord_track_still_takes_a_free_part_of_its_instrument(make_score):
    # a "Trumpet 1" track of three-note chords and no other trumpet track: its chords fill
    # Trumpet 1, then Trumpets 2–3, as before
    chords = [(beat, 1.0, pitch, 90) for beat in range(8) for pitch in (72, 67, 64)]
    score = make_score(chords, name="Trumpet 1", program=56)
    score.tracks.append(make_score([(beat, 1.0, 48 + beat % 3, 70) for beat in range(8)], name="Cellos",
                                   program=42).tracks[0])
    result = orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))
    assert seated(result)["Trumpet 1"] == "Trumpet 1, Trumpets 2–3"
    labels = [p.label for p in result.ensemble.parts]
    trumpets = {labels[i] for i in result.part_of_source[result.track_of_source == 0].tolist()}
    assert trumpets == {"Trumpet 1", "Trumpets 2–3"}


def test_a_pad_without_a_desk_leaves_the_named_desk_to_its_track(make_score):
    # a violin pad named "Violins" (no desk) beside a "Violin I" chord track: the pad
    # plays Violins II first, the desk's part last; the pad names no desk, so the chords
    # of "Violin I" may still take Violins II for what Violins I cannot play
    pad = [(beat * 2, 2.0, pitch, 60) for beat in range(4) for pitch in (67, 71, 74)]
    first = [(beat * 0.5, 0.5, 79 + beat % 3, 80) for beat in range(16)] + \
            [(beat * 0.5, 0.5, 83 + beat % 3, 80) for beat in range(16)]
    score = make_score(first, name="Violin I", program=40)
    score.tracks.append(make_score(pad, name="Violins", program=48).tracks[0])
    result = orchestrate(score, OrchestrateOptions(ensemble="strings"))
    seats = seated(result)
    assert seats["Violin I"] == "Violins I, Violins II"
    assert seats["Violins"] == "Violins II, Violins I"


def test_grace_notes_of_no_length_leave_a_line_a_line(make_score):
    # the same first violin read correctly: its grace notes are notes of no length, struck
    # with the notes they lead to; they are ornaments of the line (7 of 39 notes, and 7
    # notes struck with them: 36 % of the notes would not sound alone)
    eighth = TPQ // 2
    tune = [(i * eighth, eighth, pitch) for i, pitch in enumerate(TUNE)]
    graces = [(i * eighth, 0, pitch) for i, pitch in GRACES.items()]
    notes = np.array(sorted(tune + graces), dtype=np.int64)
    assert is_line(notes, TPQ)
    # a note struck with another and sounding is a double stop: still no line where too many are
    stops = np.array(sorted(tune + [(onset, eighth, pitch) for onset, _, pitch in graces]), dtype=np.int64)
    assert not is_line(stops, TPQ)


def test_the_first_violin_with_grace_notes_is_orchestrated_as_without_them(make_score):
    # read correctly, the first violin is a line on its own desk, and its grace notes (of no
    # length) change nothing of how its notes are placed and what they play
    def sketch(graces: bool):
        tune = [(i * 0.5, 0.5, pitch, 80) for i, pitch in enumerate(TUNE)]
        tune += [(i * 0.5, 0.0, pitch, 80) for i, pitch in GRACES.items()] if graces else []
        score = make_score(sorted(tune), name="Violin I", program=40)
        score.tracks.append(make_score([(beat, 1.0, pitch, 70) for beat, pitch in enumerate(SECOND)],
                                       name="Violin II", program=40).tracks[0])
        return orchestrate(score, OrchestrateOptions(ensemble="strings"))

    result, plain = sketch(True), sketch(False)
    assert seated(result) == {"Violin I": "Violins I", "Violin II": "Violins II"}
    assert [(p.part, p.time, p.pitch, p.role) for p in result.placed] == [
        (p.part, p.time, p.pitch, p.role) for p in plain.placed]
