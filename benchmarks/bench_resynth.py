"""Benchmark: seconds of audio that MusicGen-Melody re-synthesis makes per wall second.

The published weights cannot be downloaded here, so the model is the published
musicgen-melody (medium) architecture with random weights: generation does the same
work whatever the weights hold (MusicGen has no end token; every step is computed).
Sizes from transformers' conversion script and the published configs: decoder hidden
1536, 48 layers, 24 heads, FFN 6144, 4 codebooks of 2048 codes, chroma conditioning
235 frames; T5-base text encoder; EnCodec 32 kHz (hop 640, 50 frames/s, 4 codebooks).

It runs the library's own path (``resynthesize``: chroma, windows, prompts, EnCodec,
resampling) on a synthetic stem, on CUDA when there is one, else on CPU with a short
stem so it ends in minutes. Prints one JSON line.

    python benchmarks/bench_resynth.py            # real size
    python benchmarks/bench_resynth.py --tiny     # a tiny configuration, for a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
    EncodecConfig,
    MusicgenMelodyConfig,
    MusicgenMelodyDecoderConfig,
    MusicgenMelodyForConditionalGeneration,
    T5Config,
    T5Tokenizer,
)

from scorefarm.render.resynth import ChromaParams, ResynthModel, ResynthOptions, resynthesize  # noqa: E402

PROMPT = "tense, low strings, distant brass"


def medium_melody_config() -> MusicgenMelodyConfig:
    text = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12,
                    feed_forward_proj="relu")  # t5-base
    codec = EncodecConfig(sampling_rate=32_000, audio_channels=1, num_filters=64, hidden_size=128,
                          upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[2.2], codebook_size=2048,
                          use_causal_conv=False, normalize=False, use_conv_shortcut=False)  # encodec_32khz
    decoder = MusicgenMelodyDecoderConfig(vocab_size=2048, max_position_embeddings=2048, hidden_size=1536,
                                          ffn_dim=6144, num_hidden_layers=48, num_attention_heads=24,
                                          num_codebooks=4, audio_channels=1, pad_token_id=2048, bos_token_id=2048)
    return MusicgenMelodyConfig(text_encoder=text, audio_encoder=codec, decoder=decoder, chroma_length=235)


def tiny_config() -> MusicgenMelodyConfig:
    text = T5Config(vocab_size=32, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    codec = EncodecConfig(sampling_rate=32_000, audio_channels=1, num_filters=4, hidden_size=16,
                          upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[1.2], codebook_size=64,
                          num_lstm_layers=1, use_causal_conv=False, normalize=False, use_conv_shortcut=False)
    decoder = MusicgenMelodyDecoderConfig(vocab_size=64, max_position_embeddings=2048, hidden_size=32, ffn_dim=64,
                                          num_hidden_layers=2, num_attention_heads=2, num_codebooks=4,
                                          pad_token_id=64, bos_token_id=64)
    return MusicgenMelodyConfig(text_encoder=text, audio_encoder=codec, decoder=decoder, chroma_length=235)


def build(config: MusicgenMelodyConfig, device: str) -> ResynthModel:
    torch.manual_seed(0)
    model = MusicgenMelodyForConditionalGeneration(config).eval()
    with torch.no_grad():  # EnCodec's codebooks are learnt; random ones stand in for them
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
    token = config.decoder.bos_token_id
    model.generation_config.decoder_start_token_id = token
    model.generation_config.pad_token_id = token
    words = PROMPT.replace(",", " ").split()
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)] + [("\u2581" + w, -3.0) for w in words]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    return ResynthModel(Path("<in memory>"), device, model.to(device), tokenizer, ChromaParams())


def machine(device: str) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    text = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads)"
    if device == "cuda":
        text = f"{torch.cuda.get_device_name(0)}; {text}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny random configuration, for a quick check")
    parser.add_argument("--seconds", type=float, help="stem length (default: 30 on CUDA, 2 on CPU, 10 tiny)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    args = parser.parse_args(argv)

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    seconds = args.seconds or (10.0 if args.tiny else 30.0 if device == "cuda" else 2.0)
    started = time.perf_counter()
    bundle = build(tiny_config() if args.tiny else medium_melody_config(), device)
    build_seconds = time.perf_counter() - started

    rate = 48_000
    t = np.arange(int(seconds * rate)) / rate
    stem = np.repeat((0.3 * np.sin(2 * np.pi * 220.0 * t))[:, None], 2, axis=1).astype(np.float32)
    options = ResynthOptions(model_dir=bundle.folder, prompt=PROMPT, seed=1, device=device)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    result = resynthesize(stem, rate, options, model=bundle)
    if device == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - started
    assert result.audio.shape == (len(stem), 2) and np.all(np.isfinite(result.audio))

    print(json.dumps({
        "benchmark": "resynth_speed",
        "device": device,
        "config": "tiny (random init)" if args.tiny else "musicgen-melody-medium (random init)",
        "parameters": sum(p.numel() for p in bundle.model.parameters()),
        "audio_seconds": seconds,
        "wall_seconds": round(wall, 3),
        "realtime_factor": round(seconds / wall, 4),
        "build_seconds": round(build_seconds, 1),
        "guidance_scale": options.guidance_scale,
        "machine": machine(device),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
