"""Orchestrate a piano reduction for an ensemble.

The reduction's pitched notes are separated into four voices by the learned model
(``separate``: 0 = melody, 1 and 2 = inner voices, 3 = bass). Each voice has a lane:
the ensemble's main section (strings where there are strings) seated top to bottom.
Every source note goes to its lane's part when that part can play it (professional
range, notes at once), else to the nearest part that can, else it is moved by
octaves into the nearest range and reported. That is the whole of ``strict`` mode:
each source note on exactly one instrument, nothing added.

A sketch on several tracks says more than a piano reduction, and three things are read
from its tracks: a track written for an instrument the ensemble has is played by that
instrument's parts, and every line stays on one part (``seating``: the separator alone
would hand a horn tune under a string pad from part to part, and trumpet stabs to the
violas); a tune with a track of its own stays the melody for as long as it plays
(``lanes.melody_track_leads``); and each note's dynamic comes from its own track's
velocities (``dynamic_levels``), so loud brass stays loud over soft strings. A single
pitched track is orchestrated as a reduction.

Without ``strict`` the texture follows the dynamics, as orchestration manuals teach
(Adler, *The Study of Orchestration*, ch. on scoring for full orchestra): the bass in
cellos and basses an octave apart, the melody doubled in octaves by flutes and
oboes from *mp* and by trumpets and horns from *f*, sustained inner notes held by
horns, pads or clarinets, arpeggiated figures doubled by the harp when it is quiet.
Doublings are skipped where an instrument cannot play them (and on the parts a sketch's
track was seated on, which play that track alone, doubling only its notes they could not
play: a bass line's notes under the cello's C, played by the basses, an octave up in the
cellos); source notes never are. The lanes are
first read as an orchestrator reads a piano part: a note sounding alone carries the melody
(``lanes.lone_notes_lead``), where the tune rests for a moment the melody rests with it
rather than take up the left hand's octaves and chords (``lanes.tune_rests``), and the left
hand's break played alone (a rag's run up from the bass) is the bass's line
(``lanes.left_hand_breaks``).
Then ``articulate`` chooses articulations and writes the CC1/CC11 dynamics.

A grace note (a note of no length, as music21 writes one) is written before the note it
leads to, on every part that plays that note (``graces``).

The sketch's drum-kit notes go to the ensemble's percussion parts by family (kick to
the bass drum, snare to the snare drum, crashes to the cymbals: ``percussion``), keeping
their GM sounds; hi-hats, rides and whatever else no part plays stay on the kit's own
track.

This module reads the sketch and runs the stages; each source note is put on a part by
``placement`` (ranges, notes at once, held notes cut).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import symusic

from scorefarm.errors import ScoreError
from scorefarm.symbolic.metre import counting_signature_at, pickup_of
from scorefarm.symbolic.voices import bar_starts_of, beat_length, score_signatures

from .catalogue import Ensemble, load_ensemble
from .dynamics import dynamic_levels
from .graces import Grace, place_graces
from .lanes import left_hand_breaks, lone_notes_lead, melody_line, melody_track_leads, tune_rests
from .percussion import drum_report, percussion_notes, route_drums
from .placement import Occupancy, Placed, one_note_per_pitch, place_sources, placement_report
from .seating import Seat, seat_tracks, seating_report

# importers outside arrange/orchestrate.py's split read these names here: doubling, notation
__all__ = ["LANES", "OrchestrateOptions", "Orchestration", "Placed", "bar_lines", "bar_quarters", "orchestrate",
           "percussion_notes", "reduction_key"]

LANES = ("melody", "upper", "lower", "bass")
_MAIN_SECTIONS = ("strings", "choir", "keys", "woodwinds", "brass", "synths")


@dataclass(frozen=True)
class OrchestrateOptions:
    ensemble: str = "full-orchestra"
    strict: bool = False
    ensemble_files: tuple[str, ...] = ()


@dataclass
class Orchestration:
    ensemble: Ensemble
    source: symusic.Score  # the reduction as read (tempo map, metre, key signatures)
    source_notes: np.ndarray  # (n, 4) int64: time, duration, pitch, velocity
    track_of_source: np.ndarray  # int16 per source note: its track's index in ``source.tracks``
    lane_of_source: np.ndarray  # int8 per source note: the separated voice
    part_of_source: np.ndarray  # int16 per source note: the part that plays it
    placed: list[Placed]
    drums: list[symusic.core.TrackTick]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    graces: list[Grace] = field(default_factory=list)  # grace notes before the placed notes they lead to


def _collect(score: symusic.Score) -> tuple[np.ndarray, np.ndarray, list, int]:
    """The pitched notes (time, duration, pitch, velocity) with each track's sustain pedal
    applied, each note's track index, the drum tracks, and how many notes the pedal
    lengthened."""
    rows, owners, drums, lengthened = [], [], [], 0
    for index, track in enumerate(score.tracks):
        if track.is_drum:
            if track.note_num():
                drums.append(track.copy())
            continue
        if track.note_num():
            a = track.notes.numpy()
            row = np.stack([a["time"], a["duration"], a["pitch"], a["velocity"]], axis=1).astype(np.int64)
            row = row[row[:, 1] > 0]  # a grace note of no length (``score_io``): ``graces`` places it
            lengthened += _apply_sustain(row, track.controls.numpy())
            rows.append(row)
            owners.append(np.full(len(row), index, np.int16))
    notes = np.concatenate(rows) if rows else np.zeros((0, 4), np.int64)
    tracks = np.concatenate(owners) if owners else np.zeros(0, np.int16)
    order = np.lexsort((-notes[:, 2], notes[:, 0])) if len(notes) else np.zeros(0, np.int64)
    return notes[order], tracks[order], drums, lengthened


def _apply_sustain(notes: np.ndarray, controls: dict) -> int:
    """Lengthen, in place, the notes of one track whose key is released while its sustain
    pedal (CC64 >= 64) is down: each sounds until the pedal is released, but not past the
    next onset of its pitch (a re-struck key cuts it). A pedal never released holds to the
    end of the track's last note. Returns how many notes were lengthened."""
    pedal = controls["number"] == 64
    if not pedal.any():
        return 0
    order = np.argsort(controls["time"][pedal], kind="stable")
    times = controls["time"][pedal][order].astype(np.int64)
    down = controls["value"][pedal][order] >= 64
    was_down = np.concatenate([[False], down[:-1]])
    presses, lifts = times[down & ~was_down], times[~down & was_down]
    if not len(presses):
        return 0
    releases = notes[:, 0] + notes[:, 1]
    if len(lifts) < len(presses):
        lifts = np.append(lifts, max(int(releases.max()), int(presses[-1])))
    held = np.searchsorted(presses, releases, side="right") - 1
    lift = np.where(held >= 0, lifts[np.maximum(held, 0)], 0)
    sustained = (held >= 0) & (releases < lift)
    # the next onset of the same pitch, found in the notes sorted by pitch then time
    span = int(releases.max()) + 2
    keys = np.sort(notes[:, 2] * span + notes[:, 0])
    after = np.searchsorted(keys, notes[:, 2] * span + notes[:, 0], side="right")
    next_key = keys[np.minimum(after, len(keys) - 1)]
    restruck = (after < len(keys)) & (next_key // span == notes[:, 2])
    next_onset = np.where(restruck, next_key - notes[:, 2] * span, lift)
    ends = np.where(sustained, np.maximum(releases, np.minimum(lift, next_onset)), releases)
    notes[:, 1] = ends - notes[:, 0]
    return int((ends > releases).sum())


def reduction_key(notes: np.ndarray) -> tuple[int, str]:
    """The key of the whole reduction (rows time, duration, pitch, velocity): the
    project's key finder over the duration-weighted pitch classes; C major when empty."""
    from scorefarm.symbolic.keyfinding import best_key

    if not len(notes):
        return 0, "major"
    return best_key(np.bincount(notes[:, 2] % 12, weights=notes[:, 1], minlength=12).astype(np.float64))


def _lanes(ensemble: Ensemble) -> list[int]:
    """The part index of each of the four voices, from the ensemble's main section."""
    pitched = [i for i, p in enumerate(ensemble.parts) if not p.instrument.unpitched]
    if not pitched:
        raise ScoreError(f"ensemble {ensemble.name!r} has no pitched instrument to orchestrate for",
                         ensemble.source)
    for section in _MAIN_SECTIONS:
        main = [i for i in pitched if ensemble.parts[i].instrument.section == section]
        if main:
            break
    else:  # pitched percussion alone (a glockenspiel, a marimba pair): they are the main section
        main = list(pitched)
    main.sort(key=lambda i: -ensemble.parts[i].centre)
    if len(main) > 4:
        # The bass is led by the lowest part sounding at its written octave (the cellos, not
        # the basses that double them an octave down; a tuba, not a horn), the three upper
        # voices by the highest parts above it (the fourth part from the top, violas II in an
        # ensemble with divided violas, would take the bass otherwise).
        at_pitch = [i for i in main if not ensemble.parts[i].instrument.sounds_octave_down]
        above = main[:main.index(at_pitch[-1])] if at_pitch else []
        if len(above) >= 3:
            return above[:3] + [at_pitch[-1]]
    if len(main) >= 4:
        return main[:4]
    return [main[round(k * (len(main) - 1) / 3)] for k in range(4)]


def _separate_pinned(separate, notes: np.ndarray, tpq: int, beats_per_bar: float):
    """The separation on one torch thread: float sums in another order (2 threads
    in this process, 1 in a Ray worker) could tip a near-tie and break the farm's
    byte-identical outputs. One thread is fast enough (100 bars in ~0.2 s)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return separate([tuple(map(int, row[:3])) for row in notes], tpq, beats_per_bar=beats_per_bar)
    finally:
        torch.set_num_threads(threads)



def _one_bass_line(ensemble: Ensemble, lanes: np.ndarray, tracks: np.ndarray, seats: dict[int, Seat],
                   lane_parts: list[int]) -> np.ndarray:
    """Where a line without an instrument of its own sits on the bass lane's part (the
    cellos, whose line the basses double an octave below), that line is the bass: the
    notes of the other such lines, seated on the parts above or on another section's
    (``seating._off_the_strings``: a chamber ensemble's horn), that were separated as the
    bass take the lower inner voice. (Five lines struck together fill four voices: the
    separator may put two in the bass, and the basses would double the violas' line too.)"""
    bass = lane_parts[3]
    if not any(seat.parts == (bass,) and not seat.instrument for seat in seats.values()):
        return lanes
    section = ensemble.parts[bass].instrument.section
    above = [t for t, seat in seats.items() if not seat.instrument and seat.parts[0] != bass
             and (seat.parts[0] in lane_parts or ensemble.parts[seat.parts[0]].instrument.section != section)]
    out = lanes.copy()
    out[np.isin(tracks, above) & (lanes == 3)] = 2
    return out


def _roles(notes: np.ndarray, lanes: np.ndarray, tpq: int, beats_per_bar: float) -> list[str]:
    """melody and bass as separated; an inner note is a 'sustained' chord tone when it
    lasts two beats or more, part of a 'figure' when its voice moves in notes of half
    a beat or less through the bar, else the inner voice it was separated into."""
    roles = [LANES[v] for v in lanes]
    bar = tpq * beats_per_bar
    for voice in (1, 2):
        idx = np.flatnonzero(lanes == voice)
        if not len(idx):
            continue
        bars = (notes[idx, 0] // bar).astype(np.int64)
        for b in np.unique(bars):
            members = idx[bars == b]
            short = np.median(notes[members, 1]) <= tpq / 2 and len(members) >= 4
            for i in members:
                if short:
                    roles[i] = "figure"
                elif notes[i, 1] >= 2 * tpq:
                    roles[i] = "sustained"
    return roles


def orchestrate(score: symusic.Score, options: OrchestrateOptions = OrchestrateOptions(),
                name: str | None = None) -> Orchestration:
    """Place every pitched note of ``score`` on the ensemble's instruments."""
    from .separate import separate

    started = time.perf_counter()
    ensemble = load_ensemble(options.ensemble, options.ensemble_files)
    if not isinstance(score, symusic.core.ScoreTick):
        score = score.to("tick")
    tpq = score.tpq
    beats_per_bar = bar_quarters(score)
    notes, tracks, drums, sustained = _collect(score)
    report: list[str] = [f"sustain pedal applied: {sustained} notes lengthened"] if sustained else []
    if not len(notes):
        graces = sum(t.note_num() for t in score.tracks if not t.is_drum)  # all of no length (``_collect``)
        raise ScoreError("has only drum notes: nothing pitched to orchestrate" if drums
                         else "has no notes with a length to orchestrate" if graces
                         else "has no notes to orchestrate", name)
    separation = _separate_pinned(separate, notes, tpq, beats_per_bar)
    separated = separation.labels.astype(np.int8)
    tune = melody_line(notes, tracks, separated, tpq)
    lanes = melody_track_leads(notes, tracks, separated, tune)
    if not options.strict:
        lanes = lone_notes_lead(notes, lanes)
        beat = beat_length(tpq, *counting_signature_at(score_signatures(score), tpq, int(notes[0, 0])))
        fixed = tracks == tune if tune is not None else np.zeros(len(notes), bool)
        lanes = tune_rests(notes, lanes, tpq, round(tpq * beats_per_bar), fixed, beat=beat)
        lanes = left_hand_breaks(notes, lanes, tracks, tpq, round(tpq * beats_per_bar), fixed)
    levels = dynamic_levels(notes, tpq, beats_per_bar, tracks)
    lane_parts = _lanes(ensemble)
    names = [track.name for track in score.tracks]
    seats = seat_tracks(ensemble, names, [track.program for track in score.tracks], notes, tracks, lanes,
                        lane_parts, tpq)
    lanes = _one_bass_line(ensemble, lanes, tracks, seats, lane_parts)
    roles = _roles(notes, lanes, tpq, beats_per_bar)
    occupancy = Occupancy(ensemble.parts)
    seat_of_note = [seats.get(t) for t in tracks.tolist()]
    placed, part_of_source, counts = place_sources(
        ensemble, occupancy, notes, seat_of_note, [lane_parts[v] for v in lanes], roles, levels)
    report += seating_report(ensemble, names, seats, counts.pop("unseated"))
    report += placement_report(counts, ensemble.name)
    if not options.strict:
        from .doubling import add_doublings

        # the parts a sketch's track sits on play that track and nothing else: its instrument's
        # parts, and the one part a line without an instrument of its own keeps; they double
        # only the track's notes played off them (the cellos a bass line's notes under their C)
        own = frozenset(i for seat in seats.values() for i in seat.parts)
        away = {i: seat.parts for i, seat in enumerate(seat_of_note)
                if seat is not None and part_of_source[i] not in seat.parts}
        report += add_doublings(ensemble, occupancy, placed, lane_parts, tpq, beats_per_bar, _key_pcs(notes), own,
                                bar_lines(score), away)
    placed, unisons = one_note_per_pitch(placed)
    if unisons:
        report.append(f"{unisons} notes on an instrument already sounding their pitch: merged when struck "
                      "together, else the held one cut")
    from .articulate import articulate

    articulate(ensemble, placed, score)
    graces, said = place_graces(ensemble, score, notes, tracks, part_of_source, placed)
    report += said
    if drums:
        on_parts, drums = route_drums(ensemble, drums, tpq, beats_per_bar)
        placed += on_parts
        report.append(drum_report(ensemble, on_parts, drums))
    orchestration = Orchestration(ensemble, score, notes, tracks, lanes, part_of_source, placed, drums, report)
    orchestration.graces = graces
    orchestration.seconds = time.perf_counter() - started
    return orchestration


def bar_lines(score: symusic.Score) -> list[int]:
    """Every bar line of ``score`` in ticks, through its time signatures (a pickup
    written as a short bar is a bar of its own)."""
    return bar_starts_of(score_signatures(score), score.tpq, score.end() + 1)


def bar_quarters(score: symusic.Score) -> float:
    """The length in quarters of the bars that take up most of the score (4 without a time
    signature): a pickup written as a bar of 1/4 does not make every bar a quarter long."""
    lines = bar_lines(score)
    if pickup_of(score_signatures(score), score.tpq) is not None:
        lines = lines[1:]  # a pickup is no bar's length
    lengths = Counter(b - a for a, b in zip(lines, lines[1:]))
    if not lengths:
        numerator, denominator = counting_signature_at(score_signatures(score), score.tpq, 0)
        return numerator * 4 / denominator
    most = max(lengths.items(), key=lambda kv: (kv[0] * kv[1], kv[0]))[0]
    return most / score.tpq


def _key_pcs(notes: np.ndarray) -> tuple[int, int]:
    """(tonic, dominant) pitch classes of the whole reduction (``reduction_key``):
    timpani are tuned to them."""
    tonic, _ = reduction_key(notes)
    return tonic, (tonic + 7) % 12
