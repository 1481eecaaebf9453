"""A doubling keeps one octave a phrase (``doubling._octave_plan``): the octave is chosen for
the doubled line's phrases, not note by note, so the doubling does not zigzag by octaves as
its notes leave and enter the instrument's comfortable range; where the line must change
octave, it does so at a rest."""

from __future__ import annotations

from scorefarm.arrange.doubling import NEW_PHRASE, SWITCH, _cheapest_shifts
from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate

# a tune at ff climbing to B flat 5 (over the trumpet's comfortable F5), a rest of two beats,
# then a phrase from middle C (the trumpet's octave down would fall under its E3)
HIGH = [72, 74, 76, 79, 81, 79, 76, 74, 72, 74, 76, 79, 81, 82, 81, 79]
LOW = [60, 62, 64, 65, 67, 65, 64, 62]


def _tune(make_score):
    notes = [(beat, 0.95, pitch, 112) for beat, pitch in enumerate(HIGH)]
    notes += [(len(HIGH) + 2 + beat, 0.95, pitch, 112) for beat, pitch in enumerate(LOW)]
    return make_score(notes)


def _offsets(result, label: str) -> list[tuple[int, int]]:
    """(beat, doubling's pitch less the doubled note's) of the melody doublings on ``label``."""
    part = [p.label for p in result.ensemble.parts].index(label)
    return sorted((n.time // 480, n.pitch - n.doubles.pitch) for n in result.placed
                  if n.part == part and n.doubles is not None and n.doubles.role == "melody")


def test_a_trumpet_doubles_a_phrase_at_one_octave(make_score):
    result = orchestrate(_tune(make_score), OrchestrateOptions(ensemble="full-orchestra"))
    trumpet = dict(_offsets(result, "Trumpet 1"))
    # before: unison up to E5, G5 to B flat 5 an octave down, then unison again (C6 G5 E6 ...
    # became C5 G4 E5: the tune's steps turned into sevenths)
    assert [trumpet[beat] for beat in range(len(HIGH))] == [-12] * len(HIGH)
    low = range(len(HIGH) + 2, len(HIGH) + 2 + len(LOW))
    assert [trumpet[beat] for beat in low] == [0] * len(LOW)  # the change of octave at the rest
    flute = dict(_offsets(result, "Flute 1"))
    assert set(flute.values()) == {12} and len(flute) == len(HIGH) + len(LOW)  # before: B flat 5 at unison


def test_a_change_of_octave_waits_for_the_rest():
    # per onset, the cost of (shift 0, shift 1): the first two notes only shift 0 doubles, the
    # third lies in the extreme register at shift 0, from the fourth (a new phrase) only shift 1
    # doubles
    costs = [[0, 4.05], [0, 4.05], [1, 0.05], [4, 0.05], [4, 0.05]]
    assert _cheapest_shifts(costs, [False, False, False, True, False]) == [0, 0, 0, 1, 1]
    # without the rest the change comes where the line leaves the comfortable range
    assert _cheapest_shifts(costs, [False] * 5) == [0, 0, 1, 1, 1]
    assert NEW_PHRASE < SWITCH
