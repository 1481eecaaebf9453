"""scorefarm: a symbolic-first composition toolkit with a rendering farm.

The distribution maps its top-level folders into this namespace:
``scorefarm.symbolic`` (scores, cue lists, timecode), ``scorefarm.arrange``,
``scorefarm.render`` (SoundFonts, FluidSynth, audio files, the farm) and
``scorefarm.cli`` (the ``compose`` command).
"""

__version__ = "0.1.0"
