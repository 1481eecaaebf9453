"""A cue's length as a performing rights organisation's cue sheet takes it: m:ss, any
part of a second rounded up, real time."""

from __future__ import annotations

from fractions import Fraction

import pytest

from scorefarm.symbolic.cue_checks import pro_duration
from scorefarm.symbolic.timecode import Timecode


@pytest.mark.parametrize("seconds, written", [
    (8.0, "0:08"),  # whole seconds stay as they are (8.0 is not 0:09)
    (8.01, "0:09"),  # the demo-style cue of 6.01 s of music and a 2 s release
    (22.680125, "0:23"),
    (0.4, "0:01"),  # a sting is never 0:00
    (0.0, "0:01"),
    (59.999, "1:00"),
    (62.01, "1:03"),
    (Fraction(3600), "60:00"),  # minutes go on past the hour, as the forms write them
    (Fraction(1, 3), "0:01"),
])
def test_pro_duration_rounds_up_to_the_second(seconds, written):
    assert pro_duration(seconds) == written


def test_pro_duration_is_real_time_not_timecode():
    """At 23.976 a timecode length of 00:03:00:00 (4320 frames) lasts 180.18 s: 3:01."""
    frames = Timecode.parse("00:03:00:00", 23.976)
    assert pro_duration(frames.to_seconds()) == "3:01"
    assert pro_duration(Timecode.parse("00:03:00:00", 24).to_seconds()) == "3:00"


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_pro_duration_refuses_what_no_cue_lasts(bad):
    with pytest.raises(ValueError):
        pro_duration(bad)
