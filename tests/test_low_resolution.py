"""Orchestration at a coarse resolution (a sketch handed over at 1 or 2 ticks a quarter)."""

from __future__ import annotations

import pytest
import symusic

from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.arrange.output import EXPRESSION_CC, daw_midi_bytes, orchestra_score


@pytest.mark.parametrize("tpq", [1, 2, 3])
def test_held_melody_notes_swell_at_a_few_ticks_a_quarter(make_score, tpq):
    # a tune of half notes over a chord a beat: held melody notes swell with CC11, which
    # divides a note into sixteenths (a sixteenth is no tick at all here)
    notes = [(2 * k, 2.0, pitch, 90) for k, pitch in enumerate((72, 74, 76, 77, 79, 77, 76, 72))]
    notes += [(beat, 1.0, pitch, 70) for beat in range(16) for pitch in (48, 55)]
    result = orchestrate(make_score(notes, tpq=tpq), OrchestrateOptions(ensemble="chamber"))
    assert {(p.time, p.pitch) for p in result.placed} >= {(2 * k * tpq, n[2]) for k, n in enumerate(notes[:8])}
    for score in (symusic.Score.from_midi(daw_midi_bytes(result)), orchestra_score(result, render=True)):
        assert score.tpq == tpq
        swells = [c for t in score.tracks for c in t.controls if c.number == EXPRESSION_CC and c.value > 100]
        assert swells  # a held melody note's swell, one step a tick
