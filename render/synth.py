"""FluidSynth stem rendering: one float32 stereo stem per orchestral section.

How: libfluidsynth (through pyfluidsynth's library handle), one pass per section into
a synth with a single stereo output group (``synth.audio-groups`` = 1) and 256 MIDI
channels. Rendering the sections together into 16 output groups was measured slower
than one pass per section (FluidSynth mixes every group on every block; see
benchmarks/bench_stems.py), and per-section passes make a stem the same whether it is
rendered alone (one farm task per stem) or with the others. Each track gets its own
MIDI channel (percussion on channel 10 and every 16th after it, with bank 128), so
controllers, pitch bends and unisons never collide. A section with more than 16
tracks takes extra passes over the same buffer (`fluid_synth_process` adds into it),
counted in `RenderResult.passes`.

A program the SoundFont lacks is stood in for (`fallback_program`), from the
program's own section first. A track is filed under the stem of the preset that
sounds, so when only another section has a stand-in (a flute played by the piano) the
track moves to that stem, and the note in `RenderResult.fallbacks` says so; the
stems a score renders to with a given SoundFont are `score_sections(score, soundfont)`.

Timing: notes, controllers and pitch bends are converted to sample times through the
tempo map (float64, from the MIDI ``mspq`` values; `score.to("second")` agrees within
its float32 precision), sorted deterministically (note-offs, then controllers, then
note-ons at the same sample) and the render is split at those times. FluidSynth applies
events at its 64-frame block boundaries (FLUID_BUFSIZE), so each event is sent at the
boundary nearest its sample: at most 32 frames (0.67 ms at 48 kHz) early or late, the
same on every run. The output is ``last note-off + tail_seconds`` long, to the sample;
a score whose last note ends past ``MAX_RENDER_SECONDS`` is refused before the SoundFont
is loaded or any audio allocated (`check_render_length`).

Determinism: one CPU core, no dynamic sample loading, pinned interpolation, reverb and
chorus (off by default: the mastering chain adds a hall; when on, the section's own
effects units mix into its stem). The SoundFont is loaded once per process and lent to
a fresh synth for every pass, under one lock: the ctypes binding, the synth and that
cache are `fluid`'s; this module plans a score into stems and renders them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Collection

import numpy as np
import symusic

from scorefarm.arrange.sections import SECTION_ORDER, section_for_program, section_for_track
from scorefarm.errors import RenderError, ScoreError, SilentScoreError

from .fluid import _LOCK, DRUM_BANK, MIDI_CHANNELS, _LoadedFont, _loaded_font, _Synth, clear_synth_cache
from .soundfonts import SoundFont

__all__ = [  # clear_synth_cache, DRUM_BANK and MIDI_CHANNELS live in fluid; importers find them here too
    "CHANNEL_BLOCK", "DRUM_BANK", "DRUM_GROUP", "FLUID_BUFSIZE", "MAX_RENDER_SECONDS", "MIDI_CHANNELS",
    "SILENCE_DBFS", "RenderOptions", "RenderResult", "check_render_length", "clear_synth_cache",
    "fallback_program", "render_mix", "render_stems", "score_sections", "tick_seconds",
]

FLUID_BUFSIZE = 64  # FluidSynth's internal block: events take effect on its boundaries
CHANNEL_BLOCK = 16  # channel layout: a section keeps channel % 16 (percussion: 9, i.e. MIDI channel 10)
DRUM_GROUP = 9  # MIDI channel 10
SILENCE_DBFS = -90.0
_CHUNK = 8192  # frames per fluid_synth_process call (bounds the scratch buffer)
_OFF, _CC, _BEND, _ON = 0, 1, 2, 3
_PRIORITY = np.array([0, 1, 1, 2], np.int8)  # note-off < controller = bend < note-on
_BANK_SELECT = (0, 32)  # programs are chosen by the planner, not by bank-select CCs
# The longest score rendered: its last note must end within 30 minutes. A cue lies within
# one reel (its id says so: 1M1 is reel 1, music 1), and a reel runs at most about 22
# minutes (2,000 ft of 35 mm film, 16 frames a foot, at 24 fps); 30 minutes leaves room
# for a long pickup. Every stem is held in memory (float32 stereo: 23 MB a minute at
# 48 kHz, 46 at 96 kHz) and so is the mix while it is mastered: a cue of ~1,000 s peaked
# at 6.7 GB (the bad-input audit), so this bounds a cue near 12 GB, where the 24 hours a
# sketch may span (score_io.MAX_SECONDS) would ask for hundreds of GB and hours of work.
MAX_RENDER_SECONDS = 30 * 60.0


@dataclass(frozen=True)
class RenderOptions:
    """Everything that changes the rendered audio. Stored in every cue manifest."""

    sample_rate: int = 48000
    tail_seconds: float = 2.0
    gain: float = 0.3
    timeout_seconds: float = 600.0
    polyphony: int = 256
    interpolation: int = 4  # FluidSynth FLUID_INTERP_4THORDER (0 none, 1 linear, 4, 7)
    reverb: bool = False  # FluidSynth's own reverb; the mastering chain adds the hall.
    chorus: bool = False  # When on, 16 effects units run (one per stem): costly.

    def __post_init__(self):
        checks = [("sample_rate", 8000 <= self.sample_rate <= 96000, "8000-96000"),
                  ("tail_seconds", 0 <= self.tail_seconds <= 60, "0-60"),
                  ("gain", 0 < self.gain <= 10, "above 0, at most 10"),
                  ("timeout_seconds", self.timeout_seconds > 0, "above 0"),
                  ("polyphony", 16 <= self.polyphony <= 65535, "16-65535"),
                  ("interpolation", self.interpolation in (0, 1, 4, 7), "0, 1, 4 or 7")]
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"RenderOptions.{name} = {getattr(self, name)!r}; allowed: {allowed}")

    def synth_settings(self) -> dict[str, int | float]:
        """Every FluidSynth setting the render depends on, set explicitly. One stereo
        output group: a pass renders one section (see `render_stems`)."""
        return {
            "synth.sample-rate": float(self.sample_rate), "synth.gain": float(self.gain),
            "synth.polyphony": self.polyphony, "synth.midi-channels": MIDI_CHANNELS,
            "synth.audio-channels": 1, "synth.audio-groups": 1, "synth.effects-groups": 1,
            "synth.cpu-cores": 1, "synth.dynamic-sample-loading": 0, "synth.min-note-length": 10,
            "synth.reverb.active": int(self.reverb), "synth.chorus.active": int(self.chorus),
            "synth.reverb.room-size": 0.2, "synth.reverb.damp": 0.0, "synth.reverb.width": 0.5,
            "synth.reverb.level": 0.9, "synth.chorus.nr": 3, "synth.chorus.level": 2.0,
            "synth.chorus.speed": 0.3, "synth.chorus.depth": 8.0,
        }


@dataclass
class RenderResult:
    """Stems (section -> float32 (frames, 2)) in `SECTION_ORDER`, their sum, and notes."""

    stems: dict[str, np.ndarray]
    mix: np.ndarray
    sample_rate: int
    fallbacks: list[str] = field(default_factory=list)
    passes: int = 1


@dataclass(frozen=True)
class _Plan:
    track: symusic.Track
    section: str
    channel: int
    pass_no: int
    bank: int
    program: int


def fallback_program(program: int, available: Collection[int],
                     section_of: Callable[[int], str] | None = None) -> int | None:
    """The preset to use for ``program`` when the SoundFont lacks it, the nearest of
    the first of these that has one (ties to the lower): a program of its GM family of
    8 in its own section (stem), program 0 when that is in its section (the piano, for
    the keys), any program of its section, any of its family, else program 0, else None.
    ``section_of`` maps a program to its section; without it (drum kits, which all
    sound in the percussion stem) the family alone is tried, then program 0."""
    if program in available:
        return program
    family = [p for p in available if p // 8 == program // 8]
    if section_of is None:
        tiers = [family]
    else:
        own = section_of(program)
        section = [p for p in available if section_of(p) == own]
        tiers = [[p for p in family if p in section], [0] if 0 in section else [], section, family]
    for tier in tiers:
        if tier:
            return min(tier, key=lambda p: (abs(p - program), p))
    return 0 if 0 in available else None


def tick_seconds(score: symusic.Score):
    """A function mapping tick arrays to seconds (float64) through ``score``'s tempo map."""
    tempos = sorted(((t.time, t.mspq) for t in score.tempos), key=lambda t: t[0])
    points: dict[int, int] = {0: 500_000}  # MIDI default: 120 quarter notes a minute
    points.update(tempos)  # a later tempo at the same tick wins
    ticks = np.array(sorted(points), np.int64)
    per_tick = np.array([points[t] for t in ticks], np.float64) / 1e6 / score.tpq
    starts = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * per_tick[:-1])])

    def to_seconds(t):
        t = np.asarray(t, np.int64)
        i = np.searchsorted(ticks, t, side="right") - 1
        return starts[i] + (t - ticks[i]) * per_tick[i]
    return to_seconds


