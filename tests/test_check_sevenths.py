"""The seventh rule: a seventh chord without its fifth is one only over its root in the bass."""

from __future__ import annotations

from scorefarm.symbolic.chords import parse_pitch
from scorefarm.symbolic.voiceleading import CheckOptions, check_voices
from scorefarm.symbolic.voices import Part, VNote, Voices

SEVENTHS = CheckOptions(kinds=frozenset({"unresolved_seventh"}), key=(2, "major"))


def quavers(parts: dict[str, str]) -> Voices:
    """Voices from 'pitch:quavers' per part ("F#4:2 E4:2")."""
    out = []
    for name, row in parts.items():
        notes, tick = [], 0
        for item in row.split():
            pitch, length = item.split(":")
            notes.append(VNote(tick, tick + 240 * int(length), parse_pitch(pitch)))
            tick += 240 * int(length)
        out.append(Part(name, notes))
    return Voices(480, out, [(0, 4, 4)])


# BWV 304 bar 20 in D major: I6/4 -> V over the bass's lower neighbour A2-G2-A2; the alto takes the fifth E4
# on the off-beat quaver, over the soprano's F#4 (the sixth, still to fall to E4), and drops to the third C#4
CADENCE = {"Soprano": "F#4:2 E4:2 D4:2", "Alto": "D4:1 E4:1 C#4:2 D4:2", "Tenor": "A3:4 F#3:2",
           "Bass": "A2:1 G2:1 A2:2 D3:2"}


def test_three_notes_over_a_bass_neighbour_are_no_seventh_chord():
    # with the G2 left out (a neighbour note) F#4-E4-A3 spell F#m7/A without its fifth, over its third: the
    # alto's E4 was reported as a seventh leaping down to C#4. It is the fifth of V.
    assert check_voices(quavers(CADENCE), SEVENTHS).faults == []


def test_the_same_notes_over_their_root_are_a_seventh_chord():
    # the bass on F#2 (a chord member, the root): F#m7 without its fifth, and the E4 leaping to C#4 is a fault
    on_root = dict(CADENCE, Bass="A2:1 F#2:1 A2:2 D3:2")
    report = check_voices(quavers(on_root), SEVENTHS)
    assert [(f.voices, f.beat) for f in report.faults] == [(("Alto",), 2.0)]
    assert "E4 -> C#4 (seventh of F#m7 " in report.faults[0].detail


def test_the_incomplete_dominant_seventh_in_root_position_is_still_judged():
    # G7 without its fifth (G2 G3 B3 F4: the root doubled), the F4 leaping up to A4 over C
    incomplete = quavers({"Soprano": "F4:2 A4:2", "Alto": "B3:2 C4:2", "Tenor": "G3:2 E3:2", "Bass": "G2:2 C3:2"})
    report = check_voices(incomplete, CheckOptions(kinds=frozenset({"unresolved_seventh"}), key=(0, "major")))
    assert [(f.voices, f.beat) for f in report.faults] == [(("Soprano",), 2.0)]
    assert "(seventh of G7 " in report.faults[0].detail
    # inverted, a seventh chord is judged when it is complete: V6/5 (B2 G3 D4 F4), the F4 rising to G4
    complete = quavers({"Soprano": "F4:2 G4:2", "Alto": "D4:2 C4:2", "Tenor": "G3:2 E3:2", "Bass": "B2:2 C3:2"})
    report = check_voices(complete, CheckOptions(kinds=frozenset({"unresolved_seventh"}), key=(0, "major")))
    assert [(f.voices, f.beat) for f in report.faults] == [(("Soprano",), 2.0)]
    assert "(seventh of G7/B " in report.faults[0].detail


def test_the_fixers_search_reads_sevenths_as_the_checker_does():
    from scorefarm.symbolic.vl_search import _resolution_rules
    from scorefarm.symbolic.vl_slices import Slices

    for bass, owed in (("A2:1 G2:1 A2:2 D3:2", -1), ("A2:1 F#2:1 A2:2 D3:2", parse_pitch("E4") % 12)):
        voices = quavers(dict(CADENCE, Bass=bass))
        slices = Slices(voices)
        k = slices.ticks.index(480)  # beat 2: into V
        assert _resolution_rules(slices, [(0, 2, "major")], 4)[k][2] == owed


def test_a_pickup_s_notes_are_measured_against_the_beat_of_the_metre_it_leads_to():
    """A 3/8 pickup before 6/8 is the end of a 6/8 bar: a passing quaver there is shorter
    than its beat (a dotted crotchet), as it is in the bars after it."""
    from scorefarm.symbolic.vl_slices import _beat_ticks

    voices = Voices(480, [Part("Soprano", [VNote(0, 240, 72)])], [(0, 3, 8), (720, 6, 8)])
    assert _beat_ticks(voices, 0) == _beat_ticks(voices, 720) == 720
    short_first_bar = Voices(480, [Part("Soprano", [VNote(0, 240, 72)])], [(0, 3, 8), (720, 3, 8)])
    assert _beat_ticks(short_first_bar, 0) == 240  # 3/8 throughout: a quaver beat
