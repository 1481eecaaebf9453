"""Extending a sketch: the sketch note for note, then N more bars from the model.

``extend_score`` tokenizes the sketch's pitched tracks as voice slots (see
``tokenizer.py``), appends bar lines up to the bar after the sketch's last sound
(the bar lines of ``voices.bar_starts_of``: a time signature standing mid-bar cuts the
bar before it short), and samples token by token with a KV cache
(``fast_decoder.FastDecoder``). The new bars are in the sketch's last metre from the bar
line that ends the sketch; a time signature standing later is moved onto that line. The
constraints (``decoding.Constraints``; also as ``transformers`` logits processors,
so that plain ``generate`` can use them) keep the output decodable and in character:

* grammar (``GrammarProcessor``): only tokens REMI can decode in that place -- Bar
  then the sketch's TimeSig, Positions rising inside the bar, Program -> Pitch ->
  Velocity -> Duration for each note, only the sketch's voices, no Tempo (the
  sketch's tempo map is kept), no EOS before the last bar, no empty new bar (a
  model that closes bars at once would otherwise return rests), the first new bar's
  first note on its downbeat (the join is never a silent bar); and a voice that
  is monophonic in the sketch (a horn line, a chorale part) starts one note per
  position at most (and ``assemble`` ends each of its new notes where its next one
  starts).
* range (``RangeProcessor``): each voice stays within its sketch range widened by
  ``range_margin`` semitones.
* key (``KeyProcessor``, off with ``free``): pitches outside the sketch's key (its
  scale plus pitch classes the sketch itself dwells on) are allowed only where the
  model gives that chromatic pitch at least ``chromatic_confidence`` of the pitch mass.
* profile (``ProfileProcessor``, with the key, when ``profile_weight`` > 0): the
  sketch's pitch-class profile as a prior on pitches, against drifting to another key.
* cadence (``CadenceProcessor``, with ``cadence``): the last bar ends the music on the
  tonic chord: tones of the tonic triad only, the voice lying lowest in the sketch
  (when there are several) on the tonic, and each track's last notes held to the end
  (``assemble``'s ``hold_from``). A cue's extension (``extend_for_cue``) ends its cue,
  so it cadences.

When the sequence reaches the model's context the window slides: it restarts
from a bar line in the second half of the tokens, re-encoding that suffix.
Sampling uses numpy's PCG64 seeded with ``seed`` on one torch thread: the same
seed, model and machine give byte-identical MIDI.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import symusic

from scorefarm.errors import ScoreError

from .decoding import (
    CadenceProcessor, Constraints, GrammarProcessor, KeyProcessor, ProfileProcessor, RangeProcessor, RemiState,
    one_thread, sample_plan, slide,
)
from .tokenizer import MAX_VOICES, TIME_SIGNATURES, Vocab, VoiceMap, check_time_signatures, to_voices
from .voices import bar_starts_through, bar_ticks, clean_signatures, explicit_signatures, score_signatures

# ---------------------------------------------------------------- options


@dataclasses.dataclass(frozen=True)
class ExtendOptions:
    bars: int = 8
    temperature: float = 0.9
    top_p: float = 0.95
    top_k: int = 0
    seed: int = 0
    free: bool = False  # no key constraint
    chromatic_confidence: float = 0.5  # share of the pitch mass an out-of-key pitch needs
    profile_weight: float = 0.5  # weight of the sketch's pitch-class profile as a prior (0 = off)
    range_margin: int = 4  # semitones each voice may go beyond its sketch range
    max_tokens_per_bar: int = 320  # a bar with more tokens is closed by force
    cadence: bool = False  # end on the tonic chord: the last bar in the tonic triad, the lowest voice on the tonic
    # every voice sounding in the sketch's last bar sounds in each new bar, coming in no later in
    # the bar than the latest it came in in a bar of the sketch (``entry_deadlines``)
    keep_voices: bool = True

    def check(self) -> None:
        problems = []
        if not 1 <= self.bars <= 1024:
            problems.append(f"bars {self.bars} (allowed 1..1024)")
        if not self.temperature > 0:
            problems.append(f"temperature {self.temperature} (must be > 0)")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p {self.top_p} (allowed 0 < p <= 1)")
        if self.top_k < 0:
            problems.append(f"top_k {self.top_k} (must be >= 0; 0 = off)")
        if not 0 <= self.profile_weight <= 4:
            problems.append(f"profile_weight {self.profile_weight} (allowed 0..4)")
        if not 0 <= self.seed < 2**32:
            problems.append(f"seed {self.seed} (allowed 0..2**32-1)")
        if problems:
            raise ScoreError("invalid extension options: " + "; ".join(problems))


@dataclasses.dataclass
class ExtendResult:
    score: symusic.Score
    sketch_bars: int
    added_bars: int
    added_notes: int
    seed: int
    tokens_generated: int
    key: str
    notes: list[str]
    path: str | None = None


# ---------------------------------------------------------------- key


_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 9, 10, 11)  # natural minor with the raised 6th and 7th


def pitch_class_histogram(pitches: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    hist = np.bincount(np.asarray(pitches, dtype=np.int64) % 12, weights=weights, minlength=12).astype(np.float64)
    return hist


def estimate_key(hist: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class, 'major'|'minor') by Krumhansl-Kessler profile correlation."""
    best = (-2.0, 0, "major")
    if hist.sum() <= 0:
        return 0, "major"
    for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
        for tonic in range(12):
            r = np.corrcoef(hist, np.roll(profile, tonic))[0, 1]
            if np.isfinite(r) and r > best[0]:
                best = (float(r), tonic, mode)
    return best[1], best[2]


