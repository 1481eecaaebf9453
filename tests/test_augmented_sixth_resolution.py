"""The augmented sixth's resolution: its b6 falls and its #4 rises by a half step to the octave on
the dominant (Ab and F# to G in C), in the checker (``unresolved_augmented_sixth``) and the fixer."""

from __future__ import annotations

import numpy as np
import pytest

from scorefarm.symbolic.chords import parse_pitch
from scorefarm.symbolic.vl_examples import examples, planted_faults_voices
from scorefarm.symbolic.vl_fix import fix_voices
from scorefarm.symbolic.vl_slices import Slices
from scorefarm.symbolic.voiceleading import KINDS, CheckOptions, check_voices
from scorefarm.symbolic.voices import Part, VNote, Voices

SIXTHS = CheckOptions(kinds=frozenset({"unresolved_augmented_sixth"}), key=(0, "minor"))
NAMES = ("Soprano", "Alto", "Tenor", "Bass")


def quavers(parts: dict[str, str]) -> Voices:
    """Voices in 4/4 from 'pitch:quavers' per part ("F#4:2 G4:1")."""
    out = []
    for name, row in parts.items():
        notes, tick = [], 0
        for item in row.split():
            pitch, length = item.split(":")
            notes.append(VNote(tick, tick + 240 * int(length), parse_pitch(pitch)))
            tick += 240 * int(length)
        out.append(Part(name, notes))
    return Voices(480, out, [(0, 4, 4)])


def chords(*rows: tuple[str, str, str, str], length: int = 2) -> dict[str, str]:
    """Block chords, ``length`` quavers each, as ``quavers`` tables (one 'pitch:quavers' row per voice)."""
    return {name: " ".join(f"{row[v]}:{length}" for row in rows) for v, name in enumerate(NAMES)}


TONIC = ("G4", "Eb4", "C4", "C3")
IV6 = ("F4", "C4", "Ab3", "Ab2")
V = ("G4", "B3", "D3", "G2")
GERMAN, ITALIAN, FRENCH = ("F#4", "C4", "Eb3", "Ab2"), ("F#4", "C4", "C3", "Ab2"), ("F#4", "D4", "C3", "Ab2")


def found(table: dict[str, str], options: CheckOptions = SIXTHS) -> list[tuple]:
    return [(f.voices, f.bar, f.beat, f.detail) for f in check_voices(quavers(table), options).faults]


def test_the_kind_is_a_fault_kind_and_in_the_json_counts():
    assert "unresolved_augmented_sixth" in KINDS
    table = chords(TONIC, IV6, ITALIAN, ("D4", "B3", "D3", "G2"))  # F#4 leaping down to D4
    report = check_voices(quavers(table), CheckOptions(key=(0, "minor")))
    assert report.counts()["unresolved_augmented_sixth"] == 1
    assert '"unresolved_augmented_sixth": 1' in report.to_json()


@pytest.mark.parametrize("sixth", [GERMAN, ITALIAN, FRENCH], ids=["German", "Italian", "French"])
def test_each_augmented_sixth_resolving_outward_to_v_is_clean(sixth):
    assert found(chords(TONIC, IV6, sixth, V, TONIC)) == []
    # whatever the key given: the French sixth's other reading, a tritone away (D-F#-G#-C in F-sharp), is not
    # taken, for it goes to G
    assert found(chords(TONIC, IV6, sixth, V, TONIC), CheckOptions(key=(6, "minor"), kinds=SIXTHS.kinds)) == []


def test_the_sharp_four_not_rising_is_reported_in_its_voice_at_the_next_note():
    table = chords(TONIC, IV6, ITALIAN, ("D4", "B3", "D3", "G2"))
    assert found(table) == [(("Soprano",), 1, 4.0, "F#4 -> D4 (#4 of It6 of C should rise to G4)")]
    # the b6 not falling: the bass rising Ab2-B2, to V6
    table = chords(TONIC, IV6, GERMAN, ("G4", "D4", "D3", "B2"))
    assert found(table) == [(("Bass",), 1, 4.0, "Ab2 -> B2 (b6 of Ger65 of C should fall to G2)")]
    # an inner voice: the German's F# in the tenor falling to D
    table = chords(TONIC, ("C5", "Ab4", "F3", "Ab2"), ("C5", "Eb4", "F#3", "Ab2"), ("B4", "D4", "D3", "G2"))
    assert found(table) == [(("Tenor",), 1, 4.0, "F#3 -> D3 (#4 of Ger65 of C should rise to G3)")]


