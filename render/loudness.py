"""Programme loudness per Rec. ITU-R BS.1770-4 for any channel layout.

pyloudnorm (the project's meter) weighs up to five channels by place, as L, R, C,
Ls, Rs. A composer's mix can be 5.1 or 7.1, or quad, whose weights are not those.
``ChannelLayout`` names each channel's speaker (the WAVE_FORMAT_EXTENSIBLE mask,
or the usual layout for the count) and its BS.1770-4 weight: 1.41 for the
surrounds (azimuth 60 to 120 degrees, below 30 degrees elevation), 0 for the LFE
(not measured), 1.0 for the others. For 7.1 that puts the side pair at 1.41 and
the back pair (135 to 150 degrees) at 1.0, as the standard's table does;
5.1's surrounds are 1.41 whether the file names them side or back.

``loudness_lufs`` hands the layouts pyloudnorm weighs alike to pyloudnorm as
they are; for the others it applies pyloudnorm's own K-weighting filters and
gates the 400 ms blocks (75 % overlap, -70 LUFS absolute, -10 LU relative) as
its meter does, with the layout's weights. On five channels weighted L R C Ls Rs
the two agree to 1e-9 LU (``tests/test_audio_inputs.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["DEFAULT_MASKS", "GATE_BLOCK_SECONDS", "ChannelLayout", "channel_layout", "loudness_lufs"]

GATE_BLOCK_SECONDS = 0.4     # BS.1770 gating block; pyloudnorm needs at least one
# BS.1770-4 channel weights by WAVE_FORMAT_EXTENSIBLE speaker bit: 1.41 for the surrounds
# (azimuth 60-120 degrees, below 30 degrees elevation), 0 for the LFE (not measured), else 1.0.
_LFE, _BACK_PAIR, _SIDE_PAIR = 0x8, 0x30, 0x600
_SPEAKER_NAMES = ["L", "R", "C", "LFE", "Lsr", "Rsr", "Lc", "Rc", "Cs", "Ls", "Rs",
                  "Tc", "Tfl", "Tfc", "Tfr", "Tbl", "Tbc", "Tbr"]
#: Layouts assumed for files that state no speaker positions (no or an empty mask).
#: WAVE's default orders: mono, stereo, L R C, quad (L R Lsr Rsr), L R C Ls Rs (pyloudnorm's
#: order, 5.0), 5.1 (L R C LFE Ls Rs), 7.1 (L R C LFE Lsr Rsr Ls Rs); libebur128 reads quad alike.
DEFAULT_MASKS = {1: 0x4, 2: 0x3, 3: 0x7, 4: 0x33, 5: 0x607, 6: 0x3F, 8: 0x63F}


@dataclass(frozen=True)
class ChannelLayout:
    """The speaker positions of a mix's channels and their BS.1770-4 weights."""

    mask: int                   # WAVE_FORMAT_EXTENSIBLE speaker bits, one per channel
    weights: tuple[float, ...]  # per channel: 1.0, 1.41 (surround) or 0.0 (LFE)
    stated: bool                # the file gave the positions (else assumed by count)

    @property
    def names(self) -> str:
        return " ".join(_SPEAKER_NAMES[bit] for bit in range(18) if self.mask >> bit & 1)

    @property
    def pyloudnorm_order(self) -> bool:
        """pyloudnorm weights channels by place as L, R, C, Ls, Rs: true where that
        is this layout's weighting (then pyloudnorm measures it as it is)."""
        return self.weights == (1.0, 1.0, 1.0, 1.41, 1.41)[: len(self.weights)]


def channel_layout(channels: int, mask: int | None = None) -> ChannelLayout:
    """The layout of ``channels`` channels: the speaker ``mask`` where it names one
    position per channel, else the usual layout for the count (``DEFAULT_MASKS``: mono,
    stereo, L R C, quad, 5.0, 5.1, 7.1). Raises ``InputError`` for a count
    with no usual layout (7, or more than 8) and no mask."""
    stated = mask is not None and bin(mask).count("1") == channels and mask < 1 << 18
    if not stated:
        if channels not in DEFAULT_MASKS:
            raise InputError(
                f"{channels} channels with no speaker positions (a WAVE_FORMAT_EXTENSIBLE "
                "channel mask): BS.1770 loudness needs to know which are surrounds and LFE; "
                f"masks are assumed only for {', '.join(map(str, sorted(DEFAULT_MASKS)))} channels"
            )
        mask = DEFAULT_MASKS[channels]
    weights = []
    for bit in range(18):
        if mask >> bit & 1:
            speaker = 1 << bit
            if speaker == _LFE:
                weights.append(0.0)
            elif speaker & _SIDE_PAIR or (speaker & _BACK_PAIR and not mask & _SIDE_PAIR):
                weights.append(1.41)  # the surrounds (the back pair is 5.1's surrounds)
            else:
                weights.append(1.0)   # front, centres, the back pair behind side surrounds, tops
    return ChannelLayout(int(mask), tuple(weights), stated)


def loudness_lufs(data: np.ndarray, rate: int, layout: ChannelLayout) -> float:
    """BS.1770-4 integrated loudness. pyloudnorm measures layouts it weighs as they are
    (up to five channels, L R C Ls Rs); for the others (5.1, 7.1, quad by its mask)
    its K-weighting filters are applied here and the blocks gated as its meter gates
    them, with the layout's weights (the LFE's 0 leaves it out)."""
    import pyloudnorm

    meter = pyloudnorm.Meter(rate)
    if layout.pyloudnorm_order:
        return float(meter.integrated_loudness(data))
    block = GATE_BLOCK_SECONDS * rate
    step = 0.25 * GATE_BLOCK_SECONDS
    count = int(np.round((data.shape[0] / rate - GATE_BLOCK_SECONDS) / step)) + 1
    lower = np.array([int(GATE_BLOCK_SECONDS * (j * 0.25) * rate) for j in range(count)])
    upper = np.array([int(GATE_BLOCK_SECONDS * (j * 0.25 + 1) * rate) for j in range(count)])
    power = np.zeros(count)
    for ch, weight in enumerate(layout.weights):
        if weight == 0.0:
            continue
        filtered = data[:, ch].astype(np.float64)
        for stage in meter._filters.values():  # pyloudnorm's K-weighting, both stages
            filtered = stage.apply_filter(filtered)
        energy = np.concatenate([[0.0], np.cumsum(np.square(filtered))])
        power += weight * (energy[np.minimum(upper, len(filtered))] - energy[lower]) / block
    with np.errstate(divide="ignore"):
        blocks = -0.691 + 10.0 * np.log10(power)
    kept = blocks >= -70.0
    if not kept.any():
        return -math.inf
    relative = -0.691 + 10.0 * np.log10(power[kept].mean()) - 10.0
    kept = (blocks > relative) & (blocks > -70.0)
    if not kept.any():
        return -math.inf
    return float(-0.691 + 10.0 * np.log10(power[kept].mean()))
