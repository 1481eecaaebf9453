"""SMPTE timecode: known values, drop-frame labels, round trips, refusals."""

from __future__ import annotations

from fractions import Fraction

import pytest

from scorefarm.errors import InputError, TimecodeError
from scorefarm.symbolic.timecode import FrameRate, Timecode

DF = FrameRate.parse(29.97)


# -- frame rates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, nominal, drop, exact, label",
    [
        (23.976, 24, False, Fraction(24000, 1001), "23.976"),
        ("23.976", 24, False, Fraction(24000, 1001), "23.976"),
        ("24000/1001", 24, False, Fraction(24000, 1001), "23.976"),
        (24, 24, False, Fraction(24), "24"),
        (24.0, 24, False, Fraction(24), "24"),
        ("24", 24, False, Fraction(24), "24"),
        (25, 25, False, Fraction(25), "25"),
        (29.97, 30, True, Fraction(30000, 1001), "29.97"),
        ("29.97", 30, True, Fraction(30000, 1001), "29.97"),
        (30, 30, False, Fraction(30), "30"),
        ("29.97 drop-frame", 30, True, Fraction(30000, 1001), "29.97"),  # as the README writes it
        ("29.97 DF", 30, True, Fraction(30000, 1001), "29.97"),
        ("29.97df", 30, True, Fraction(30000, 1001), "29.97"),
        ("29.97 Drop Frame", 30, True, Fraction(30000, 1001), "29.97"),
        ("30000/1001 DF", 30, True, Fraction(30000, 1001), "29.97"),
        ("29.97 NDF", 30, False, Fraction(30000, 1001), "29.97 NDF"),
        ("29.97 non-drop", 30, False, Fraction(30000, 1001), "29.97 NDF"),
        ("29.97 non-drop-frame", 30, False, Fraction(30000, 1001), "29.97 NDF"),
        ("24 NDF", 24, False, Fraction(24), "24"),  # true of every rate but 29.97 DF
        (" 25 ", 25, False, Fraction(25), "25"),
    ],
)
def test_frame_rate_parse(value, nominal, drop, exact, label):
    rate = FrameRate.parse(value)
    assert (rate.nominal, rate.drop_frame, rate.exact, rate.label) == (nominal, drop, exact, label)
    assert FrameRate.parse(rate) == rate


def test_non_drop_2997_only_when_asked():
    ndf = FrameRate.parse(29.97, drop_frame=False)
    assert (ndf.nominal, ndf.drop_frame, ndf.exact) == (30, False, Fraction(30000, 1001))
    assert ndf != DF
    assert Timecode.parse("01:00:00:00", ndf).frames == 108000
    with pytest.raises(TimecodeError, match="drop-frame exists only at 29.97"):
        FrameRate.parse(24, drop_frame=True)


@pytest.mark.parametrize("value", [23.97, 29.976, 59.9, 120, 0, -24, "24 fps fps", "fps", "", "nan", float("inf"),
                                   True, None, [24], "29.97 drip", "DF", "29.97 DF NDF", "29,97"])
def test_frame_rate_refused_lists_allowed(value):
    with pytest.raises(TimecodeError) as info:
        FrameRate.parse(value)
    assert "23.976 (or 23.98), 24, 25, 29.97 (drop-frame), 30, 47.952 (or 47.95), 48, 50, 59.94 (drop-frame), " \
           "60; or as a string with the kind after the number: '29.97 DF', '29.97 NDF' (non-drop)" in str(info.value)
    assert isinstance(info.value, InputError)


