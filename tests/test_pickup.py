"""A pickup (anacrusis) is counted as a musician counts it, from the MIDI and from the
MusicXML alike: a quarter before 4/4 is beat 4, a dotted quarter before 6/8 beat 2
(``metre.pickup_of``), and it is bar 0, the first whole bar bar 1, as editions number them. What counts as a pickup in a MIDI file: a first bar, ended by the
second time signature, shorter than a bar of it (1/4 then 4/4, as a notation program
exports one; 4/4 restated a beat in; a first signature standing after 0). A short bar
later in the piece, or a first bar as long as the next, is no pickup."""

from __future__ import annotations

import json

import music21
import pytest
import symusic
from click.testing import CliRunner

from scorefarm.cli.main import cli
from scorefarm.errors import ScoreError
from scorefarm.symbolic.voices import (
    Pickup, bar_beat, beats_of, counting_signature_at, pickup_of, signature_at, voices_from_score,
)

TPQ = 480
Q = TPQ
E = Q // 2
BAR = 4 * Q


@pytest.mark.parametrize("signatures, pickup", [
    ([(0, 1, 4), (Q, 4, 4)], Pickup(Q, 4, 4, BAR)),  # as MuseScore exports a one-beat pickup
    ([(0, 4, 4), (Q, 4, 4)], Pickup(Q, 4, 4, BAR)),  # 4/4 restated where the first whole bar starts
    ([(Q, 4, 4)], Pickup(Q, 4, 4, BAR)),  # the first signature after 0: 4/4 before it
    ([(0, 3, 4), (3 * Q, 4, 4)], Pickup(3 * Q, 4, 4, BAR)),
    ([(0, 4, 4), (Q, 3, 4)], Pickup(Q, 3, 4, 3 * Q)),  # counted in the metre it leads to
    ([(0, 3, 8), (3 * E, 6, 8)], Pickup(3 * E, 6, 8, 6 * E)),
    ([(0, 2, 4), (2 * Q, 4, 4)], Pickup(2 * Q, 4, 4, BAR)),  # a bar of 2/4 first: MIDI cannot tell
    ([(0, 4, 4)], None),  # one metre: the first bar is whole, however late its first note
    ([(0, 4, 4), (6 * Q, 3, 4)], None),  # a short bar later in the piece
    ([(0, 1, 4), (Q, 4, 4), (Q + BAR + 2 * Q, 3, 4)], Pickup(Q, 4, 4, BAR)),  # and a pickup before it
    ([(0, 4, 4), (3 * Q, 3, 4)], None),  # a first bar as long as a bar of the next metre
    ([(0, 3, 4), (3 * Q, 2, 4)], None),  # longer than one
    ([(0, 2, 4), (4 * Q, 4, 4)], None),  # two bars of 2/4: the first signature runs on
])
def test_what_counts_as_a_pickup(signatures, pickup):
    assert pickup_of(signatures, TPQ) == pickup