def key_name(tonic: int, mode: str) -> str:
    return f"{_NAMES[tonic]} {mode}"


def scale_pitch_classes(tonic: int, mode: str) -> set[int]:
    return {(tonic + step) % 12 for step in (MAJOR_SCALE if mode == "major" else MINOR_SCALE)}


def score_pitches(score: symusic.Score) -> tuple[np.ndarray, np.ndarray]:
    """(pitches, durations) of every pitched note."""
    ps, ds = [], []
    for track in score.tracks:
        if track.is_drum or not track.note_num():
            continue
        a = track.notes.numpy()
        ps.append(a["pitch"])
        ds.append(a["duration"])
    if not ps:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    return np.concatenate(ps).astype(np.int64), np.concatenate(ds).astype(np.float64)


# ---------------------------------------------------------------- bars


def bar_starts(score: symusic.Score, until: int) -> list[int]:
    """Ticks of the bar lines from 0 up to and including the first one >= ``until``
    (``voices.bar_starts_through``: a time signature starts a bar where it stands)."""
    return bar_starts_through(score_signatures(score), score.ticks_per_quarter, until)


def entry_deadlines(voiced: symusic.Score, bar_lines: list[int], time_sig: tuple[int, int],
                    positions_per_bar: int) -> dict[int, int]:
    """Per voice (track program = voice slot), the latest position (of ``positions_per_bar``)
    at which its first note of a bar came in, over the sketch's bars (``bar_lines``: their
    starts, then the end of the last) that have the new bars' metre and that the voice
    neither rests through nor enters holding a note. A voice with no such bar is left out."""
    tpq = voiced.ticks_per_quarter
    bar_ticks = tpq * 4 * time_sig[0] // time_sig[1]
    out: dict[int, int] = {}
    for track in voiced.tracks:
        if not track.note_num():
            continue
        notes = track.notes.numpy()
        order = np.argsort(notes["time"], kind="stable")
        times = notes["time"][order].astype(np.int64)
        reach = np.maximum.accumulate(times + notes["duration"][order].astype(np.int64))
        latest = None
        for start, end in zip(bar_lines, bar_lines[1:]):
            if end - start != bar_ticks:
                continue  # a bar of another metre, or cut short
            first = int(np.searchsorted(times, start, "left"))
            if first > 0 and reach[first - 1] > start:
                continue  # held into the bar
            if first >= len(times) or times[first] >= end:
                continue  # resting through it
            position = (int(times[first]) - start) * positions_per_bar // bar_ticks
            latest = position if latest is None else max(latest, position)
        if latest is not None:
            out[track.program] = latest
    return out


def last_time_signature(score: symusic.Score) -> tuple[int, int]:
    """(numerator, denominator) of the time signature in force at the end (4/4 without one)."""
    _, numerator, denominator = clean_signatures(score_signatures(score))[-1]
    return numerator, denominator


