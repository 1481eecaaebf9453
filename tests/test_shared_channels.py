"""Parts sharing a MIDI channel: a unison is written once on the channel (``shared_channels``)."""

from __future__ import annotations

from collections import Counter

import symusic

from scorefarm.arrange.orchestrate import OrchestrateOptions, orchestrate
from scorefarm.arrange.output import daw_midi_bytes, orchestra_score
from scorefarm.arrange.shared_channels import one_note_per_key
from scorefarm.symbolic.score_io import score_to_bytes
from scorefarm.symbolic.smf_read import chunk, encode_track, header, read_chunks, track_events
from scorefarm.symbolic.smf_tracks import assign_channels, merge_named_tracks

CHORDS = [(72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (72, 67, 64, 48),
          (74, 69, 65, 50), (74, 67, 65, 55), (72, 67, 64, 48), (71, 67, 62, 43)]


def _notes_on_channels(data: bytes) -> dict[tuple[int, int, int], list[tuple[int, int, int, int]]]:
    """(port, channel, key) -> [(on, off, velocity, track)], as a MIDI player meets them."""
    _, _, bodies = read_chunks(data, "test")
    found: dict = {}
    for index, body in enumerate(bodies):
        port, pending = 0, {}
        for tick, raw in track_events(body, "test"):
            if raw[:3] == b"\xff\x21\x01":
                port = raw[3]
            if raw[0] & 0xF0 not in (0x80, 0x90):
                continue
            key = (port, raw[0] & 0x0F, raw[1])
            if raw[0] & 0xF0 == 0x90 and raw[2]:
                pending.setdefault(key, []).append((tick, raw[2]))
            elif pending.get(key):
                on, velocity = pending[key].pop(0)
                found.setdefault(key, []).append((on, tick, velocity, index))
    return found


def _overlaps(data: bytes) -> int:
    """Notes struck while their key already sounds on their channel (a player reading the
    tracks in order at each tick: a lower track's note-on before a higher track's note-off)."""
    count = 0
    for notes in _notes_on_channels(data).values():
        notes.sort(key=lambda n: (n[0], n[3]))
        for k, (on, _, _, track) in enumerate(notes):
            count += any(o < on < f or o == on or (f == on and t > track) for o, f, _, t in notes[:k])
    return count


def _unison_sketch(make_score) -> symusic.Score:
    # loud held chords whose two inner voices meet on one pitch: each is doubled by a clarinet
    # and a horn, so Clarinets 1 and 2 (and Horns 1-2 and 3-4), which share a channel in a
    # full orchestra, play the unison
    notes = []
    for beat, (s, a, _, b) in enumerate(CHORDS * 2):
        notes += [(2 * beat, 2.0, pitch, 112) for pitch in (s, a, a, b)]
    return make_score(notes)


def test_a_unison_of_parts_on_one_channel_is_written_once(make_score):
    result = orchestrate(_unison_sketch(make_score), OrchestrateOptions(ensemble="full-orchestra"))
    labels = [p.label for p in result.ensemble.parts]
    clarinets = {labels.index("Clarinet in B♭ 1"), labels.index("Clarinet in B♭ 2")}
    both = Counter((p.time, p.pitch) for p in result.placed if p.part in clarinets)
    assert sum(n == 2 for n in both.values()) >= 8  # the orchestration has the clarinets in unison
    data = daw_midi_bytes(result)
    channels = {key[:2] for key, notes in _notes_on_channels(data).items() for *_, t in notes
                if t in (1 + labels.index("Clarinet in B♭ 1"), 1 + labels.index("Clarinet in B♭ 2"))}
    assert len(channels) == 1  # they share a channel (more parts sound than there are channels)
    assert _overlaps(data) == 0
    # every pitch each channel sounded before is still sounded, over the same time
    shared = assign_channels(merge_named_tracks(score_to_bytes(orchestra_score(result))))
    assert _overlaps(shared) > 0
    for key, notes in _notes_on_channels(shared).items():
        def covered(found):
            return {t for on, off, _, _ in found for t in range(on, off, 60)}
        assert covered(notes) == covered(_notes_on_channels(data)[key]), key
    # the score and the render keep both players on the unison
    rendered = orchestra_score(result, render=True)
    for part in clarinets:
        track = next(t for t in rendered.tracks if t.name == labels[part])
        assert {(n.time, n.pitch) for n in track.notes} == {(p.time, p.pitch) for p in result.placed if p.part == part}


def _file(tracks: list[tuple[int, list[tuple[int, int, int, int]]]], tpq: int = 480) -> bytes:
    """A format 1 SMF: a conductor track, then one track per (channel, [(on, length, key, velocity)])."""
    score = symusic.Score(tpq)
    for channel, notes in tracks:
        track = symusic.Track(f"ch{channel}", 0, channel == 9)
        track.notes.extend(symusic.Note(on, length, key, velocity) for on, length, key, velocity in notes)
        score.tracks.append(track)
    data = score_to_bytes(score)
    # symusic writes each track on a channel of its own order: move each to the one asked for
    _, _, bodies = read_chunks(data, "test")
    out = [bodies[0]]
    for (channel, _), body in zip(tracks, bodies[1:]):
        events = [(tick, bytes([raw[0] & 0xF0 | channel]) + raw[1:] if 0x80 <= raw[0] < 0xF0 else raw)
                  for tick, raw in track_events(body, "test")]
        end = events[-1][0]
        out.append(encode_track([e for e in events if e[1][:2] != b"\xff\x2f"], end))
    return header(1, len(out), tpq) + b"".join(chunk(b"MTrk", body) for body in out)


def _sorted_notes(data: bytes):
    return {key: sorted(notes) for key, notes in _notes_on_channels(data).items()}


def test_unisons_struck_together_keep_the_longer_note_at_the_louder_velocity():
    data = _file([(2, [(0, 960, 60, 80), (960, 480, 62, 80)]), (2, [(0, 480, 60, 100), (960, 480, 64, 70)])])
    fixed = one_note_per_key(data)
    assert _overlaps(data) == 1 and _overlaps(fixed) == 0
    notes = _sorted_notes(fixed)
    assert notes[(0, 2, 60)] == [(0, 960, 100, 1)]  # the longer, first track's, at the louder velocity
    assert notes[(0, 2, 62)] == [(960, 1440, 80, 1)] and notes[(0, 2, 64)] == [(960, 1440, 70, 2)]


def test_an_entry_under_a_held_note_is_left_out_and_one_past_it_cuts_it():
    held = (2, [(0, 1920, 60, 80)])
    inside = one_note_per_key(_file([held, (2, [(480, 480, 60, 90)])]))
    assert _sorted_notes(inside)[(0, 2, 60)] == [(0, 1920, 80, 1)]
    past = one_note_per_key(_file([held, (2, [(960, 1920, 60, 90)])]))
    assert _sorted_notes(past)[(0, 2, 60)] == [(0, 960, 80, 1), (960, 2880, 90, 2)]


def test_a_note_ending_where_a_lower_track_strikes_its_key_ends_a_tick_early():
    data = _file([(2, [(480, 480, 60, 80)]), (2, [(0, 480, 60, 80)])])
    assert _overlaps(data) == 1  # track 1's note-on is read before track 2's note-off at 480
    fixed = one_note_per_key(data)
    assert _overlaps(fixed) == 0
    assert _sorted_notes(fixed)[(0, 2, 60)] == [(0, 479, 80, 2), (480, 960, 80, 1)]


def test_drum_strokes_are_never_left_out():
    data = _file([(9, [(0, 960, 49, 100)]), (9, [(240, 120, 49, 90)])])
    assert _sorted_notes(one_note_per_key(data))[(0, 9, 49)] == [(0, 240, 100, 1), (240, 960, 90, 2)]


def test_parts_on_channels_of_their_own_are_left_as_they_are():
    data = _file([(2, [(0, 960, 60, 80)]), (3, [(0, 960, 60, 80)]), (2, [(960, 480, 60, 80)])])
    assert one_note_per_key(data) == data
