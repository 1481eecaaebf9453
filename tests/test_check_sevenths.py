"""The seventh rule: a seventh chord without its fifth is one only over its root in the bass; an
augmented sixth chord (Ab7 going to G in C) owes no seventh."""

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


# Augmented sixth chords in C minor, each going to V: i - iv6 - (It6 | Fr43 | Ger65) - V - i, the b6 (Ab) falling
# and the #4 (F#) rising to G in octaves. The German and the Italian sound as Ab7 (the Italian without its Eb),
# whose G-flat, read as a seventh, would owe a fall.
def sixth(middle: tuple[str, str, str, str], then: tuple[str, str, str, str] = ("G4", "B3", "D3", "G2")) -> Voices:
    chords = [("G4", "Eb4", "C4", "C3"), ("F4", "C4", "Ab3", "Ab2"), middle, then, ("G4", "Eb4", "C4", "C3")]
    names = ("Soprano", "Alto", "Tenor", "Bass")
    return quavers({name: " ".join(f"{chord[v]}:2" for chord in chords) for v, name in enumerate(names)})


GERMAN = ("F#4", "C4", "Eb3", "Ab2")
ITALIAN = ("F#4", "C4", "C3", "Ab2")
FRENCH = ("F#4", "D4", "C3", "Ab2")
C_MINOR = CheckOptions(kinds=frozenset({"unresolved_seventh"}), key=(0, "minor"))


def test_augmented_sixths_resolving_to_v_owe_no_seventh():
    for chord in (GERMAN, ITALIAN, FRENCH):
        assert check_voices(sixth(chord), C_MINOR).faults == []
    # to the cadential 6/4 (C minor over G), the German's Eb held
    assert check_voices(sixth(GERMAN, then=("G4", "C4", "Eb3", "G2")), C_MINOR).faults == []
    # inverted (the tonic in the bass: Ger43), and in C major (Ab-C-D#-F# to C over G)
    assert check_voices(sixth(("F#4", "Ab3", "Eb3", "C3")), C_MINOR).faults == []
    assert check_voices(sixth(("F#4", "C4", "D#3", "Ab2"), then=("G4", "C4", "E3", "G2")),
                        CheckOptions(kinds=frozenset({"unresolved_seventh"}), key=(0, "major"))).faults == []


def test_the_chord_it_moves_to_decides_not_the_key_found():
    # the same German sixth judged in D-flat major (a key window lagging) is still one: it goes to G
    db_major = CheckOptions(kinds=frozenset({"unresolved_seventh"}), key=(1, "major"))
    assert check_voices(sixth(GERMAN), db_major).faults == []


def test_the_same_ab7_going_to_d_flat_is_v7_and_owes_its_seventh():
    # Ab7 -> Db in D-flat major: the G-flat leaping up to A-flat is an unresolved seventh
    leaps = quavers({"Soprano": "Gb4:2 Ab4:2", "Alto": "C4:2 Db4:2", "Tenor": "Eb3:2 F3:2", "Bass": "Ab2:2 Db3:2"})
    db_major = CheckOptions(kinds=frozenset({"unresolved_seventh"}), key=(1, "major"))
    report = check_voices(leaps, db_major)
    assert [(f.voices, f.beat) for f in report.faults] == [(("Soprano",), 2.0)]
    assert "Gb4 -> Ab4 (seventh of Ab7 " in report.faults[0].detail
    # falling to F4 it is resolved
    falls = quavers({"Soprano": "Gb4:2 F4:2", "Alto": "C4:2 Db4:2", "Tenor": "Eb3:2 Ab3:2", "Bass": "Ab2:2 Db3:2"})
    assert check_voices(falls, db_major).faults == []


def test_the_german_sixth_changing_shape_on_its_way_to_v():
    # Schumann op. 41/1 ii bar 42 (6/8 in quavers): over the cello's Ab2 and the first violin's F#4 the viola
    # walks Eb3-D3-C3 (German, French, Italian sixth) before G major; the F#4 rising to G4 owes nothing
    voices = quavers({"Violin I": "F#4:3 G4:1", "Violin II": "C4:3 B3:1", "Viola": "Eb3:1 D3:1 C3:1 D3:1",
                      "Cello": "Ab2:3 G2:1"})
    assert check_voices(voices, C_MINOR).faults == []


def test_the_fixers_search_owes_no_seventh_in_an_augmented_sixth():
    from scorefarm.symbolic.vl_search import _resolution_rules
    from scorefarm.symbolic.vl_slices import Slices

    slices = Slices(sixth(GERMAN))
    k = slices.ticks.index(1440)  # the second half of bar 1: into V
    assert slices.harmony(k - 1).name == "Ab7"
    assert _resolution_rules(slices, [(0, 0, "minor")], 4)[k][2] == -1
