"""The MusicXML full score: key signatures, spelling and rhythms a notation program shows cleanly."""

from __future__ import annotations

import music21

from scorefarm.arrange.notation import musicxml_bytes
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate

# I - IV - V7 - I in A-flat major, each chord released a little early (as played), the
# last bar's chord ending 0.2 of a beat before its bar line
A_FLAT = [(68, 63, 60, 56), (68, 65, 61, 49), (70, 67, 62, 51), (72, 68, 63, 44)]


def _progression(make_score, key_signature: bool):
    notes = [(4 * bar + beat, 0.95 if beat < 3 else 0.8, pitch, 80)
             for bar, chord in enumerate(A_FLAT) for beat in range(4) for pitch in chord]
    score = make_score(notes)
    if key_signature:
        import symusic

        score.key_signatures.append(symusic.KeySignature(0, -4, 0))
    return score


def _parse(result):
    return music21.converter.parseData(musicxml_bytes(result).decode("utf-8"), format="musicxml")


def test_the_score_has_the_key_and_spells_from_it(make_score):
    for key_signature in (True, False):  # the sketch's own signature, else the key heard
        result = orchestrate(_progression(make_score, key_signature), OrchestrateOptions(ensemble="chamber"))
        score = _parse(result)
        for part, ensemble_part in zip(score.parts, result.ensemble.parts):
            keys = list(part.recurse().getElementsByClass(music21.key.KeySignature))
            transposition = ensemble_part.instrument.transposition
            if ensemble_part.instrument.unpitched:
                assert not keys
                continue
            assert keys, part.partName
            expected = {0: -4, -12: -4, 12: -4, -2: -2, -7: -3}[transposition]  # concert, octave, B-flat, F
            assert keys[0].sharps == expected, (part.partName, keys[0].sharps)
        names = {p.name for p in score.flatten().pitches}
        assert "E-" in names and "D#" not in names and "G#" not in names  # A-flat major: E-flat, never D-sharp


def test_notes_released_early_are_written_to_the_beat_and_bars_are_whole(make_score):
    score = _parse(orchestrate(_progression(make_score, True), OrchestrateOptions(ensemble="string-quartet")))
    for part in score.parts:
        tuplets = [n for n in part.recurse().notesAndRests if n.duration.tuplets]
        assert not tuplets, part.partName
        rests = [r for r in part.recurse().getElementsByClass(music21.note.Rest)]
        assert not rests, (part.partName, [(r.measureNumber, r.quarterLength) for r in rests])
        for measure in part.getElementsByClass(music21.stream.Measure):
            assert measure.duration.quarterLength == measure.barDuration.quarterLength, (part.partName, measure.number)


def test_a_low_horn_part_is_written_in_bass_clef(make_score):
    from scorefarm.arrange.orchestrate import Placed

    result = orchestrate(_progression(make_score, True), OrchestrateOptions(ensemble="chamber"))
    labels = [p.label for p in result.ensemble.parts]
    horn = next(i for i, p in enumerate(result.ensemble.parts) if p.instrument.key == "horn")
    flute = next(i for i, p in enumerate(result.ensemble.parts) if p.instrument.key == "flute")
    result.placed = [p for p in result.placed if p.part not in (horn, flute)]
    for beat, sounding in enumerate((36, 39, 43, 44)):  # sounding C2-A-flat2: written G2-E-flat3
        result.placed.append(Placed(beat * 480, 480, sounding, 80, horn, -1, "bass", 3))
        result.placed.append(Placed(beat * 480, 480, sounding + 36, 80, flute, -1, "melody", 3))
    score = _parse(result)
    clefs = {part.partName: part.recurse().getElementsByClass(music21.clef.Clef)[0] for part in score.parts}
    assert isinstance(clefs[labels[horn]], music21.clef.BassClef)
    assert isinstance(clefs[labels[flute]], music21.clef.TrebleClef)


def test_an_accented_ostinato_keeps_one_dynamic_marking(make_score):
    # 6/8 eighths accented 84 66 66 for eight bars: the velocity around each note sits on
    # the mp/mf edge (72), and each part keeps one marking instead of one a beat
    ostinato = [(k * 0.5, 0.45, (64, 71, 76)[k % 3], 84 if k % 3 == 0 else 66) for k in range(48)]
    result = orchestrate(make_score(ostinato, time_signature=(6, 8)), OrchestrateOptions(ensemble="full-orchestra"))
    for part in _parse(result).parts:
        marks = part.recurse().getElementsByClass(music21.dynamics.Dynamic)
        assert len(marks) <= 1, (part.partName, [m.value for m in marks])


