"""Mastering: glue, hall reverb, loudness normalisation and a true-peak ceiling.

The chain, in order (every stage but the meters is pedalboard):

1. **Staging.** The mix is gained so its integrated loudness is -23 LUFS
   (``STAGE_LUFS``; inputs shorter than pyloudnorm's 400 ms gating block are
   staged by sample peak to -12 dBFS instead). The glue compressor's threshold
   is therefore relative to the programme, not to how loud the mix happened to
   be rendered, and the same mix rendered 6 dB quieter masters to the same
   result. The reverb bus gets the same staging gain.
2. ``HighpassFilter`` (first order, ``highpass_hz``) then ``Compressor``
   (gentle glue: ``glue_threshold_db`` at the staged level, ``glue_ratio``,
   ``glue_attack_ms``, ``glue_release_ms``).
3. **Hall reverb.** ``Reverb`` (wet only, pinned room) on the reverb bus — the
   orchestral sections' sum — high-passed like the mix, scaled by
   ``reverb_send`` and added. The reverb tail is cut at the mix's end: the
   renderer already leaves ``tail_seconds`` of room after the last note.
4. **Loudness gain** to ``loudness_lufs``, measured with pyloudnorm's
   BS.1770-4 meter.
5. **True-peak limiting.** pedalboard 0.9.26 offers two limiters. ``Limiter``
   (JUCE ``dsp::Limiter``) adds automatic make-up gain and hard-clips at
   0 dBFS, so it cannot hold a ceiling below full scale without also moving the
   loudness. ``BrickwallLimiter(ceiling_db, release_ms, lookahead_ms,
   true_peak=True)`` has a configurable ceiling, no make-up gain, lookahead and
   a 4x-oversampled side chain; its own documentation says it "does not
   guarantee the reconstructed waveform stays below the ceiling" (we measured
   +0.11 dB over on clicks in noise). We use it, and make the guarantee
   ourselves: after each pass our BS.1770-4 Annex 2 meter
   (:mod:`scorefarm.render.truepeak`) reads the result; an overshoot lowers the
   limiter's ceiling by that much, a loudness miss (the limiter lowers loudness
   when it works) corrects the gain (secant steps), for at most
   ``MAX_PASSES`` passes, until the loudness is within ``LOUDNESS_STEP_LU`` of
   the target and the true peak is at or under the ceiling. Gain steps are
   bounded (``MAX_STEP_DB``) and the gain never goes more than
   ``MAX_LIMITING_DB`` past plain loudness normalisation. If the two cannot
   both be met (a target too loud for the ceiling on this material), a final
   static trim holds the ceiling and a note reports the loudness reached.

Input at another sample rate is resampled band-limited
(``scipy.signal.resample_poly``) to ``options.sample_rate`` first, with a note.
Silence (or a mix below the -70 LUFS absolute gate, or one that is only DC)
raises ``SilentAudioError`` (bad input, exit status 2).

**Channels.** Any layout of 1 to 18 channels: loudness weights each channel by
its speaker position (``ChannelLayout``: BS.1770-4's 1.41 for the surrounds, the
LFE left out), taken from the file's WAVE_FORMAT_EXTENSIBLE mask, else assumed by
count (``DEFAULT_MASKS``: 5.1 for six, 7.1 for eight; seven or nine and more with
no mask are refused). pyloudnorm measures the layouts it weighs by place (L R C
Ls Rs); the others use its K-weighting filters and the same gating here. The
limiter acts on all channels alike (pedalboard links them); the high-pass and
the glue compressor act on each channel alone.

**Edges.** A mix that does not start at zero (a DC offset, a cut into a held
chord) is processed after ``PRE_ROLL_SECONDS`` of its first frame held, dropped
afterwards, so the high-pass does not turn the jump from silence into a click.
Everything is deterministic: no randomness, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import AudioInputError, InputError, RenderError, SilentAudioError
from .loudness import DEFAULT_MASKS, GATE_BLOCK_SECONDS, ChannelLayout, channel_layout, loudness_lufs
from .truepeak import true_peak_dbtp
from .wavio import Bext, read_wav, write_wav

__all__ = ["DEFAULT_MASKS", "ChannelLayout", "MasterOptions", "MasterResult", "channel_layout",
           "integrated_loudness", "master", "master_file"]

STAGE_LUFS = -23.0           # level the glue compressor sees
SHORT_STAGE_DBFS = -12.0     # sample-peak staging for inputs too short to gate
MAX_PASSES = 10              # limiter passes before the static trim
MAX_STEP_DB = 6.0            # largest gain change between two passes
MAX_LIMITING_DB = 12.0       # most gain beyond plain loudness normalisation
LOUDNESS_STEP_LU = 0.05      # aim within this; the promise is +-0.2 LU
TRUE_PEAK_GUARD_DB = 0.01    # headroom kept under the ceiling for 24-bit rounding
_NOTHING_LEFT = ("nothing is left to master after the {:g} Hz high-pass: the mix is only "
                 "a DC offset or infrasound")
MAX_CHANNELS = 18            # one per WAVE_FORMAT_EXTENSIBLE speaker position
PRE_ROLL_SECONDS = 0.5       # first frame held before a mix that starts off zero (see master)


@dataclass(frozen=True)
class MasterOptions:
    """How a mix is mastered; stored in manifests so a master can be redone."""

    loudness_lufs: float = -23.0
    true_peak_dbtp: float = -1.0
    highpass_hz: float = 30.0
    glue_threshold_db: float = -18.0   # dBFS, with the mix staged at STAGE_LUFS
    glue_ratio: float = 2.0
    glue_attack_ms: float = 30.0
    glue_release_ms: float = 250.0
    reverb_send: float = 0.2           # wet hall level added from the reverb bus
    reverb_room_size: float = 0.75
    reverb_damping: float = 0.5
    reverb_width: float = 1.0
    limiter_release_ms: float = 100.0
    limiter_lookahead_ms: float = 5.0
    sample_rate: int = 48000

    def __post_init__(self) -> None:
        ranges = {
            "loudness_lufs": (-70.0, 0.0),
            "true_peak_dbtp": (-30.0, 0.0),
            "highpass_hz": (1.0, 500.0),
            "glue_threshold_db": (-60.0, 0.0),
            "glue_ratio": (1.0, 20.0),
            "glue_attack_ms": (0.1, 500.0),
            "glue_release_ms": (1.0, 5000.0),
            "reverb_send": (0.0, 1.0),
            "reverb_room_size": (0.0, 1.0),
            "reverb_damping": (0.0, 1.0),
            "reverb_width": (0.0, 1.0),
            "limiter_release_ms": (1.0, 2000.0),
            "limiter_lookahead_ms": (0.5, 50.0),
            "sample_rate": (8000, 384000),
        }
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not low <= value <= high:
                raise InputError(
                    f"master option {name} must be a number in {low} .. {high}, got {value!r}"
                )
        if not isinstance(self.sample_rate, int):
            raise InputError(f"master option sample_rate must be an int, got {self.sample_rate!r}")


@dataclass(frozen=True)
class MasterResult:
    """The mastered audio (frames, channels) at ``options.sample_rate`` and its
    figures, measured after mastering. ``loudness_lufs`` is None for input too
    short to gate. ``gain_db`` is the static gain (staging plus loudness
    normalisation), not counting compression or limiting."""

    audio: np.ndarray
    sample_rate: int
    loudness_lufs: float | None
    true_peak_dbtp: float
    gain_db: float
    notes: list[str] = field(default_factory=list)


def _db(gain_db: float) -> float:
    return 10.0 ** (gain_db / 20.0)


def _as_frames(audio: np.ndarray, what: str) -> np.ndarray:
    data = np.asarray(audio)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or not 1 <= data.shape[1] <= MAX_CHANNELS:
        raise RenderError(
            f"{what} must be (frames, channels) with 1 to {MAX_CHANNELS} channels, "
            f"got shape {data.shape}"
        )
    if not np.issubdtype(data.dtype, np.number):
        raise RenderError(f"{what} must be numeric, got dtype {data.dtype}")
    data = np.asarray(data, dtype=np.float64)  # no copy of float64 audio: never written to
    if not np.all(np.isfinite(data)):
        raise RenderError(f"{what} contains NaN or infinite samples")
    return data


def _resample(data: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    from scipy.signal import resample_poly

    ratio = Fraction(rate_out, rate_in)
    return resample_poly(data, ratio.numerator, ratio.denominator, axis=0)


def integrated_loudness(data: np.ndarray, rate: int,
                        layout: ChannelLayout | None = None) -> float | None:
    """Integrated loudness (LUFS, BS.1770-4 via pyloudnorm); None when the input is
    shorter than one 400 ms gating block or gated to silence. ``layout`` weights the
    channels (default: the usual layout for the count)."""
    data = _as_frames(data, "audio")
    if data.shape[0] < int(GATE_BLOCK_SECONDS * rate) + 1:
        return None
    value = loudness_lufs(data, rate, layout or channel_layout(data.shape[1]))
    return value if np.isfinite(value) else None


def _process(board, data: np.ndarray, rate: int, gain: float = 1.0) -> np.ndarray:
    """Run a pedalboard on (frames, channels) audio times ``gain``; pedalboard works
    in float32 on (channels, frames). The product is rounded to float32 as it is
    made (as ``(data * gain).astype(float32)`` would round it, without the float64
    copy of a long mix between)."""
    frames = np.empty((data.shape[1], data.shape[0]), dtype=np.float32)
    np.multiply(data.T, gain, out=frames, casting="unsafe")
    out = board(frames, rate)
    del frames
    return out.T.astype(np.float64)


def _glue_and_reverb(
    staged: np.ndarray, bus: np.ndarray | None, rate: int, options: MasterOptions
) -> np.ndarray:
    import pedalboard

    dry = _process(
        pedalboard.Pedalboard([
            pedalboard.HighpassFilter(cutoff_frequency_hz=options.highpass_hz),
            pedalboard.Compressor(
                threshold_db=options.glue_threshold_db,
                ratio=options.glue_ratio,
                attack_ms=options.glue_attack_ms,
                release_ms=options.glue_release_ms,
            ),
        ]),
        staged,
        rate,
    )
    if bus is None or options.reverb_send == 0.0:
        return dry
    wet = _process(
        pedalboard.Pedalboard([
            pedalboard.Reverb(
                room_size=options.reverb_room_size,
                damping=options.reverb_damping,
                wet_level=1.0,
                dry_level=0.0,
                width=options.reverb_width,
                freeze_mode=0.0,
            ),
            pedalboard.HighpassFilter(cutoff_frequency_hz=options.highpass_hz),
        ]),
        np.broadcast_to(bus, staged.shape),
        rate,
    )
    return dry + options.reverb_send * wet


def _limit(data: np.ndarray, gain: float, rate: int, ceiling_db: float,
           options: MasterOptions) -> np.ndarray:
    import pedalboard

    limiter = pedalboard.BrickwallLimiter(
        ceiling_db=ceiling_db,
        release_ms=options.limiter_release_ms,
        lookahead_ms=options.limiter_lookahead_ms,
        true_peak=True,
    )
    return _process(limiter, data, rate, gain)


def _normalise_and_limit(
    processed: np.ndarray, rate: int, options: MasterOptions, notes: list[str],
    layout: ChannelLayout,
) -> tuple[np.ndarray, float, float, float]:
    """Gain to the loudness target under the true-peak ceiling.
    Returns (audio, gain_db, loudness_lufs, true_peak_dbtp) of the pass kept."""
    target, ceiling = options.loudness_lufs, options.true_peak_dbtp
    allowed = ceiling - TRUE_PEAK_GUARD_DB
    gain_db = target - loudness_lufs(processed, rate, layout)
    if not math.isfinite(gain_db):
        raise SilentAudioError(_NOTHING_LEFT.format(options.highpass_hz))
    gain_cap_db = gain_db + MAX_LIMITING_DB
    limiter_db = allowed
    previous: tuple[float, float, float] | None = None  # (gain_db, limiter_db, loudness)
    for _ in range(MAX_PASSES):
        applied_gain_db = gain_db
        out = None  # the previous pass's audio: freed before the next is made
        out = _limit(processed, _db(gain_db), rate, limiter_db, options)
        loudness = loudness_lufs(out, rate, layout)
        peak = true_peak_dbtp(out, rate)
        loud_ok = abs(loudness - target) <= LOUDNESS_STEP_LU
        if loud_ok and peak <= allowed:
            break
        next_limiter_db = limiter_db
        if peak > allowed:  # the limiter overshot: lower its ceiling by the overshoot
            next_limiter_db = limiter_db - (peak - allowed) - 0.005
        next_gain_db = gain_db
        if not loud_ok:
            slope = 1.0  # loudness per dB of gain; below 1 once the limiter works
            if previous and previous[1] == limiter_db and previous[0] != gain_db:
                slope = (loudness - previous[2]) / (gain_db - previous[0])
                slope = min(max(slope, 0.1), 1.5)
            step = min(max((target - loudness) / slope, -MAX_STEP_DB), MAX_STEP_DB)
            next_gain_db = min(gain_db + step, gain_cap_db)
        if next_gain_db == gain_db and next_limiter_db == limiter_db:
            break  # nothing left to try: the gain cap is reached
        previous = (gain_db, limiter_db, loudness)
        gain_db, limiter_db = next_gain_db, next_limiter_db
    gain_db = applied_gain_db  # the gain of the pass kept, not an untried update
    if peak > allowed:  # holds the ceiling whatever it costs in loudness
        trim_db = allowed - peak
        out = out * _db(trim_db)
        gain_db += trim_db
        loudness, peak = loudness_lufs(out, rate, layout), true_peak_dbtp(out, rate)
        notes.append(f"limiter left {-trim_db:.2f} dB over the ceiling; trimmed statically")
    if abs(loudness - target) > 0.2:
        notes.append(
            f"loudness reached {loudness:.1f} LUFS, not {target:.1f}: the target is too loud "
            f"for a {ceiling:.1f} dBTP ceiling on this material"
        )
    return out, gain_db, loudness, peak


def master(
    mix: np.ndarray,
    sample_rate: int,
    options: MasterOptions = MasterOptions(),
    reverb_bus: np.ndarray | None = None,
    layout: ChannelLayout | None = None,
) -> MasterResult:
    """Master ``mix`` (frames, channels) float at ``sample_rate``; add the hall
    reverb of ``reverb_bus`` (same frames; mono or the mix's channels). ``layout``
    says which channels are surrounds and LFE for loudness (default: the usual
    layout for the channel count, see ``channel_layout``).

    A mix whose first frame is not zero (a DC offset, a hard cut into the music) is
    processed after ``PRE_ROLL_SECONDS`` of that frame held, which is then dropped:
    the high-pass and the compressor start as if the mix had always been there,
    instead of turning the jump from silence into a click (a 0.25 DC offset gave
    a 0.24 spike at the start). A mix that starts at zero is processed as it is."""
    return _master(mix, sample_rate, options, reverb_bus, layout, scratch=False)


def _master(mix, sample_rate, options, reverb_bus, layout, *, scratch: bool) -> MasterResult:
    """``master``; ``scratch``: the caller lets ``mix`` be overwritten (a file's
    decoded audio: staging it in place spares a copy of the whole mix)."""
    notes: list[str] = []
    data = _as_frames(mix, "mix")
    scratch = scratch or not np.may_share_memory(data, mix)  # a converted copy is ours too
    if layout is None:
        layout = channel_layout(data.shape[1])
    elif len(layout.weights) != data.shape[1]:
        raise RenderError(f"a layout of {len(layout.weights)} channels for a mix of {data.shape[1]}")
    bus = None
    if reverb_bus is not None:
        bus = _as_frames(reverb_bus, "reverb bus")
        if bus.shape[0] != data.shape[0] or bus.shape[1] not in (1, data.shape[1]):
            raise RenderError(
                f"reverb bus shape {bus.shape} does not fit the mix {data.shape}: "
                "same frames, and 1 or the mix's channels"
            )
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or sample_rate <= 0:
        raise RenderError(f"sample_rate must be a positive int, got {sample_rate!r}")
    if not data.size or float(np.max(np.abs(data))) == 0.0:
        raise SilentAudioError("the mix is silent: nothing to master")
    rate = options.sample_rate
    if sample_rate != rate:
        data, scratch = _resample(data, int(sample_rate), rate), True
        bus = None if bus is None else _resample(bus, int(sample_rate), rate)
        notes.append(f"resampled {sample_rate} Hz -> {rate} Hz (band-limited, resample_poly)")

    short = data.shape[0] < GATE_BLOCK_SECONDS * rate
    if short:
        stage_db = SHORT_STAGE_DBFS - 20.0 * math.log10(float(np.max(np.abs(data))))
    else:
        measured = loudness_lufs(data, rate, layout)
        if not math.isfinite(measured):
            raise SilentAudioError(
                "the mix is below the -70 LUFS absolute gate of BS.1770: nothing to master"
            )
        stage_db = STAGE_LUFS - measured
    if scratch:
        data *= _db(stage_db)  # ours to overwrite: no second copy of a long mix
        staged = data
    else:
        staged = data * _db(stage_db)
    del data
    pre = 0
    if np.any(staged[0] != 0.0):
        pre = int(PRE_ROLL_SECONDS * rate)
        staged = np.concatenate([np.repeat(staged[:1], pre, axis=0), staged])
        if bus is not None:
            bus = np.concatenate([np.repeat(bus[:1], pre, axis=0), bus])
    chain = _glue_and_reverb(staged, None if bus is None else bus * _db(stage_db), rate, options)
    if scratch and not pre:  # the staged mix is ours and done with: hold the result in it
        staged[...] = chain
        processed = staged
    else:
        processed = chain[pre:]
    del chain, staged, bus

    if short:
        allowed = options.true_peak_dbtp - TRUE_PEAK_GUARD_DB
        gain_db = allowed - max(true_peak_dbtp(processed, rate), _fine_peak_dbtp(processed, rate))
        if not math.isfinite(gain_db):
            raise SilentAudioError(_NOTHING_LEFT.format(options.highpass_hz))
        out = processed * _db(gain_db)
        notes.append(
            f"input is {1000.0 * processed.shape[0] / rate:.0f} ms, shorter than the 400 ms "
            f"loudness gating block: peak-normalised to the {options.true_peak_dbtp:.1f} dBTP "
            "ceiling instead of loudness-normalised"
        )
        return MasterResult(out, rate, None, true_peak_dbtp(out, rate), stage_db + gain_db, notes)

    out, gain_db, loudness, peak = _normalise_and_limit(processed, rate, options, notes, layout)
    return MasterResult(out, rate, loudness, peak, stage_db + gain_db, notes)


def _fine_peak_dbtp(data: np.ndarray, rate: int) -> float:
    """Peak of a 16x band-limited reconstruction (``resample_poly``'s long windowed
    sinc), silence assumed either side. The Annex 2 meter's 12-tap phases read a short
    burst's peaks up to ~0.15 dB low (a 10 ms burst peak-normalised to -1.0 dBTP by
    it reconstructs to -0.86); input too short to be limited is normalised to the
    higher of the two readings. Cheap only because such input is under 400 ms."""
    from scipy.signal import resample_poly

    pad = np.zeros((64, data.shape[1]))
    fine = resample_poly(np.concatenate([pad, data, pad]), 16, 1, axis=0)
    peak = float(np.max(np.abs(fine)))
    return 20.0 * math.log10(peak) if peak > 0.0 else -math.inf


def _rescale(samples: int, rate_in: int, rate_out: int) -> int:
    """A sample position at ``rate_in`` as the nearest position at ``rate_out``
    (exact integer arithmetic: time references exceed float's comfort)."""
    return (samples * rate_out + rate_in // 2) // rate_in


def master_file(
    in_path: str | Path,
    out_path: str | Path,
    options: MasterOptions = MasterOptions(),
) -> MasterResult:
    """Master an audio file (any WAV ``read_wav`` reads: any depth, rate, RF64/BW64;
    AIFF, FLAC) into a 24-bit PCM WAV at ``options.sample_rate`` with the input's
    channels in their order and its speaker mask. A ``bext`` chunk in the input is
    kept, its time reference rescaled to the new rate and a coding-history line added."""
    wav = read_wav(in_path)
    channels = wav.audio.shape[1]
    if channels > MAX_CHANNELS:  # the file, not the code, is wrong: bad input (exit status 2)
        raise AudioInputError(f"has {channels} channels; mastering takes 1 to {MAX_CHANNELS}", in_path)
    try:
        layout = channel_layout(channels, wav.channel_mask)
    except InputError as exc:
        raise AudioInputError(f"has {exc.message}", in_path) from None
    if not any(layout.weights):
        raise AudioInputError(f"holds only an LFE channel ({layout.names}); BS.1770 loudness leaves the LFE "
                              "out, so there is nothing to measure", in_path)
    if not np.all(np.isfinite(wav.audio)):
        raise AudioInputError("has NaN or infinite samples", in_path)
    try:
        result = _master(wav.audio, wav.sample_rate, options, None, layout, scratch=True)
    except (RenderError, SilentAudioError) as exc:
        raise type(exc)(exc.message, in_path) from None
    result.notes[:0] = list(wav.notes)
    if wav.container not in ("RIFF", "RF64", "BW64"):
        result.notes.append(f"input was {wav.container}, {wav.encoding}; written as a 24-bit PCM WAV")
    elif wav.sample_format != "pcm" or wav.bit_depth != 24 or "words" in wav.encoding:
        result.notes.append(f"input was {wav.encoding or f'{wav.bit_depth}-bit'}; written as 24-bit PCM")
    if channels > 2:
        how = "as the file states" if layout.stated else "assumed: the file states no speaker positions"
        result.notes.append(
            f"{channels} channels {layout.names} ({how}); BS.1770 weights "
            + " ".join(f"{w:g}" for w in layout.weights)
        )
    bext = None
    if wav.bext is not None:
        mode = {1: "mono", 2: "stereo"}.get(channels, "multitrack")
        line = f"A=PCM,F={result.sample_rate},W=24,M={mode},T=scorefarm master\r\n"
        history = wav.bext.coding_history
        if history and not history.endswith("\r\n"):
            history += "\r\n"
        bext = Bext(
            description=wav.bext.description,
            originator=wav.bext.originator,
            originator_reference=wav.bext.originator_reference,
            origination_date=wav.bext.origination_date,
            origination_time=wav.bext.origination_time,
            time_reference=_rescale(wav.bext.time_reference, wav.sample_rate, result.sample_rate),
            coding_history=history + line,
        )
    write_wav(out_path, result.audio, result.sample_rate, 24, bext,
              channel_mask=layout.mask if layout.stated and (channels > 2 or layout.mask != DEFAULT_MASKS[channels])
              else None)
    return result
