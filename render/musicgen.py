"""MusicGen-Melody from a local folder: checked, loaded once per process, and bundled
with its tokenizer and chroma parameters (`ResynthModel`) for re-synthesis.

Only the folder is read (``local_files_only=True``, ``HF_HUB_OFFLINE``), weights only
as safetensors, never pickle; nothing is fetched. ``missing_files`` checks a folder's
file names cheaply, without importing torch, so a cue list can be checked at load.
What is generated with the model, window by window, is `resynth`'s.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scorefarm.errors import InputError

LICENCE_NOTICE = (
    "The published MusicGen weights (facebook/musicgen-melody and its siblings) are licensed "
    "CC-BY-NC 4.0: non-commercial use only. A cue re-synthesized with them cannot be used "
    "commercially."
)


@dataclass(frozen=True)
class ChromaParams:
    """The chroma front end of MusicgenMelodyFeatureExtractor, from preprocessor_config.json."""

    sampling_rate: int = 32_000
    n_fft: int = 16_384
    hop_length: int = 4_096
    num_chroma: int = 12


@dataclass(frozen=True)
class ResynthModel:
    folder: Path
    device: str
    model: Any  # MusicgenMelodyForConditionalGeneration
    tokenizer: Any
    chroma: ChromaParams

    @property
    def sampling_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def frame_rate(self) -> int:
        return int(self.model.config.audio_encoder.frame_rate)

    @property
    def hop_length(self) -> int:
        return int(self.model.config.audio_encoder.hop_length)

    @property
    def audio_channels(self) -> int:
        return int(self.model.config.decoder.audio_channels)


_CACHE: dict[tuple, ResynthModel] = {}


def _resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("re-synthesis options: device 'cuda' was asked for but no CUDA device is available")
    return device


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def missing_files(folder: Path) -> list[str]:
    """The files a MusicGen-Melody folder must hold that ``folder`` lacks (cheap: names only)."""
    wanted = [
        ("config.json",),
        ("model.safetensors", "model.safetensors.index.json"),
        ("tokenizer.json",),
        ("preprocessor_config.json",),
    ]
    return [" or ".join(names) for names in wanted if not any((folder / n).is_file() for n in names)]


def load_resynth_model(model_dir: str | Path, device: str = "cpu") -> ResynthModel:
    """Load MusicGen-Melody, its T5 tokenizer and its chroma parameters from a local folder.

    Only ``model_dir`` is read (``local_files_only=True``), weights only as safetensors.
    The folder must hold ``config.json``, ``model.safetensors`` (or a sharded index),
    ``tokenizer.json`` and ``preprocessor_config.json``, as a checkpoint saved with
    ``save_pretrained`` and its processor does. Loaded models are cached per process,
    keyed by folder, device and the weights' modification time.

    Licence: the published MusicGen weights are licensed CC-BY-NC 4.0 (non-commercial
    use only), so a cue re-synthesized with them cannot be used commercially
    (``LICENCE_NOTICE``).

    Raises ``InputError`` with a one-line message naming the folder when it is missing,
    incomplete, or does not hold a loadable MusicGen-Melody model.
    """
    folder = Path(model_dir).expanduser()
    if not folder.is_dir():
        raise InputError("re-synthesis model folder not found", folder)
    missing = missing_files(folder)
    if missing:
        raise InputError(f"re-synthesis model folder is incomplete: missing {', '.join(missing)}", folder)
    device = _resolve_device(device)
    weights = sorted(folder.glob("*.safetensors"))
    key = (str(folder.resolve()), device, tuple((w.name, w.stat().st_mtime_ns) for w in weights))
    if key in _CACHE:
        return _CACHE[key]
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        features = json.loads((folder / "preprocessor_config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"re-synthesis model folder has an unreadable config ({exc})", folder) from None
    if config.get("model_type") != "musicgen_melody":
        raise InputError(
            f"not a MusicGen-Melody model: config.json has model_type {config.get('model_type')!r}, "
            "expected 'musicgen_melody'", folder)
    chroma = ChromaParams(**{k: int(features[k]) for k in ("sampling_rate", "n_fft", "hop_length", "num_chroma")
                             if k in features})

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # local folders only, even if something asks the hub
    from safetensors import SafetensorError
    from transformers import AutoTokenizer, MusicgenMelodyForConditionalGeneration

    try:
        model = MusicgenMelodyForConditionalGeneration.from_pretrained(
            folder, local_files_only=True, use_safetensors=True)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        raise InputError(f"re-synthesis model cannot be loaded ({_first_line(exc)})", folder) from None
    if chroma.sampling_rate != model.config.audio_encoder.sampling_rate or chroma.num_chroma != model.config.num_chroma:
        raise InputError("re-synthesis model folder: preprocessor_config.json does not match config.json "
                         f"(chroma at {chroma.sampling_rate} Hz x {chroma.num_chroma} bins, model at "
                         f"{model.config.audio_encoder.sampling_rate} Hz x {model.config.num_chroma})", folder)
    bundle = ResynthModel(folder, device, model.to(device).eval(), tokenizer, chroma)
    for stale in [k for k in _CACHE if k[:2] == key[:2]]:  # the folder's weights were replaced
        del _CACHE[stale]
    _CACHE[key] = bundle
    return bundle
