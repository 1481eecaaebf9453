"""Folding same-name tracks into one with program changes."""

from __future__ import annotations

import symusic

from scorefarm.symbolic.score_io import _read_chunks, _track_events, score_to_bytes
from scorefarm.symbolic.smf_tracks import merge_named_tracks


def _score() -> symusic.Score:
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 100.0))
    arco = symusic.Track("Violins I", 48, False)
    pizz = symusic.Track("Violins I", 45, False)
    other = symusic.Track("Cellos", 48, False)
    for k, pitch in enumerate([67, 69, 71, 72]):
        (pizz if k in (1, 2) else arco).notes.append(symusic.Note(k * 480, 400, pitch, 80))
        other.notes.append(symusic.Note(k * 480, 480, pitch - 24, 70))
    arco.controls.append(symusic.ControlChange(0, 1, 64))
    score.tracks.extend([arco, pizz, other])
    return score


def test_same_name_tracks_become_one_with_program_changes():
    data = merge_named_tracks(score_to_bytes(_score()))
    _, _, bodies = _read_chunks(data, "t")
    assert len(bodies) == 3  # conductor, Violins I, Cellos
    events = list(_track_events(bodies[1], "t"))
    programs = [(tick, raw[1]) for tick, raw in events if 0xC0 <= raw[0] < 0xD0]
    assert programs == [(0, 48), (480, 45), (1440, 48)]
    channels = {raw[0] & 0x0F for _, raw in events if 0x80 <= raw[0] < 0xF0}
    assert len(channels) == 1
    (channel,) = channels
    assert any(raw[:2] == bytes([0xB0 | channel, 1]) for _, raw in events)


def test_reading_the_merged_file_splits_it_back_by_program():
    back = symusic.Score.from_midi(merge_named_tracks(score_to_bytes(_score())))
    by_program = {(t.name, t.program): [(n.time, n.pitch) for n in t.notes] for t in back.tracks}
    assert by_program[("Violins I", 48)] == [(0, 67), (1440, 72)]
    assert by_program[("Violins I", 45)] == [(480, 69), (960, 71)]
    assert len(by_program[("Cellos", 48)]) == 4


def test_a_file_without_shared_names_is_unchanged():
    score = _score()
    score.tracks[1].name = "Violins II"
    data = score_to_bytes(score)
    assert merge_named_tracks(data) == data
