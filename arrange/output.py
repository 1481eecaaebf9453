"""An orchestration as a MIDI score: for the DAW, and for FluidSynth.

One track per ensemble part in score order, named as the score names it, on the
instrument's General MIDI program; a note whose articulation has its own GM program
(pizzicato, tremolo) sits on a second track of the same name with that program, and
``daw_midi_bytes`` folds those into one track with program changes. Dynamics follow
the common convention of orchestral sample libraries (the keyswitch file names the
sources we read): CC1 crossfades the dynamic layers and follows each part's own
dynamic envelope beat by beat (the velocities of the notes it plays); CC11 is
expression, a volume trim that shapes a held note's swell;
velocity is the attack. General MIDI reads CC1 as vibrato depth, so
the render view leaves CC1 out and plays dynamics with velocity and CC11 alone.
Keyswitch notes for a sample library are added only when asked (they would sound
in General MIDI). Grace notes sound as short notes just before the beat
(``graces.sounding_graces``).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import symusic

from .articulate import gm_rendering
from .graces import sounding_graces

DYNAMICS_CC, EXPRESSION_CC = 1, 11
_SWELL_BEATS = 2  # notes held this long or longer swell with CC11


def _envelope(notes: list, tpq: int) -> tuple[np.ndarray, np.ndarray]:
    """(beat ticks, smoothed velocity per beat) of one part's notes: its own dynamic line,
    so a loud brass part's layer wheel stays up while soft strings' stays down."""
    times = np.asarray([n.time for n in notes], dtype=np.int64)
    velocities = np.asarray([n.velocity for n in notes], dtype=np.float64)
    end = int(max(n.time + n.duration for n in notes)) if notes else tpq
    beats = np.arange(0, end + tpq, tpq, dtype=np.int64)
    if not len(times):
        return beats, np.full(len(beats), 80.0)
    index = np.minimum(times // tpq, len(beats) - 1)
    total = np.bincount(index, weights=velocities, minlength=len(beats))
    count = np.bincount(index, minlength=len(beats)).astype(np.float64)
    kernel = np.ones(5)  # two beats either side; "full" then cut, as "same" pads a piece under 5 beats
    smooth_total = np.convolve(total, kernel)[2:2 + len(total)]
    smooth_count = np.convolve(count, kernel)[2:2 + len(count)]
    velocity = np.divide(smooth_total, smooth_count, out=np.zeros_like(total), where=smooth_count > 0)
    last = velocity[np.argmax(smooth_count > 0)]  # before its first note, the part's first level
    for i in range(len(velocity)):
        if smooth_count[i] > 0:
            last = velocity[i]
        velocity[i] = last  # the last level held through rests
    return beats, velocity


def _cc1_value(velocity: float) -> int:
    # velocity 30 (ppp) .. 120 (fff) onto the dynamic-layer wheel 16 .. 120
    return int(np.clip(round(16 + (velocity - 30) * 104 / 90), 1, 127))


def _dynamics(track, notes: list, beats: np.ndarray, velocity: np.ndarray, tpq: int) -> None:
    first = min(n.time for n in notes)
    last = max(n.time + n.duration for n in notes)
    previous = None
    for tick, v in zip(beats.tolist(), velocity.tolist()):
        if tick + tpq <= first and tick != 0:
            continue
        if tick > last:
            break
        value = _cc1_value(v)
        if previous is None or abs(value - previous) >= 3:
            track.controls.append(symusic.ControlChange(max(0, min(tick, first)) if previous is None else tick,
                                                        DYNAMICS_CC, value))
            previous = value
    _expression(track, notes, tpq)


def _expression(track, notes: list, tpq: int) -> None:
    """CC11 at 100, with a swell (up to 112 at 40% of the note, back to 100) on held
    melody and sustained notes when the part plays nothing else meanwhile."""
    track.controls.append(symusic.ControlChange(0, EXPRESSION_CC, 100))
    spans = sorted((n.time, n.time + n.duration) for n in notes)
    for note in notes:
        if note.role not in ("melody", "sustained") or note.duration < _SWELL_BEATS * tpq:
            continue
        start, end = note.time, note.time + note.duration
        if sum(1 for s, e in spans if s < end and e > start) > 1:
            continue
        steps = max(2, note.duration // max(1, tpq // 4))
        for k in range(1, steps):
            x = k / steps
            rise = x / 0.4 if x <= 0.4 else (1 - x) / 0.6
            track.controls.append(symusic.ControlChange(start + round(x * note.duration), EXPRESSION_CC,
                                                        100 + round(12 * rise)))
        track.controls.append(symusic.ControlChange(end, EXPRESSION_CC, 100))


def orchestra_score(orchestration, *, render: bool = False, keyswitches=None,
                    include_empty: bool = True) -> symusic.Score:
    """The orchestration as a symusic score at sounding pitch.

    ``render``: the FluidSynth view (GM lengths and velocities, no CC1, no empty
    tracks). Otherwise the DAW view: written lengths, CC1 and CC11, every part of
    the ensemble, and keyswitch notes from ``keyswitches`` (a KeyswitchMap)."""
    source = orchestration.source
    tpq = source.tpq
    score = symusic.Score(tpq)
    score.tempos = source.tempos.copy()
    score.time_signatures = source.time_signatures.copy()
    score.key_signatures = source.key_signatures.copy()
    score.markers = source.markers.copy()
    by_part: dict[int, list] = defaultdict(list)
    for note in orchestration.placed:
        by_part[note.part].append(note)
    graces_of: dict[int, list] = defaultdict(list)
    for grace in orchestration.graces:
        graces_of[grace.part].append(grace)
    drums_at = next((i for i, p in enumerate(orchestration.ensemble.parts)
                     if p.instrument.section == "percussion"), len(orchestration.ensemble.parts))
    for index, part in enumerate(orchestration.ensemble.parts):
        if index == drums_at:
            for drum in orchestration.drums:
                score.tracks.append(drum.copy())
        notes = sorted(by_part.get(index, []), key=lambda n: (n.time, -n.pitch))
        if not notes and (render or not include_empty):
            continue
        instrument = part.instrument
        program = part_program(part)
        main = symusic.Track(part.label, program, instrument.unpitched)
        variants: dict[int, symusic.core.TrackTick] = {}

        def track_for(note):
            if note.program < 0 or note.program == program:
                return main
            if note.program not in variants:
                variants[note.program] = symusic.Track(part.label, note.program, instrument.unpitched)
            return variants[note.program]

        graced, starts, ends = sounding_graces(graces_of.get(index, []), notes, source.tempos, tpq)
        lead: dict[int, int] = {}  # id(principal) -> where its first grace sounds
        for time, length, pitch, principal in graced:
            lead[id(principal)] = min(lead.get(id(principal), time), time)
            velocity = gm_rendering(principal, None, tpq)[1] if render else principal.velocity
            track_for(principal).notes.append(symusic.Note(time, length, pitch, velocity))
        onsets = [n.time for n in notes]
        for i, note in enumerate(notes):
            later = next((t for t in onsets[i + 1:] if t > note.time), None)
            duration, vel = gm_rendering(note, later, tpq) if render else (note.duration, note.velocity)
            start = note.time
            if id(note) in starts or id(note) in ends:  # a grace's time taken from it (``graces``)
                start = starts.get(id(note), note.time)
                duration = max(1, min(note.time + duration, ends.get(id(note), note.time + duration)) - start)
            pitch = note.pitch  # an unpitched part's notes are GM drum notes (its family's sounds)
            if instrument.unpitched and not 35 <= pitch <= 81:
                pitch = instrument.gm_drum_note
            track_for(note).notes.append(symusic.Note(start, duration, pitch, vel))
            if keyswitches is not None and not render:
                _keyswitch(main, keyswitches, instrument, note, notes[i - 1] if i else None, tpq,
                           lead.get(id(note), note.time))
        if notes and not instrument.unpitched:  # drums share channel 10: CC1/CC11 would reach the whole kit
            if render:
                _expression(main, notes, tpq)
                for track in variants.values():
                    _expression(track, notes, tpq)
            else:
                _dynamics(main, notes, *_envelope(notes, tpq), tpq)
        score.tracks.append(main)
        for program in sorted(variants):
            score.tracks.append(variants[program])
    if drums_at == len(orchestration.ensemble.parts):
        for drum in orchestration.drums:
            score.tracks.append(drum.copy())
    for track in score.tracks:
        track.notes.sort(key=lambda n: (n.time, n.pitch))
        track.controls.sort(key=lambda c: (c.time, c.number))
    return score


def part_program(part) -> int:
    """A part's GM program: the section patch (String Ensemble 1, Choir Aahs) for a
    section of three or more players where the catalogue names one, else the solo one."""
    if part.players >= 3 and "section" in part.instrument.variants:
        return part.instrument.variants["section"]
    return part.instrument.program


def _keyswitch(track, keyswitches, instrument, note, previous, tpq: int, sounds: int) -> None:
    """Switch the library's articulation just before ``note`` sounds (``sounds``: its
    onset, or its first grace's) when it changes: a short keyswitch note (at the velocity
    the library reads, if it reads one), a controller value, or a program change kept as
    the track's variant."""
    if previous is not None and previous.articulation == note.articulation:
        return
    switch = keyswitches.switch_for(instrument, note.articulation)
    if switch is None:
        return
    at = max(0, sounds - max(1, tpq // 16))
    if keyswitches.kind == "note":
        velocity = keyswitches.velocity_for(instrument, note.articulation) or 1
        track.notes.append(symusic.Note(at, max(1, tpq // 32), switch, velocity))
    elif keyswitches.kind == "cc" and keyswitches.controller is not None:
        track.controls.append(symusic.ControlChange(at, keyswitches.controller, switch))


def daw_midi_bytes(orchestration, *, smpte=None, keyswitches=None) -> bytes:
    """The MIDI file a DAW opens: one named track per instrument in score order, its
    GM program (with program changes for pizzicato and tremolo), CC1 and CC11, each
    sounding part on a channel of its own while there are enough, parts on one program
    sharing one past that (``smf_tracks.assign_channels``), and a unison of parts on one
    channel written once there (``shared_channels.one_note_per_key``)."""
    from scorefarm.symbolic.score_io import score_to_bytes
    from scorefarm.symbolic.smf_tracks import assign_channels, merge_named_tracks

    from .shared_channels import one_note_per_key

    score = orchestra_score(orchestration, keyswitches=keyswitches)
    return one_note_per_key(assign_channels(merge_named_tracks(score_to_bytes(score, smpte=smpte))))


def write_orchestration(source, out_path, *, options=None, musicxml_path=None, keyswitch_library: str = "",
                        keyswitch_files=()) -> "object":
    """Read ``source``, orchestrate it, and write the MIDI (and MusicXML) atomically:
    every output is made in memory first, so a failure writes nothing. With
    ``musicxml_path``, a score too long to write as notation is refused as it is read,
    before the orchestration (``notation.check_notation_bars``)."""
    from pathlib import Path

    from scorefarm.errors import InputError
    from scorefarm.files import write_bytes_atomic
    from scorefarm.symbolic.score_io import load_score

    from .catalogue import keyswitch_maps
    from .orchestrate import OrchestrateOptions, orchestrate

    score = load_score(source)
    if musicxml_path is not None:
        from .notation import check_notation_bars

        check_notation_bars(score, source)
    keyswitches = None
    if keyswitch_library:
        maps = keyswitch_maps(keyswitch_files)
        if keyswitch_library not in maps:
            raise InputError(f"unknown keyswitch library {keyswitch_library!r}; known: {', '.join(sorted(maps))}",
                             None)
        keyswitches = maps[keyswitch_library]
    result = orchestrate(score, options or OrchestrateOptions(), name=str(source))
    outputs = {Path(out_path): daw_midi_bytes(result, keyswitches=keyswitches)}
    if musicxml_path is not None:
        from .notation import musicxml_bytes

        outputs[Path(musicxml_path)] = musicxml_bytes(result, title=Path(source).stem, name=str(source))
    written = []
    try:
        for path, data in outputs.items():
            write_bytes_atomic(path, data)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return result
