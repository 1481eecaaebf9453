"""True-peak meter (ITU-R BS.1770-4 Annex 2) against signals whose true peak is
known from geometry, in the style of EBU Tech 3341's true-peak cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from scorefarm.render import truepeak
from scorefarm.render.truepeak import oversampling_factor, true_peak_dbtp, true_peak_linear

FS = 48000


def fade(x: np.ndarray, rate: int, seconds: float = 0.02) -> np.ndarray:
    """Raised-cosine fades, so a test reads a sine's steady state rather than the
    (real) overshoot of a waveform that starts at full scale."""
    n = int(rate * seconds)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    out = x.copy()
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return out


def sine(rate: int, cycles_per_sample: float, phase_deg: float, seconds: float = 1.0):
    n = np.arange(int(rate * seconds))
    return np.sin(2 * np.pi * cycles_per_sample * n + np.deg2rad(phase_deg))


def test_fs4_sine_at_45_degrees_with_0_dbfs_samples_reads_plus_3_01():
    x = sine(FS, 0.25, 45.0)
    x /= np.max(np.abs(x))  # samples peak at exactly 0 dBFS; the crest is at +3.01
    assert 20 * np.log10(np.max(np.abs(x))) == pytest.approx(0.0, abs=1e-9)
    assert true_peak_dbtp(fade(x, FS), FS) == pytest.approx(3.01, abs=0.1)
    assert true_peak_dbtp(x, FS) == pytest.approx(3.01, abs=0.1)  # unfaded too


def test_full_scale_1khz_sine_reads_0_dbtp():
    x = np.sin(2 * np.pi * 1000 * np.arange(FS) / FS)
    assert true_peak_dbtp(x, FS) == pytest.approx(0.0, abs=0.1)
    assert true_peak_dbtp(np.stack([x, x], 1), FS) == pytest.approx(0.0, abs=0.1)


# Tech 3341-style true-peak cases. Each sine is placed so its samples straddle the
# crest; the amplitude puts the *true* peak at -6.0 dBTP, the sample peak lower.
# Tolerance is Tech 3341's for true peak: +0.2 / -0.4 dB.
#   (frequency as a fraction of fs, phase in degrees, sample peak in dBFS)
TECH3341_STYLE = [
    (1 / 4, 0.0, -6.0),     # samples hit the crest: reads like a sample-peak meter
    (1 / 4, 45.0, -9.01),   # samples at +-45 degrees from the crest
    (1 / 6, 60.0, -7.25),   # samples at +-30 degrees
    (1 / 8, 67.5, -6.69),   # samples at +-22.5 degrees
]


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
@pytest.mark.parametrize("fraction,phase_deg,sample_peak_dbfs", TECH3341_STYLE)
def test_tech3341_style_sines_read_minus_6_dbtp(rate, fraction, phase_deg, sample_peak_dbfs):
    x = fade(sine(rate, fraction, phase_deg) * 10 ** (-6.0 / 20), rate)
    assert 20 * np.log10(np.max(np.abs(x))) == pytest.approx(sample_peak_dbfs, abs=0.02)
    reading = true_peak_dbtp(x, rate)
    assert -6.0 - 0.4 <= reading <= -6.0 + 0.2


def test_oversampling_is_what_finds_the_intersample_peak(monkeypatch):
    x = sine(FS, 0.25, 45.0)
    x = fade(x / np.max(np.abs(x)), FS)
    with_oversampling = true_peak_dbtp(x, FS)
    monkeypatch.setattr(truepeak, "_phases_for", lambda factor: truepeak.ANNEX2_PHASES[:0])
    assert true_peak_dbtp(x, FS) == pytest.approx(0.0, abs=0.01)
    assert with_oversampling > 2.9


def test_factor_follows_the_sample_rate():
    assert [oversampling_factor(r) for r in (32000, 44100, 48000, 88200, 96000, 176400, 192000)] \
        == [4, 4, 4, 2, 2, 1, 1]
    with pytest.raises(ValueError):
        oversampling_factor(0)


def test_at_192k_the_samples_are_read_directly():
    x = sine(192000, 1000 / 192000, 10.0) * 0.5
    assert true_peak_linear(x, 192000) == pytest.approx(np.max(np.abs(x)), abs=1e-12)


def test_matches_the_annex_filter_applied_directly():
    """The chunked polyphase convolution equals one upfirdn with the 48-tap
    prototype (h[4*tap + phase]), on noise long enough to cross chunk seams."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((truepeak._CHUNK + 5000, 2)) * 0.1
    seam = truepeak._CHUNK
    x[seam - 2 : seam + 2] = [[0.9, -0.2], [-0.9, 0.3], [0.9, 0.0], [-0.9, 0.0]]
    prototype = truepeak.ANNEX2_PHASES.T.reshape(-1)
    assert np.allclose(prototype, prototype[::-1])  # the published table is symmetric
    direct = max(np.max(np.abs(signal.upfirdn(prototype, x[:, c], up=4))) for c in range(2))
    direct = max(direct, np.max(np.abs(x)))
    assert true_peak_linear(x, FS) == pytest.approx(direct, rel=1e-12)


def test_peak_across_a_chunk_seam_reads_like_one_inside_a_chunk():
    burst = fade(sine(FS, 0.25, 45.0, seconds=0.05), FS, 0.005)
    reference = true_peak_dbtp(burst, FS)
    x = np.zeros(truepeak._CHUNK * 2)
    start = truepeak._CHUNK - len(burst) // 2
    x[start : start + len(burst)] = burst
    assert true_peak_dbtp(x, FS) == pytest.approx(reference, abs=1e-9)


def test_reads_within_tolerance_of_an_ideal_band_limited_reconstruction():
    """Against 16x FFT interpolation of band-limited noise (content below 20 kHz)."""
    b = signal.firwin(255, 19000, fs=FS)
    overs = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        x = fade(signal.lfilter(b, 1, rng.standard_normal(FS)), FS)
        x /= np.max(np.abs(x))  # sample peak 0 dBFS
        ideal = 20 * np.log10(np.max(np.abs(signal.resample(x, len(x) * 16))))
        reading = true_peak_dbtp(x, FS)
        assert ideal - 0.4 <= reading <= ideal + 0.2
        overs.append(reading)
    assert max(overs) > 0.5  # band-limited noise does have inter-sample overs


def test_max_over_channels():
    loud = fade(sine(FS, 0.25, 45.0), FS)
    quiet = loud * 0.25
    assert true_peak_dbtp(np.stack([quiet, loud], 1), FS) == pytest.approx(
        true_peak_dbtp(loud, FS), abs=1e-12
    )


def test_silence_and_empty_read_minus_infinity():
    assert true_peak_dbtp(np.zeros((FS, 2)), FS) == -math.inf
    assert true_peak_dbtp(np.zeros((0, 2)), FS) == -math.inf


def test_refuses_non_finite_and_badly_shaped_input():
    with pytest.raises(ValueError, match="NaN"):
        true_peak_dbtp(np.array([0.0, np.nan]), FS)
    with pytest.raises(ValueError, match="shape"):
        true_peak_dbtp(np.zeros((2, 2, 2)), FS)