@pytest.mark.parametrize(
    "value, nominal, drop, exact, label",
    [
        (23.98, 24, False, Fraction(24000, 1001), "23.976"),  # as Final Cut and many NLEs label it
        ("23.98", 24, False, Fraction(24000, 1001), "23.976"),
        ("23.976 fps", 24, False, Fraction(24000, 1001), "23.976"),
        ("25fps", 25, False, Fraction(25), "25"),
        ("29.97 fps DF", 30, True, Fraction(30000, 1001), "29.97"),
        ("29.97 D.F.", 30, True, Fraction(30000, 1001), "29.97"),
        (47.952, 48, False, Fraction(48000, 1001), "47.952"),
        ("47.95", 48, False, Fraction(48000, 1001), "47.952"),
        (48, 48, False, Fraction(48), "48"),
        (50, 50, False, Fraction(50), "50"),
        (59.94, 60, True, Fraction(60000, 1001), "59.94"),
        ("59.94df", 60, True, Fraction(60000, 1001), "59.94"),
        ("59.94 NDF", 60, False, Fraction(60000, 1001), "59.94 NDF"),
        ("60000/1001 non-drop", 60, False, Fraction(60000, 1001), "59.94 NDF"),
        (60, 60, False, Fraction(60), "60"),
        ("60", 60, False, Fraction(60), "60"),
    ],
)
def test_every_post_house_rate_parses(value, nominal, drop, exact, label):
    """The rates a Pro Tools session runs at (but 30 drop-frame), as editors write them:
    before, 23.98, 47.952, 48, 50, 59.94 and 60 were refused."""
    rate = FrameRate.parse(value)
    assert (rate.nominal, rate.drop_frame, rate.exact, rate.label) == (nominal, drop, exact, label)
    assert FrameRate.parse(rate.label) == rate


@pytest.mark.parametrize("value, fragment", [
    ("24 DF", "frame rate '24 DF' cannot be drop-frame; drop-frame exists only at 29.97 and 59.94"),
    ("25 drop-frame", "cannot be drop-frame"),
    ("30 DF", "cannot be drop-frame"),
    ("23.98 DF", "cannot be drop-frame"),
    ("50 DF", "cannot be drop-frame"),
])
def test_drop_frame_written_at_another_rate_is_refused(value, fragment):
    with pytest.raises(TimecodeError, match=fragment):
        FrameRate.parse(value)


def test_a_written_kind_must_agree_with_the_one_asked_for():
    assert FrameRate.parse("29.97 NDF", drop_frame=False) == FrameRate.parse(29.97, drop_frame=False)
    with pytest.raises(TimecodeError, match="'29.97 DF' says drop-frame, but drop_frame=False was asked for"):
        FrameRate.parse("29.97 DF", drop_frame=False)
    with pytest.raises(TimecodeError, match="says non-drop-frame"):
        FrameRate.parse("29.97 NDF", drop_frame=True)


def test_written_rates_count_frames_as_their_numbers_do():
    """"29.97 DF" is 29.97 drop-frame, label for label and second for second; a label
    read as "29.97 NDF" counts every label (an hour of labels: 108,000 frames, 3603.6 s)."""
    for label in ("00:00:59;29", "00:01:00;02", "00:10:00;00", "01:00:00;02", "23:59:59;29"):
        written = Timecode.parse(label, "29.97 drop-frame")
        assert written == Timecode.parse(label, 29.97) and str(written) == label
        assert written.to_seconds() == Timecode.parse(label, 29.97).to_seconds()
    assert Timecode.parse("01:00:00;00", "29.97 DF").frames == 107892
    hour = Timecode.parse("01:00:00:00", "29.97 NDF")
    assert hour.frames == 108000 and hour.to_seconds() == Fraction(36036, 10)
    # one rate's label in the other's: the ';' of drop-frame is refused at non-drop
    with pytest.raises(TimecodeError, match="uses ';', which marks drop-frame"):
        Timecode.parse("01:00:00;02", "29.97 NDF")


def test_frame_rate_refuses_impossible_combination():
    with pytest.raises(TimecodeError):
        FrameRate(24, True, Fraction(24))


# -- known values --------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, rate, frames",
    [
        ("00:00:00;00", 29.97, 0),
        ("00:00:59;29", 29.97, 1799),
        ("00:01:00;02", 29.97, 1800),
        ("00:09:59;29", 29.97, 17981),
        ("00:10:00;00", 29.97, 17982),
        ("00:10:00;01", 29.97, 17983),
        ("00:11:00;02", 29.97, 17982 + 1800),
        ("01:00:00;00", 29.97, 107892),
        ("23:59:59;29", 29.97, 2589407),
        ("01:00:00:00", 23.976, 86400),
        ("01:00:00:00", 24, 86400),
        ("10:00:00:00", 25, 900000),
        ("00:00:01:29", 30, 59),
        ("23:59:59:24", 25, 86400 * 25 - 1),
    ],
)
def test_known_frame_counts(label, rate, frames):
    tc = Timecode.parse(label, rate)
    assert tc.frames == frames
    assert str(tc) == label
    assert Timecode(frames, FrameRate.parse(rate)) == tc


