"""The harp's pedals: what one setting plays, how a harp part is spelled and doubled."""

from __future__ import annotations

import music21

from scorefarm.arrange.doubling import _Passages
from scorefarm.arrange.harp import pedal_setting
from scorefarm.arrange.notation import musicxml_bytes
from scorefarm.arrange.orchestrate import OrchestrateOptions, Placed, orchestrate


def test_one_pedal_setting_per_string_letter():
    assert pedal_setting([0, 2, 4, 5, 7, 9, 11]) == {0: "C", 2: "D", 4: "E", 5: "F", 7: "G", 9: "A", 11: "B"}
    assert pedal_setting([0, 1]) == {0: "C", 1: "D-"}  # C sharp goes on the D string
    assert pedal_setting([0, 1, 2]) == {0: "B#", 1: "C#", 2: "D"}  # three in a row: B sharp, C sharp, D
    assert pedal_setting([8, 9], {8: "A-", 9: "A"}) == {8: "G#", 9: "A"}  # A flat and A: two strings
    assert pedal_setting([3, 10], {3: "E-", 10: "B-"}) == {3: "E-", 10: "B-"}  # the key's names where they fit
    assert pedal_setting([0, 1, 2, 3, 4, 5]) is None  # no six strings sound these six
    assert pedal_setting(range(8)) is None  # eight pitch classes, seven strings


def test_the_harp_doubles_a_figure_only_where_one_setting_plays_its_bar():
    bar = 1920
    def figure(start, pitches):
        return [Placed(start + k * 120, 120, p, 60, 0, k, "figure", 1) for k, p in enumerate(pitches)]
    diatonic = figure(0, [60, 62, 64, 67] * 4)
    chromatic = figure(bar, [60, 61, 62, 63, 64, 65] * 2)
    passages = _Passages(diatonic + chromatic, bar)
    assert all(passages.pedals(n) for n in diatonic)
    assert not any(passages.pedals(n) for n in chromatic)


def test_a_harp_part_is_spelled_by_its_strings(make_score):
    import symusic

    # D major: a quiet figure C C# E C# under a tune in quarters, over a held bass; the harp
    # doubles it. The key spells C natural and C sharp on one letter, one harp string
    notes = []
    for bar in range(4):
        notes += [(bar * 4 + k * 0.25, 0.25, (60, 61, 64, 61)[k % 4], 40) for k in range(16)]
        notes += [(bar * 4 + beat, 1.0, (78, 79, 81, 78)[beat], 48) for beat in range(4)]
        notes.append((bar * 4, 4.0, 38, 40))
    score = make_score(notes)
    score.key_signatures.append(symusic.KeySignature(0, 2, 0))
    result = orchestrate(score, OrchestrateOptions(ensemble="full-orchestra"))
    labels = [p.label for p in result.ensemble.parts]
    harp, violins = labels.index("Harp"), labels.index("Violins II")
    assert {p.pitch % 12 for p in result.placed if p.part == harp} == {0, 1, 4}
    parsed = music21.converter.parseData(musicxml_bytes(result).decode("utf-8"), format="musicxml")
    # a part by its label: the harp's two staves are read back as two PartStaffs of one name
    names = lambda part: {n.name for staff in parsed.parts if staff.partName == labels[part]  # noqa: E731
                          for n in staff.recurse().notes if n.isNote}
    assert names(violins) == {"C", "C#", "E"}  # the key's spelling
    assert names(harp) == {"C", "D-", "E"}  # C on the C string, C sharp on the D string, on both staves


def test_the_harp_leaves_a_chromatic_bar_to_the_strings(make_score):
    # two bars of a diatonic figure, then two of a chromatic one no pedal setting plays
    notes = []
    for bar in range(4):
        figure = (60, 62, 64, 67) if bar < 2 else (60, 61, 62, 63, 64, 65)
        notes += [(bar * 4 + k * 0.25, 0.25, figure[k % len(figure)], 40) for k in range(16)]
        notes += [(bar * 4 + beat, 1.0, (76, 77, 79, 76)[beat], 48) for beat in range(4)]
        notes.append((bar * 4, 4.0, 36, 40))
    result = orchestrate(make_score(notes), OrchestrateOptions(ensemble="full-orchestra"))
    harp = [p.label for p in result.ensemble.parts].index("Harp")
    bars = {p.time // 1920 for p in result.placed if p.part == harp}
    assert bars == {0, 1}
    figure_parts = {p.part for p in result.placed if p.source >= 0 and p.role == "figure"}
    assert figure_parts and harp not in figure_parts  # the figure itself stays in the strings
