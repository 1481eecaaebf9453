"""Instrument catalogue, ensemble templates and keyswitch maps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from scorefarm.arrange import catalogue
from scorefarm.arrange.catalogue import (
    ARTICULATIONS,
    CLEFS,
    ensembles,
    instruments,
    keyswitch_maps,
    load_ensemble,
)
from scorefarm.arrange.sections import SECTION_ORDER, section_for_track
from scorefarm.errors import InputError, ScoreError

REQUIRED_ENSEMBLES = {"string-quartet", "strings", "chamber", "full-orchestra", "hybrid", "choir", "piano"}


@dataclass
class _Track:
    name: str
    program: int
    is_drum: bool


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- instruments -------------------------------------------------------------------------


def test_known_facts():
    cat = instruments()
    violin, clarinet, bass = cat["violin"], cat["clarinet"], cat["double-bass"]
    assert violin.low == 55  # G3, the open G string
    assert violin.in_range(55) and not violin.in_range(54)
    assert clarinet.transposition + 62 == 60  # written D4 sounds C4
    assert clarinet.written(60) == 62
    assert bass.written(40) == 52  # sounds an octave below the written note
    assert cat["piano"].low == 21 and cat["piano"].high == 108
    assert cat["violin"].variants == {"tremolo": 44, "pizzicato": 45, "section": 48}
    assert cat["timpani"].program == 47 and cat["harp"].program == 46


@pytest.mark.parametrize("key, transposition", [
    ("clarinet", -2), ("bass-clarinet", -14), ("horn", -7), ("trumpet", -2), ("trumpet-c", 0),
    ("cor-anglais", -7), ("alto-flute", -5), ("double-bass", -12), ("contrabassoon", -12),
    ("piccolo", 12), ("glockenspiel", 24), ("xylophone", 12), ("celesta", 12), ("crotales", 24),
    ("guitar", -12), ("tenor", 0), ("violin", 0),
])
def test_transpositions(key, transposition):
    assert instruments()[key].transposition == transposition


@pytest.mark.parametrize("key, polyphony", [
    ("violin", 2), ("viola", 2), ("cello", 2), ("double-bass", 1), ("flute", 1), ("horn", 1),
    ("harp", 8), ("piano", 10), ("timpani", 2), ("marimba", 4), ("vibraphone", 4),
    ("glockenspiel", 2), ("soprano", 1), ("pad-warm", 16),
])
def test_polyphony(key, polyphony):
    assert instruments()[key].polyphony == polyphony


def test_every_instrument_is_well_formed():
    cat = instruments()
    assert len(cat) >= 50
    orders = [i.score_order for i in cat.values()]
    assert orders == sorted(orders)  # the mapping is in score order
    for inst in cat.values():
        assert 0 <= inst.program <= 127, inst.key
        assert all(0 <= p <= 127 for p in inst.variants.values()), inst.key
        assert 0 <= inst.low <= inst.comfortable_low <= inst.comfortable_high <= inst.high <= 127, inst.key
        assert inst.section in SECTION_ORDER and inst.clef in CLEFS, inst.key
        assert inst.polyphony >= 1
        if inst.unpitched:
            assert 35 <= inst.gm_drum_note <= 81 and inst.clef == "percussion", inst.key
            assert inst.in_range(inst.gm_drum_note)
        else:
            assert inst.gm_drum_note is None, inst.key


def test_gm_drum_notes_and_pads():
    cat = instruments()
    drums = {k: i.gm_drum_note for k, i in cat.items() if i.unpitched}
    assert drums["bass-drum"] == 35 and drums["snare-drum"] == 38 and drums["tambourine"] == 54
    assert drums["triangle"] == 81
    assert {"suspended-cymbal", "clash-cymbals", "tam-tam"} <= set(drums)
    pads = {i.program for i in cat.values() if i.key.startswith("pad-")}
    assert pads == set(range(88, 96))
    assert {cat["synth-strings-1"].program, cat["synth-strings-2"].program} == {50, 51}


def test_sections_agree_with_the_stem_table():
    # What render files a track under (by its GM program) is the catalogue's section.
    for inst in instruments().values():
        assert section_for_track(_Track(inst.name, inst.program, inst.unpitched)) == inst.section, inst.key
    for ensemble in ensembles().values():
        for part in ensemble.parts:
            track = _Track(part.label, part.instrument.program, part.instrument.unpitched)
            assert section_for_track(track) == part.instrument.section, (ensemble.name, part.label)


def test_in_range_tiers():
    horn = instruments()["horn"]
    assert horn.in_range(horn.high) and not horn.in_range(horn.high, "comfortable")
    with pytest.raises(ValueError, match="allowed: professional, comfortable"):
        horn.in_range(60, "easy")


@pytest.mark.parametrize("table, key", [
    ({"range": [60, 50]}, "range"),
    ({"comfortable": [40, 70]}, "comfortable"),
    ({"program": 128}, "program"),
    ({"section": "strngs"}, "section"),
    ({"variants": {"pizicato": 45}}, "pizicato"),
    ({"polyphony": True}, "polyphony"),
    ({"colour": "warm"}, "colour"),
    ({"also_called": "celli"}, "also_called"),
    ({"also_called": ["celli", ""]}, "also_called"),
])
def test_broken_instrument_table_is_a_score_error(table, key):
    good = {"name": "X", "abbreviation": "X.", "section": "strings", "score_order": 1,
            "range": [48, 72], "comfortable": [50, 70], "transposition": 0, "clef": "treble",
            "program": 40, "polyphony": 1}
    where = catalogue._Where("scorefarm.arrange/data/instruments.toml", "[instruments.x]", True)
    with pytest.raises(ScoreError) as info:
        catalogue._read_instrument("x", {**good, **table}, where)
    assert "scorefarm.arrange/data/instruments.toml" in str(info.value)
    assert f"'{key}'" in str(info.value) and "\n" not in str(info.value)


# -- ensembles ---------------------------------------------------------------------------


def test_package_ensembles():
    known = ensembles()
    assert REQUIRED_ENSEMBLES <= set(known)
    for ensemble in known.values():
        orders = [p.instrument.score_order for p in ensemble.parts]
        assert orders == sorted(orders), ensemble.name
        assert ensemble.source == "package" and ensemble.description
        assert len({p.label for p in ensemble.parts}) == len(ensemble.parts)
    quartet = [p.label for p in known["string-quartet"].parts]
    assert quartet == ["Violin I", "Violin II", "Viola", "Cello"]


def test_full_orchestra_and_hybrid():
    full = ensembles()["full-orchestra"]

    def players(ensemble, key):
        return sum(p.players for p in ensemble.parts if p.instrument.key == key)

    assert [players(full, k) for k in ("flute", "oboe", "clarinet", "bassoon")] == [2, 2, 2, 2]
    assert [players(full, k) for k in ("horn", "trumpet", "trombone", "bass-trombone", "tuba")] == [4, 3, 2, 1, 1]
    assert players(full, "timpani") == 1 and players(full, "harp") == 1
    strings = [p for p in full.parts if p.instrument.section == "strings"]
    assert [p.label for p in strings] == ["Violins I", "Violins II", "Violas", "Cellos", "Basses"]
    assert strings[0].players == 16 and strings[0].max_notes == 3
    hybrid = ensembles()["hybrid"]
    assert {p.label for p in full.parts} < {p.label for p in hybrid.parts}
    added = {p.instrument.section for p in hybrid.parts} - {p.instrument.section for p in full.parts}
    assert added == {"synths"}
    assert any(p.instrument.key == "synth-bass" for p in hybrid.parts)


def test_max_notes_defaults_to_polyphony():
    chamber = ensembles()["chamber"]
    by_label = {p.label: p for p in chamber.parts}
    assert by_label["Violin I"].max_notes == 2 and by_label["Horn in F"].max_notes == 1
    assert all(p.players == 1 for p in chamber.parts)
    assert [p.label for p in chamber.parts][:5] == ["Flute", "Oboe", "Clarinet in B♭", "Bassoon", "Horn in F"]


USER_FILE = """
[ensembles.duo]
description = "Cello and piano"
parts = [
    { label = "Piano", instrument = "piano" },
    { label = "Cello", instrument = "cello" },
]

