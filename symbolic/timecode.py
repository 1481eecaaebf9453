"""SMPTE timecode at the frame rates films are cut at.

A ``Timecode`` is a frame count since 00:00:00:00 at a ``FrameRate``; its label
(``HH:MM:SS:FF``) is only a way of writing that count. Supported rates, the ones a
post house's sessions run at (Pro Tools lists the same, but for 30 drop-frame):

=========  =======  ===========  ==========================  ============
label      nominal  drop-frame   exact frames per second     also written
=========  =======  ===========  ==========================  ============
23.976     24       no           24000/1001                  23.98
24         24       no           24
25         25       no           25
29.97      30       yes          30000/1001
29.97 NDF  30       no           30000/1001
30         30       no           30
47.952     48       no           48000/1001                  47.95
48         48       no           48
50         50       no           50
59.94      60       yes          60000/1001
59.94 NDF  60       no           60000/1001
60         60       no           60
=========  =======  ===========  ==========================  ============

29.97 and 59.94 mean drop-frame, as in the cue list; their non-drop kinds exist too,
but only when asked for explicitly: ``FrameRate.parse(29.97, drop_frame=False)``, or
written "29.97 NDF". A rate may be written with "fps" and its kind after the number,
as people write it: "23.976 fps", "29.97 drop-frame", "29.97 DF", "29.97df",
"59.94 NDF", "29.97 non-drop" (any case; a space, hyphen or nothing between);
drop-frame at any other rate is refused (30 drop-frame, a pull-up rate, is not
counted here).

Drop-frame counts ``nominal`` labels a second and skips the first labels of every
minute except minutes 00, 10, 20, 30, 40 and 50 (two at 29.97: ``;00`` and ``;01``;
four at 59.94: ``;00`` to ``;03``), so that the label stays within a few frames of
real time. Labels do not correct 23.976, 47.952 or the non-drop kinds: an hour of
labels there lasts 3603.6 s. ``to_seconds`` always gives real elapsed time (frames
divided by the exact rate), in exact ``Fraction`` arithmetic.

Timecodes cover one day (00:00:00:00 to 23:59:59:FF) and do not wrap: arithmetic
that leaves the day raises ``TimecodeError``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import total_ordering

from ..errors import TimecodeError

ALLOWED_RATES = ("23.976 (or 23.98), 24, 25, 29.97 (drop-frame), 30, 47.952 (or 47.95), 48, 50, "
                 "59.94 (drop-frame), 60; or as a string with the kind after the number: "
                 "'29.97 DF', '29.97 NDF' (non-drop), '59.94 NDF', '23.976 fps'")

# The kinds a rate may be written with after its number ("29.97 DF"): drop-frame or not.
_KINDS = {"df": True, "dropframe": True, "drop": True,
          "ndf": False, "nondropframe": False, "nondrop": False}
# A number, then optionally "fps" and a kind, each after spaces, '_', '-' or nothing.
_WRITTEN_KIND = re.compile(r"\s*([0-9./]+)[\s_-]*(?:fps)?[\s_-]*([a-z][a-z.\s_-]*)?\s*", re.IGNORECASE)

# (nominal, drop_frame, exact) -> label; the only frame rates that exist here.
_KNOWN_RATES: dict[tuple[int, bool, Fraction], str] = {
    (24, False, Fraction(24000, 1001)): "23.976",
    (24, False, Fraction(24)): "24",
    (25, False, Fraction(25)): "25",
    (30, True, Fraction(30000, 1001)): "29.97",
    (30, False, Fraction(30000, 1001)): "29.97 NDF",
    (30, False, Fraction(30)): "30",
    (48, False, Fraction(48000, 1001)): "47.952",
    (48, False, Fraction(48)): "48",
    (50, False, Fraction(50)): "50",
    (60, True, Fraction(60000, 1001)): "59.94",
    (60, False, Fraction(60000, 1001)): "59.94 NDF",
    (60, False, Fraction(60)): "60",
}

# Spellings FrameRate.parse accepts, as exact numbers -> (nominal, exact). 23.98 and
# 47.95 are how editing systems label 24000/1001 and 48000/1001; no other rate is near.
_PARSEABLE: dict[Fraction, tuple[int, Fraction]] = {
    Fraction("23.976"): (24, Fraction(24000, 1001)),
    Fraction("23.98"): (24, Fraction(24000, 1001)),
    Fraction(24000, 1001): (24, Fraction(24000, 1001)),
    Fraction(24): (24, Fraction(24)),
    Fraction(25): (25, Fraction(25)),
    Fraction("29.97"): (30, Fraction(30000, 1001)),
    Fraction(30000, 1001): (30, Fraction(30000, 1001)),
    Fraction(30): (30, Fraction(30)),
    Fraction("47.952"): (48, Fraction(48000, 1001)),
    Fraction("47.95"): (48, Fraction(48000, 1001)),
    Fraction(48000, 1001): (48, Fraction(48000, 1001)),
    Fraction(48): (48, Fraction(48)),
    Fraction(50): (50, Fraction(50)),
    Fraction("59.94"): (60, Fraction(60000, 1001)),
    Fraction(60000, 1001): (60, Fraction(60000, 1001)),
    Fraction(60): (60, Fraction(60)),
}

# The rates whose labels may drop: 29.97 and 59.94 (not 23.976 or 47.952).
_DROP_FRAME_EXACT = (Fraction(30000, 1001), Fraction(60000, 1001))

# A Standard MIDI File's SMPTE Offset rate codes (0: 24, 1: 25, 2: 29.97 drop-frame,
# 3: 30), by (labels a second, drop-frame) of the rate a label is written in.
_SMF_CODES = {(24, False): 0, (25, False): 1, (30, True): 2, (30, False): 3}

# ASCII digits only: \d would also accept other scripts' digits.
_LABEL = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})([:;])([0-9]{2})")


@dataclass(frozen=True)
class FrameRate:
    """A frame rate: ``nominal`` labels per second, whether labels are dropped, and
    the ``exact`` frames per second of real time."""

    nominal: int
    drop_frame: bool
    exact: Fraction

    def __post_init__(self) -> None:
        if isinstance(self.exact, (int, Fraction)) and not isinstance(self.exact, bool):
            object.__setattr__(self, "exact", Fraction(self.exact))
        if (self.nominal, self.drop_frame, self.exact) not in _KNOWN_RATES:
            raise TimecodeError(
                f"no such frame rate: nominal={self.nominal!r}, drop_frame={self.drop_frame!r}, "
                f"exact={self.exact!r}; allowed: {ALLOWED_RATES}"
            )

    @classmethod
    def parse(
        cls, value: float | int | str | Fraction | FrameRate, *, drop_frame: bool | None = None
    ) -> FrameRate:
        """The frame rate written as ``value`` (one of the module's table, as a number
        or a string; 24000/1001 and the like also work; a string may say "fps" and its
        kind after the number: "29.97 DF", "29.97 drop-frame", "59.94 NDF", "25 fps").
        29.97 and 59.94 are drop-frame unless ``drop_frame=False`` is passed or "NDF"
        written; drop-frame, passed or written, is refused at other rates, and a written
        kind against the one passed.

        Floats are read as their shortest decimal spelling, so ``23.976`` is exact."""
        written = None
        if isinstance(value, FrameRate):
            number = value.exact
            if drop_frame is None:
                drop_frame = value.drop_frame
        elif isinstance(value, str):
            number, written = _written_rate(value)
        else:
            number = _exact_number(value)
        if number is None or number not in _PARSEABLE:
            raise TimecodeError(
                f"unsupported frame rate {value!r}; allowed: {ALLOWED_RATES}"
            )
        if written is not None:
            if drop_frame is not None and drop_frame != written:
                raise TimecodeError(f"frame rate {value!r} says {'' if written else 'non-'}drop-frame, "
                                    f"but drop_frame={drop_frame} was asked for")
            drop_frame = written
        nominal, exact = _PARSEABLE[number]
        ntsc = exact in _DROP_FRAME_EXACT
        if drop_frame and not ntsc:
            raise TimecodeError(
                f"frame rate {value!r} cannot be drop-frame; drop-frame exists only at 29.97 and 59.94"
            )
        return cls(nominal, ntsc if drop_frame is None else bool(drop_frame), exact)

    @property
    def label(self) -> str:
        """How the rate is written: '23.976', '24', '25', '29.97' (drop-frame),
        '29.97 NDF', '30', '47.952', '48', '50', '59.94' (drop-frame), '59.94 NDF', '60'."""
        return _KNOWN_RATES[(self.nominal, self.drop_frame, self.exact)]

    @property
    def dropped_labels(self) -> int:
        """Labels skipped at the start of each minute not divisible by ten: 2 at 29.97
        drop-frame, 4 at 59.94 drop-frame, 0 otherwise."""
        return self.nominal // 15 if self.drop_frame else 0

    @property
    def frames_per_day(self) -> int:
        """Frames from 00:00:00:00 to 24:00:00:00."""
        return 24 * 6 * (600 * self.nominal - 9 * self.dropped_labels)

    def __str__(self) -> str:
        if self.drop_frame:
            return f"{self.label} fps drop-frame"
        if self.label.endswith(" NDF"):
            return f"{self.label[:-4]} fps non-drop"
        return f"{self.label} fps"


def _written_rate(text: str) -> tuple[Fraction | None, bool | None]:
    """A rate written as a string: its number, and the drop-frame kind written after it
    ("29.97 DF": True, "29.97 NDF": False; None when no kind is written). (None, None)
    when the string is neither."""
    match = _WRITTEN_KIND.fullmatch(text)
    if match is None:
        return None, None
    kind = match.group(2)
    if kind is None:
        return _exact_number(match.group(1)), None
    folded = re.sub(r"[\s_.-]+", "", kind.lower())  # "D.F.", "drop frame", "non-drop"
    if folded not in _KINDS:
        return None, None
    return _exact_number(match.group(1)), _KINDS[folded]


def _exact_number(value: object) -> Fraction | None:
    """``value`` as an exact number, or None when it is not a plain number."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, float):
            return Fraction(repr(value))  # shortest decimal spelling: 23.976 stays 23.976
        if isinstance(value, (int, Fraction, Decimal)):
            return Fraction(value)
        if isinstance(value, str):
            return Fraction(value.strip())
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return None


