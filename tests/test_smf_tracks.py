"""Folding same-name tracks into one with program changes."""

from __future__ import annotations

import symusic

from scorefarm.symbolic.score_io import score_to_bytes
from scorefarm.symbolic.smf_read import read_chunks, track_events
from scorefarm.symbolic.smf_tracks import assign_channels, merge_named_tracks


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
    _, _, bodies = read_chunks(data, "t")
    assert len(bodies) == 3  # conductor, Violins I, Cellos
    events = list(track_events(bodies[1], "t"))
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


def test_the_reader_reads_a_merged_instrument_as_one_track_and_split_programs_plays_it():
    from scorefarm.symbolic.score_io import load_score_bytes_and_programs
    from scorefarm.symbolic.smf_tracks import split_programs

    data = merge_named_tracks(score_to_bytes(_score()))
    score, programs = load_score_bytes_and_programs(data, "daw.mid")
    assert [(t.name, t.program, t.note_num()) for t in score.tracks] == [("Violins I", 48, 4), ("Cellos", 48, 4)]
    assert programs == {0: [(480, 45), (1440, 48)]}
    played = split_programs(score, programs)
    by_program = {(t.name, t.program): [(n.time, n.pitch) for n in t.notes] for t in played.tracks}
    assert by_program == {(t.name, t.program): [(n.time, n.pitch) for n in t.notes]
                          for t in symusic.Score.from_midi(data).tracks}
    pizz = next(t for t in played.tracks if t.program == 45)
    assert [(c.time, c.number, c.value) for c in pizz.controls] == [(0, 1, 64)]  # the arco's CC1 as well


def test_a_file_without_shared_names_is_unchanged():
    score = _score()
    score.tracks[1].name = "Violins II"
    data = score_to_bytes(score)
    assert merge_named_tracks(data) == data


def _tracks_of(data: bytes) -> list[dict]:
    """Per track after the conductor: name, channels, programs, notes, MIDI port."""
    _, _, bodies = read_chunks(data, "t")
    out = []
    for body in bodies[1:]:
        events = list(track_events(body, "t"))
        out.append({
            "name": next(raw[3:].decode() for _, raw in events if raw[:2] == b"\xff\x03"),
            "channels": {raw[0] & 0x0F for _, raw in events if 0x80 <= raw[0] < 0xF0},
            "programs": {raw[1] for _, raw in events if 0xC0 <= raw[0] < 0xD0},
            "notes": sum(1 for _, raw in events if raw[0] & 0xF0 == 0x90 and raw[2]),
            "port": next((raw[3] for _, raw in events if raw[:3] == b"\xff\x21\x01"), 0),
        })
    return out


def _ensemble(programs: list[int], empty: set[int] = frozenset(), drums: bool = False) -> symusic.Score:
    score = symusic.Score(480)
    for k, program in enumerate(programs):
        track = symusic.Track(f"Part {k}", program, False)
        if k not in empty:
            track.notes.append(symusic.Note(0, 480, 60 + k % 12, 80))
            track.controls.append(symusic.ControlChange(0, 11, 100 - k))
        score.tracks.append(track)
    if drums:
        kit = symusic.Track("Drums", 0, True)
        kit.notes.append(symusic.Note(0, 120, 38, 90))
        score.tracks.append(kit)
    return score


def test_every_sounding_part_gets_its_own_channel_before_empty_ones():
    # 12 sounding parts and 6 empty ones (symusic alone would wrap them onto shared channels)
    programs = [73, 68, 71, 70, 60, 56, 57, 58, 47, 46, 48, 42, 9, 10, 11, 12, 13, 14]
    data = assign_channels(score_to_bytes(_ensemble(programs, empty=set(range(12, 18)), drums=True)))
    tracks = _tracks_of(data)
    sounding = [t for t in tracks if t["notes"] and t["name"] != "Drums"]
    assert all(len(t["channels"]) == 1 and 9 not in t["channels"] for t in sounding)
    assert len({(t["port"], *t["channels"]) for t in sounding}) == len(sounding) == 12
    drums = next(t for t in tracks if t["name"] == "Drums")
    assert drums["channels"] == {9}
    # no empty part's program change lands on a channel a sounding part plays on
    taken = {(t["port"], *t["channels"]) for t in sounding}
    for t in tracks:
        if not t["notes"]:
            assert (t["port"], *t["channels"]) not in taken
    back = symusic.Score.from_midi(data)  # still a file symusic reads (it skips empty tracks), programs intact
    assert sorted(t.program for t in back.tracks if not t.is_drum) == sorted(programs[:12])


def test_past_fifteen_parts_same_program_parts_share_and_the_rest_take_a_second_port():
    # 18 sounding parts: two pairs share a program (flutes, oboes), the rest all differ
    programs = [73, 73, 68, 68] + list(range(14))
    tracks = _tracks_of(assign_channels(score_to_bytes(_ensemble(programs))))
    assert tracks[0]["channels"] == tracks[1]["channels"] and tracks[0]["port"] == tracks[1]["port"] == 0
    assert tracks[2]["channels"] == tracks[3]["channels"]
    where = [(t["port"], *t["channels"]) for t in tracks]
    for a in range(len(tracks)):  # a channel never carries two different programs
        for b in range(a):
            if where[a] == where[b]:
                assert tracks[a]["programs"] == tracks[b]["programs"]
    assert max(t["port"] for t in tracks) == 1
    assert all(9 not in t["channels"] for t in tracks)


def test_a_file_whose_channels_are_already_apart_is_unchanged():
    data = score_to_bytes(_ensemble([48, 42, 73]))
    assert assign_channels(data) == data
