"""Grace notes (notes of no length, as music21 writes them to MIDI) are written into the
orchestration: before the note they lead to, on every part playing that note, as grace
notes in the MusicXML and as short notes just before the beat in the MIDI (``graces``)."""

from __future__ import annotations

import music21
import symusic
from click.testing import CliRunner

from scorefarm.arrange.graces import grace_ticks
from scorefarm.arrange.notation import musicxml_bytes
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.arrange.output import daw_midi_bytes, orchestra_score
from scorefarm.cli.main import cli

TUNE = [72, 74, 76, 77, 79, 77, 76, 74] * 2
GRACES = {1: 76, 4: 81, 9: 76}  # beat -> the grace before the tune's note there (a step above it)


def _sketch(make_score, graces=GRACES, extra=()):
    """A tune in quarters over half-note chords at 120 bpm, with grace notes of no length."""
    tune = [(i * 1.0, 1.0, p, 100) for i, p in enumerate(TUNE)]
    chords = [(i * 2.0, 2.0, p, 70) for i in range(8) for p in (48, 55, 64)]
    score = make_score(tune + chords)
    for beat, pitch in list(graces.items()) + list(extra):
        score.tracks[0].notes.append(symusic.Note(round(beat * 480), 0, pitch, 100))
    return score


def _score_graces(result) -> dict[str, list]:
    """Per part: (measure, offset, grace's written MIDI pitches, the written pitches of the
    note it stands before, type, slash) of every grace note in the MusicXML; and checks that
    every measure is complete (a grace takes no time) and each grace stands before a note."""
    parsed = music21.converter.parseData(musicxml_bytes(result).decode("utf-8"), format="musicxml")
    found = {}
    for part in parsed.parts:
        rows = []
        for measure in part.getElementsByClass(music21.stream.Measure):
            assert measure.duration.quarterLength == measure.barDuration.quarterLength, (part.partName, measure.number)
            elements = list(measure.recurse().notes)
            for k, element in enumerate(elements):
                if not element.duration.isGrace:
                    continue
                principal = next(e for e in elements[k + 1:] if not e.duration.isGrace)
                assert principal.offset == element.offset
                rows.append((measure.number, element.offset, [p.midi for p in element.pitches],
                             [p.midi for p in principal.pitches], element.duration.type, element.duration.slash))
        if rows:
            found[part.partName] = rows
    return found


def test_grace_notes_are_written_before_their_notes_on_every_part_playing_them(make_score):
    """Chamber ensemble, the tune at f: the violins play it, the flute doubles it an octave
    up, the oboe in unison, the horn an octave down; each writes the grace before the note,
    an eighth with a slash, a step above in its own octave, at written pitch."""
    result = orchestrate(_sketch(make_score), OrchestrateOptions(ensemble="chamber"))
    found = _score_graces(result)
    shifts = {"Violin I": 0, "Flute": 12, "Oboe": 0, "Horn in F": -12}
    assert sorted(found) == sorted(shifts)
    for label, shift in shifts.items():
        written = -next(p.instrument.transposition for p in result.ensemble.parts if p.label == label)
        # bar 1 beat 2 (offset 1), bar 2 beat 1, bar 3 beat 2: the source's beats 1, 4 and 9
        assert [(m, o) for m, o, *_ in found[label]] == [(1, 1.0), (2, 0.0), (3, 1.0)], label
        for (_, _, grace, principal, kind, slash), (beat, pitch) in zip(found[label], GRACES.items()):
            assert grace == [pitch + shift + written], label
            assert TUNE[beat] + shift + written in principal, label
            assert (kind, slash) == ("eighth", True)
    assert any("3 grace note(s) written before the notes they lead to (12 with the parts doubling their notes)"
               in line for line in result.notes)
    # nothing else moves: the orchestration is the one without grace notes
    plain = orchestrate(_sketch(make_score, graces={}), OrchestrateOptions(ensemble="chamber"))
    assert [(p.part, p.time, p.duration, p.pitch) for p in result.placed] == [
        (p.part, p.time, p.duration, p.pitch) for p in plain.placed]