def _plan(score: symusic.Score, font: _LoadedFont, soundfont: SoundFont
          ) -> tuple[list[_Plan], list[tuple[str, str]]]:
    """Section, MIDI channel, pass and preset of every track with notes, and the
    (section, note) of every program the SoundFont stands in for. A track is filed
    under the stem of the preset that sounds: its own program's section, or another's
    when the SoundFont has no stand-in in that section (said in the note)."""
    groups, free = {}, (g for g in range(CHANNEL_BLOCK) if g != DRUM_GROUP)
    for section in SECTION_ORDER:
        groups[section] = DRUM_GROUP if section == "percussion" else next(free)
    by_section: dict[str, list[tuple[int, int]]] = {}
    fallbacks = []
    for index, track in enumerate(score.tracks):
        if not track.note_num():
            continue
        bank = DRUM_BANK if track.is_drum else 0
        what = "drum kit" if track.is_drum else "program"
        # drum kits all sound in the percussion stem: only their families of 8 are kin
        program = fallback_program(track.program, font.presets[bank],
                                   None if track.is_drum else section_for_program)
        if program is None:
            raise RenderError(f"track {index} {track.name!r}: {soundfont.name} has no {what} {track.program}, "
                              f"none in its {'family' if track.is_drum else 'section or family'} "
                              f"and no {what} 0 (bank {bank})")
        section = section_for_program(program, track.is_drum)
        if program != track.program:
            note = (f"track {index} {track.name!r}: {what} {track.program} is not in {soundfont.name}; "
                    f"using {program} ({font.presets[bank][program]})")
            wanted = section_for_track(track)
            if section != wanted:
                note += f" in the {section} stem: {soundfont.name} has no {wanted} program"
            fallbacks.append((section, note))
        by_section.setdefault(section, []).append((index, program))
    plans = []
    for section, chosen in by_section.items():
        chosen.sort(key=lambda pair: not score.tracks[pair[0]].is_drum)  # drums first: channel 10
        for slot, (index, program) in enumerate(chosen):
            track = score.tracks[index]
            plans.append(_Plan(track, section, groups[section] + CHANNEL_BLOCK * (slot % 16), slot // 16,
                               DRUM_BANK if track.is_drum else 0, program))
    return plans, fallbacks