def tokenizer_signatures(score: symusic.Score, ext_start: int) -> list[tuple[int, int, int]]:
    """The time signatures the tokenizer is given for the sketch: those before the first
    new bar (``ext_start``; the new bars' metre is given by the prompt's TimeSig), each on
    a bar line (``voices.explicit_signatures``: a bar cut short by a change is a signature
    of its own), as miditok keeps a metre to its next bar line. When a short bar has no
    signature in the vocabulary, the signatures as they stand: the model then hears the
    sketch's bars a little differently, which moves nothing in the output."""
    tpq = score.ticks_per_quarter
    before = [sig for sig in clean_signatures(score_signatures(score)) if sig[0] < ext_start] or [(0, 4, 4)]
    explicit = explicit_signatures(before, tpq)
    if explicit is not None and all(num in TIME_SIGNATURES.get(den, ()) for _, num, den in explicit):
        return explicit
    return before


def metre_from(score: symusic.Score, ext_start: int) -> None:
    """Time signatures standing after the first new bar line (``ext_start``), after the
    sketch's music, are replaced by the last of them on that line: the metre the new bars
    are sampled in, so that they lie on the output's own bar lines."""
    if any(ts.time > ext_start for ts in score.time_signatures):
        numerator, denominator = last_time_signature(score)
        kept = [ts.copy() for ts in score.time_signatures if ts.time < ext_start]
        score.time_signatures.clear()
        score.time_signatures.extend([*kept, symusic.TimeSignature(ext_start, numerator, denominator)])


# ---------------------------------------------------------------- the extension


@dataclasses.dataclass
class Plan:
    """Everything decided before sampling: the prompt, the constraints, where to stop."""

    ids: list[int]  # prompt (sketch tokens + bar lines up to the first new bar), maybe trimmed
    state: RemiState
    constraints: Constraints
    processors: list  # the constraints as logits processors (for ``generate``)
    bars_wanted: int  # Bar tokens after which the next Bar ends the extension
    ts_id: int
    voice_map: VoiceMap
    sketch_bars: int
    ext_start: int
    key: str
    notes: list[str]
    monophonic: set[int]


