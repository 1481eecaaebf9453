"""GM program / track name -> orchestral section."""

from __future__ import annotations

import pytest
import symusic

from scorefarm.arrange.sections import (
    SECTION_ORDER,
    misnamed_tracks,
    order_sections,
    parse_section_table,
    section_for_name,
    section_for_program,
    section_for_track,
    section_table,
)
from scorefarm.errors import ScoreError


def test_stem_order_and_source():
    assert SECTION_ORDER == ("strings", "woodwinds", "brass", "percussion", "keys", "choir", "synths")
    assert "MIDI Manufacturers Association" in section_table().source
    assert order_sections(["synths", "brass", "strings", "brass"]) == ["strings", "brass", "synths"]


def test_every_gm_program_has_exactly_one_known_section():
    sections = [section_for_program(p) for p in range(128)]
    assert set(sections) <= set(SECTION_ORDER)
    assert set(sections) == set(SECTION_ORDER)  # every section is reachable by a program


@pytest.mark.parametrize("programs, section", [
    (range(0, 8), "keys"),  # pianos
    ([8], "keys"),  # celesta
    ([9, 11, 12, 13, 14], "percussion"),  # glockenspiel, vibraphone, marimba, xylophone, tubular bells
    (range(16, 32), "keys"),  # organs, guitars
    (range(40, 46), "strings"),  # violin .. pizzicato
    ([46], "keys"),  # harp
    ([47], "percussion"),  # timpani
    (range(48, 52), "strings"),  # string ensembles
    (range(52, 55), "choir"),
    (range(56, 64), "brass"),
    (range(64, 80), "woodwinds"),  # reeds and pipes
    (range(80, 104), "synths"),  # leads, pads, fx
    (range(112, 120), "percussion"),
])
def test_gm_families(programs, section):
    assert {section_for_program(p) for p in programs} == {section}


def test_out_of_range_program():
    with pytest.raises(ScoreError, match="MIDI program 128 is out of range; allowed: 0-127"):
        section_for_program(128)


@pytest.mark.parametrize("name, program, is_drum, section", [
    ("Drum Kit", 0, True, "percussion"),
    ("Violin", 40, True, "percussion"),  # a drum track is percussion whatever its name
    ("Violin I", 40, False, "strings"),
    ("Violin I", 0, False, "keys"),  # program 0 sounds like a piano: the stem is what it sounds like
    ("Horn in F", 60, False, "brass"),
    ("Horn in F", 0, False, "keys"),
    ("Timpani", 47, False, "percussion"),
    ("Harp", 46, False, "keys"),
    ("Celesta", 8, False, "keys"),
    ("Tubular Bells", 14, False, "percussion"),
    ("Choir", 52, False, "choir"),
    ("Choir", 0, False, "keys"),
    ("Soprano", 48, False, "strings"),  # a harmonized cue played by strings: no "choir" stem
    ("Bass", 33, False, "keys"),
    ("Bass", 43, False, "strings"),
    ("Warm Pad", 89, False, "synths"),
    ("", 52, False, "choir"),
])
def test_section_for_track(name, program, is_drum, section):
    assert section_for_track(symusic.Track(name, program, is_drum)) == section


@pytest.mark.parametrize("program, section", [(0, "keys"), (48, "strings"), (52, "choir")])
def test_four_voices_on_one_program_share_one_stem(program, section):
    """A Bach chorale's Soprano, Alto, Tenor and Bass on one sound: one stem, the
    sound's, the Bass with the others (was: S/A/T to "choir" by name, Bass by program)."""
    tracks = [symusic.Track(voice, program, False) for voice in ("Soprano", "Alto", "Tenor", "Bass")]
    assert {section_for_track(t) for t in tracks} == {section}


def _track(name, program, pitch=60):
    track = symusic.Track(name, program, False)
    track.notes.append(symusic.Note(0, 480, pitch, 80))
    return track


def test_tracks_named_for_another_section_are_said():
    chorale = [_track(v, 0) for v in ("Soprano", "Alto", "Tenor", "Bass")]
    assert misnamed_tracks(chorale) == ("stems follow each track's GM program, the sound rendered, not its name: "
                                        "'Soprano', 'Alto', 'Tenor' (names of choir) play program 0, in the keys stem")
    sketch = [_track("Violin I", 0), _track("Horn in F", 60), _track("Flute", 48)]
    said = misnamed_tracks(sketch)
    assert "'Violin I' (names of strings) play program 0, in the keys stem" in said
    assert "'Flute' (names of woodwinds) play program 48, in the strings stem" in said
    assert "Horn" not in said
    # names that agree with their sound, names of nothing, drums and empty tracks: nothing to say
    drums = symusic.Track("Violin", 0, True)
    drums.notes.append(symusic.Note(0, 480, 38, 80))
    quiet = [_track("Violins I", 48), _track("Piano", 0), _track("Melody", 0), drums,
             symusic.Track("Choir", 0, False)]
    assert misnamed_tracks(quiet) is None