def _events(plans: list[_Plan], to_seconds, sample_rate: int):
    """Sorted (sample, kind, channel, a, b) arrays for the plans' tracks, and the last
    note-off sample."""
    parts, last_off = [], 0
    for plan in plans:
        notes = plan.track.notes.numpy()
        keep = (notes["velocity"] > 0) & (notes["pitch"] >= 0)
        start = notes["time"][keep].astype(np.int64)
        on = np.rint(to_seconds(start) * sample_rate).astype(np.int64)
        off = np.rint(to_seconds(start + notes["duration"][keep]) * sample_rate).astype(np.int64)
        if off.size:
            last_off = max(last_off, int(off.max()))
        off = np.maximum(off, on + 1)  # a zero-length note still ends after it starts
        pitch, vel = notes["pitch"][keep].astype(np.int64), notes["velocity"][keep].astype(np.int64)
        on, off, pitch, vel = _restruck(on, off, pitch, vel)
        ctl = plan.track.controls.numpy()
        ck = ~np.isin(ctl["number"], _BANK_SELECT)
        bend = plan.track.pitch_bends.numpy()
        for kind, sec, a, b in (
                (_ON, on, pitch, vel), (_OFF, off, pitch, np.zeros_like(pitch)),
                (_CC, np.rint(to_seconds(ctl["time"][ck]) * sample_rate),
                 ctl["number"][ck], ctl["value"][ck]),
                (_BEND, np.rint(to_seconds(bend["time"]) * sample_rate),
                 np.clip(bend["value"].astype(np.int64) + 8192, 0, 16383), np.zeros(len(bend["time"]))),
        ):
            n = len(sec)
            parts.append(np.stack([np.asarray(sec, np.int64), np.full(n, kind), np.full(n, plan.channel),
                                   np.asarray(a, np.int64), np.asarray(b, np.int64)]))
    ev = np.concatenate(parts, axis=1) if parts else np.zeros((5, 0), np.int64)
    seq = np.arange(ev.shape[1])  # score order breaks the remaining ties
    order = np.lexsort((seq, ev[2], _PRIORITY[ev[1]], ev[0]))
    return ev[:, order], last_off


