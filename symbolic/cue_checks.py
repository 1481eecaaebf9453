"""A film's cues in film order, and what a cue list asks for that is legal but may
surprise a composer: said in one line each, never refused.

* ``film_order``: cues by start timecode, ties by cue id (its numbers counted as
  numbers: 1M2 before 1M10). The cue sheet and the film's manifest are read so.
* ``harmony_replaced``: ``harmonize = true`` on a sketch of several voices keeps only
  its top line; the composer's own harmony under it is left out and written anew.
* ``overlaps``: cues whose rendered spans overlap on the film's timeline (a source cue
  under score is legal; two score cues fighting usually is not).

A cue's length is given two ways on a cue sheet: ``pro_duration`` (minutes:seconds,
rounded up to the whole second, as performing rights organisations' cue sheets take
it) beside the timecodes, which are instants truncated to their frame, as a DAW shows
a position.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Iterable

from ..errors import InputError
from .timecode import Timecode


def film_order_key(cue_id: str, start: Timecode) -> tuple:
    """Sort key: the start's frame count, then the id with its runs of digits as numbers."""
    parts = re.split(r"(\d+)", cue_id)
    natural = [int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)]
    return start.frames, natural, cue_id


def film_order(cues) -> list:
    """``cues`` (anything with ``id`` and ``start``) in film order."""
    return sorted(cues, key=lambda cue: film_order_key(cue.id, cue.start))


def harmony_replaced(cue) -> str | None:
    """What ``harmonize = true`` leaves out of ``cue``'s sketch, in one line, when it
    leaves out any note: it harmonizes the sketch's top line (the highest note
    sounding), so chords, other tracks and notes under a held one are dropped."""
    from .melody import extract_melody

    if not cue.harmonize or cue.sketch_score is None:
        return None
    score = cue.sketch_score
    pitched = [t for t in score.tracks if not t.is_drum and t.note_num()]
    total = sum(1 for t in pitched for n in t.notes if n.duration > 0)
    try:
        kept = len(extract_melody(score, (0, 127)).notes)
    except InputError:  # nothing to harmonize: the cue's render says so
        return None
    if kept >= total:
        return None
    tracks = f"{len(pitched)} tracks" if len(pitched) > 1 else "1 track"
    return (f"cue {cue.id}: harmonize = true keeps only the sketch's top line, {kept} of its {total} notes "
            f"({tracks}); the other {total - kept}, its own harmony, are left out and the harmonizer writes "
            f"the alto, tenor and bass anew (set harmonize = false to keep them)")


def cue_list_warnings(cue_list) -> list[str]:
    """The warnings a cue list earns before anything is rendered, in film order."""
    return [line for cue in film_order(cue_list.cues) if (line := harmony_replaced(cue))]


def pro_duration(seconds: float | Fraction) -> str:
    """A cue's length as a performing rights organisation's cue sheet (ASCAP, BMI, PRS)
    takes it: minutes and seconds, ``m:ss``, a part of a second counted as a whole one
    (a sting of 0.4 s is 0:01, a cue of 62.01 s 1:03), real time (at 23.976 a
    timecode length runs 0.1 % short of it). Floats are read as their shortest decimal
    spelling, so 8.0 s is 0:08 and not 0:09."""
    if isinstance(seconds, float):
        if not math.isfinite(seconds):
            raise ValueError(f"a cue's duration must be finite; received {seconds!r}")
        seconds = Fraction(repr(seconds))
    if seconds < 0:
        raise ValueError(f"a cue's duration must be at least 0 s; received {seconds}")
    whole = max(1, math.ceil(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def overlaps(spans: Iterable[tuple[str, Timecode, Timecode]]) -> list[str]:
    """One line for each two cues whose spans ``(id, start, end)`` (end exclusive)
    overlap, naming both, in film order."""
    ordered = sorted(spans, key=lambda span: film_order_key(span[0], span[1]))
    said = []
    for i, (first, first_start, first_end) in enumerate(ordered):
        for second, second_start, second_end in ordered[i + 1:]:
            if second_start >= first_end:  # and so does every later cue
                break
            shared = Timecode(min(first_end, second_end).frames - second_start.frames, second_start.rate)
            said.append(f"cues {first} ({first_start}-{first_end}) and {second} ({second_start}-{second_end}) "
                        f"overlap by {shared}")
    return said