def test_a_pickup_is_bar_0_counted_as_the_end_of_the_bar_it_leads_to():
    assert bar_beat(0, TPQ, [(0, 1, 4), (Q, 4, 4)]) == (0, 4.0)
    assert bar_beat(Q // 2, TPQ, [(0, 1, 4), (Q, 4, 4)]) == (0, 4.5)
    assert bar_beat(Q, TPQ, [(0, 1, 4), (Q, 4, 4)]) == (1, 1.0)
    assert bar_beat(Q + BAR, TPQ, [(0, 1, 4), (Q, 4, 4)]) == (2, 1.0)
    # first_bar: a file's own number for its first bar that is no pickup; the pickup is the one before
    assert bar_beat(0, TPQ, [(0, 1, 4), (Q, 4, 4)], first_bar=5) == (4, 4.0)
    assert bar_beat(Q, TPQ, [(0, 1, 4), (Q, 4, 4)], first_bar=5) == (5, 1.0)
    assert [bar_beat(t, TPQ, [(0, 3, 4), (3 * Q, 4, 4)]) for t in (0, Q, 2 * Q, 3 * Q)] == \
        [(0, 2.0), (0, 3.0), (0, 4.0), (1, 1.0)]
    assert [bar_beat(t, TPQ, [(0, 3, 8), (3 * E, 6, 8)]) for t in (0, E, 3 * E)] == [(0, 2.0), (0, 2.333), (1, 1.0)]
    assert bar_beat(0, TPQ, [(0, 1, 8), (E, 4, 4)]) == (0, 4.5)
    assert bar_beat(0, TPQ, [(0, 4, 4), (Q, 3, 4)]) == (0, 3.0)
    # not pickups: counted from their own bar line, as before
    assert bar_beat(3 * Q, TPQ, [(0, 4, 4)]) == (1, 4.0)  # a late first note already is beat 4
    assert bar_beat(0, TPQ, [(0, 4, 4), (3 * Q, 3, 4)]) == (1, 1.0)
    mid = [(0, 1, 4), (Q, 4, 4), (Q + BAR + 2 * Q, 3, 4)]  # a pickup, a bar, a bar of two beats, 3/4
    assert [bar_beat(t, TPQ, mid) for t in (0, Q + BAR, Q + BAR + Q, Q + BAR + 2 * Q)] == \
        [(0, 4.0), (2, 1.0), (2, 2.0), (3, 1.0)]


def test_a_pickups_beats_are_those_of_the_bar_it_leads_to():
    # (start, stop, beat in bar from 0): the pickup's beats numbered as at the end of a whole bar
    assert list(beats_of([(0, 1, 4), (Q, 4, 4)], TPQ, 3 * Q)) == [(0, Q, 3), (Q, 2 * Q, 0), (2 * Q, 3 * Q, 1)]
    assert list(beats_of([(0, 3, 8), (3 * E, 6, 8)], TPQ, 6 * E)) == [(0, 3 * E, 1), (3 * E, 6 * E, 0)]
    assert list(beats_of([(0, 1, 4), (Q, 6, 8)], TPQ, Q)) == [(0, Q, 1)]  # part of a beat, from 0
    assert list(beats_of([(0, 2, 8), (Q, 4, 4)], TPQ, Q)) == [(0, Q, 3)]  # a quarter's beat, not two eighths
    assert list(beats_of([(0, 3, 4), (3 * Q, 4, 4)], TPQ, 0)) == []
    # where a beat's ticks are counted: the pickup's metre
    assert counting_signature_at([(0, 3, 8), (3 * E, 6, 8)], TPQ, 0) == (6, 8)
    assert signature_at([(0, 3, 8), (3 * E, 6, 8)], 0) == (3, 8)
    assert counting_signature_at([(0, 4, 4), (6 * Q, 3, 4)], TPQ, 4 * Q) == (4, 4)
    for tick in (0, 3 * E, 10 * E):
        assert counting_signature_at([(0, 3, 8), (3 * E, 6, 8)], TPQ, tick) == (6, 8)


def test_the_harmonizer_hears_a_pickup_as_it_hears_one_moved_into_a_whole_bar(make_score):
    from scorefarm.symbolic.melody import beat_grid, extract_melody, melody_slots

    notes = [(i, 1.0, 72 + i % 3, 80) for i in range(9)]
    pickup = make_score(notes)
    pickup.time_signatures.append(symusic.TimeSignature(Q, 4, 4))  # 4/4 restated a beat in
    late = make_score([(start + 3, length, pitch, velocity) for start, length, pitch, velocity in notes])
    heard = [[(s.downbeat, s.beat_in_bar, s.sop) for s in melody_slots(extract_melody(score, (60, 81)))]
             for score in (pickup, late)]
    assert heard[0] == heard[1] and heard[0][0] == (0, 3, 72)  # not a downbeat: the fourth beat
    assert beat_grid(extract_melody(pickup, (60, 81)))[0] == (0, Q, 0, 3)


# ---------------------------------------------------------------- MIDI and MusicXML agree


def _midi(signatures, pickup_ticks: int, step: int, count: int) -> symusic.Score:
    """A tune over its bass a twelfth below (parallel fifths: a fault on every note; octaves
    would be one line doubled, no fault), ``count`` notes of ``step`` ticks from 0, under
    ``signatures``."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=100.0))
    for sig in signatures:
        score.time_signatures.append(symusic.TimeSignature(*sig))
    for name, octave in (("Soprano", 0), ("Bass", -19)):
        track = symusic.Track(name, 0, False)
        for i in range(count):
            track.notes.append(symusic.Note(i * step, step, [72, 74, 76, 77, 79, 77][i % 6] + octave, 80))
        score.tracks.append(track)
    return score


def _musicxml(metre: str, pickup_quarters: float, step_quarters: float, count: int, path, number: int = 0):
    """The same tune as a notation program writes it: the pickup an incomplete first
    measure of ``metre`` (its notes at the end), numbered ``number`` (0, as music21 writes
    a chorale's pickup and editions number it)."""
    ts = music21.meter.TimeSignature(metre)
    whole = float(ts.barDuration.quarterLength)
    score = music21.stream.Score()
    for name, octave in (("Soprano", 0), ("Bass", -19)):
        part = music21.stream.Part()
        part.partName = name
        notes = [music21.note.Note([72, 74, 76, 77, 79, 77][i % 6] + octave, quarterLength=step_quarters)
                 for i in range(count)]
        first = music21.stream.Measure(number=number)
        first.timeSignature = music21.meter.TimeSignature(metre)
        first.paddingLeft = whole - pickup_quarters
        taken = round(pickup_quarters / step_quarters)
        for element in notes[:taken]:
            first.append(element)
        part.append(first)
        per_bar = round(whole / step_quarters)
        for k, at in enumerate(range(taken, count, per_bar)):
            measure = music21.stream.Measure(number=number + 1 + k)
            for element in notes[at:at + per_bar]:
                measure.append(element)
            part.append(measure)
        score.insert(0, part)
    path.write_bytes(music21.musicxml.m21ToXml.GeneralObjectExporter(score).parse())


def _said(path) -> dict[str, list]:
    runner = CliRunner()
    said = {}
    for command, rows in (("check", "faults"), ("analyze", "beats")):
        result = runner.invoke(cli, [command, str(path), "--json"])
        assert result.exit_code == 0, (result.output, result.exception)
        said[command] = [(row["bar"], row["beat"]) for row in json.loads(result.output)[rows]]
    return said


@pytest.mark.parametrize("signatures, metre, pickup_quarters, step_quarters, first", [
    ([(0, 1, 4), (Q, 4, 4)], "4/4", 1.0, 1.0, 4.0),  # MuseScore's export
    ([(0, 4, 4), (Q, 4, 4)], "4/4", 1.0, 1.0, 4.0),  # 4/4 restated a beat in
    ([(0, 3, 4), (3 * Q, 4, 4)], "4/4", 3.0, 1.0, 2.0),
    ([(0, 3, 8), (3 * E, 6, 8)], "6/8", 1.5, 0.5, 2.0),
])
def test_check_and_analyze_count_a_pickup_alike_in_midi_and_musicxml(tmp_path, signatures, metre, pickup_quarters,
                                                                       step_quarters, first):
    count = 13
    _midi(signatures, round(pickup_quarters * Q), round(step_quarters * Q), count).dump_midi(str(tmp_path / "t.mid"))
    _musicxml(metre, pickup_quarters, step_quarters, count, tmp_path / "t.musicxml")
    midi, notation = _said(tmp_path / "t.mid"), _said(tmp_path / "t.musicxml")
    assert midi == notation
    assert len(midi["check"]) == count - 1  # parallel fifths, note to note
    assert midi["analyze"][0] == (0, first)  # the pickup: bar 0
    # the first fault is at the second note (in the pickup, unless that is one beat long)
    assert midi["check"][0] == bar_beat(round(step_quarters * Q), TPQ, signatures)
    assert midi["check"][0][0] == (1 if pickup_quarters == step_quarters else 0)
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "t.mid")])  # and the table says so
    assert "bar {} beat {:g}".format(*midi["check"][0]) in result.output