def _part_notes(midi, label: str) -> list[tuple[int, int, int]]:
    """(time, duration, pitch) of the notes on ``label``'s tracks of ``midi`` (bytes or a score)."""
    score = midi if isinstance(midi, symusic.core.ScoreTick) else symusic.Score.from_midi(midi)
    return sorted((n.time, n.duration, n.pitch) for t in score.tracks if t.name == label for n in t.notes)


def test_grace_notes_sound_in_the_midi_just_before_the_beat(make_score):
    """In the DAW's MIDI (and the render's) a grace sounds 60 ms (at most a 32nd) and ends
    on its note's onset, which stays on the beat; the note before gives it that time."""
    result = orchestrate(_sketch(make_score), OrchestrateOptions(ensemble="string-quartet"))
    length = grace_ticks(result.source.tempos, 480, 480)
    assert length == round(0.06 * 2 * 480) == 58  # 120 bpm
    for notes in (_part_notes(daw_midi_bytes(result), "Violin I"),
                  _part_notes(orchestra_score(result, render=True), "Violin I")):
        for beat, pitch in GRACES.items():
            onset = beat * 480
            assert (onset - length, length, pitch) in notes
            assert any(t == onset and p == TUNE[beat] for t, _, p in notes)  # the principal on the beat
            before = [(t, d) for t, d, p in notes if p == TUNE[beat - 1] and t == onset - 480]
            assert before and before[0][0] + before[0][1] <= onset - length  # the note before gives way
        assert all(d > 0 for _, d, _ in notes)
    plain = orchestrate(_sketch(make_score, graces={}), OrchestrateOptions(ensemble="string-quartet"))
    kept = set(_part_notes(daw_midi_bytes(plain), "Violin I"))
    now = _part_notes(daw_midi_bytes(result), "Violin I")
    # the graces are added, three notes before them shortened, nothing else changed
    assert len(now) == len(kept) + 3 and len(set(now) - kept) == 6 and len(kept - set(now)) == 3


def test_a_group_of_grace_notes_is_sixteenths_under_a_beam_in_the_tracks_order(make_score):
    # two graces struck at one tick, written 79 then 77 (a slide down onto the E on beat 2)
    score = _sketch(make_score, graces={})
    for pitch in (79, 77):
        score.tracks[0].notes.append(symusic.Note(2 * 480, 0, pitch, 100))
    result = orchestrate(score, OrchestrateOptions(ensemble="string-quartet"))
    parsed = music21.converter.parseData(musicxml_bytes(result).decode("utf-8"), format="musicxml")
    graces = [n for n in parsed.parts[0].recurse().notes if n.duration.isGrace]
    assert [(n.pitch.midi, n.duration.type, n.duration.slash, n.beams.getTypes()) for n in graces] == [
        (79, "16th", False, ["start", "start"]), (77, "16th", False, ["stop", "stop"])]
    length = grace_ticks(result.source.tempos, 480, 960)
    notes = _part_notes(daw_midi_bytes(result), "Violin I")
    assert (960 - 2 * length, length, 79) in notes and (960 - length, length, 77) in notes


def test_a_grace_on_the_first_beat_is_played_on_the_beat(make_score):
    # no time before the first note: the grace sounds on the beat and its note after it
    result = orchestrate(_sketch(make_score, graces={0: 74}), OrchestrateOptions(ensemble="string-quartet"))
    length = grace_ticks(result.source.tempos, 480, 0)
    notes = _part_notes(daw_midi_bytes(result), "Violin I")
    assert notes[:2] == [(0, length, 74), (length, 480 - length, 72)]
    assert _score_graces(result)["Violin I"][0][:3] == (1, 0.0, [74])
    # after a rest, the first note of a part has the time before it
    late = make_score([(1.0 + i, 1.0, p, 100) for i, p in enumerate(TUNE)])
    late.tracks[0].notes.append(symusic.Note(480, 0, 74, 100))
    notes = _part_notes(daw_midi_bytes(orchestrate(late, OrchestrateOptions(ensemble="string-quartet"))), "Violin I")
    assert notes[:2] == [(480 - length, length, 74), (480, 480, 72)]