def _label_to_frames(hours: int, minutes: int, seconds: int, frames: int, rate: FrameRate) -> int:
    count = ((hours * 60 + minutes) * 60 + seconds) * rate.nominal + frames
    if rate.drop_frame:
        total_minutes = hours * 60 + minutes
        count -= rate.dropped_labels * (total_minutes - total_minutes // 10)
    return count


def _frames_to_label(count: int, rate: FrameRate) -> tuple[int, int, int, int]:
    if rate.drop_frame:
        dropped = rate.dropped_labels
        per_minute = 60 * rate.nominal - dropped  # 1798 at 29.97
        per_ten_minutes = 600 * rate.nominal - 9 * dropped  # 17982 at 29.97
        tens, rest = divmod(count, per_ten_minutes)
        skipped = 9 * dropped * tens
        if rest >= dropped:
            skipped += dropped * ((rest - dropped) // per_minute)
        count += skipped
    seconds_total, frames = divmod(count, rate.nominal)
    minutes_total, seconds = divmod(seconds_total, 60)
    hours, minutes = divmod(minutes_total, 60)
    return hours, minutes, seconds, frames


@total_ordering
@dataclass(frozen=True, repr=False)
class Timecode:
    """``frames`` counted from 00:00:00:00 at ``rate``. Compare only timecodes at the
    same rate; add or subtract whole frames; subtracting two timecodes gives frames."""

    frames: int
    rate: FrameRate

    def __post_init__(self) -> None:
        if not isinstance(self.rate, FrameRate):
            raise TypeError(f"Timecode rate must be a FrameRate, got {self.rate!r}")
        if isinstance(self.frames, bool) or not isinstance(self.frames, int):
            raise TypeError(f"Timecode frames must be an int, got {self.frames!r}")
        last = self.rate.frames_per_day - 1
        if not 0 <= self.frames <= last:
            raise TimecodeError(
                f"frame {self.frames} is outside one day at {self.rate}; allowed: 0 to {last} "
                f"(00:00:00:00 to {Timecode(last, self.rate)})"
            )

    # -- reading and writing labels ------------------------------------------------

    @classmethod
    def parse(cls, text: str, rate: FrameRate | float | int | str) -> Timecode:
        """The timecode labelled ``text`` ("HH:MM:SS:FF", or "HH:MM:SS;FF" at
        drop-frame, which also accepts ':'), at ``rate``."""
        rate = FrameRate.parse(rate)
        shape = "'HH:MM:SS:FF' (two digits each"
        shape += "; ';' before the frames allowed)" if rate.drop_frame else ")"
        if not isinstance(text, str):
            raise TimecodeError(f"timecode must be a string like {shape}; received {text!r}")
        match = _LABEL.fullmatch(text)
        if match is None:
            raise TimecodeError(f"timecode {text!r} is not written as {shape}")
        hours, minutes, seconds, frames = (int(match.group(i)) for i in (1, 2, 3, 5))
        if match.group(4) == ";" and not rate.drop_frame:
            raise TimecodeError(
                f"timecode {text!r} uses ';', which marks drop-frame, but the rate is "
                f"{rate}; write it as 'HH:MM:SS:FF'"
            )
        for name, value, limit in (("hours", hours, 24), ("minutes", minutes, 60),
                                   ("seconds", seconds, 60), ("frames", frames, rate.nominal)):
            if value >= limit:
                raise TimecodeError(
                    f"timecode {text!r}: {name} {value:02d} out of range at {rate}; "
                    f"allowed: 00 to {limit - 1:02d}"
                )
        dropped = rate.dropped_labels
        if seconds == 0 and frames < dropped and minutes % 10 != 0:
            skipped = " and ".join(f";{n:02d}" for n in range(dropped)) if dropped == 2 else f";00 to ;{dropped - 1:02d}"
            raise TimecodeError(
                f"timecode {text!r} does not exist at {rate}: labels {skipped} are skipped "
                f"at the start of every minute except minutes 00, 10, 20, 30, 40, 50; "
                f"the next label is {hours:02d}:{minutes:02d}:00;{dropped:02d}"
            )
        return cls(_label_to_frames(hours, minutes, seconds, frames, rate), rate)

    @property
    def fields(self) -> tuple[int, int, int, int]:
        """(hours, minutes, seconds, frames) of the label."""
        return _frames_to_label(self.frames, self.rate)

    def __str__(self) -> str:
        hours, minutes, seconds, frames = self.fields
        sep = ";" if self.rate.drop_frame else ":"
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{frames:02d}"

    def __repr__(self) -> str:
        return f"Timecode('{self}' @ {self.rate.label})"

    def smf_offset(self) -> tuple[int, int, int, int, int, int]:
        """This label as a Standard MIDI File's SMPTE Offset: (hours, minutes, seconds,
        frames, hundredths of a frame, rate code 0: 24, 1: 25, 2: 29.97 drop-frame,
        3: 30). An SMF knows those four rates only: 23.976 is written as 24 and 29.97
        non-drop as 30 (their labels are the same), and a rate of 48, 50 or 60 labels
        as its half (47.952 and 48 as 24, 50 as 25, 59.94 drop-frame as 29.97
        drop-frame, 59.94 non-drop and 60 as 30), an odd frame half a frame on:
        01:00:00:37 at 50 fps is 01:00:00:18 and 50 hundredths at 25."""
        hours, minutes, seconds, frames = self.fields
        step = 2 if self.rate.nominal > 30 else 1
        code = _SMF_CODES[(self.rate.nominal // step, self.rate.drop_frame)]
        return hours, minutes, seconds, frames // step, 50 * (frames % step), code

    # -- real time -----------------------------------------------------------------

    def to_seconds(self) -> Fraction:
        """Real time elapsed since 00:00:00:00: frames divided by the exact rate."""
        return self.frames / self.rate.exact

    def to_samples(self, sample_rate: int) -> int:
        """Samples elapsed at ``sample_rate`` Hz, computed exactly and rounded to the
        nearest sample (a tie rounds to the even sample, Python's ``round``)."""
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise TimecodeError(f"sample rate must be a positive integer of Hz; received {sample_rate!r}")
        return round(self.to_seconds() * sample_rate)

    @classmethod
    def from_seconds(
        cls, seconds: int | float | Fraction | Decimal, rate: FrameRate | float | int | str
    ) -> Timecode:
        """The frame running at ``seconds`` of real time (rounded down to a whole
        frame). Floats are read as their shortest decimal spelling (3603.6 is 3603.6)."""
        rate = FrameRate.parse(rate)
        value = _exact_number(seconds)
        if value is None or value < 0:
            raise TimecodeError(f"seconds must be a number of at least 0; received {seconds!r}")
        return cls(math.floor(value * rate.exact), rate)

    # -- arithmetic and order ------------------------------------------------------

    def __add__(self, other: object) -> Timecode:
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        return Timecode(self.frames + other, self.rate)

    __radd__ = __add__

    def __sub__(self, other: object):
        """``tc - n`` is the timecode n frames earlier; ``tc - tc2`` is frames between."""
        if isinstance(other, Timecode):
            self._same_rate(other, "subtract")
            return self.frames - other.frames
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        return Timecode(self.frames - other, self.rate)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Timecode):
            return NotImplemented
        self._same_rate(other, "compare")
        return self.frames < other.frames

    def _same_rate(self, other: Timecode, verb: str) -> None:
        if other.rate != self.rate:
            raise TypeError(f"cannot {verb} timecodes at {self.rate} and {other.rate}")