def plan_extension(score: symusic.Score, options: ExtendOptions, tokenizer, context: int,
                   name: str = "sketch") -> Plan:
    """Check the sketch and build the prompt and the logits processors."""
    options.check()
    vocab = Vocab.of(tokenizer)
    notes: list[str] = []
    check_time_signatures(score, name)
    drums = [t for t in score.tracks if t.is_drum and t.note_num()]
    voiced, voice_map = to_voices(score, name)
    if drums:
        notes.append(f"{len(drums)} drum track(s) kept as in the sketch and not continued (the model has no drums)")
    time_sig = last_time_signature(score)
    end_tick = max(t.end() for t in score.tracks if t.note_num())
    starts = bar_starts(score, end_tick)
    sketch_bars = len(starts) - 1 if starts[-1] >= end_tick and end_tick > 0 else len(starts)
    ext_start = starts[sketch_bars] if sketch_bars < len(starts) else starts[-1]
    later = [ts for ts in score.time_signatures if ts.time > ext_start]
    if later:
        notes.append(f"{len(later)} time signature(s) after the bar line that ends the sketch (tick {ext_start}): "
                     f"the new bars are in the last, {time_sig[0]}/{time_sig[1]}, from that bar line on")
    signatures = tokenizer_signatures(score, ext_start)
    if signatures != clean_signatures(score_signatures(voiced)):
        voiced.time_signatures.clear()
        voiced.time_signatures.extend([symusic.TimeSignature(*sig) for sig in signatures])
    positions_per_bar = time_sig[0] * max(tokenizer.config.beat_res.values())
    pitches, durations = score_pitches(voiced)
    hist = pitch_class_histogram(pitches, durations)
    tonic, mode = estimate_key(hist)
    key_pcs = scale_pitch_classes(tonic, mode) | {pc for pc in range(12) if hist[pc] >= 0.05 * hist.sum()}
    lo_pitch, hi_pitch = min(vocab.pitch.values()), max(vocab.pitch.values())
    ranges = {v.slot: (max(lo_pitch, v.low - options.range_margin), min(hi_pitch, v.high + options.range_margin))
              for v in voice_map.voices}
    seq = tokenizer.encode(voiced)
    prompt = [vocab.bos, *(seq.ids if not isinstance(seq, list) else seq[0].ids)]
    monophonic = {t.program for t in voiced.tracks if is_monophonic(t, voiced.ticks_per_quarter)}
    state = RemiState(vocab, positions_per_bar, frozenset(monophonic))
    for t in prompt:
        state.feed(t)
    ts_id = next(i for i, v in vocab.time_sig.items() if v == time_sig)
    forced: list[int] = []
    for _ in range(max(1, sketch_bars - state.bars + 1)):  # the first new bar opens after the sketch's
        forced += [vocab.bar, ts_id]
    for t in forced:
        state.feed(t)
    ids = prompt + forced
    room = context * 3 // 4  # leave a quarter of the context for the first new bars
    if len(ids) > room:
        trimmed = slide(ids, vocab.bar, room)
        if trimmed[0] != vocab.bar or sum(1 for t in trimmed if t == vocab.bar) < 2:
            raise ScoreError(f"the sketch's last bar is longer than the model's context allows ({room} of "
                             f"{context} tokens); shorten or thin the sketch", name)
        kept_bars = sum(1 for t in trimmed if t == vocab.bar) - len(forced) // 2
        notes.append(f"the sketch is {len(ids)} tokens, more than the {room} the model's {context}-token context "
                     f"leaves for a prompt: the model was prompted with its last {max(kept_bars, 0)} bar(s) only")
        ids = trimmed
    bars_wanted = state.bars + options.bars - 1
    last_bar = starts[sketch_bars - 1] if sketch_bars >= 1 else 0
    sounding = {t.program for t in voiced.tracks
                if any(n.time < ext_start and n.time + n.duration > last_bar for n in t.notes)}
    constraints = Constraints(
        vocab, [v.slot for v in voice_map.voices], time_sig, positions_per_bar, ranges, bars_end=bars_wanted + 1,
        max_tokens_per_bar=options.max_tokens_per_bar, monophonic=monophonic,
        key_pitch_classes=None if options.free else key_pcs, chromatic_confidence=options.chromatic_confidence,
        profile=None if options.free else hist, profile_weight=options.profile_weight, entry_bar=state.bars,
        cadence=_cadence(tonic, mode, voiced) if options.cadence else None,
        keep_sounding=sounding if options.keep_voices else frozenset(),
        enter_by=entry_deadlines(voiced, starts[:sketch_bars] + [ext_start], time_sig, positions_per_bar))
    return Plan(ids=ids, state=state, constraints=constraints, processors=constraints.processors(state),
                bars_wanted=bars_wanted, ts_id=ts_id,
                voice_map=voice_map, sketch_bars=sketch_bars, ext_start=ext_start, key=key_name(tonic, mode),
                notes=notes, monophonic=monophonic)


def _cadence(tonic: int, mode: str, voiced: symusic.Score) -> tuple[int, set[int], set[int]]:
    """(tonic, the tonic triad's pitch classes, the bass voice's slot: the voice lying
    lowest in the sketch (by median pitch), when there are several; none for a sketch on
    one voice, whose chords hold the bass and the third and fifth at once)."""
    third = 3 if mode == "minor" else 4
    medians = {t.program: float(np.median(t.notes.numpy()["pitch"])) for t in voiced.tracks if t.note_num()}
    basses = {min(medians, key=lambda slot: (medians[slot], slot))} if len(medians) > 1 else set()
    return tonic, {tonic, (tonic + third) % 12, (tonic + 7) % 12}, basses