def test_a_short_bar_mid_piece_counts_from_its_own_bar_line(tmp_path):
    # 4/4, then 3/4 two beats into bar 2: bar 2 is two beats long, beats 1 and 2 (no pickup)
    _midi([(0, 4, 4), (6 * Q, 3, 4)], 0, Q, 12).dump_midi(str(tmp_path / "mid.mid"))
    said = _said(tmp_path / "mid.mid")
    assert said["analyze"][:7] == [(1, 1.0), (1, 2.0), (1, 3.0), (1, 4.0), (2, 1.0), (2, 2.0), (3, 1.0)]


def test_an_error_names_a_pickups_beat():
    score = _midi([(0, 1, 4), (Q, 4, 4)], Q, Q, 5)
    alto = symusic.Track("Alto", 0, False)
    alto.notes.extend([symusic.Note(0, 2 * Q, 64, 80), symusic.Note(Q // 2, Q, 65, 80)])  # the second overlaps
    score.tracks.append(alto)
    with pytest.raises(ScoreError, match="first at bar 0 beat 4.5"):
        voices_from_score(score)


# ---------------------------------------------------------------- our MusicXML


def _written(signatures, quarters: int = 10, start: int = 0):
    """(number, length in quarters, padding before, signature shown, implicit) of the first
    staff's measures in the MusicXML of a quartet playing quarters from ``start`` (ticks)
    under ``signatures``; implicit: MusicXML's ``implicit="yes"`` (a pickup's measure)."""
    from scorefarm.arrange.notation import musicxml_bytes
    from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate

    score = _midi(signatures, 0, Q, quarters)
    score.tracks = [track.shift_time(start) for track in score.tracks]  # the notes, not the metre
    data = musicxml_bytes(orchestrate(score, OrchestrateOptions(ensemble="string-quartet")))
    parsed = music21.converter.parseData(data.decode("utf-8"), format="musicxml")
    measures = [(m.number, m.duration.quarterLength, m.paddingLeft,
                 m.timeSignature.ratioString if m.timeSignature else None,
                 m.showNumber == music21.stream.enums.ShowNumber.NEVER)
                for m in parsed.parts[0].getElementsByClass(music21.stream.Measure)]
    assert data.count(b'implicit="yes"') == len(parsed.parts) * sum(m[4] for m in measures)  # every staff alike
    return measures


def test_a_pickup_is_written_as_the_end_of_a_bar_of_the_metre_it_leads_to():
    # a beat of 4/4, then 3/4: a pickup in 3/4 (beat 3), as check counts it; the metre is shown
    # on the pickup and not again on the bar after
    assert _written([(0, 4, 4), (Q, 3, 4)])[:2] == [(0, 1.0, 2.0, "3/4", True), (1, 3.0, 0.0, None, False)]
    assert _written([(0, 4, 4), (Q, 4, 4)])[:2] == [(0, 1.0, 3.0, "4/4", True), (1, 4.0, 0.0, None, False)]


def test_a_pickup_written_as_a_bar_of_its_own_length_is_shown_in_the_metre_it_leads_to():
    """1/4 then 4/4 a beat later, as a notation program exports a one-beat pickup (3/8 before
    6/8, three quarters before 4/4 alike): the score opens in 4/4 with an incomplete first
    measure (implicit, a quarter long, numbered 0 as check and analyze number it), never a
    bar of 1/4; the bars after are whole and carry no second signature."""
    for signatures, first, metre, bar in (([(0, 1, 4), (Q, 4, 4)], 1.0, "4/4", 4.0),
                                          ([(0, 3, 4), (3 * Q, 4, 4)], 3.0, "4/4", 4.0),
                                          ([(0, 3, 8), (3 * E, 6, 8)], 1.5, "6/8", 3.0)):
        measures = _written(signatures, quarters=13)
        assert measures[0] == (0, first, bar - first, metre, True)
        assert [m[1:] for m in measures[1:3]] == [(bar, 0.0, None, False)] * 2
        assert [m[0] for m in measures[:3]] == [0, 1, 2]


def test_a_pickup_in_our_musicxml_is_counted_as_in_the_sketch(tmp_path):
    # analyze reads the orchestration's MusicXML as it reads the sketch: the pickup is bar 0
    # beat 4, the first whole bar bar 1
    _midi([(0, 1, 4), (Q, 4, 4)], Q, Q, 9).dump_midi(str(tmp_path / "sketch.mid"))
    result = CliRunner().invoke(cli, ["orchestrate", str(tmp_path / "sketch.mid"), "--ensemble", "string-quartet",
                                      "-o", str(tmp_path / "out.mid"), "--musicxml", str(tmp_path / "out.musicxml")])
    assert result.exit_code == 0, result.output
    sketch, score = (CliRunner().invoke(cli, ["analyze", str(path), "--json"])
                     for path in (tmp_path / "sketch.mid", tmp_path / "out.musicxml"))
    beats = [[(row["bar"], row["beat"]) for row in json.loads(said.output)["beats"]] for said in (sketch, score)]
    assert beats[0][:3] == [(0, 4.0), (1, 1.0), (1, 2.0)]
    assert beats[1] == beats[0]
    assert b'<measure implicit="yes" number="0">' in (tmp_path / "out.musicxml").read_bytes()


def test_a_tune_starting_on_beat_4_of_a_whole_bar_is_no_pickup():
    # 4/4 throughout, the first note on beat 4 (a pickup as a DAW records it): its first bar is
    # a whole bar of 4/4 (bar 1 beat 4, as check counts it), neither incomplete nor implicit
    measures = _written([(0, 4, 4)], quarters=9, start=3 * Q)
    assert measures[:2] == [(1, 4.0, 0.0, "4/4", False), (2, 4.0, 0.0, None, False)]
    assert bar_beat(3 * Q, TPQ, [(0, 4, 4)]) == (1, 4.0)


def test_a_first_bar_cut_short_that_is_no_pickup_is_a_bar_of_its_own_length():
    # no signature at 0 (4/4 assumed), 3/4 after three beats: a bar of 3/4, counted 1, 2, 3 as
    # check counts it (it was written as a pickup of 4/4, which a reader counts 2, 3, 4)
    assert _written([(3 * Q, 3, 4)])[:2] == [(1, 3.0, 0.0, "3/4", False), (2, 3.0, 0.0, None, False)]
    assert bar_beat(0, TPQ, [(3 * Q, 3, 4)]) == (1, 1.0)


def test_a_whole_first_bar_whose_metre_comes_back_is_no_pickup():
    """A cue in 4/4, 5/4, 4/4: its first bar is a whole 4/4 bar, counted from beat 1; so is
    a whole bar of the 4/4 assumed before a first signature a bar in. A 1/4 bar before 4/4,
    never 1/4 again, stays a pickup."""
    assert pickup_of([(0, 4, 4), (BAR, 5, 4), (BAR + 5 * Q, 4, 4)], TPQ) is None
    assert bar_beat(Q, TPQ, [(0, 4, 4), (BAR, 5, 4), (BAR + 5 * Q, 4, 4)]) == (1, 2.0)
    assert pickup_of([(BAR, 5, 4)], TPQ) is None
    assert pickup_of([(0, 1, 4), (Q, 4, 4), (Q + BAR, 3, 4)], TPQ) is not None
    assert pickup_of([(0, 1, 4), (Q, 4, 4), (Q + BAR, 1, 4)], TPQ) is None  # 1/4 comes back: a metre


def test_film_harmonic_rhythm_groups_a_pickup_as_the_end_of_a_bar_it_leads_to():
    """A three-beat pickup (3/4 before 4/4) is the last three beats of a 4/4 bar: in
    half-bar harmonic rhythm its first beat ends the first half (one chord), the other two
    make the second half (one chord); counted in 3/4 the three would share one chord."""
    import symusic

    from scorefarm.symbolic.melody import chord_spans, extract_melody, melody_slots
    from scorefarm.symbolic.voices import voice_ranges

    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    score.time_signatures.append(symusic.TimeSignature(3 * Q, 4, 4))
    track = symusic.Track("Melody", 0, False)
    for i, pitch in enumerate([67, 69, 71, 72, 74, 72, 71, 69, 67, 65, 64]):
        track.notes.append(symusic.Note(i * Q, Q, pitch, 80))
    score.tracks.append(track)
    melody = extract_melody(score, voice_ranges()["Soprano"])
    assert chord_spans(melody, melody_slots(melody), "half-bar")[:3] == [[0], [1, 2], [3, 4]]


def test_a_pickup_is_no_bar_length_for_orchestration():
    """orchestrate's bar length (``bar_quarters``) is the bars', never the pickup's, even
    when the sketch ends within its first whole bar."""
    import symusic

    from scorefarm.arrange.orchestrate import bar_quarters

    for count in (4, 12):
        score = symusic.Score(TPQ)
        score.time_signatures.append(symusic.TimeSignature(0, 1, 4))
        score.time_signatures.append(symusic.TimeSignature(Q, 4, 4))
        track = symusic.Track("Piano", 0, False)
        for i in range(count):
            track.notes.append(symusic.Note(i * Q, Q, 60 + i, 80))
        score.tracks.append(track)
        assert bar_quarters(score) == 4.0