def test_seconds_are_real_time():
    assert Timecode.parse("01:00:00:00", 23.976).to_seconds() == Fraction("3603.6")
    assert Timecode.parse("01:00:00;00", 29.97).to_seconds() == Fraction(107892 * 1001, 30000)
    # drop-frame keeps the label within a frame of real time at the hour
    assert abs(Timecode.parse("01:00:00;00", 29.97).to_seconds() - 3600) < Fraction(1, 29)
    assert Timecode.parse("10:00:00:00", 25).to_seconds() == 36000
    assert isinstance(Timecode.parse("00:00:00:01", 24).to_seconds(), Fraction)


def test_to_samples():
    assert Timecode.parse("01:00:00:00", 24).to_samples(48000) == 172800000
    assert Timecode.parse("01:00:00:00", 23.976).to_samples(48000) == 172972800
    assert Timecode.parse("00:00:00:01", 23.976).to_samples(48000) == 2002
    # one 29.97 frame is 1601.6 samples at 48 kHz: rounds to nearest
    assert Timecode(1, DF).to_samples(48000) == 1602
    assert Timecode(1, FrameRate.parse(24)).to_samples(44100) == 1838  # 1837.5: half to even
    assert Timecode(3, FrameRate.parse(24)).to_samples(44100) == 5512  # 5512.5: half to even
    with pytest.raises(TimecodeError):
        Timecode(1, DF).to_samples(0)


def test_from_seconds_floors_to_frame():
    assert Timecode.from_seconds(3603.6, 23.976) == Timecode.parse("01:00:00:00", 23.976)
    assert Timecode.from_seconds(Fraction("3603.6") - Fraction(1, 10**9), 23.976).frames == 86399
    assert Timecode.from_seconds(1, 24).frames == 24
    assert Timecode.from_seconds(Fraction(49, 48), 24).frames == 24  # 24.5 frames -> 24
    assert Timecode.from_seconds(0, 25).frames == 0
    for frames in (0, 1, 1799, 1800, 17982, 107892, 2589407):
        tc = Timecode(frames, DF)
        assert Timecode.from_seconds(tc.to_seconds(), DF) == tc
    with pytest.raises(TimecodeError):
        Timecode.from_seconds(-0.5, 24)
    with pytest.raises(TimecodeError):
        Timecode.from_seconds(86400, 24)  # 24:00:00:00 is outside the day
    with pytest.raises(TimecodeError):
        Timecode.from_seconds(float("nan"), 24)


# -- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("rate", [23.976, 24, 25, 30, 29.97])
def test_label_round_trip(rate):
    fr = FrameRate.parse(rate)
    sep = ";" if fr.drop_frame else ":"
    last = fr.nominal - 1
    labels = [f"{h:02d}:{m:02d}:{s:02d}{sep}{f:02d}"
              for h in (0, 1, 9, 10, 23) for m in (0, 1, 9, 10, 59) for s in (0, 1, 30, 59)
              for f in (0, 1, 2, 12, last)]
    for label in labels:
        if fr.drop_frame and label.endswith(("00;00", "00;01")) and label[3:5][-1] != "0":
            continue  # labels drop-frame skips
        tc = Timecode.parse(label, fr)
        assert str(tc) == label
        assert Timecode.parse(str(tc), fr).frames == tc.frames


def _walk_drop_frame_labels(rate: FrameRate, per_second: int, skipped: int) -> None:
    """Every label of twenty minutes at ``rate``: each reads back as its frame, none is one of
    the ``skipped`` a minute drops (but every tenth), and they increase with the frames."""
    previous = None
    for frames in range(20 * 60 * per_second):
        tc = Timecode(frames, rate)
        label = str(tc)
        assert Timecode.parse(label, rate).frames == frames
        hours, minutes, seconds, ff = tc.fields
        assert not (seconds == 0 and ff < skipped and minutes % 10), label
        if previous is not None:
            assert label > previous
        previous = label


