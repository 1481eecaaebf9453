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
    MIDI as rendered (``out_dir/<safe_id>.mid``) and a manifest. A render whose MIDI
    would land on ``path`` itself is refused first; the score and the SoundFont are
    checked before the output folder is made; when any stage fails nothing is written
    and no folder this made is left. Errors name ``path`` as given."""
    from scorefarm.symbolic.score_io import load_score_bytes

    from .farm import check_not_over_sketch, output_dir, soundfont_sha256

    name = str(path)
    path = Path(path)
    cue_id = safe_id(path.stem)
    check_not_over_sketch(Path(out_dir), cue_id, path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScoreError("no such file", name) from None
    except OSError as exc:
        raise ScoreError(f"cannot read ({exc.strerror or exc})", name) from None
    load_score_bytes(data, name)  # a bad score is refused before anything is made
    font = resolve_soundfont(soundfont)
    spec = CueSpec(cue_id=cue_id, sketch_name=name, sketch_bytes=data, soundfont=font,
                   soundfont_sha256=soundfont_sha256(font), render=render_options, master=master_options)
    with output_dir(Path(out_dir)) as folder:
        product = render_cue(spec)
        write_cue(product, folder)
    return product
