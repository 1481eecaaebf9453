"""Players of one instrument in score order: the 1st above the 2nd (``doubling``)."""

from __future__ import annotations

import symusic

from scorefarm.arrange.catalogue import load_ensemble
from scorefarm.arrange.doubling import add_doublings
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.arrange.placement import Occupancy, Placed

TUNE = [79, 77, 79, 77, 81, 79, 81, 79, 79, 77, 79, 77, 81, 79, 81, 79]  # G5 F5 ... (the QA sketch's flute)


def _flute_over_piano() -> symusic.Score:
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 100.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    flute = symusic.Track("Flute", 73, False)
    piano = symusic.Track("Piano", 0, False)
    for beat, pitch in enumerate(TUNE):
        flute.notes.append(symusic.Note(beat * 480, 480, pitch, 96))
        for chord_note in ((64, 67, 48) if beat % 4 < 2 else (62, 65, 43)):
            piano.notes.append(symusic.Note(beat * 480, 480, chord_note, 90))
    score.tracks.extend([flute, piano])
    return score


def _pairs(result, first: str, second: str) -> list[tuple[int, int]]:
    """(1st player's pitch, 2nd player's pitch) wherever both sound at once."""
    labels = [p.label for p in result.ensemble.parts]
    a, b = labels.index(first), labels.index(second)
    ones = [n for n in result.placed if n.part == a]
    return [(one.pitch, two.pitch) for two in result.placed if two.part == b for one in ones
            if one.time < two.time + two.duration and two.time < one.time + one.duration]


def test_a_second_player_doubling_the_first_players_tune_takes_the_octave_below():
    result = orchestrate(_flute_over_piano(), OrchestrateOptions(ensemble="full-orchestra"))
    assert any("on Flute 1" in line for line in result.notes)  # the flute's track is seated on Flute 1
    pairs = _pairs(result, "Flute 1", "Flute 2")
    assert len(pairs) >= len(TUNE) // 2  # Flute 2 doubles the tune (the flute rule, from mp)
    assert all(two <= one for one, two in pairs)
    assert sum(two == one - 12 for one, two in pairs) >= len(pairs) // 2  # the rule's octave, turned down


def test_doublings_struck_together_go_top_down_in_score_order():
    # two melody notes struck together on the first violins, a fourth apart: the upper one's
    # octave is out of the flute's comfortable range, so it is doubled at pitch and the lower
    # one at the octave, which lands above it: Flute 1 takes the higher doubling
    ensemble = load_ensemble("full-orchestra")
    labels = [p.label for p in ensemble.parts]
    violins = labels.index("Violins I")
    occupancy, placed = Occupancy(ensemble.parts), []
    for k, pitch in enumerate((86, 81)):
        placed.append(Placed(0, 480, pitch, 100, violins, k, "melody", 3))
        occupancy.take(violins, 0, 480, k)
    lanes = [labels.index(name) for name in ("Violins I", "Violins II", "Violas", "Cellos")]
    add_doublings(ensemble, occupancy, placed, lanes, 480, 4.0, (0, 7))
    flutes = {labels[n.part]: n.pitch for n in placed if labels[n.part].startswith("Flute")}
    assert sorted(flutes.values()) == [86, 93]  # the same two doublings are played ...
    assert flutes["Flute 1"] > flutes["Flute 2"]  # ... the higher by the 1st player