[ensembles.string-quartet]
description = "A quartet with a bass instead of a second violin"
parts = [
    { label = "Double Bass", instrument = "double-bass" },
    { label = "Violin", instrument = "violin" },
    { label = "Viola", instrument = "viola" },
    { label = "Cello", instrument = "cello", divisi = 1 },
]

[ensembles.big-hybrid]
description = "Hybrid with a choir"
extends = "hybrid"
parts = [{ label = "Sopranos", instrument = "soprano", players = 12 }]
"""


def test_user_ensembles_load_and_override(tmp_path):
    path = _write(tmp_path, "mine.toml", USER_FILE)
    known = ensembles([path])
    assert {"duo", "big-hybrid"} <= set(known) and REQUIRED_ENSEMBLES <= set(known)
    duo = known["duo"]
    assert [p.label for p in duo.parts] == ["Piano", "Cello"]  # keys before strings
    assert duo.source == str(path)
    quartet = load_ensemble("string-quartet", [path])
    assert [p.label for p in quartet.parts] == ["Violin", "Viola", "Cello", "Double Bass"]
    assert quartet.parts[2].max_notes == 1 and quartet.source == str(path)
    assert load_ensemble("string-quartet").source == "package"  # the package one is untouched
    big = known["big-hybrid"]
    assert len(big.parts) == len(known["hybrid"].parts) + 1
    assert [p.label for p in big.parts].index("Sopranos") < [p.label for p in big.parts].index("Violins I")


def test_load_ensemble_by_path(tmp_path):
    one = _write(tmp_path, "solo.toml", '[ensembles.solo-harp]\ndescription = "Harp"\n'
                 'parts = [{ label = "Harp", instrument = "harp" }]\n')
    assert load_ensemble(str(one)).name == "solo-harp"
    several = _write(tmp_path, "duo.toml", USER_FILE)
    assert load_ensemble(str(several)).name == "duo"  # named like the file
    other = _write(tmp_path, "other.toml", USER_FILE)
    with pytest.raises(InputError, match="defines 3 ensembles"):
        load_ensemble(str(other))


def test_unknown_ensemble_lists_the_known_ones():
    with pytest.raises(InputError) as info:
        load_ensemble("full-orchestr")
    message = str(info.value)
    assert info.value.exit_code == 2 and "\n" not in message
    assert "unknown ensemble 'full-orchestr'" in message and "did you mean 'full-orchestra'" in message
    for name in REQUIRED_ENSEMBLES:
        assert name in message


@pytest.mark.parametrize("text, expected", [
    ('[ensembles.a]\ndescription = "a"\nparts = [{ label = "X", instrument = "violin", player = 2 }]\n',
     "[ensembles.a] parts[0]: key 'player': unknown key; did you mean 'players'?"),
    ('[ensembles.a]\ndescription = "a"\nparts = [{ label = "X", instrument = "violn" }]\n',
     "key 'instrument': received 'violn'; did you mean 'violin'?"),
    ('[ensembles.a]\ndescription = "a"\nparts = [{ label = "X", instrument = "flute", players = 2, divisi = 3 }]\n',
     "key 'divisi': received 3; allowed: an integer from 1 to 2"),
    ('[ensembles.a]\ndescription = "a"\nparts = []\n', "key 'parts'"),
    ('[ensembles.a]\nparts = [{ label = "X", instrument = "flute" }]\n', "key 'description': missing"),
    ('[ensembles.a]\ndescription = "a"\nextends = "b"\nparts = []\n'
     '[ensembles.b]\ndescription = "b"\nextends = "a"\nparts = []\n', "a -> b -> a is a cycle"),
    ('[ensembles.a]\ndescription = "a"\nextends = "nope"\nparts = []\n', "unknown ensemble 'nope'"),
    ('[ensembles.a]\ndescription = "a"\nparts = [{ label = "X", instrument = "flute" }, '
     '{ label = "X", instrument = "oboe" }]\n', "labels used twice: X"),
    ('[ensemble.a]\n', "key 'ensemble': unknown key"),
    ('[ensembles.a\n', "not valid TOML"),
])
def test_broken_user_file_names_file_and_key(tmp_path, text, expected):
    path = _write(tmp_path, "broken.toml", text)
    with pytest.raises(InputError) as info:
        ensembles([path])
    message = str(info.value)
    assert not isinstance(info.value, ScoreError)  # the user's input, not the package's
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message


def test_missing_user_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_ensemble(str(tmp_path / "absent.toml"))


# -- keyswitch maps ----------------------------------------------------------------------


def test_package_keyswitch_maps():
    maps, cat = keyswitch_maps(), instruments()
    violin, horn, flute = cat["violin"], cat["horn"], cat["flute"]
    generic = maps["generic"]
    assert generic.kind == "note" and "Template" in generic.source
    assert generic.switch_for(violin, "staccato") == 26
    assert generic.switch_for(violin, "long") == generic.switch_for(violin, "sustain") == 24
    assert generic.switch_for(horn, "pizzicato") is None  # brass have no pizzicato
    assert generic.switch_for(cat["piano"], "staccato") is None  # no table for keys
    uacc = maps["spitfire-uacc"]
    assert (uacc.kind, uacc.controller) == ("cc", 32)
    assert uacc.switch_for(violin, "pizzicato") == 56 and uacc.switch_for(flute, "legato") == 20
    css = maps["cinematic-studio-strings"]
    assert css.switch_for(cat["cello"], "staccato") == 29 and css.velocity_for(cat["cello"], "staccato") == 65
    assert css.switch_for(cat["cello"], "spiccato") == 29 and css.velocity_for(cat["cello"], "spiccato") == 1
    assert css.velocity_for(cat["cello"], "tremolo") is None
    for keyswitch_map in maps.values():
        for entries in keyswitch_map.switches.values():
            assert set(entries) <= set(ARTICULATIONS)
            assert all(0 <= n <= 127 for n in entries.values())


def test_user_keyswitch_map_overrides_and_instrument_wins(tmp_path):
    path = _write(tmp_path, "ks.toml", """