def _tune_over_chords(make_score, velocity_of_bar):
    notes = []
    for beat in range(64):
        notes.append((float(beat), 1.0, (72, 74, 76, 77)[beat % 4], velocity_of_bar(beat // 4)))
        notes += [(float(beat), 1.0, pitch, 40) for pitch in (55, 60, 64)]
    return make_score(notes)


def test_a_gradual_crescendo_is_a_hairpin_between_two_marks(make_score):
    # the tune swells over twelve bars (40 -> 112): p < ff, the marks in between dropped
    score = _tune_over_chords(make_score, lambda bar: 40 + 6 * min(bar, 12))
    parsed = _parse(orchestrate(score, OrchestrateOptions(ensemble="strings")))
    violins = parsed.parts[0]
    marks = [(d.measureNumber, d.value) for d in violins.recurse().getElementsByClass(music21.dynamics.Dynamic)]
    assert [value for _, value in marks] == ["p", "ff"]
    wedges = [w for w in violins.spannerBundle if isinstance(w, music21.dynamics.Crescendo)]
    assert len(wedges) == 1
    assert 1 < wedges[0].getFirst().measureNumber < wedges[0].getLast().measureNumber < marks[-1][0]
    assert not [w for w in violins.spannerBundle if isinstance(w, music21.dynamics.Diminuendo)]


def test_a_sudden_change_keeps_its_marks_and_no_hairpin(make_score):
    # p for eight bars, then f at once: subito, not a crescendo
    score = _tune_over_chords(make_score, lambda bar: 48 if bar < 8 else 96)
    violins = _parse(orchestrate(score, OrchestrateOptions(ensemble="strings"))).parts[0]
    assert [d.value for d in violins.recurse().getElementsByClass(music21.dynamics.Dynamic)] == ["p", "f"]
    assert not list(violins.spannerBundle.getByClass(music21.dynamics.DynamicWedge))


def test_hairpins_count_bars_after_a_pickup(make_score):
    import symusic

    # a pickup written as a bar of 1/4, then the crescendo above: still one hairpin, p < ff
    notes = [(0.0, 1.0, 71, 40)]
    for beat in range(64):
        notes.append((1.0 + beat, 1.0, (72, 74, 76, 77)[beat % 4], 40 + 6 * min(beat // 4, 12)))
        notes += [(1.0 + beat, 1.0, pitch, 40) for pitch in (55, 60, 64)]
    score = make_score(notes)
    score.time_signatures.clear()
    score.time_signatures.extend([symusic.TimeSignature(0, 1, 4), symusic.TimeSignature(480, 4, 4)])
    violins = _parse(orchestrate(score, OrchestrateOptions(ensemble="strings"))).parts[0]
    assert [d.value for d in violins.recurse().getElementsByClass(music21.dynamics.Dynamic)] == ["p", "ff"]
    assert len([w for w in violins.spannerBundle if isinstance(w, music21.dynamics.Crescendo)]) == 1


# G major for four bars (I IV V I), then E-flat major (I IV V I) under a signature of its own
G_THEN_E_FLAT = [(67, 62, 59, 43), (72, 67, 64, 48), (74, 66, 62, 50), (71, 67, 62, 43),
                 (70, 67, 63, 51), (72, 68, 63, 44), (70, 65, 62, 46), (67, 63, 58, 39)]


def _key_change(make_score, at_tick: int = 4 * 1920):
    import symusic

    notes = [(4 * bar + beat, 1.0, pitch, 80) for bar, chord in enumerate(G_THEN_E_FLAT)
             for beat in range(4) for pitch in chord]
    score = make_score(notes)
    score.key_signatures.extend([symusic.KeySignature(0, 1, 0), symusic.KeySignature(at_tick, -3, 0),
                                 symusic.KeySignature(at_tick, -3, 0)])  # restated at one tick, as QA's file has it
    return orchestrate(score, OrchestrateOptions(ensemble="chamber"))


def test_a_key_change_is_written_in_every_part_and_spelled_from(make_score):
    # keychange.mid (QA): every part kept bar 1's signature, the E-flat section spelled from
    # G major (the bassoon's A-flat2 as G#2, the horn's B-flat under two sharps)
    result = _key_change(make_score)
    score = _parse(result)
    for part, ensemble_part in zip(score.parts, result.ensemble.parts):
        inst = ensemble_part.instrument
        keys = [(k.measureNumber, k.sharps) for k in part.recurse().getElementsByClass(music21.key.KeySignature)]
        if inst.unpitched:
            assert not keys
            continue
        # concert G then E-flat; a B-flat instrument A then F, one in F D then B-flat
        assert keys == {0: [(1, 1), (5, -3)], -12: [(1, 1), (5, -3)], 12: [(1, 1), (5, -3)],
                        -2: [(1, 3), (5, -1)], -7: [(1, 2), (5, -2)]}[inst.transposition], (part.partName, keys)
        for measure in part.getElementsByClass(music21.stream.Measure):
            names = {p.name for n in measure.notes for p in n.pitches}
            if measure.number >= 5 and inst.transposition == 0:
                assert not names & {"G#", "D#", "A#"}, (part.partName, measure.number, names)
            if measure.number < 5 and inst.transposition == 0:
                assert not names & {"A-", "E-", "B-"}, (part.partName, measure.number, names)
        for measure in part.getElementsByClass(music21.stream.Measure):
            assert measure.duration.quarterLength == measure.barDuration.quarterLength
    bassoon = next(p for p, e in zip(score.parts, result.ensemble.parts) if e.instrument.key == "bassoon")
    assert "A-" in {p.name for n in bassoon.measure(6).notes for p in n.pitches}  # IV of E-flat: A-flat, not G#


def test_a_key_change_off_the_bar_line_is_shown_on_the_next(make_score):
    # the sketch's signature a beat before bar 5: shown on bar 5's line (a notation program
    # changes key on a bar line); the notes from its tick on are spelled in the new key
    score = _parse(_key_change(make_score, at_tick=4 * 1920 - 480))
    for part in score.parts:
        keys = [k.measureNumber for k in part.recurse().getElementsByClass(music21.key.KeySignature)]
        assert keys in ([], [1, 5]), (part.partName, keys)


def test_a_chromatic_note_is_spelled_without_a_double_flat_but_a_leading_note_keeps_its_double_sharp():
    from music21 import key

    from scorefarm.arrange.notation_keys import Speller

    # D-flat major's flat 6th (A-flat major's sharp 1st, the Maple Leaf Rag's A natural in its
    # D-flat trio) is A, not B double-flat; its scale and the other chromatic degrees as before
    names = Speller(key.Key("D-")).names
    assert names[9] == "A" and names[2] == "D" and names[4] == "F-" and names[1] == "D-"
    assert Speller(key.Key("g#")).names[7] == "F##"  # a double sharp stays: G-sharp minor's leading note


def _bars(part) -> list[list[tuple[float, float, str]]]:
    """(offset in the bar, quarters, "N" or "R") of each note and rest, bar by bar."""
    return [[(float(e.offset), float(e.quarterLength), "R" if e.isRest else "N") for e in m.notesAndRests]
            for m in part.getElementsByClass(music21.stream.Measure)]


def test_rests_are_shown_a_silent_bar_as_a_bar_rest_and_the_rest_on_the_beats(make_score):
    # K. 80 (QA): 377 of the strings' 382 rests were hidden (music21 fills the gaps with
    # hidden rests). Now each is shown: a bar of silence one whole-bar rest, a silence in a bar
    # rests on its beats (4/4: a half rest on beat 1 or 3, never across beat 3; 6/8: a dotted
    # quarter rest a beat, eighths within one)
    tune = [(0, 1, 72, 80), (7, 1, 74, 80), (13.5, 0.5, 76, 80), (15, 1, 77, 80)]
    result = orchestrate(make_score(tune), OrchestrateOptions(ensemble="string-quartet"))
    data = musicxml_bytes(result)
    assert b'print-object="no"' not in data
    score = music21.converter.parseData(data.decode("utf-8"), format="musicxml")
    assert _bars(score.parts[0]) == [
        [(0.0, 1.0, "N"), (1.0, 1.0, "R"), (2.0, 2.0, "R")],
        [(0.0, 2.0, "R"), (2.0, 1.0, "R"), (3.0, 1.0, "N")],
        [(0.0, 4.0, "R")],
        [(0.0, 1.0, "R"), (1.0, 0.5, "R"), (1.5, 0.5, "N"), (2.0, 1.0, "R"), (3.0, 1.0, "N")]]
    for part in score.parts[1:]:  # tacet: a bar rest a bar
        assert _bars(part) == [[(0.0, 4.0, "R")]] * 4
    assert data.count(b'<rest measure="yes" />') == 1 + 3 * 4
    jig = [(0, 0.5, 72, 80), (4.5, 0.5, 74, 80), (9, 1.5, 76, 80)]
    score = _parse(orchestrate(make_score(jig, time_signature=(6, 8)), OrchestrateOptions(ensemble="string-quartet")))
    assert _bars(score.parts[0]) == [
        [(0.0, 0.5, "N"), (0.5, 0.5, "R"), (1.0, 0.5, "R"), (1.5, 1.5, "R")],
        [(0.0, 1.5, "R"), (1.5, 0.5, "N"), (2.0, 0.5, "R"), (2.5, 0.5, "R")],
        [(0.0, 3.0, "R")],
        [(0.0, 1.5, "N"), (1.5, 1.5, "R")]]


def test_a_pickups_rests_are_of_its_beats_and_shown(make_score):
    import symusic

    # a one-beat pickup: the staves that rest in it show a quarter rest (no bar rest), and
    # every measure is complete (the pickup padded before, as MusicXML's implicit measure)
    score = make_score([(0, 1, 67, 80), (1, 2, 72, 80), (3, 2, 74, 80), (5, 4, 76, 80)])
    score.time_signatures.clear()
    score.time_signatures.extend([symusic.TimeSignature(0, 1, 4), symusic.TimeSignature(480, 4, 4)])
    data = musicxml_bytes(orchestrate(score, OrchestrateOptions(ensemble="string-quartet")))
    assert b'print-object="no"' not in data
    parsed = music21.converter.parseData(data.decode("utf-8"), format="musicxml")
    for part in parsed.parts:
        measures = list(part.getElementsByClass(music21.stream.Measure))
        assert (measures[0].number, measures[0].paddingLeft) == (0, 3.0)
        assert _bars(part)[0] in ([(0.0, 1.0, "N")], [(0.0, 1.0, "R")]), part.partName
        for measure in measures[1:]:
            assert measure.duration.quarterLength == 4.0
    assert [_bars(part)[0] for part in parsed.parts].count([(0.0, 1.0, "R")]) == 3  # the tune's staff plays
    assert b'<measure implicit="yes" number="0">' in data


def test_a_rest_among_triplets_is_a_triplet_rest():
    from fractions import Fraction as F

    from scorefarm.arrange.notation_metres import Bar, rests

    # K. 80's violas: a sextuplet whose first note is a rest (beat 2 of 3/4) -- one triplet
    # sixteenth, not a 32nd and a tied 64th triplet, which made music21 re-split the notes after it
    bar = [Bar(F(0), F(3), 3, 4, F(0))]
    assert list(rests(F(1), F(7, 6), bar)) == [(F(1), F(1, 6))]
    # plain values to the beat line, triplets after it; triplets after a triplet to the beat line
    assert list(rests(F(1, 2), F(7, 6), bar)) == [(F(1, 2), F(1, 2)), (F(1), F(1, 6))]
    assert list(rests(F(1, 3), F(3), bar)) == [(F(1, 3), F(1, 3)), (F(2, 3), F(1, 3)), (F(1), F(1)), (F(2), F(1))]
    # a pickup's rests counted from the bar line of the whole bar it ends
    pickup = [Bar(F(0), F(3, 2), 4, 4, F(-5, 2)), Bar(F(3, 2), F(11, 2), 4, 4, F(3, 2))]
    assert list(rests(F(0), F(11, 2), pickup)) == [(F(0), F(1, 2)), (F(1, 2), F(1)), (F(3, 2), F(4))]


def test_a_low_clarinet_stays_in_treble_clef_and_a_low_horn_reads_bass_clef():
    """Only an instrument whose written range reaches under C3 (the horn) switches to bass clef
    for a low part; a clarinet in its chalumeau, a guitar or a trumpet never does."""
    from scorefarm.arrange.catalogue import instruments
    from scorefarm.arrange.notation_clefs import bar_clefs, clef_options

    catalogue = instruments()
    low_part = [[52, 53, 55, 53, 52]]  # written E3-G3, a bar of it

    assert bar_clefs(clef_options(catalogue["horn"]), low_part) == ["bass"]
    for key in ("clarinet", "guitar", "trumpet"):
        assert clef_options(catalogue[key]) == ("treble",), key
        assert bar_clefs(clef_options(catalogue[key]), low_part) == ["treble"], key


def test_a_transposing_part_writes_the_concert_spelling_transposed(make_score):
    """A horn in F and a clarinet in B-flat spell the concert note, then transpose it: the
    concert A natural of a D-flat major sketch (the Maple Leaf Rag's trio) is written E for
    the horn, a fifth up, not the F-flat its written A-flat major gives alone, and B for a
    B-flat trumpet or clarinet, not C-flat; every chromatic pitch the clarinet plays is the
    flute's concert name moved up a major second."""
    import symusic

    from scorefarm.arrange.placement import Placed

    d_flat = [(4 * bar + beat, 0.95, pitch, 80) for bar, chord in enumerate([(61, 65, 68), (66, 70, 73)] * 2)
              for beat in range(4) for pitch in chord]
    sketch = make_score(d_flat)
    sketch.key_signatures.append(symusic.KeySignature(0, -5, 0))
    result = orchestrate(sketch, OrchestrateOptions(ensemble="chamber"))
    parts = {p.instrument.key: i for i, p in enumerate(result.ensemble.parts)}
    tested = (parts["flute"], parts["clarinet"], parts["horn"])
    result.placed = [p for p in result.placed if p.part not in tested]
    sounding = list(range(60, 72))  # C4-B4, every pitch class once, a beat each
    for beat, pitch in enumerate(sounding):
        for part, octave in zip(tested, (12, 0, -12)):
            result.placed.append(Placed(beat * 480, 480, pitch + octave, 80, part, -1, "melody", 3))
    score = _parse(result)
    labels = [p.label for p in result.ensemble.parts]
    written = {index: [n.pitch for n in next(p for p in score.parts if p.partName == labels[index]).recurse().notes]
               for index in tested}
    flute, clarinet, horn = (written[index] for index in tested)
    assert [p.midi for p in flute] == [p + 12 for p in sounding]  # the flute is at concert pitch
    assert flute[9].name == "A"  # D-flat major's flat 6th, as the concert parts spell it
    assert horn[9].nameWithOctave == "E4" and horn[9].midi == 69 - 12 + 7
    assert clarinet[9].nameWithOctave == "B4"
    assert [p.name for p in clarinet] == [p.transpose("M2").name for p in flute]
    assert [p.name for p in horn] == [p.transpose("P5").name for p in flute]
    assert not any(p.accidental is not None and abs(p.accidental.alter) > 1 for p in clarinet + horn)


def test_a_transposed_spelling_takes_no_double_accidental_the_concert_one_has_not():
    """Concert B major for a clarinet in B-flat is written in D-flat major (five flats, not
    C-sharp major's seven): the concert names move down a diminished third's letters up
    (B to D-flat, A-sharp to C), and concert G natural, which would be B double-flat, is
    the written key's A. Concert F-sharp minor's leading note E-sharp stays F double-sharp:
    the written G-sharp minor's own leading note."""
    from fractions import Fraction

    from scorefarm.arrange.notation_keys import PartKeys

    def names(sharps, mode):
        speller = PartKeys([(Fraction(0), sharps, mode)], -2, [Fraction(0)], Fraction(4)).speller(Fraction(0))
        return {pc: speller.pitch(60 + pc).name for pc in range(12)}

    b_major = names(5, "major")
    assert (b_major[1], b_major[0], b_major[2], b_major[9], b_major[11]) == ("D-", "C", "D", "A", "C-")
    f_sharp_minor = names(3, "minor")
    assert (f_sharp_minor[8], f_sharp_minor[7], f_sharp_minor[9]) == ("G#", "F##", "A")
