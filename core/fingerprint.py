"""A fingerprint of the toolkit's own code and data, for content-addressed outputs.

A cue's cache key (``render.pipeline.CueSpec.key``) names its inputs and options; what
the stages make of them depends on the code too. The version number alone would let a
rendered folder made by an older or locally edited toolkit pass for this one's, so the
key also carries a sha256 over the source and data files of the packages that produce
a cue (symbolic, arrange, render and the core). Model folders are named by their own
ids in the key; the shipped harmonizer's tables and nets live in ``symbolic/data`` and
are covered here.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
from pathlib import Path

PACKAGES = ("scorefarm", "scorefarm.symbolic", "scorefarm.arrange", "scorefarm.render")
SUFFIXES = (".py", ".json", ".toml", ".safetensors")


def fingerprint(roots: list[Path], shallow: int = 0) -> str:
    """sha256 over the relative paths and bytes of the ``SUFFIXES`` files under ``roots``
    (``__pycache__`` left out), in a fixed order; the first ``shallow`` roots are read
    without their subfolders."""
    digest = hashlib.sha256()
    for k, root in enumerate(roots):
        found = root.glob("*") if k < shallow else root.rglob("*")
        files = sorted(p for p in found if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts)
        for path in files:
            digest.update(f"{k}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """The fingerprint of this installation's ``PACKAGES``: the core's own files (an
    installed wheel nests the subpackages, and the models, under it), then each
    subpackage's folder."""
    roots = [Path(importlib.import_module(name).__file__).parent for name in PACKAGES]
    return fingerprint(roots, shallow=1)
