"""The extension model: a small Llama-style causal transformer from ``transformers``.

A checkpoint is a folder: ``model.safetensors`` and ``config.json`` (written by
``save_pretrained``), ``tokenizer.json`` (miditok) and ``training.json`` (the
command, data, hours, hardware and figures that made it). Models load from local
files only; nothing is ever unpickled.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from scorefarm.errors import InputError

TRAINING_FILE = "training.json"
SHIP_FILES = ("model.safetensors", "config.json", "tokenizer.json", TRAINING_FILE)
MODEL_ENV = "SCOREFARM_EXTEND_MODEL"


class ModelError(InputError):
    """A model folder that is missing, incomplete or unreadable."""


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Shape of the transformer (saved in config.json by transformers)."""

    vocab_size: int
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 704
    context: int = 512

    def to_llama(self):
        from transformers import LlamaConfig

        return LlamaConfig(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_layers, num_attention_heads=self.num_heads,
            num_key_value_heads=self.num_heads, max_position_embeddings=self.context,
            rms_norm_eps=1e-5, tie_word_embeddings=True, rope_theta=10000.0,
            attention_dropout=0.0, pad_token_id=0, bos_token_id=1, eos_token_id=2,
        )


def build_model(config: ModelConfig, seed: int = 0):
    """A randomly initialised model (deterministic for a seed)."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM(config.to_llama())
    model.eval()
    return model


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def default_model_dir() -> Path:
    """$SCOREFARM_EXTEND_MODEL, else the shipped model (``scorefarm.models/extend`` when
    installed, ``models/extend`` in a source checkout)."""
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    spec = importlib.util.find_spec("scorefarm.models") if importlib.util.find_spec("scorefarm") else None
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if (Path(location) / "extend" / "config.json").exists():
                return Path(location) / "extend"
    return Path(__file__).resolve().parents[1] / "models" / "extend"


def model_sha256(folder: str | Path | None = None) -> str:
    """SHA-256 of a model folder's weights, tokenizer and config (for cache keys)."""
    from scorefarm.files import sha256_file

    folder = Path(folder) if folder is not None else default_model_dir()
    parts = []
    for name in SHIP_FILES[:3]:
        if not (folder / name).exists():
            raise ModelError(f"is not a model folder (missing {name})", folder)
        parts.append(sha256_file(folder / name))
    import hashlib

    return hashlib.sha256(" ".join(parts).encode()).hexdigest()


def load_model(folder: str | Path | None = None):
    """(model, tokenizer, training record) from a checkpoint folder, in eval mode."""
    import torch
    from transformers import LlamaForCausalLM

    from .tokenizer import load_tokenizer

    folder = Path(folder) if folder is not None else default_model_dir()
    missing = [name for name in SHIP_FILES[:3] if not (folder / name).exists()]
    if missing:
        raise ModelError(f"is not a model folder (missing {', '.join(missing)}); train one with "
                         "`compose train` or set $" + MODEL_ENV, folder)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no tqdm bars on the command line
    try:
        model = LlamaForCausalLM.from_pretrained(folder, local_files_only=True, use_safetensors=True,
                                                 dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise ModelError(f"model cannot be loaded ({' '.join(str(exc).split())[:200]})", folder) from None
    model.eval()
    tokenizer = load_tokenizer(folder)
    if len(tokenizer.vocab) != model.config.vocab_size:
        raise ModelError(f"tokenizer has {len(tokenizer.vocab)} tokens but the model {model.config.vocab_size}",
                         folder)
    record = {}
    if (folder / TRAINING_FILE).exists():
        record = json.loads((folder / TRAINING_FILE).read_text())
    return model, tokenizer, record


def save_checkpoint(folder: str | Path, model, tokenizer, record: dict) -> None:
    """Write the ship files into ``folder``: built in a temporary folder beside it,
    then each file renamed into place (no half-written checkpoint)."""
    from .tokenizer import save_tokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".ckpt-", dir=folder))
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        save_tokenizer(tokenizer, tmp)
        (tmp / TRAINING_FILE).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        for name in SHIP_FILES:
            os.chmod(tmp / name, 0o644)
            os.replace(tmp / name, folder / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
