"""Typed errors shared by every stage.

Library code raises these; only the CLI turns them into messages and exit codes
(``InputError`` -> 2, any other ``ScorefarmError`` -> 1). Nothing in the library
calls ``sys.exit``: that would kill a Ray worker.
"""

from __future__ import annotations

from pathlib import Path


class ScorefarmError(Exception):
    """A failure while working (exit status 1)."""

    exit_code = 1

    def __init__(self, message: str, path: str | Path | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return " ".join(text.split())

    def __reduce__(self):  # keep the type and fields across Ray's pickling
        return (self.__class__, (self.message, self.path))


class InputError(ScorefarmError):
    """The user's input is wrong (exit status 2)."""

    exit_code = 2


class ScoreError(InputError):
    """A MIDI file that cannot be read or makes no sense."""


class CueListError(InputError):
    """A cue list (film.toml) that is malformed."""


class TimecodeError(InputError):
    """A timecode that is not valid at its frame rate."""


class SilentScoreError(ScoreError):
    """A score whose render is silent (bad input, not a synth failure)."""


class SoundFontError(InputError):
    """A SoundFont that is missing, unreadable or not a SoundFont."""


class AudioInputError(InputError):
    """An audio file given as input that cannot be used."""


class SilentAudioError(AudioInputError):
    """Audio too quiet to master: silent, empty, or below the -70 LUFS gate."""


class OutputError(InputError):
    """An output location that cannot be written."""


class RenderError(ScorefarmError):
    """Rendering failed while working (time-out, synth failure)."""


class FarmError(ScorefarmError):
    """The render farm could not run (cluster unreachable, cues failed)."""