def test_the_german_to_the_cadential_six_four_and_inverted_and_in_major():
    six_four = ("G4", "C4", "Eb3", "G2")
    assert found(chords(TONIC, IV6, GERMAN, six_four, ("F4", "B3", "D3", "G2"), TONIC)) == []
    # Ger43 (the tonic in the bass), its Ab3 under the F#4, both to G; then the alto's Ab3 rising to B3
    assert found(chords(TONIC, IV6, ("F#4", "Ab3", "Eb3", "C3"), ("G4", "G3", "D3", "G2"), TONIC)) == []
    assert found(chords(TONIC, IV6, ("F#4", "Ab3", "Eb3", "C3"), V, TONIC)) == [
        (("Alto",), 1, 4.0, "Ab3 -> B3 (b6 of Ger43 of C should fall to G3)")]
    # in C major the German is spelled Ab-C-D#-F#, its D# rising to the E of the major 6/4
    major = CheckOptions(key=(0, "major"), kinds=SIXTHS.kinds)
    assert found(chords(("G4", "E4", "C4", "C3"), ("F#4", "C4", "D#3", "Ab2"), ("G4", "C4", "E3", "G2")),
                 major) == []


def test_a_note_that_moves_on_inside_the_sixth_is_judged_where_the_chord_changes():
    # Schumann op. 41/1 ii bar 42: the viola's Eb-D-C (German, French, Italian) under the held F#4, then V
    voices = {"Violin I": "F#4:3 G4:1", "Violin II": "C4:3 B3:1", "Viola": "Eb3:1 D3:1 C3:1 D3:1",
              "Cello": "Ab2:3 G2:1"}
    assert found(voices) == []
    # a voice exchange inside the chord (It64: soprano F#4-Ab4, tenor Ab3-F#3), then each resolves to G
    exchange = {"Soprano": "G4:2 F#4:1 Ab4:1 G4:2", "Alto": "Eb4:2 C4:1 C4:1 B3:2", "Tenor": "C4:2 Ab3:1 F#3:1 G3:2",
                "Bass": "C3:2 C3:2 G2:2"}
    assert found(exchange) == []
    # ... and the exchange's F#3 leaping on to D3 is the one reported, where it arrives
    assert [f[:3] for f in found(dict(exchange, Tenor="C4:2 Ab3:1 F#3:1 D3:2"))] == [(("Tenor",), 1, 3.0)]


def test_a_note_held_through_the_sixth_and_its_6_4_is_judged_where_it_leaves_the_last_one():
    # the bass's Ab2-G2-Ab2 under the alto's held F#4 (the German, its 6/4, the German again); the alto then takes
    # the C4 while the tenor takes over the F# and rises: the alto's F# moved on inside the second German
    voices = {"Soprano": "Eb5:6 Eb5:2 D5:2", "Alto": "F#4:6 C4:2 B3:2", "Tenor": "C4:6 F#3:2 G3:2",
              "Bass": "Ab2:2 G2:2 Ab2:2 Ab2:2 G2:2"}
    assert found(voices) == []
    assert [f[:3] for f in found(dict(voices, Tenor="C4:6 F#3:2 D3:2"))] == [(("Tenor",), 2, 1.0)]


def test_a_resolution_delayed_by_a_note_held_or_struck_again_over_v():
    # the F# held over V (a suspension) and then rising; struck again over V and then rising
    held = chords(TONIC, IV6, ITALIAN, V, TONIC)
    held["Soprano"] = "G4:2 F4:2 F#4:3 G4:1 G4:2"
    assert found(held) == []
    struck = dict(held, Soprano="G4:2 F4:2 F#4:2 F#4:1 G4:1 G4:2")
    assert found(struck) == []
    # struck again over V and then falling: reported where it falls
    assert [f[:3] for f in found(dict(held, Soprano="G4:2 F4:2 F#4:2 F#4:1 E4:1 G4:2"))] == [(("Soprano",), 1, 4.5)]
    # nothing is owed across a rest
    rest = quavers(held)
    soprano = rest.parts[0].notes
    rest.parts[0].notes[:] = soprano[:2] + [VNote(960, 1440, soprano[2].pitch), VNote(1680, 1920, 67)]
    assert check_voices(rest, SIXTHS).faults == []