def test_every_drop_frame_label_in_twenty_minutes():
    _walk_drop_frame_labels(DF, 30, 2)
    assert Timecode(2 * 17982, DF).fields == (0, 20, 0, 0)
    assert Timecode(20 * 60 * 30 - 1, DF).fields == (0, 20, 1, 5)  # 35 frames after 20:00;00


def test_colon_accepted_at_drop_frame():
    assert Timecode.parse("00:01:00:02", DF) == Timecode.parse("00:01:00;02", DF)
    assert str(Timecode.parse("00:01:00:02", DF)) == "00:01:00;02"


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, rate, fragment",
    [
        ("1:00:00:00", 24, "HH:MM:SS:FF"),
        ("01:00:00", 24, "HH:MM:SS:FF"),
        ("01:00:00:00 ", 24, "HH:MM:SS:FF"),
        ("01.00.00.00", 24, "HH:MM:SS:FF"),
        ("01:00:00:0\u0663", 24, "HH:MM:SS:FF"),  # an Arabic-Indic digit
        ("24:00:00:00", 24, "hours 24 out of range"),
        ("00:60:00:00", 24, "minutes 60 out of range"),
        ("00:00:60:00", 25, "seconds 60 out of range"),
        ("00:00:00:24", 24, "frames 24 out of range"),
        ("00:00:00:24", 23.976, "allowed: 00 to 23"),
        ("00:00:00:25", 25, "allowed: 00 to 24"),
        ("00:00:00;30", 29.97, "frames 30 out of range"),
        ("00:00:00;00", 24, "marks drop-frame"),
        ("00:01:00;00", 29.97, "does not exist"),
        ("00:01:00;01", 29.97, "does not exist"),
        ("05:59:00;01", 29.97, "05:59:00;02"),
    ],
)
def test_parse_refusals_say_what_and_what_is_allowed(text, rate, fragment):
    with pytest.raises(TimecodeError) as info:
        Timecode.parse(text, rate)
    message = str(info.value)
    assert fragment in message
    assert repr(text) in message  # what was received


@pytest.mark.parametrize("value", [3600, None, b"01:00:00:00"])
def test_parse_refuses_non_strings(value):
    with pytest.raises(TimecodeError, match="must be a string"):
        Timecode.parse(value, 24)


def test_tenth_minutes_keep_frames_00_and_01():
    for minute in range(0, 60, 10):
        assert str(Timecode.parse(f"00:{minute:02d}:00;00", DF)) == f"00:{minute:02d}:00;00"


# -- arithmetic and order ------------------------------------------------------------


def test_arithmetic_and_comparisons():
    start = Timecode.parse("00:00:59;29", DF)
    after = start + 1
    assert str(after) == "00:01:00;02"  # one frame on crosses the dropped labels
    assert 1 + start == after
    assert after - 1 == start
    assert after - start == 1
    assert start < after <= after and after > start and start != after
    assert sorted([after, start]) == [start, after]
    assert len({start, Timecode(start.frames, DF)}) == 1
    with pytest.raises(TimecodeError):
        Timecode(0, DF) - 1
    with pytest.raises(TimecodeError):
        Timecode.parse("23:59:59;29", DF) + 1
    with pytest.raises(TypeError):
        start + 0.5
    with pytest.raises(TypeError):
        start + start
    with pytest.raises(TypeError):
        _ = Timecode(0, DF) < Timecode(0, FrameRate.parse(24))
    with pytest.raises(TypeError):
        _ = Timecode(0, DF) - Timecode(0, FrameRate.parse(30))
    assert Timecode(0, DF) != Timecode(0, FrameRate.parse(30))


def test_constructor_checks():
    with pytest.raises(TypeError):
        Timecode(1.0, DF)
    with pytest.raises(TypeError):
        Timecode(True, DF)
    with pytest.raises(TypeError):
        Timecode(1, 24)
    with pytest.raises(TimecodeError, match="23:59:59;29"):
        Timecode(-1, DF)


# -- the high frame rates -------------------------------------------------------------

DF60 = FrameRate.parse(59.94)


