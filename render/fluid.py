"""libfluidsynth, bound through ctypes, and the per-process cache of loaded SoundFonts.

The calls the stem renderer makes (note on/off, controllers, pitch bend, program
select, ``fluid_synth_process``, SoundFont sharing) are prototyped here on
pyfluidsynth's library handle (`_api`), so nothing global of pyfluidsynth is changed.

A SoundFont is loaded once per process (cached by file, two at most: `_loaded_font`)
into a synth that never renders, and lent to a fresh synth with pinned settings for
every pass (`_Synth`), because a reused, reset synth is not deterministic (see
`_LoadedFont`). ``_LOCK`` serialises the cache and the renders that use it: renders in
one process run one at a time (the farm runs cues in separate processes).

What is rendered, on which channel and when, is decided in `synth` (the score planned
into stems and rendered); this module knows nothing of scores.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections import OrderedDict
from types import SimpleNamespace
from typing import TYPE_CHECKING

from scorefarm.errors import RenderError, SoundFontError

from .soundfonts import SoundFont

if TYPE_CHECKING:
    from .synth import RenderOptions

MIDI_CHANNELS = 256
DRUM_BANK = 128
_CACHE_SIZE = 2
_FLUID_WARN = 2  # FluidSynth log level


@functools.cache
def _api():
    """ctypes prototypes of the libfluidsynth calls used here (pyfluidsynth's handle;
    our own prototypes, so nothing global of pyfluidsynth is changed)."""
    import fluidsynth  # heavy: loads libfluidsynth

    i, p = ctypes.c_int, ctypes.c_void_p

    def proto(name, restype, *args):
        return ctypes.CFUNCTYPE(restype, p, *args)((name, fluidsynth._fl))

    return SimpleNamespace(
        module=fluidsynth,
        noteon=proto("fluid_synth_noteon", i, i, i, i), noteoff=proto("fluid_synth_noteoff", i, i, i),
        cc=proto("fluid_synth_cc", i, i, i, i), bend=proto("fluid_synth_pitch_bend", i, i, i),
        select=proto("fluid_synth_program_select", i, i, i, i, i),
        set_type=proto("fluid_synth_set_channel_type", i, i, i),
        set_interp=proto("fluid_synth_set_interp_method", i, i, i),
        process=proto("fluid_synth_process", i, i, i, p, i, p),
        sfont_by_id=proto("fluid_synth_get_sfont_by_id", p, i),
        add_sfont=proto("fluid_synth_add_sfont", i, p), remove_sfont=proto("fluid_synth_remove_sfont", i, p),
        set_log=ctypes.CFUNCTYPE(p, i, p, p)(("fluid_set_log_function", fluidsynth._fl)))


class _LoadedFont:
    """A SoundFont loaded once (into a synth that never renders) and lent to the
    short-lived synths that do. Loading FluidR3_GM costs 0.2-0.5 s; a synth ~4 ms.

    Why not reuse one synth, reset (system reset, all sounds off) between renders: with
    libfluidsynth 2.3.1 the first 64-frame block of a note still depends on what that
    voice object played before (measured: up to 5e-4 apart after a different score), so
    a reused synth renders the same score differently after another. Fresh synths
    sharing the loaded SoundFont render identically (tested).
    """

    def __init__(self, soundfont: SoundFont):
        api = _api()
        self.holder = api.module.Synth(gain=0.0, samplerate=48000.0, channels=16,
                                       **{"synth.polyphony": 16, "synth.dynamic-sample-loading": 0,
                                          "synth.cpu-cores": 1})
        sfid = self.holder.sfload(str(soundfont.path))
        if sfid < 0:
            self.holder.delete()
            raise SoundFontError("FluidSynth could not load this SoundFont", soundfont.path)
        self.sfont = api.sfont_by_id(self.holder.synth, sfid)
        self.presets = {bank: {p: name for p in range(128)
                               if (name := self.holder.sfpreset_name(sfid, bank, p)) is not None}
                        for bank in (0, DRUM_BANK)}

    def delete(self) -> None:
        self.holder.delete()


class _Synth:
    """One pass's synth: pinned settings, the loaded SoundFont added, deleted after."""

    def __init__(self, font: _LoadedFont, options: RenderOptions):
        self.api, self.font = _api(), font
        settings = options.synth_settings()
        self.obj = self.api.module.Synth(gain=options.gain, samplerate=float(options.sample_rate),
                                         channels=MIDI_CHANNELS, **settings)
        self.ptr, self.added = self.obj.synth, False
        try:
            for key, value in settings.items():
                got = self.obj.get_setting(key)
                if got is None or abs(float(got) - float(value)) > 1e-6 * max(1.0, abs(float(value))):
                    raise RenderError(f"this libfluidsynth did not accept {key} = {value} (it reports {got!r})")
            self.sfid = self.api.add_sfont(self.ptr, font.sfont)
            if self.sfid < 0:
                raise RenderError("FluidSynth could not share the loaded SoundFont with a new synth")
            self.added = True
            self.api.set_interp(self.ptr, -1, options.interpolation)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.added:  # detach first: deleting a synth deletes the SoundFonts in its stack
            # Detaching re-selects presets on all 256 channels from an empty stack, one
            # "No preset found" warning each: mute FluidSynth's warnings for that call.
            previous = self.api.set_log(_FLUID_WARN, None, None)
            try:
                self.api.remove_sfont(self.ptr, self.font.sfont)
            finally:
                self.api.set_log(_FLUID_WARN, previous, None)
            self.added = False
        self.obj.delete()


_FONTS: OrderedDict[tuple, _LoadedFont] = OrderedDict()
_LOCK = threading.RLock()


def clear_synth_cache() -> None:
    """Free the cached SoundFonts."""
    with _LOCK:
        while _FONTS:
            _FONTS.popitem()[1].delete()


def _loaded_font(soundfont: SoundFont) -> _LoadedFont:
    try:
        stat = os.stat(soundfont.path)
    except OSError as exc:
        raise SoundFontError(f"cannot read the SoundFont ({exc.strerror or exc})", soundfont.path) from None
    key = (os.path.realpath(soundfont.path), stat.st_size, stat.st_mtime_ns)
    if key in _FONTS:
        _FONTS.move_to_end(key)
        return _FONTS[key]
    while len(_FONTS) >= _CACHE_SIZE:
        _FONTS.popitem(last=False)[1].delete()
    _FONTS[key] = font = _LoadedFont(soundfont)
    return font