def test_the_sharp_four_may_fall_to_the_seventh_of_v7():
    # BWV 60.5 bar 16: the tenor's E# of the Italian sixth of B falls chromatically to the E of F#7
    bach = {"Soprano": "B4:2 B4:2 C#5:2", "Alto": "B3:2 B4:2 A#4:2", "Tenor": "E4:2 F4:2 E4:2",
            "Bass": "G#3:2 G3:2 F#3:2"}
    assert found(bach) == []
    # over G7 in C, F# to F
    to_v7 = chords(TONIC, IV6, ITALIAN, ("F4", "B3", "D3", "G2"))
    assert found(to_v7) == []


def test_a_doubled_b6_is_resolved_when_one_of_its_voices_falls():
    # It6 of D minor (G#5, D5, Bb4, Bb3) to A/C#: the viola's Bb4 falls to A4 as the first violin's G#5 rises, so
    # the augmented sixth resolves; the cello leaves its doubled B-flat for the C# of V6
    voices = {"Violin I": "F#5:2 G#5:2 A5:2", "Violin II": "Bb4:2 D5:2 E5:2", "Viola": "D4:2 Bb4:2 A4:2",
              "Cello": "G3:2 Bb3:2 C#4:2"}
    assert found(voices, CheckOptions(kinds=SIXTHS.kinds, key=(2, "minor"))) == []
    # without the viola's resolution (Bb4 up to C#5) both B-flats are reported
    leaves = dict(voices, Viola="D4:2 Bb4:2 C#5:2")
    assert [f[0] for f in found(leaves, CheckOptions(kinds=SIXTHS.kinds, key=(2, "minor")))] == [("Cello",), ("Viola",)]


def test_the_bass_taking_the_sharp_four_resolves_it_for_an_upper_voice_doubling_it():
    # Beethoven op. 18/4 iv bar 523 as the fixer re-voiced it: the cello's Ab2 moves on to F#2 inside the German
    # sixth and rises to G2; the viola's F#4 falling to Eb4 spares the octaves F#-G the two would make
    voices = {"Violin I": "Eb5:2 Eb5:1 D5:1 C5:2", "Violin II": "C5:2 C5:1 D5:1 G4:2", "Viola": "F#4:4 Eb4:2",
              "Cello": "Ab2:2 F#2:2 G2:2"}
    assert found(voices) == []
    # the cello leaping from its F#2 to G3: now the viola's was the one to rise
    assert [f[:2] for f in found(dict(voices, Cello="Ab2:2 F#2:2 G3:2"))] == [(("Viola",), 1)]


def test_ab7_going_to_d_flat_is_no_augmented_sixth():
    # V7 of D-flat: its G-flat owes a fall as a seventh, not a rise
    falls = {"Soprano": "Gb4:2 F4:2", "Alto": "C4:2 Db4:2", "Tenor": "Eb3:2 F3:2", "Bass": "Ab2:2 Db3:2"}
    kinds = frozenset({"unresolved_augmented_sixth", "unresolved_seventh"})
    assert found(falls, CheckOptions(key=(1, "major"), kinds=kinds)) == []
    rises = dict(falls, Soprano="Gb4:2 Ab4:2")  # and leaping up, its seventh unresolved, not a sixth
    assert [f[3].split(" (")[1][:11] for f in found(rises, CheckOptions(key=(1, "major"), kinds=kinds))] == [
        "seventh of "]


def test_the_planted_passages_plant_one_and_resolve_the_others():
    passages = {p["name"]: p for p in examples()["faults"] + examples()["clean"]}
    assert passages["unresolved augmented sixth"]["expect"] == [
        {"kind": "unresolved_augmented_sixth", "voices": ["Alto"], "chord": 4}]
    voices, expected = planted_faults_voices()
    report = check_voices(voices)
    assert [(f.bar, f.beat, f.voices) for f in report.faults if f.kind == "unresolved_augmented_sixth"] == [
        (e[1], e[2], e[3]) for e in expected if e[0] == "unresolved_augmented_sixth"]
    for name in ("i-It6-V-i", "i-Ger65-i64-V7-i"):
        rows = passages[name]["chords"]
        assert check_voices(quavers(chords(*[tuple(r) for r in rows]))).faults == []