def is_monophonic(track, tpq: int) -> bool:
    """True when the track never sounds two notes at once (overlaps under a 32nd forgiven)."""
    a = track.notes.numpy()
    if len(a["time"]) < 2:
        return True
    order = np.lexsort((a["pitch"], a["time"]))
    start, end = a["time"][order], (a["time"] + a["duration"])[order]
    return bool(np.all(start[1:] > start[:-1]) and np.all(start[1:] >= end[:-1] - tpq // 8))


def extend_score(score: symusic.Score, options: ExtendOptions = ExtendOptions(), *, model=None, tokenizer=None,
                 name: str = "sketch", decoder=None) -> ExtendResult:
    """The sketch, unchanged, followed by ``options.bars`` generated bars.

    ``decoder`` replaces the model's fast decoder (the n-gram baseline uses this)."""
    from .model import load_model

    if decoder is None and (model is None or tokenizer is None):
        model, tokenizer, _ = load_model()
    if decoder is None:
        decoder = _fast_decoder(model)
    vocab = Vocab.of(tokenizer)
    plan = plan_extension(score, options, tokenizer, decoder.context, name)
    with one_thread():
        generated = sample_plan(plan, decoder, options, vocab.bar, vocab.eos)
    new_score = decode_generated(tokenizer, vocab, plan.ts_id, generated)
    ext_end = starts_after(score, plan.ext_start, options.bars)
    out, added = assemble(score, plan.voice_map, new_score, plan.ext_start, ext_end, plan.monophonic,
                          hold_from=starts_after(score, plan.ext_start, options.bars - 1) if options.cadence else None)
    metre_from(out, plan.ext_start)
    return ExtendResult(score=out, sketch_bars=plan.sketch_bars, added_bars=options.bars, added_notes=added,
                        seed=options.seed, tokens_generated=len(generated), key=plan.key, notes=plan.notes)


def _fast_decoder(model):
    """One FastDecoder per model object (its weights are copied once)."""
    from .fast_decoder import FastDecoder

    decoder = getattr(model, "_scorefarm_fast_decoder", None)
    if decoder is None:
        decoder = FastDecoder(model)
        model._scorefarm_fast_decoder = decoder
    return decoder


def starts_after(score: symusic.Score, start: int, bars: int) -> int:
    """The tick ``bars`` bar lines after ``start`` under the score's last time signature."""
    num, den = last_time_signature(score)
    return start + bars * bar_ticks(score.ticks_per_quarter, num, den)


def decode_generated(tokenizer, vocab: Vocab, ts_id: int, generated: list[int]) -> symusic.Score:
    """Decode generated tokens as bars starting at tick 0 (programs = voice slots)."""
    from miditok import TokSequence

    return tokenizer.decode(TokSequence(ids=[vocab.bar, ts_id, *generated]))


def assemble(sketch: symusic.Score, voice_map: VoiceMap, new: symusic.Score, ext_start: int,
             ext_end: int, monophonic: set[int] = frozenset(), hold_from: int | None = None,
             ) -> tuple[symusic.Score, int]:
    """The sketch's tracks with the decoded notes appended (rescaled to the sketch's
    ticks, shifted to ``ext_start``, cut at ``ext_end``). The corpus the model learned
    from has no dynamics (music21 writes its chorales and folk songs at one velocity),
    so a new note takes its track's velocity as the sketch leaves it: the median of the
    track's last ``VELOCITY_NOTES`` notes. With ``hold_from`` (a cadence's last bar),
    each track's last notes starting there ring on to ``ext_end``: the final chord held."""
    out = sketch.copy()
    scale = sketch.ticks_per_quarter / new.ticks_per_quarter
    slot_track = {}
    pitched = [i for i, t in enumerate(out.tracks) if not t.is_drum and t.note_num() > 0]
    for voice, index in zip(voice_map.voices, pitched):
        slot_track[voice.slot] = out.tracks[index]
    added = 0
    for track in new.tracks:
        target = slot_track.get(track.program)
        if target is None:
            continue
        notes = sorted(track.notes, key=lambda n: (n.time, n.pitch))
        velocity = _closing_velocity(target, ext_start)
        kept: list[list[int]] = []  # [start, end, pitch, velocity]
        last_of: dict[int, list[int]] = {}  # pitch -> its latest kept note
        for i, note in enumerate(notes):
            start = ext_start + int(round(note.time * scale))
            if start >= ext_end:
                continue
            end = min(start + max(1, int(round(note.duration * scale))), ext_end)
            if track.program in monophonic and i + 1 < len(notes):
                end = min(end, ext_start + int(round(notes[i + 1].time * scale)))  # legato, never overlapping
            held = last_of.get(note.pitch)
            if held is not None and held[1] > start:  # one key, one note: a MIDI channel cannot sound it twice
                if held[0] == start:
                    held[1] = max(held[1], end)
                    continue
                held[1] = start  # the held note ends where its pitch is struck again
            last_of[note.pitch] = [start, end, note.pitch, velocity]
            kept.append(last_of[note.pitch])
        if hold_from is not None and kept and kept[-1][0] >= hold_from:
            for note in kept:
                if note[0] == kept[-1][0]:
                    note[1] = ext_end
        for start, end, pitch, velocity in kept:
            target.notes.append(symusic.Note(start, max(1, end - start), pitch, velocity))
        added += len(kept)
    for track in out.tracks:
        track.notes.sort(key=lambda n: (n.time, n.pitch, n.duration))
    # a marker on the final bar line, so that the file (its conductor track) ends there
    # even when the last bar closes with a rest
    out.markers.append(symusic.TextMeta(ext_end, "end of extension"))
    return out, added


VELOCITY_NOTES = 8


def _closing_velocity(track, before: int) -> int:
    """The median velocity of ``track``'s last ``VELOCITY_NOTES`` notes starting before ``before``."""
    last = sorted((n.time, n.velocity) for n in track.notes if n.time < before)[-VELOCITY_NOTES:]
    return int(np.median([v for _, v in last])) if last else 80


def variation_path(out_path: str | Path, index: int, variations: int) -> Path:
    """Where variation ``index`` (from 0) of ``variations`` is written: ``out_path``
    itself for one, ``NAME_v1.mid``, ``NAME_v2.mid``... for more."""
    out_path = Path(out_path)
    return out_path if variations == 1 else out_path.with_name(f"{out_path.stem}_v{index + 1}{out_path.suffix}")


def extend_file(sketch: str | Path, out_path: str | Path, options: ExtendOptions = ExtendOptions(), *,
                variations: int = 1, model_dir: str | Path | None = None) -> list[ExtendResult]:
    """Read a sketch, write ``variations`` extensions (seeds ``seed`` .. ``seed+V-1``)."""
    from .model import load_model
    from .score_io import load_score_and_programs, save_score

    score, programs = load_score_and_programs(sketch)  # a line's program changes (arco, pizz) come back on writing
    options.check()  # what plan_extension refuses is refused before the model loads (seconds)
    check_time_signatures(score, str(sketch))
    to_voices(score, str(sketch))
    model, tokenizer, _ = load_model(model_dir)
    results = []
    out_path = Path(out_path)
    for v in range(variations):
        opts = dataclasses.replace(options, seed=options.seed + v)
        result = extend_score(score, opts, model=model, tokenizer=tokenizer, name=str(sketch))
        target = variation_path(out_path, v, variations)
        save_score(result.score, target, programs=programs)  # the sketch's tracks keep their order
        result.path = str(target)
        results.append(result)
    return results


def extend_for_cue(score: symusic.Score, bars: int, seed: int, *, model_dir: str | Path | None = None,
                   name: str = "sketch") -> ExtendResult:
    """What the cue pipeline calls for a cue's ``extend_bars`` and ``seed`` (bars 0: unchanged)."""
    if bars <= 0:
        return ExtendResult(score=score, sketch_bars=0, added_bars=0, added_notes=0, seed=seed,
                            tokens_generated=0, key="", notes=[])
    from .model import load_model

    model, tokenizer, _ = _cached_model(model_dir) if model_dir is None else load_model(model_dir)
    return extend_score(score, ExtendOptions(bars=bars, seed=seed, cadence=True), model=model, tokenizer=tokenizer,
                        name=name)


_MODEL_CACHE: dict = {}


def _cached_model(model_dir):
    from .model import load_model

    if "default" not in _MODEL_CACHE:
        _MODEL_CACHE["default"] = load_model(model_dir)
    return _MODEL_CACHE["default"]


__all__ = ["ExtendOptions", "ExtendResult", "extend_score", "extend_file", "extend_for_cue", "estimate_key",
           "GrammarProcessor", "RangeProcessor", "KeyProcessor", "ProfileProcessor", "CadenceProcessor", "MAX_VOICES"]
