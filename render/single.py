"""Render one MIDI file (no cue list): the cue pipeline in this process."""

from __future__ import annotations

import re
from pathlib import Path

from scorefarm.errors import ScoreError

from .pipeline import CueProduct, CueSpec, render_cue, write_cue
from .soundfonts import resolve_soundfont


def safe_id(stem: str) -> str:
    """A file-name-safe id for output names, from the input's stem."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "score"
    return cleaned[:32]


def render_score_file(path: str | Path, out_dir: str | Path, *, soundfont: str = "default",
                      render_options=None, master_options=None) -> CueProduct:
    """Render ``path`` into ``out_dir``: one stem per section, the mastered mix, the
    MIDI as rendered and a manifest. Nothing is written when any stage fails."""
    from .farm import check_output_dir, soundfont_sha256

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScoreError("no such file", path) from None
    except OSError as exc:
        raise ScoreError(f"cannot read ({exc.strerror or exc})", path) from None
    out_dir = Path(out_dir)
    check_output_dir(out_dir)
    font = resolve_soundfont(soundfont)
    spec = CueSpec(cue_id=safe_id(path.stem), sketch_name=path.name, sketch_bytes=data, soundfont=font,
                   soundfont_sha256=soundfont_sha256(font), render=render_options, master=master_options)
    product = render_cue(spec)
    write_cue(product, out_dir)
    return product
