"""Hit points: a cue's tempo map bent so that its downbeats land on the picture's hits.

A cue list's ``hits`` are timecodes of moments in the picture (a door slam, a cut) that
the music should mark with a downbeat. For each hit, in time order, the downbeat that a
small, even change of tempo can bring onto it is chosen: every tempo between the last
anchor (the cue's start, or the downbeat that caught the hit before) and that downbeat
is multiplied by one factor, as a music editor does with a tempo map, and the tempo in
force there comes back after it. Of the downbeats within ``max_stretch`` of the tempo
(10 % by default, about what a conductor's beat hides) the one needing the least change
wins; a hit none can catch is left as it is and said so, as is a hit after the cue's
last bar line or one closer to the anchor than the last.

Only the tempo map changes: every note keeps its ticks, so the MIDI, the orchestration
and the MusicXML are the same music at the new tempos. Tempos are whole microseconds per
quarter (as a MIDI file stores them), so a downbeat lands within a few microseconds of
its hit, far inside a frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import symusic

from .metre import bar_beat, bar_starts_through, clean_signatures, score_signatures

MAX_STRETCH = 0.10  # the largest change of tempo (a share) made to catch a hit


@dataclass(frozen=True)
class Hit:
    seconds: float  # after the cue's first tick
    label: str  # as the cue list writes it (a timecode)


def _tempo_map(score) -> list[tuple[int, int]]:
    """(tick, microseconds per quarter), sorted, one per tick, the first at tick 0."""
    by_tick: dict[int, int] = {}
    for tempo in sorted(score.tempos, key=lambda t: t.time):
        by_tick[int(tempo.time)] = int(tempo.mspq)
    by_tick.setdefault(0, 500_000)  # before a file's first tempo, MIDI's 120 a minute
    return sorted(by_tick.items())


def _seconds(tempos: list[tuple[int, int]], tick: int, tpq: int) -> float:
    total, (last_tick, mspq) = 0.0, tempos[0]
    for t, m in tempos[1:]:
        if t >= tick:
            break
        total += (t - last_tick) * mspq / tpq
        last_tick, mspq = t, m
    return (total + (tick - last_tick) * mspq / tpq) / 1e6


def _in_force(tempos: list[tuple[int, int]], tick: int) -> int:
    return [m for t, m in tempos if t <= tick][-1]


def _stretched(tempos: list[tuple[int, int]], start: int, stop: int, factor: float) -> list[tuple[int, int]]:
    """Every tempo from ``start`` to ``stop`` multiplied by ``factor`` (faster > 1), the one
    in force at ``stop`` restored there."""
    restore = _in_force(tempos, stop)
    out = [(t, m) for t, m in tempos if t < start]
    out.append((start, round(_in_force(tempos, start) / factor)))
    out += [(t, round(m / factor)) for t, m in tempos if start < t < stop]
    out.append((stop, restore))
    out += [(t, m) for t, m in tempos if t > stop]
    return out


def fit_hits(score, hits: list[Hit], max_stretch: float = MAX_STRETCH) -> tuple[symusic.Score, list[str]]:
    """``score`` (ticks) with its tempo map bent so that downbeats land on ``hits``, and a
    sentence per hit saying where it landed or why it did not."""
    tpq = score.ticks_per_quarter
    signatures = clean_signatures(score_signatures(score))
    end = max((t.end() for t in score.tracks if t.note_num()), default=0)
    downbeats = bar_starts_through(signatures, tpq, max(end, 1))
    tempos = _tempo_map(score)
    anchor_tick, anchor_seconds = 0, 0.0
    said: list[str] = []
    for hit in sorted(hits, key=lambda h: h.seconds):
        wanted = hit.seconds - anchor_seconds
        if wanted == 0:  # on the cue's first downbeat, or on the one that caught the hit before
            said.append(f"hit {hit.label}: bar {bar_beat(anchor_tick, tpq, signatures)[0]}'s downbeat is on it")
            continue
        if wanted < 0:
            said.append(f"hit {hit.label}: not caught, it comes before the downbeat that caught the hit before it")
            continue
        base = _seconds(tempos, anchor_tick, tpq)
        options = []
        for tick in downbeats:
            if tick <= anchor_tick:
                continue
            factor = (_seconds(tempos, tick, tpq) - base) / wanted
            options.append((abs(factor - 1), tick, factor))
        fitting = [option for option in options if option[0] <= max_stretch]
        if not fitting:
            if hit.seconds > anchor_seconds + (_seconds(tempos, downbeats[-1], tpq) - base):
                reason = "it comes after the cue's last bar line"
            else:
                nearest = min(options, key=lambda o: abs(_seconds(tempos, o[1], tpq) - hit.seconds), default=None)
                reason = (f"no downbeat lands on it within {max_stretch:.0%} of the tempo" +
                          ("" if nearest is None else
                           f" (the nearest, bar {bar_beat(nearest[1], tpq, signatures)[0]}, would need "
                           f"x{nearest[2]:.3f})"))
            said.append(f"hit {hit.label}: not caught, {reason}; the tempo is left as it is")
            continue
        _, tick, factor = min(fitting)
        start_bar = bar_beat(anchor_tick, tpq, signatures)[0]
        bar = bar_beat(tick, tpq, signatures)[0]
        tempos = _stretched(tempos, anchor_tick, tick, factor)
        said.append(f"hit {hit.label}: bar {bar}'s downbeat lands on it (tempo x{factor:.3f} "
                    f"from bar {start_bar})")
        anchor_tick, anchor_seconds = tick, hit.seconds
    out = score.copy()
    out.tempos.clear()
    for tick, mspq in tempos:
        out.tempos.append(symusic.Tempo(tick, qpm=60e6 / mspq))
    return out, said