def test_the_fixer_resolves_the_planted_augmented_sixth():
    # the alto's F#4 leaping to D4 over V becomes F#4 -> G4 (the tenor taking the D): the search asks the b6 to fall
    # and the #4 to rise where the chord leaves the augmented sixth, as the checker does
    passage = next(p for p in examples()["faults"] if p["name"] == "unresolved augmented sixth")
    voices = quavers(chords(*[tuple(r) for r in passage["chords"]]))
    result = fix_voices(voices)
    assert [f.kind for f in result.before.faults] == ["unresolved_augmented_sixth"]
    assert result.after.faults == []
    assert [n.pitch for n in result.voices.parts[1].notes][-2:] == [66, 67]  # F#4 -> G4
    assert [n.pitch for n in result.voices.parts[0].notes] == [n.pitch for n in voices.parts[0].notes]


def test_the_search_reads_the_resolution_the_checker_reads():
    from scorefarm.symbolic.vl_search import _resolution_faults, _resolution_rules

    slices = Slices(quavers(chords(TONIC, IV6, ITALIAN, V, TONIC)))
    rules = _resolution_rules(slices, [(0, 0, "minor")], 4)
    k = slices.ticks.index(1440)  # into V
    assert rules[k][3:] == (8, 6, False)
    assert all(rule[3] == -1 for j, rule in enumerate(rules) if j != k)
    prev = np.array([[66, 60, 48, 44]])  # F#4 C4 C3 Ab2
    nexts = np.array([[67, 59, 50, 43],  # F#4 -> G4, Ab2 -> G2: resolved
                      [62, 59, 55, 43],  # F#4 -> D4: one fault
                      [66, 59, 55, 43],  # F#4 held over (a suspension): not judged here
                      [62, 59, 55, 47]])  # and the bass up to B2: two
    assert _resolution_faults(prev, nexts, rules[k], 4).tolist() == [[0, 1, 0, 2]]
    # a doubled #4: one voice rising resolves it, the other is free; neither rising, both count
    doubled = np.array([[66, 60, 54, 44]])  # F#4 C4 F#3 Ab2
    nexts = np.array([[67, 62, 50, 43], [62, 60, 50, 43]])
    assert _resolution_faults(doubled, nexts, rules[k], 4).tolist() == [[0, 2]]
    # to V7 the #4 may fall to its seventh
    slices = Slices(quavers(chords(TONIC, IV6, ITALIAN, ("F4", "B3", "D3", "G2"))))
    assert _resolution_rules(slices, [(0, 0, "minor")], 4)[k][3:] == (8, 6, True)


def test_strict_counts_the_new_kind(tmp_path):
    from click.testing import CliRunner

    from scorefarm.cli.errors import ComposeGroup
    from scorefarm.cli.harmony_commands import COMMANDS
    from scorefarm.symbolic.voices import voices_to_score

    path = tmp_path / "sixth.mid"
    voices_to_score(quavers(chords(TONIC, IV6, ITALIAN, ("D4", "B3", "D3", "G2")))).dump_midi(str(path))
    compose = ComposeGroup(name="compose", commands=list(COMMANDS))
    result = CliRunner().invoke(compose, ["check", str(path), "--strict"])
    assert result.exit_code == 1, result.output
    assert "unresolved augmented sixth (Soprano) F#4 -> D4" in result.output


# augmented sixths whose resolution the fixer's windows must see whole: the tenor's F# struck again over V before
# it rises, the alto's held over V, and an exchange inside the Italian (It64) before V
WINDOWED = {
    "Soprano": "G4:2 F4:2 Eb4:2 D4:2 C5:2 C5:2 B4:2 C5:2 Ab4:1 F#4:1 G4:2 Eb4:2",
    "Alto": "Eb4:2 C4:2 C4:2 B3:2 Eb4:2 F#4:3 G4:1 G4:2 C4:2 B3:2 C4:2",
    "Tenor": "C4:2 Ab3:2 F#3:2 F#3:1 G3:1 G3:2 Eb4:2 D4:2 Eb4:2 F#3:1 Ab3:1 G3:2 G3:2",
    "Bass": "C3:2 Ab2:2 Ab2:2 G2:2 C3:2 Ab2:2 G2:2 C3:2 C3:2 G2:2 C3:2",
}


