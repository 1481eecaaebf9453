"""Key signatures in the MusicXML score as engravers write them: a transposed part never in
seven sharps or flats (concert G-sharp minor is B-flat minor for a B-flat clarinet, not
A-sharp minor), six on the concert key's side, and the concert parts in the key the sketch
spells (A-flat minor stays seven flats)."""

from __future__ import annotations

import music21
import pytest

from scorefarm.arrange.notation import musicxml_bytes
from scorefarm.arrange.notation_keys import written_fifths
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate

B_FLAT, F, E_FLAT, A, G = -2, -7, -9, -3, -5  # sounding = written + transposition


@pytest.mark.parametrize("concert, mode, transposition, written", [
    (5, "minor", B_FLAT, -5),  # G-sharp minor: B-flat minor, not A-sharp minor (7 sharps, G double-sharp)
    (3, "minor", B_FLAT, 5),  # F-sharp minor: G-sharp minor
    (4, "major", B_FLAT, 6),  # E major: F-sharp major, on the concert key's side, not G-flat major
    (5, "major", B_FLAT, -5),  # B major: D-flat major, not C-sharp major
    (6, "major", B_FLAT, -4),  # F-sharp major: A-flat major, not G-sharp major (8 sharps)
    (5, "major", F, 6),  # B major for the horn: F-sharp major
    (6, "minor", F, -5),  # D-sharp minor for the horn: B-flat minor, not A-sharp minor
    (4, "minor", B_FLAT, -6),  # C-sharp minor: E-flat minor, not D-sharp minor (leading note C double-sharp)
    (4, "major", E_FLAT, -5),  # E major for an alto saxophone: D-flat major, not C-sharp major
    (-4, "minor", A, 5),  # F minor for an A clarinet: G-sharp minor, not A-flat minor (7 flats)
    (-5, "major", A, 4),  # D-flat major for an A clarinet: E major, not F-flat major
    (0, "major", G, -1),  # C major for an alto flute in G: F major
    (-6, "minor", F, -5),  # E-flat minor for the horn: B-flat minor
    (-7, "minor", 0, -7),  # a concert part writes the sketch's own signature
    (7, "major", -12, 7),  # and so does one an octave from it (a double bass)
    (6, "major", 12, 6),
])
def test_a_transposed_key_signature_has_at_most_six_sharps_or_flats(concert, mode, transposition, written):
    assert written_fifths(concert, mode, transposition) == written


# every pitch class once, a beat each, in each key: C4-B4 sounding
CHROMATIC = list(range(60, 72))


def _chromatic_in_keys(make_score, signatures):
    """A chamber orchestration of a chord sketch under ``signatures`` ((bar, sharps, minor)),
    the flute (concert), clarinet (B-flat) and horn (F) playing every pitch class in each
    key's first twelve beats. Returns (result, parsed score, {instrument key: written pitches})."""
    import symusic

    from scorefarm.arrange.placement import Placed

    bars = 4 * len(signatures)
    sketch = make_score([(4 * bar + beat, 0.95, pitch, 80) for bar in range(bars) for beat in range(4)
                         for pitch in (52, 59, 64)])
    for bar, sharps, minor in signatures:
        sketch.key_signatures.append(symusic.KeySignature(bar * 4 * 480, sharps, int(minor)))
    result = orchestrate(sketch, OrchestrateOptions(ensemble="chamber"))
    parts = {p.instrument.key: i for i, p in enumerate(result.ensemble.parts)}
    tested = {"flute": 12, "clarinet": 0, "horn": -12}
    result.placed = [p for p in result.placed if p.part not in {parts[k] for k in tested}]
    for bar, _, _ in signatures:
        for beat, pitch in enumerate(CHROMATIC):
            for key, octave in tested.items():
                result.placed.append(Placed((bar * 4 + beat) * 480, 480, pitch + octave, 80, parts[key], -1,
                                            "melody", 3))
    score = music21.converter.parseData(musicxml_bytes(result).decode("utf-8"), format="musicxml")
    labels = [p.label for p in result.ensemble.parts]
    staves = {key: next(s for s in score.parts if s.partName == labels[parts[key]]) for key in tested}
    return staves


def _keys(staff):
    return [(k.measureNumber, k.sharps) for k in staff.recurse().getElementsByClass(music21.key.KeySignature)]


def _names(staff, first_bar):
    """The written pitch names of the twelve beats from ``first_bar``."""
    notes = [n for n in staff.recurse().notes if first_bar <= n.measureNumber < first_bar + 3]
    return [n.pitch.name for n in notes]


def test_a_key_change_into_a_sharp_minor_key_is_written_without_double_sharps_in_the_transposed_parts(make_score):
    # E major, then G-sharp minor from bar 5: the clarinet writes F-sharp major, then B-flat
    # minor (not A-sharp minor, whose leading note is G double-sharp); the horn B major, then
    # E-flat minor (not D-sharp minor, leading note C double-sharp)
    staves = _chromatic_in_keys(make_score, [(0, 4, False), (4, 5, True)])
    assert _keys(staves["flute"]) == [(1, 4), (5, 5)]
    assert _keys(staves["clarinet"]) == [(1, 6), (5, -5)]
    assert _keys(staves["horn"]) == [(1, 5), (5, -6)]
    flute = _names(staves["flute"], 5)
    assert flute[7] == "F##"  # the concert parts keep G-sharp minor's leading note
    # each transposed name is the concert one moved: up a diminished third (G-sharp to B-flat),
    # a diminished sixth (G-sharp to E-flat): concert F double-sharp is the clarinet's A, the horn's D
    assert _names(staves["clarinet"], 5) == [music21.pitch.Pitch(n).transpose("d3").name for n in flute]
    assert _names(staves["horn"], 5) == [music21.pitch.Pitch(n).transpose("d6").name for n in flute]
    for key in ("clarinet", "horn"):
        assert not [n for n in _names(staves[key], 5) if "##" in n or "--" in n], key
    # in E major the parts read the concert names moved up a tone and a fifth
    flute = _names(staves["flute"], 1)
    assert _names(staves["clarinet"], 1) == [music21.pitch.Pitch(n).transpose("M2").name for n in flute]
    assert _names(staves["horn"], 1) == [music21.pitch.Pitch(n).transpose("P5").name for n in flute]


def test_the_concert_parts_keep_the_sketchs_spelling_of_its_key(make_score):
    # A-flat minor (seven flats) was written G-sharp minor in every concert part, its leading
    # note G as F double-sharp; the B-flat clarinet writes B-flat minor, the horn E-flat minor
    staves = _chromatic_in_keys(make_score, [(0, -7, True)])
    assert _keys(staves["flute"]) == [(1, -7)]
    assert _keys(staves["clarinet"]) == [(1, -5)]
    assert _keys(staves["horn"]) == [(1, -6)]
    flute = _names(staves["flute"], 1)
    assert flute[7] == "G" and flute[8] == "A-" and not [n for n in flute if "##" in n or "--" in n]
    assert _names(staves["clarinet"], 1) == [music21.pitch.Pitch(n).transpose("M2").name for n in flute]
