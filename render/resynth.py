"""Optional neural re-synthesis of a rendered stem with MusicGen-Melody.

The stem's chroma (its melody and harmony, as one pitch class per frame) and a text
prompt (the cue's mood) condition MusicGen-Melody through transformers. Cues longer
than one window are generated window by window: each window is conditioned on the
chroma of its own span of the stem and continues from the last ``overlap_seconds``
of the audio made so far. ``MusicgenMelodyForConditionalGeneration.generate`` takes no
``input_values`` audio prompt (plain MusicGen's does), so the tail is encoded with the
model's EnCodec here and passed as ``decoder_input_ids``, which is what MusicGen's own
audio-prompt path does. The overlaps are joined with a power-preserving crossfade that
allows for their correlation (see ``equal_power_crossfade``).

The chroma is computed here, the way ``MusicgenMelodyFeatureExtractor`` computes it and
with the parameters of the model folder's ``preprocessor_config.json``: that class needs
torchaudio, which has no build for the torch this project pins.

Models load from a local folder only (safetensors, never pickle); nothing is fetched:
the folder's checks, the loading and the per-process cache are `musicgen`'s.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from scorefarm.errors import AudioInputError, InputError, RenderError

from .musicgen import (
    LICENCE_NOTICE,
    ChromaParams,
    ResynthModel,
    _first_line,
    _resolve_device,
    load_resynth_model,
    missing_files,
)

__all__ = [  # the names from musicgen are found here too, where their importers look
    "DEVICES", "LICENCE_NOTICE", "MODES", "OUTPUT_SAMPLE_RATE", "ChromaParams", "ProgressCallback",
    "ResynthModel", "ResynthOptions", "ResynthResult", "_resolve_device", "chroma_features",
    "equal_power_crossfade", "load_resynth_model", "missing_files", "plan_windows", "resynthesize",
]

OUTPUT_SAMPLE_RATE = 48_000
MODES = ("replace", "mix")
DEVICES = ("cpu", "cuda", "auto")
_MAX_MATCH_GAIN_DB = 24.0  # never lift the generated layer more than this to match the stem

ProgressCallback = Callable[[int, int], None]
"""Called after each window with ``(windows_done, windows_total)``."""


@dataclass(frozen=True)
class ResynthOptions:
    """How a stem is re-synthesized; stored in the cue's manifest.

    ``mix_level_db`` is the gain of the re-synthesized layer, after it has been matched
    to the stem's RMS level, when it is added under the original stem (``mode="mix"``).
    """

    model_dir: Path
    prompt: str
    seed: int
    guidance_scale: float = 3.0
    temperature: float = 1.0
    top_k: int = 250
    window_seconds: float = 30.0
    overlap_seconds: float = 5.0
    mode: str = "replace"
    mix_level_db: float = -6.0
    device: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_dir", Path(self.model_dir))
        checks = [
            (isinstance(self.prompt, str), f"prompt must be text, got {self.prompt!r}"),
            (isinstance(self.seed, int) and not isinstance(self.seed, bool) and self.seed >= 0,
             f"seed must be a whole number >= 0, got {self.seed!r}"),
            (self.guidance_scale >= 1.0,
             f"guidance_scale must be >= 1.0 (1.0 = no guidance), got {self.guidance_scale}"),
            (self.temperature > 0.0, f"temperature must be > 0, got {self.temperature}"),
            (isinstance(self.top_k, int) and self.top_k >= 0,
             f"top_k must be a whole number >= 0 (0 = off), got {self.top_k!r}"),
            (self.window_seconds > 0.0, f"window_seconds must be > 0, got {self.window_seconds}"),
            (0.0 < self.overlap_seconds < self.window_seconds,
             f"overlap_seconds must be > 0 and < window_seconds ({self.window_seconds}), got {self.overlap_seconds}"),
            (self.mode in MODES, f"mode must be one of {', '.join(MODES)}; got {self.mode!r}"),
            (math.isfinite(self.mix_level_db), f"mix_level_db must be a finite number, got {self.mix_level_db}"),
            (self.device in DEVICES, f"device must be one of {', '.join(DEVICES)}; got {self.device!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(f"re-synthesis options: {message}")

    def window_frames(self, frame_rate: float) -> int:
        """Codec frames in one full window."""
        return int(self.window_seconds * frame_rate)

    def overlap_frames(self, frame_rate: float) -> int:
        return max(1, round(self.overlap_seconds * frame_rate))

    def max_new_tokens(self, frame_rate: float, num_codebooks: int = 4) -> int:
        """Tokens ``generate`` makes for a full first window (later windows make fewer:
        their first ``overlap_frames`` come from the prompt)."""
        return _new_tokens(self.window_frames(frame_rate), num_codebooks)


def _new_tokens(frames: int, codebooks_per_channel: int) -> int:
    """Steps for ``frames`` new codec frames: MusicGen's delay pattern offsets codebook k
    by k steps, so the last frame is complete ``codebooks - 1`` steps after it starts."""
    return frames + codebooks_per_channel - 1


@dataclass(frozen=True)
class ResynthResult:
    audio: np.ndarray  # (frames, 2) float32 at OUTPUT_SAMPLE_RATE
    notes: list[str]


# -- signal helpers -------------------------------------------------------------------

def _resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited polyphase resampling along axis 0."""
    if rate_in == rate_out:
        return audio
    from scipy.signal import resample_poly

    ratio = Fraction(rate_out, rate_in)
    return resample_poly(audio, ratio.numerator, ratio.denominator, axis=0)