@pytest.mark.parametrize("move_bass", [False, True])
def test_the_fixers_windows_judge_augmented_sixths_as_the_whole_check(move_bass):
    from collections import Counter

    from scorefarm.symbolic import vl_fix, vl_search
    from scorefarm.symbolic.vl_fix import FixOptions

    voices = quavers(WINDOWED)
    report = check_voices(voices)
    slices = Slices(voices)
    assert sum(slices.augmented_sixth_key(k) is not None for k in range(len(slices.ticks))) >= 4
    options = FixOptions(move_bass=move_bass)
    movable = [1, 2, 3] if move_bass else [1, 2]
    local = vl_fix._LocalCheck(voices, slices, movable, report.keys, options.check)
    rows = [vl_search.original_row(slices, k) for k in range(len(slices.ticks))]
    whole = local.kinds(rows)
    assert whole == Counter(f.kind for f in report.faults)
    held = [vl_search._held(slices, k) for k in range(len(slices.ticks))]
    tried = sixths = 0
    for k in range(len(slices.ticks)):
        last = k + (k % 3 == 0 and k + 1 < len(slices.ticks))
        lattice = [vl_search._candidates(voices, slices, j, movable, options).pitches for j in (k, last)]
        for a, b in zip(lattice[0][1:8], lattice[-1][1:8]):
            new = [tuple(int(p) for p in a)] + ([tuple(int(p) for p in b)] if last > k else [])
            trial = rows[:k] + new + rows[last + 1:]
            if any(held[j][v] and trial[j][v] != trial[j - 1][v] for j in (k, last, last + 1)
                   if 0 < j < len(rows) for v in movable):
                continue
            window = local.window(k, last)
            judged = whole - local.kinds(rows, window) + local.kinds(trial, window)
            assert +judged == +local.kinds(trial), (k, last)
            sixths += local.kinds(trial)["unresolved_augmented_sixth"]
            tried += 1
    assert tried >= 20 and sixths > 0  # some re-voicings leave an augmented sixth unresolved, and are seen so


def test_the_search_foresees_a_sixth_a_re_voicing_would_make_of_a_neighbour_note():
    # Beethoven op. 18/3 iv bars 487-488 (quavers): the second violin's G#4 is a neighbour note (A4-G#4-A4) over Bb2
    # and D, no chord member, so no Italian sixth is written; sung A3-G#3-C#4 (as the fixer once re-voiced it) the
    # G# is a member of It6 of D, unresolved. The search asks the #4 to rise at the A major chord either way.
    from scorefarm.symbolic.vl_search import _resolution_rules

    voices = quavers({"Violin I": "E4:2 D4:6 D4:2 C#4:2", "Violin II": "A4:1 Ab4:1 A4:1 D5:1 C#5:1 Bb4:1 A4:1 Ab4:1 "
                      "A4:1 Ab4:1 A4:2", "Viola": "E3:2 D3:6 D3:2 C#3:2", "Cello": "C3:2 Bb2:6 Bb2:2 A2:2"})
    slices = Slices(voices)
    k = slices.ticks.index(9 * 240)  # the G#4 of bar 2
    assert slices.augmented_sixth_key(k) is None and slices.possible_augmented_sixth_key(k) == 2
    assert check_voices(voices, SIXTHS).faults == []
    rules = _resolution_rules(slices, [(0, 2, "minor")], 4)
    assert rules[k + 1][3:5] == (10, 8)  # Bb to fall, G# to rise into A
    sung = quavers({"Violin I": "E4:2 D4:6 D4:2 C#4:2",
                    "Violin II": "A3:1 Ab3:1 A3:1 D4:1 C#4:1 Bb3:1 A3:1 Ab3:1 A3:1 Ab3:1 C#4:2",
                    "Viola": "E3:2 D3:6 D3:2 C#3:2", "Cello": "C3:2 Bb2:6 Bb2:2 A2:2"})
    assert [f.detail for f in check_voices(sung, SIXTHS).faults] == ["G#3 -> C#4 (#4 of It6 of D should rise to A3)"]
