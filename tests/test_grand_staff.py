"""Piano, harp and celesta parts on a grand staff: one MusicXML part of two staves."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

import music21

from scorefarm.arrange.catalogue import instrument
from scorefarm.arrange.graces import Grace
from scorefarm.arrange.notation import musicxml_bytes
from scorefarm.arrange.notation_staves import grand_staff, lower_staff_layout, split_hands
from scorefarm.arrange.orchestrate import OrchestrateOptions, Placed, orchestrate

# the order MusicXML 4's schema gives a note's children (those music21 writes)
_NOTE_ORDER = ["grace", "chord", "pitch", "unpitched", "rest", "duration", "tie", "instrument", "voice", "type",
               "dot", "accidental", "time-modification", "stem", "notehead", "staff", "beam", "notations"]


def _piano_piece(make_score):
    """Two bars of 4/4: a melody in quarters over a held bass C2-G2 and an inner chord
    E3-G4 across middle C each half bar, loud then soft."""
    notes = []
    for bar in range(2):
        notes += [(bar * 4 + beat, 1.0, (72, 74, 76, 77)[beat], 100 - 50 * bar) for beat in range(4)]
        notes += [(bar * 4, 4.0, 36, 100 - 50 * bar), (bar * 4, 4.0, 43, 100 - 50 * bar)]
        notes += [(bar * 4 + half, 2.0, pitch, 100 - 50 * bar) for half in (0, 2) for pitch in (52, 67)]
    return orchestrate(make_score(notes), OrchestrateOptions(ensemble="piano"))


def _tied(staff) -> Counter:
    """(MIDI pitch, onset, length) of each note of ``staff``, tied notes joined."""
    segments: dict[int, list] = {}
    for element in staff.recurse().notes:
        onset = Fraction(element.getOffsetInHierarchy(staff))
        for member in [element] if isinstance(element, music21.note.Note) else element.notes:
            kind = member.tie.type if member.tie is not None else None
            segments.setdefault(member.pitch.midi, []).append((onset, Fraction(element.quarterLength), kind))
    out: Counter = Counter()
    for pitch, pieces in segments.items():
        current = None
        for onset, length, kind in sorted(pieces):
            if current is not None and kind in ("continue", "stop"):
                current[1] += length
            else:
                current = [onset, length]
            if kind in (None, "stop"):
                out[(pitch, current[0], current[1])] += 1
                current = None
    return out


def test_a_piano_part_is_one_part_of_two_staves(make_score):
    result = _piano_piece(make_score)
    data = musicxml_bytes(result, title="Grand")
    assert data == musicxml_bytes(result, title="Grand")
    text = data.decode("utf-8")
    assert text.count("<score-part ") == 1 and text.count("<part ") == 1 and '<part id="P1">' in text
    assert text.count("<staves>2</staves>") == 1
    assert re.search(r'<clef number="1">\s*<sign>G</sign>', text)
    assert re.search(r'<clef number="2">\s*<sign>F</sign>', text)
    notes = re.findall(r"<note\b[^>]*>(.*?)</note>", text, re.S)
    assert notes and all(re.search(r"<staff>[12]</staff>", n) for n in notes)
    for body in notes:  # the schema's order of a note's children; the lower staff in voice 5
        children = [tag for tag in re.findall(r"\n\s*<([a-z-]+)", body) if tag in _NOTE_ORDER]
        assert children == sorted(children, key=_NOTE_ORDER.index), children
        staff, voice = re.search(r"<staff>(\d)</staff>", body)[1], re.search(r"<voice>(\d)</voice>", body)[1]
        assert (staff, voice) in {("1", "1"), ("2", "5")}
    assert text.count("<backup>") >= 2  # each bar: the upper staff, back to the bar's start, the lower
    for direction in re.findall(r"<direction\b.*?</direction>", text, re.S):
        if "<dynamics" in direction:
            assert "<staff>1</staff>" in direction  # dynamics on the upper staff

    parsed = music21.converter.parseData(text, format="musicxml")
    upper, lower = parsed.parts
    assert isinstance(upper, music21.stream.PartStaff) and upper.partName == lower.partName == "Piano"
    up, low = _tied(upper), _tied(lower)
    assert up and low and min(p for p, _, _ in up) >= 60 > max(p for p, _, _ in low)  # split at middle C
    # the chord E3 + G4 is two chords, one a staff; the held bass goes on through the half
    # bar only, not cut at each of the melody's quarters as on one staff
    assert (52, Fraction(0), Fraction(2)) in low and (67, Fraction(0), Fraction(2)) in up
    assert (36, Fraction(0), Fraction(4)) in low
    assert {float(n.getOffsetInHierarchy(lower)) for n in lower.recurse().notes} == {0, 2, 4, 6}
    placed = Counter((p.pitch, Fraction(p.time, 480), Fraction(p.duration, 480)) for p in result.placed)
    assert up + low == placed  # the same notes, on two staves
    for staff in (upper, lower):  # every bar of each staff fills its 4/4, rests where it is silent
        for measure in staff.getElementsByClass(music21.stream.Measure):
            assert measure.duration.quarterLength == 4.0
    assert any(isinstance(d, music21.dynamics.Dynamic) for d in upper.recurse())


def test_a_staff_silent_for_a_bar_has_a_whole_bar_rest(make_score):
    # a tune alone in the right hand for a bar, then a bass alone in the left
    notes = [(beat, 1.0, 72 + beat, 80) for beat in range(4)] + [(4, 4.0, 40, 80)]
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="piano"))
    upper, lower = music21.converter.parseData(musicxml_bytes(result).decode("utf-8"), format="musicxml").parts
    first_low, second_up = (list(s.getElementsByClass(music21.stream.Measure))[k] for s, k in ((lower, 0), (upper, 1)))
    for measure in (first_low, second_up):
        assert not measure.notes and [r.quarterLength for r in measure.notesAndRests] == [4.0]


def test_harp_and_celesta_are_grand_staff_instruments_and_the_strings_are_not():
    assert all(grand_staff(instrument(key)) for key in ("piano", "harp", "celesta"))
    assert not any(grand_staff(instrument(key)) for key in ("violin", "flute", "guitar", "snare-drum"))
    assert not grand_staff(None)  # the drum kit


def test_the_strings_stay_on_one_staff(make_score):
    notes = [(beat, 1.0, pitch, 80) for beat in range(4) for pitch in (48, 64, 67, 72)]
    data = musicxml_bytes(orchestrate(make_score(notes), OrchestrateOptions(ensemble="string-quartet")))
    assert b"<staves>" not in data and b"<staff>" not in data


def test_a_grace_goes_on_its_principals_staff():
    def placed(pitch):
        return Placed(0, 480, pitch, 80, 0, 0, "melody", 3)

    low, high = placed(55), placed(64)
    graces = [Grace(0, 62, 0, 1, low), Grace(0, 57, 0, 1, high), Grace(0, 50, 0, 1, placed(70))]
    (upper, upper_graces), (lower, lower_graces) = split_hands([low, high], graces, 0)
    assert upper == [high] and lower == [low]
    assert [g.pitch for g in upper_graces] == [57] and [g.pitch for g in lower_graces] == [62, 50]
    # a celesta sounds an octave above its written notes: written B3 (sounding B4) is on the lower staff
    (upper, _), (lower, _) = split_hands([placed(71), placed(72)], [], 12)
    assert [p.pitch for p in upper] == [72] and [p.pitch for p in lower] == [71]


def test_a_hairpin_over_the_left_hand_alone_is_written_between_the_staves(make_score):
    # a left hand growing louder bar by bar, the right hand touching a note every third bar
    notes = []
    for bar in range(12):
        notes += [(bar * 4 + beat, 1.0, 40 + beat, 30 + bar * 8) for beat in range(4)]
        if bar % 3 == 0:
            notes.append((bar * 4, 4.0, 76, 30 + bar * 8))
    text = musicxml_bytes(orchestrate(make_score(notes), OrchestrateOptions(ensemble="piano"))).decode("utf-8")
    marks = [d for d in re.findall(r"<direction\b.*?</direction>", text, re.S) if "<wedge" in d or "<dynamics" in d]
    assert any("<wedge" in d for d in marks) and any("<dynamics" in d for d in marks)
    assert all("<staff>1</staff>" in d for d in marks)
    parsed = music21.converter.parseData(text, format="musicxml")
    assert parsed.spannerBundle.getByClass(music21.dynamics.Crescendo)


def test_only_the_second_staffs_notes_change_voice_and_words_stay():
    data = (b"<note><voice>1</voice><staff>1</staff></note><note><voice>2</voice><staff>2</staff></note>"
            b"<direction><words>pizz.</words><staff>2</staff></direction><note><voice>2</voice></note>")
    assert lower_staff_layout(data) == (b"<note><voice>1</voice><staff>1</staff></note>"
                                        b"<note><voice>5</voice><staff>2</staff></note>"
                                        b"<direction><words>pizz.</words><staff>2</staff></direction>"
                                        b"<note><voice>2</voice></note>")