[libraries.generic]
source = "my template"
[libraries.generic.switches.strings]
sustain = 0
pizzicato = 7
[libraries.generic.switches.double-bass]
pizzicato = 12
""")
    maps = keyswitch_maps([path])
    cat = instruments()
    mine = maps["generic"]
    assert mine.source == "my template" and "spitfire-uacc" in maps
    assert mine.switch_for(cat["double-bass"], "pizzicato") == 12
    assert mine.switch_for(cat["double-bass"], "sustain") == 0  # falls back to the section
    assert mine.switch_for(cat["viola"], "pizzicato") == 7


@pytest.mark.parametrize("body, expected", [
    ('source = "x"\n[libraries.a.switches.strings]\npizz = 3\n', "key 'pizz': unknown key; did you mean 'pizzicato'?"),
    ('source = "x"\n[libraries.a.switches.violns]\nlegato = 3\n', "key 'violns': unknown key"),
    ('source = "x"\n[libraries.a.switches.strings]\nlegato = 300\n', "key 'legato': received 300"),
    ('source = "x"\nkind = "cc"\n[libraries.a.switches.strings]\nlegato = 3\n', "key 'controller': missing"),
    ('source = "x"\nkind = "sysex"\n[libraries.a.switches.strings]\nlegato = 3\n', "key 'kind'"),
])
def test_broken_keyswitch_file(tmp_path, body, expected):
    path = _write(tmp_path, "ks.toml", "[libraries.a]\n" + body)
    with pytest.raises(InputError) as info:
        keyswitch_maps([path])
    assert str(info.value).startswith(f"{path}: ") and expected in str(info.value)


def test_an_other_name_names_one_instrument():
    where = catalogue._Where("scorefarm.arrange/data/instruments.toml", "[instruments]", True)
    good = {"abbreviation": "X.", "section": "strings", "score_order": 1, "range": [48, 72],
            "comfortable": [50, 70], "transposition": 0, "clef": "treble", "program": 40, "polyphony": 1}
    cello = catalogue._read_instrument("cello", {**good, "name": "Cello", "also_called": ["celli"]}, where)
    viola = catalogue._read_instrument("viola", {**good, "name": "Viola", "also_called": ["Celli"]}, where)
    catalogue._check_other_names([cello], where)
    with pytest.raises(ScoreError, match="'Celli' already names 'cello'"):
        catalogue._check_other_names([cello, viola], where)
    bass = catalogue._read_instrument("bass", {**good, "name": "Bass", "also_called": ["viola"]}, where)
    with pytest.raises(ScoreError, match="already names 'viola'"):
        catalogue._check_other_names([viola, bass], where)
