"""The renderer's modules after their split: names stay where importers and patches look.

``synth`` renders through ``fluid`` (the libfluidsynth binding and the SoundFont cache)
and ``resynth`` loads models through ``musicgen``; code, tests and Ray workers outside
them import and patch the names on ``synth`` and ``resynth``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from scorefarm.errors import SoundFontError
from scorefarm.render import fluid, musicgen, resynth, synth
from scorefarm.render.soundfonts import resolve_soundfont


@pytest.mark.parametrize("home, module, names", [
    (fluid, synth, ["_loaded_font", "clear_synth_cache", "DRUM_BANK", "MIDI_CHANNELS", "_LOCK"]),
    (musicgen, resynth, ["LICENCE_NOTICE", "ChromaParams", "ResynthModel", "load_resynth_model",
                         "missing_files", "_resolve_device"]),
])
def test_moved_names_are_the_same_objects_where_importers_look(home, module, names):
    for name in names:
        assert getattr(module, name) is getattr(home, name), name


def test_render_stems_uses_the_font_cache_and_output_it_finds_on_synth(make_score, monkeypatch):
    try:
        font = resolve_soundfont("FluidR3_GM")
    except SoundFontError as exc:
        pytest.skip(str(exc))
    used = []
    loaded, output = synth._loaded_font, synth._Output
    monkeypatch.setattr(synth, "_loaded_font", lambda soundfont: used.append("font") or loaded(soundfont))
    monkeypatch.setattr(synth, "_Output", lambda *args: used.append("output") or output(*args))
    result = synth.render_stems(make_score([(0, 0.5, 60, 90)]), font, synth.RenderOptions(tail_seconds=0.1))
    assert used == ["font", "output"] and list(result.stems) == ["keys"]


def test_importing_resynth_loads_no_torch():
    """A cue list's model folder is checked (``missing_files``) without torch."""
    probe = ("import sys, scorefarm.render.resynth;"
             "assert 'torch' not in sys.modules and 'transformers' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