def test_notes_of_no_length_that_lead_to_nothing_near_are_left_out_and_said(make_score):
    """On the tune's own track (its chords on another): a chord of no length two octaves under
    it (a chord symbol, as music21 writes one: Monteverdi's madrigals in its corpus have them),
    and a note of no length half a beat after the last note (none follows) are no grace notes:
    left out, and said."""
    score = make_score([(i * 1.0, 1.0, p, 100) for i, p in enumerate(TUNE)])
    for tick, pitch in ((960, 50), (960, 54), (960, 57), (0, 40), (15 * 480 + 240, 80)):
        score.tracks[0].notes.append(symusic.Note(tick, 0, pitch, 80))
    chords = symusic.Track("Strings", 48, False)
    chords.notes.extend(symusic.Note(i * 960, 960, p, 70) for i in range(8) for p in (48, 55, 64))
    score.tracks.append(chords)
    result = orchestrate(score, OrchestrateOptions(ensemble="string-quartet"))
    assert result.graces == []
    assert any(line.startswith("5 note(s) of no length left out") for line in result.notes)
    assert b"<grace" not in musicxml_bytes(result)


def test_a_grace_out_of_range_of_the_part_playing_its_note_is_left_out_and_said(make_score):
    # the cello's low C with a grace B under it: no cello reaches it
    score = _sketch(make_score, graces={2: 78})
    score.tracks[0].notes.append(symusic.Note(4 * 480, 480, 36, 70))
    score.tracks[0].notes.append(symusic.Note(4 * 480, 0, 35, 70))
    result = orchestrate(score, OrchestrateOptions(ensemble="string-quartet"))
    assert [(g.pitch, g.principal.pitch) for g in result.graces] == [(78, 76)]
    assert "1 grace note(s) left out: outside the range of the part playing the note they lead to" in result.notes


def test_a_sketch_music21_wrote_with_grace_notes_is_orchestrated_alike_twice(tmp_path):
    """The CLI on a MIDI file music21 wrote (its grace notes' offs first): the MusicXML has
    the graces before their notes, the MIDI sounds them, the report says so, and a second
    run writes the same bytes."""
    part = music21.stream.Part()
    part.append(music21.meter.TimeSignature("3/4"))
    for bar in range(4):
        part.append(music21.note.Note("C5", quarterLength=1))
        part.append(music21.note.Note("E5", type="eighth").getGrace())
        part.append(music21.note.Note("D5", quarterLength=1))
        part.append(music21.note.Note("B4", quarterLength=1))
    sketch = music21.stream.Score([part])
    sketch.write("midi", fp=str(tmp_path / "graced.mid"))
    outputs = []
    for run in (1, 2):
        mid, xml = tmp_path / f"o{run}.mid", tmp_path / f"o{run}.musicxml"
        result = CliRunner().invoke(cli, ["orchestrate", str(tmp_path / "graced.mid"), "--ensemble", "string-quartet",
                                          "-o", str(mid), "--musicxml", str(xml)])
        assert result.exit_code == 0, result.output
        assert "4 grace note(s) written before the notes they lead to: Violin I 4" in result.output
        outputs.append((mid.read_bytes(), xml.read_bytes()))
    assert outputs[0] == outputs[1]
    midi, xml = outputs[0]
    assert xml.count(b'<grace slash="yes"') == 4
    score = symusic.Score.from_midi(midi)
    tpq = score.tpq
    e5 = [(n.time, n.duration) for t in score.tracks for n in t.notes if n.pitch == 76]
    assert len(e5) == 4 and all(0 < d <= tpq // 8 and (t + d) % (3 * tpq) == tpq for t, d in e5)