def _restruck(on: np.ndarray, off: np.ndarray, pitch: np.ndarray, vel: np.ndarray):
    """A key struck again while its last note still sounds is let go where it is struck
    again, as a player (and the reader, ``score_io``) does it: FluidSynth releases every
    voice of a key at its first note-off, so the later note would go silent there. Of
    notes struck on one key at the same sample, the longest stays. The notes keep their
    order otherwise (``_events`` breaks ties by it)."""
    if len(on) < 2:
        return on, off, pitch, vel
    order = np.lexsort((-off, on, pitch))  # key by key, in time, the longest of a chord first
    key, start = pitch[order], on[order]
    first = np.ones(len(order), bool)
    first[1:] = (key[1:] != key[:-1]) | (start[1:] != start[:-1])
    if first.all() and not (key[1:] == key[:-1]).any():
        return on, off, pitch, vel
    order = order[first]
    key, start, end = pitch[order], on[order], off[order].copy()
    again = key[1:] == key[:-1]
    end[:-1] = np.where(again, np.minimum(end[:-1], start[1:]), end[:-1])
    back = np.argsort(order, kind="stable")  # the score's order again
    order = order[back]
    return on[order], end[back], pitch[order], vel[order]


class _Output:
    """One stem, (frames, 2) float32, and the small planar scratch buffers that
    fluid_synth_process mixes into (it adds, and takes no stride): each chunk is
    rendered there while it is in cache, then interleaved into the stem. The synth has
    one output group, so every channel of the pass lands in this stem; its effects
    units (reverb and chorus, when on) mix into the same stem."""

    def __init__(self, frames: int, effects: bool):
        self.stem = np.zeros((frames, 2), np.float32)
        self.scratch = np.zeros((2, _CHUNK), np.float32)
        self.out = np.array([self.scratch[0].ctypes.data, self.scratch[1].ctypes.data], np.uintp)
        self.nfx = 4 if effects else 0  # reverb L/R, chorus L/R
        self.fx = np.tile(self.out, 2)
        self.accumulate = False  # passes after the first add to the stem

    def take(self, pos: int, n: int) -> None:
        """Move the chunk just rendered into the stem and clear the scratch."""
        if self.accumulate:
            self.stem[pos:pos + n] += self.scratch[:, :n].T
        else:
            self.stem[pos:pos + n] = self.scratch[:, :n].T
        self.scratch[:, :n] = 0