def _fit(audio: np.ndarray, frames: int) -> np.ndarray:
    """Trim or zero-pad the last axis to exactly ``frames``."""
    if audio.shape[-1] >= frames:
        return audio[..., :frames]
    return np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(0, frames - audio.shape[-1])])


def chroma_features(mono: np.ndarray, params: ChromaParams):
    """One-hot chroma, shape (1, frames, num_chroma), as MusicgenMelodyFeatureExtractor makes it:
    a centred, reflect-padded Hann STFT power spectrum, librosa's chroma filters, and the
    strongest pitch class of each frame set to 1."""
    import torch
    from transformers.audio_utils import chroma_filter_bank

    wav = torch.as_tensor(np.ascontiguousarray(mono), dtype=torch.float32)
    if wav.shape[-1] < params.n_fft:
        pad = params.n_fft - wav.shape[-1]
        wav = torch.nn.functional.pad(wav, (pad // 2, pad - pad // 2))
    window = torch.hann_window(params.n_fft)
    spec = torch.stft(wav[None], params.n_fft, params.hop_length, window=window, center=True,
                      pad_mode="reflect", return_complex=True)
    power = (spec / window.pow(2).sum().sqrt()).abs().pow(2)
    filters = torch.from_numpy(chroma_filter_bank(num_frequency_bins=params.n_fft, num_chroma=params.num_chroma,
                                                  sampling_rate=params.sampling_rate, tuning=0)).float()
    raw = torch.einsum("cf,bft->btc", filters, power)
    chroma = torch.zeros_like(raw)
    chroma.scatter_(-1, raw.argmax(-1, keepdim=True), 1.0)
    return chroma


def equal_power_crossfade(outgoing: np.ndarray, incoming: np.ndarray) -> np.ndarray:
    """Join two (channels, n) blocks keeping their power through the fade, whatever their
    correlation r (clipped to 0..1): gains (1 - x, x) scaled by 1 / sqrt((1-x)^2 + x^2 + 2r x(1-x)).
    Uncorrelated blocks get a power-preserving fade; identical ones (a window's re-decoded
    prompt against the tail it came from) a plain linear one, so the join has no +3 dB bump."""
    a, b = np.asarray(outgoing, np.float64).ravel(), np.asarray(incoming, np.float64).ravel()
    energy = float(a @ a) * float(b @ b)
    r = min(max(float(a @ b) / math.sqrt(energy), 0.0), 1.0) if energy > 0 else 0.0
    x = (np.arange(outgoing.shape[-1]) + 0.5) / outgoing.shape[-1]
    scale = 1.0 / np.sqrt((1 - x) ** 2 + x**2 + 2 * r * x * (1 - x))
    return outgoing * ((1 - x) * scale) + incoming * (x * scale)


def plan_windows(total_frames: int, window_frames: int, overlap_frames: int) -> list[tuple[int, int]]:
    """(start, end) codec frames of each window; each after the first starts
    ``overlap_frames`` before the previous one ends."""
    spans, start = [], 0
    while True:
        end = min(start + window_frames, total_frames)
        spans.append((start, end))
        if end >= total_frames:
            return spans
        start = end - overlap_frames


# -- generation -------------------------------------------------------------------------

def _encode_prompt(bundle: ResynthModel, tail: np.ndarray):
    """EnCodec codes of ``tail`` (channels, n) as decoder_input_ids (codebooks, frames);
    stereo models interleave left and right codebooks, as MusicGen's audio prompt does."""
    import torch

    codes = []
    for channel in tail:
        values = torch.as_tensor(channel, dtype=torch.float32, device=bundle.device)[None, None]
        codes.append(bundle.model.audio_encoder.encode(values).audio_codes[0, 0])  # (nq, frames)
    stacked = torch.stack(codes, dim=1)  # (nq, channels, frames): left/right interleaved per codebook
    return stacked.reshape(-1, stacked.shape[-1])


def _generate_window(bundle, text, chroma, prompt_codes, frames: int, options: ResynthOptions, seed: int):
    import torch

    model = bundle.model
    kwargs = dict(text)
    prompt_frames = 0
    if prompt_codes is not None:
        kwargs["decoder_input_ids"] = prompt_codes
        prompt_frames = prompt_codes.shape[-1]
    gen = model.generation_config
    start_id = model.config.decoder.bos_token_id if gen.decoder_start_token_id is None else gen.decoder_start_token_id
    pad_id = model.config.decoder.pad_token_id if gen.pad_token_id is None else gen.pad_token_id
    torch.manual_seed(seed)
    audio = model.generate(
        **kwargs, input_features=chroma.to(bundle.device), do_sample=True,
        guidance_scale=options.guidance_scale, temperature=options.temperature, top_k=options.top_k,
        max_new_tokens=_new_tokens(frames - prompt_frames, model.decoder.num_codebooks // bundle.audio_channels),
        decoder_start_token_id=start_id, pad_token_id=pad_id)
    return audio[0].float().cpu().numpy()  # (channels, samples)


@contextlib.contextmanager
def _plain_cpu_kernels() -> Iterator[None]:
    """oneDNN's CPU convolutions round differently with the thread count, and EnCodec's output
    feeds the next window's prompt: without them a seed gives the same audio on any core count."""
    import torch

    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


def _window_seed(seed: int, window: int) -> int:
    return int(np.random.SeedSequence([seed, window]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _generate(bundle: ResynthModel, mono: np.ndarray, options: ResynthOptions,
              progress: ProgressCallback | None) -> tuple[np.ndarray, int]:
    """Generated audio (channels, len(mono)) at the model's rate, and the number of windows."""
    import torch

    fr, hop = bundle.frame_rate, bundle.hop_length
    window_f, overlap_f = options.window_frames(fr), options.overlap_frames(fr)
    if window_f - overlap_f < 1:
        raise InputError(f"re-synthesis options: window_seconds {options.window_seconds} and overlap_seconds "
                         f"{options.overlap_seconds} leave no new audio per window at {fr} codec frames/s")
    chroma_frames = 1 + window_f * hop // bundle.chroma.hop_length
    if chroma_frames > bundle.model.config.chroma_length:
        limit = bundle.model.config.chroma_length * bundle.chroma.hop_length / bundle.sampling_rate
        raise InputError(f"re-synthesis options: window_seconds {options.window_seconds} is longer than the "
                         f"model's melody conditioning ({limit:.2f} s)")
    total_f = -(-mono.shape[0] // hop)
    mono = np.pad(mono, (0, total_f * hop - mono.shape[0]))
    spans = plan_windows(total_f, window_f, overlap_f)
    text = bundle.tokenizer([options.prompt], return_tensors="pt").to(bundle.device)
    out = np.zeros((bundle.audio_channels, total_f * hop), dtype=np.float32)
    devices = [torch.cuda.current_device()] if bundle.device == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.inference_mode(), _plain_cpu_kernels():
        for k, (start, end) in enumerate(spans):
            chroma = chroma_features(mono[start * hop:end * hop], bundle.chroma)
            prompt = None if k == 0 else _encode_prompt(bundle, out[:, start * hop:(start + overlap_f) * hop])
            audio = _fit(_generate_window(bundle, text, chroma, prompt, end - start, options,
                                          _window_seed(options.seed, k)), (end - start) * hop)
            if k == 0:
                out[:, :end * hop] = audio
            else:
                joint = slice(start * hop, (start + overlap_f) * hop)
                out[:, joint] = equal_power_crossfade(out[:, joint], audio[:, :overlap_f * hop])
                out[:, (start + overlap_f) * hop:end * hop] = audio[:, overlap_f * hop:]
            if progress is not None:
                progress(k + 1, len(spans))
    return out, len(spans)


def _stereo_48k(audio: np.ndarray, sample_rate: int, frames: int) -> np.ndarray:
    """(n, 1 or 2) at ``sample_rate`` -> (frames, 2) at OUTPUT_SAMPLE_RATE."""
    audio = _fit(_resample(audio, sample_rate, OUTPUT_SAMPLE_RATE).T, frames).T
    return np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0


def resynthesize(audio: np.ndarray, sample_rate: int, options: ResynthOptions,
                 progress: ProgressCallback | None = None, *, model: ResynthModel | None = None) -> ResynthResult:
    """Re-synthesize a rendered stem with MusicGen-Melody.

    ``audio`` is (frames, channels) or (frames,) float at ``sample_rate``. The result is
    (frames, 2) float32 at 48 kHz, exactly as long as the input. ``model`` is an already
    loaded model to use instead of loading ``options.model_dir``. The same stem, options
    and seed give the same audio on CPU whatever the thread count; on CUDA, best effort.
    """
    stem = np.asarray(audio)
    if stem.ndim == 1:
        stem = stem[:, None]
    if stem.ndim != 2 or stem.shape[1] not in (1, 2) or not np.issubdtype(stem.dtype, np.floating):
        raise AudioInputError(f"re-synthesis needs float audio shaped (frames, 1 or 2 channels); got "
                              f"{stem.dtype} {stem.shape}")
    if stem.shape[0] == 0 or not np.all(np.isfinite(stem)):
        raise AudioInputError("re-synthesis needs a non-empty stem of finite samples")
    if not isinstance(sample_rate, int) or sample_rate <= 0:
        raise AudioInputError(f"sample_rate must be a positive whole number of Hz, got {sample_rate!r}")

    bundle = model if model is not None else load_resynth_model(options.model_dir, options.device)
    model_rate = bundle.sampling_rate
    mono = _resample(stem.astype(np.float64).mean(axis=1), sample_rate, model_rate).astype(np.float32)
    mono = _fit(mono, math.ceil(stem.shape[0] * model_rate / sample_rate))
    try:
        generated, windows = _generate(bundle, mono, options, progress)
    except (RuntimeError, ValueError) as exc:  # torch/transformers failures while generating
        raise RenderError(f"re-synthesis failed while generating ({_first_line(exc)})", options.model_dir) from exc

    out_frames = round(stem.shape[0] * OUTPUT_SAMPLE_RATE / sample_rate)
    layer = _stereo_48k(generated[:, :mono.shape[0]].T, model_rate, out_frames)
    original = _stereo_48k(stem.astype(np.float64), sample_rate, out_frames)

    notes = [LICENCE_NOTICE]
    target, made = _rms(original), _rms(layer)
    gain = min(target / made, 10 ** (_MAX_MATCH_GAIN_DB / 20)) if made > 0 else 0.0
    notes.append(f"generated audio matched to the stem's RMS level ({20 * math.log10(gain):+.1f} dB)"
                 if gain > 0 else "the stem or the generated audio is silent: the re-synthesized layer is silent")
    layer = layer * gain
    if windows > 1:
        notes.append(
            f"{windows} windows of {options.window_seconds:g} s; each after the first is conditioned on the chroma "
            f"of its own span and continues from the previous {options.overlap_seconds:g} s (EnCodec codes as "
            "decoder_input_ids: MusicgenMelody.generate takes no input_values), joined by power-preserving crossfades")
    if bundle.audio_channels == 1:
        notes.append("the model is mono: the re-synthesized layer is the same in both channels")
    if options.mode == "mix":
        mixed = original + layer * 10 ** (options.mix_level_db / 20)
        notes.append(f"mixed under the original stem at {options.mix_level_db:+.1f} dB")
        return ResynthResult(mixed.astype(np.float32), notes)
    return ResynthResult(layer.astype(np.float32), notes)