def test_every_59_94_drop_frame_label_in_twenty_minutes():
    """59.94 drop-frame skips four labels (;00 to ;03) a minute, but at every tenth."""
    _walk_drop_frame_labels(DF60, 60, 4)
    assert str(Timecode.parse("00:00:59;59", DF60) + 1) == "00:01:00;04"
    assert str(Timecode.parse("00:09:59;59", DF60) + 1) == "00:10:00;00"


@pytest.mark.parametrize("label, rate, frames, seconds", [
    ("01:00:00;00", 59.94, 215784, Fraction(215784 * 1001, 60000)),  # the same real time as 29.97 DF's hour
    ("01:00:00:00", "59.94 NDF", 216000, Fraction(36036, 10)),
    ("01:00:00:00", 47.952, 172800, Fraction(36036, 10)),
    ("01:00:00:47", 48, 172847, Fraction(172847, 48)),
    ("01:00:00:49", 50, 180049, Fraction(180049, 50)),
    ("23:59:59:59", 60, 5183999, Fraction(5183999, 60)),
])
def test_high_rate_frame_counts(label, rate, frames, seconds):
    tc = Timecode.parse(label, rate)
    assert (tc.frames, tc.to_seconds(), str(tc)) == (frames, seconds, label)
    assert Timecode.parse("01:00:00;00", 59.94).to_seconds() == Timecode.parse("01:00:00;00", 29.97).to_seconds()


@pytest.mark.parametrize("text, rate, fragment", [
    ("00:01:00;03", 59.94, "labels ;00 to ;03 are skipped"),
    ("00:01:00;00", 59.94, "the next label is 00:01:00;04"),
    ("00:00:00:50", 50, "frames 50 out of range at 50 fps; allowed: 00 to 49"),
    ("00:00:00:48", 47.952, "allowed: 00 to 47"),
    ("00:00:00;60", 59.94, "allowed: 00 to 59"),
    ("00:00:00;02", 60, "marks drop-frame"),
])
def test_high_rate_refusals(text, rate, fragment):
    with pytest.raises(TimecodeError, match=fragment):
        Timecode.parse(text, rate)


@pytest.mark.parametrize("label, rate, offset", [
    ("01:00:00:12", 24, (1, 0, 0, 12, 0, 0)),
    ("01:00:00:12", 23.976, (1, 0, 0, 12, 0, 0)),
    ("01:00:00:24", 25, (1, 0, 0, 24, 0, 1)),
    ("01:01:00;02", 29.97, (1, 1, 0, 2, 0, 2)),
    ("01:00:00:29", "29.97 NDF", (1, 0, 0, 29, 0, 3)),
    ("01:00:00:29", 30, (1, 0, 0, 29, 0, 3)),
    ("01:00:00:37", 50, (1, 0, 0, 18, 50, 1)),
    ("01:00:00:47", 48, (1, 0, 0, 23, 50, 0)),
    ("01:00:00:46", 47.952, (1, 0, 0, 23, 0, 0)),
    ("01:01:00;04", 59.94, (1, 1, 0, 2, 0, 2)),
    ("01:01:00:01", "59.94 NDF", (1, 1, 0, 0, 50, 3)),
    ("23:59:59:59", 60, (23, 59, 59, 29, 50, 3)),
])
def test_smf_offset_writes_high_rates_at_their_half(label, rate, offset):
    """A Standard MIDI File's SMPTE Offset knows 24, 25, 29.97 DF and 30 only: 50 fps
    labels as 25 with the odd frame in hundredths, 59.94 DF as 29.97 DF, whose first
    label of a minute (;02) is 59.94's (;04) halved. The time is the same."""
    tc = Timecode.parse(label, rate)
    assert tc.smf_offset() == offset
    hours, minutes, seconds, frames, hundredths, code = offset
    half = {0: "24", 1: "25", 2: "29.97", 3: "30"}[code]
    if tc.rate.exact.denominator == 1001 and code == 0:
        half = "23.976"
    if tc.rate.exact.denominator == 1001 and code == 3:
        half = "29.97 NDF"
    base = Timecode.parse(f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}", half)
    assert base.to_seconds() + Fraction(hundredths, 100) / base.rate.exact == tc.to_seconds()