def test_names_that_are_not_instruments():
    assert section_for_name("Track 1") is None
    assert section_for_name("") is None
    assert section_for_name("4") is None


TABLE = """
source = "test"
[stems]
order = ["a", "b"]
drums = "b"
[[programs]]
first = 0
last = 63
section = "a"
[[programs]]
first = 64
last = 127
section = "b"
[names]
"flute" = "a"
"""


def test_parse_section_table():
    table = parse_section_table(TABLE)
    assert table.order == ("a", "b")
    assert table.by_program[63] == "a" and table.by_program[64] == "b"
    assert table.by_name == {"flute": "a"}


@pytest.mark.parametrize("change, message", [
    (("last = 63", "last = 62"), r"programs \[63\] belong to no section"),
    (("first = 64", "first = 60"), "program 60 is in two ranges"),
    (('section = "b"', 'section = "c"'), "section 'c' is not one of"),
    (('drums = "b"', 'drums = "b"\ndrum = "b"'), r"unknown keys \['drum'\]"),
    (('"flute" = "a"', '"flute" = "x"'), "'flute' = 'x' is not one of"),
    (('order = ["a", "b"]', 'order = ["a", "b", "a"]'), "repeats a section"),
])
def test_broken_tables_fail_loudly(change, message):
    with pytest.raises(ScoreError, match=message) as info:
        parse_section_table(TABLE.replace(*change))
    assert "gm_sections.toml" in str(info.value)


@pytest.mark.parametrize("name, program, family", [
    ("Trumpets", 0, {"trumpet", "trumpet-c"}),  # a name: every instrument of its kind
    ("Track 3", 56, {"trumpet", "trumpet-c"}),  # no instrument named: the program's
    ("Horn in F", 56, {"horn"}),  # the name first
    ("Violoncellos", 48, {"cello"}),
    ("Contrabasses", 43, {"double-bass"}),
    ("Celli", 0, {"cello"}),  # a name the catalogue lists under also_called
    ("English Horn", 0, {"cor-anglais"}),
    ("French Horns", 0, {"horn"}),
    ("Clarinet in Bb 2", 0, {"clarinet"}),
    ("Timpani", 0, {"timpani"}),
    ("", 47, {"timpani"}),
    ("Trombone", 57, {"trombone"}),
    ("", 57, {"trombone", "bass-trombone"}),
    ("Strings", 48, set()),  # a section, not an instrument
    ("Melody", 0, set()),  # program 0: what a sketch leaves unset
    ("Bass", 33, set()),  # ambiguous, and no catalogue instrument on GM Electric Bass
])
def test_the_instruments_a_track_names(name, program, family):
    from scorefarm.arrange.seating import track_family

    assert track_family(name, program) == family


def test_desk_numbers_are_read_from_ordinals_numbers_and_roman_numerals():
    from scorefarm.arrange.seating import _desks

    assert _desks("1st Violins") == {1} and _desks("2nd Violins") == {2}
    assert _desks("Violins II") == {2} and _desks("Horns 1–2") == {1, 2} and _desks("Horn in F 3") == {3}
    assert _desks("Viola") == _desks("Vi") == _desks("Clarinet in Bb") == set()


def _chorale(program: int) -> bytes:
    """Two chords of a four-voice chorale, each voice on its own named track."""
    from scorefarm.symbolic.score_io import score_to_bytes

    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 120.0))
    for name, pitches in (("Soprano", (72, 71)), ("Alto", (67, 67)), ("Tenor", (64, 62)), ("Bass", (48, 55))):
        track = symusic.Track(name, program, False)
        for beat, pitch in enumerate(pitches):
            track.notes.append(symusic.Note(beat * 480, 480, pitch, 80))
        score.tracks.append(track)
    return score_to_bytes(score)


@pytest.mark.parametrize("program, stem", [(0, "keys"), (48, "strings")])
def test_a_chorale_renders_into_the_stem_it_sounds_in(program, stem):
    """Bach on piano is one keys stem, on strings one strings stem: no "choir" stem of
    a piano or a string ensemble, and the Bass with the other voices; the cue says why."""
    from scorefarm.render.pipeline import CueSpec, render_cue
    from scorefarm.render.soundfonts import resolve_soundfont

    font = resolve_soundfont("default")
    product = render_cue(CueSpec("1M1", "chorale.mid", _chorale(program), font, ""))
    assert sorted(product.files) == sorted(["1M1.mid", "1M1_mix.wav", f"1M1_{stem}.wav"])
    assert (f"stems follow each track's GM program, the sound rendered, not its name: 'Soprano', 'Alto', "
            f"'Tenor' (names of choir) play program {program}, in the {stem} stem") in product.notes