def _run_pass(font: _LoadedFont, plans: list[_Plan], events: np.ndarray, output: _Output,
              frames: int, deadline: float, options: RenderOptions) -> None:
    synth = _Synth(font, options)
    try:
        api, ptr, pos = synth.api, synth.ptr, 0
        for plan in plans:
            api.set_type(ptr, plan.channel, 1 if plan.track.is_drum else 0)
            api.select(ptr, plan.channel, synth.sfid, plan.bank, plan.program)

        def render_to(end: int) -> None:
            nonlocal pos
            while pos < end:
                if time.monotonic() > deadline:
                    raise RenderError(f"rendering took longer than timeout_seconds={options.timeout_seconds:g}")
                n = min(end - pos, _CHUNK)
                if api.process(ptr, n, output.nfx, output.fx.ctypes.data, 2,
                               output.out.ctypes.data) != 0:
                    raise RenderError("fluid_synth_process failed")
                output.take(pos, n)
                pos += n

        blocks = ((events[0] + FLUID_BUFSIZE // 2) // FLUID_BUFSIZE * FLUID_BUFSIZE).tolist()
        kinds, chans, a_s, b_s = (events[i].tolist() for i in (1, 2, 3, 4))
        noteon, noteoff, cc, bend = api.noteon, api.noteoff, api.cc, api.bend
        for block, kind, chan, a, b in zip(blocks, kinds, chans, a_s, b_s):
            if block >= frames:
                break
            if block > pos:
                render_to(block)
            if kind == _ON:
                noteon(ptr, chan, a, b)
            elif kind == _OFF:
                noteoff(ptr, chan, a)
            elif kind == _CC:
                cc(ptr, chan, a, b)
            else:
                bend(ptr, chan, a)
        render_to(frames)
    finally:
        synth.close()


def check_render_length(score: symusic.Score) -> float:
    """The seconds at which ``score``'s last note ends (through its tempo map); a
    ScoreError (no file named: the caller knows it) when that is past
    ``MAX_RENDER_SECONDS``. Cheap: nothing of the audio's length is allocated."""
    if not isinstance(score, symusic.core.ScoreTick):
        score = score.to("tick")
    ends = []
    for track in score.tracks:
        notes = track.notes.numpy()
        if len(notes["time"]):
            ends.append(int((notes["time"].astype(np.int64) + notes["duration"]).max()))
    end = float(tick_seconds(score)(max(ends))) if ends else 0.0
    if end > MAX_RENDER_SECONDS:
        raise ScoreError(f"the score's last note ends at {_duration(end)}; at most "
                         f"{_duration(MAX_RENDER_SECONDS)} can be rendered (a film reel and a margin); "
                         "check the tempo map and note lengths")
    return end


def _duration(seconds: float) -> str:
    """'13.9 hours', '16.7 minutes', '30 minutes'."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.3g} minutes"


def score_sections(score: symusic.Score, soundfont: SoundFont | None = None) -> list[str]:
    """The sections (stems) a score renders to, in `SECTION_ORDER`: with ``soundfont``,
    the stems of the presets that sound (a stand-in from another section moves its
    track there, as `render_stems` files it); without, those of the tracks' programs."""
    if soundfont is not None:
        if not isinstance(score, symusic.core.ScoreTick):
            score = score.to("tick")
        with _LOCK:
            present = {plan.section for plan in _plan(score, _loaded_font(soundfont), soundfont)[0]}
    else:
        present = {section_for_track(t) for t in score.tracks if t.note_num()}
    return [s for s in SECTION_ORDER if s in present]


def render_stems(score: symusic.Score, soundfont: SoundFont, options: RenderOptions | None = None,
                 sections: Collection[str] | None = None) -> RenderResult:
    """Render ``score`` to one stem per section (float32 (frames, 2), all the same length,
    starting at the score's time 0, not normalised) and their sum. ``sections`` renders
    only those stems, still at the whole score's length, so stems rendered apart (one
    farm task each) line up and sum like stems rendered together. Raises RenderError on
    a time-out, a silent result or a program the SoundFont cannot stand in for."""
    options = options or RenderOptions()
    deadline = time.monotonic() + options.timeout_seconds
    if not isinstance(score, symusic.core.ScoreTick):
        score = score.to("tick")
    if score.note_num() == 0:
        raise SilentScoreError("the score has no notes: nothing to render")
    check_render_length(score)  # before the SoundFont is loaded or a stem allocated
    sr = options.sample_rate
    with _LOCK:
        font = _loaded_font(soundfont)
        plans, fallbacks = _plan(score, font, soundfont)
        to_seconds = tick_seconds(score)
        # the length comes from every track, whichever sections are rendered
        last_sample = _events(plans, to_seconds, sr)[1]
        if sections is not None:
            unknown = sorted(set(sections) - {p.section for p in plans})
            if unknown:
                raise RenderError(f"the score has no {', '.join(unknown)} section to render")
            plans = [p for p in plans if p.section in sections]
        sections = [s for s in SECTION_ORDER if any(p.section == s for p in plans)]
        fallbacks = [note for section, note in fallbacks if section in sections]
        frames = last_sample + int(round(options.tail_seconds * sr))
        # One section at a time, each into a single output group: FluidSynth's cost of
        # mixing 16 groups outweighs the per-pass set-up (benchmarks/bench_stems.py),
        # and a stem then comes out the same whether rendered alone or with others.
        stems, passes = {}, 0
        for section in sections:
            mine = [p for p in plans if p.section == section]
            output = _Output(frames, options.reverb or options.chorus)
            for n in range(1 + max(p.pass_no for p in mine)):
                batch = [p for p in mine if p.pass_no == n]
                _run_pass(font, batch, _events(batch, to_seconds, sr)[0], output, frames, deadline, options)
                output.accumulate = True
                passes += 1
            stems[section] = output.stem
    mix = stems[sections[0]].copy()
    for section in sections[1:]:  # in SECTION_ORDER: the mix is exactly this sum
        mix += stems[section]
    peak = max(max(float(stem.max(initial=0)), -float(stem.min(initial=0))) for stem in stems.values())
    if peak < 10 ** (SILENCE_DBFS / 20):
        level = "-inf" if peak == 0 else f"{20 * np.log10(peak):.1f}"
        raise SilentScoreError(f"the score renders to silence: every sample is below {SILENCE_DBFS:g} dBFS "
                          f"(peak {level} dBFS) with {soundfont.name}")
    return RenderResult(stems, mix, sr, fallbacks, passes)


def render_mix(score: symusic.Score, soundfont: SoundFont, options: RenderOptions | None = None) -> np.ndarray:
    """The stereo float32 mix (frames, 2): the sum of `render_stems`' stems."""
    return render_stems(score, soundfont, options).mix
