"""Doublings: how the orchestra thickens with the dynamics.

Each rule is (roles it applies to, lowest dynamic level, instruments in order of
preference, octave shifts to try). The practice is the textbook one (Adler, *The
Study of Orchestration*, 4th ed., ch. 16-17; Rimsky-Korsakov, *Principles of
Orchestration*, ch. III): the bass an octave apart in cellos and basses (the cellos an
octave above a bass the basses play alone, below the cello's C string, a bass line seated
on the cellos included: ``add_doublings``' ``away``); the melody
an octave up in flutes and in unison in oboes or clarinets from mp, with trumpets
and horns from f; sustained inner harmony in horns, clarinets or pads, and from f the
inner notes of short detached chords in horns and trombones (brass stabs); trombones,
tuba and timpani only when it is loud, and the bass instruments only under a bass
below middle C (``BASS_BELOW``); arpeggiated figures in the harp when it is
quiet, where the pedals allow (``harp``). A doubling is skipped when no instrument of the kind can play it (range or
notes at once): doublings are optional, the source notes are already placed. So a
doubling keeps to the comfortable range of its instrument (``instruments.toml``) where
one of its octave shifts allows, and goes to the extreme register only for a note or two
of a passage that lies comfortably (``_Passages``): a passage that only the extreme
could double is left undoubled (a trumpet above its staff for sixteen bars at f).
The octave shift is chosen a phrase at a time, not a note at a time (``_octave_plan``):
a trumpet doubling a tune that climbs over its F5 takes the whole phrase an octave down
rather than drop an octave for its top notes alone, and changes octave at a rest where
the next phrase needs another. Players of one instrument (Flute 1 and 2) keep the 1st at
or above the 2nd (``players``).
"""

from __future__ import annotations

import bisect
from collections import Counter
from typing import NamedTuple

from .catalogue import Ensemble
from .players import doublings_top_down, player_groups, player_shift, players_top_down

# A lowest voice from middle C up is no bass line but the bottom of treble chords (a rag's
# trio with both hands in the treble staff): the bass instruments double only a bass below
# it. The basses' octave under it would start at sounding C3, written C4: thumb position,
# above the G string's half-string harmonic (written G3), which orchestral bass parts
# reach only now and then. The tuba, contrabassoon and timpani keep to the same register.
BASS_BELOW = 60

# ``_octave_plan``, what doubling a note costs: in the extreme register (professional, not
# comfortable), on a later kind of a rule's instruments, where no part reaches it (it goes
# undoubled), and per place its shift comes in the rule's order (the flute's octave up before
# its unison); and what changing octave costs inside a phrase and after a rest of a beat. A
# change inside a phrase costs more than two notes in the extreme and less than one left
# undoubled: a line leaving the range moves once and stays. A change after a rest costs what
# one note in the extreme does: the next phrase keeps the octave unless its range asks for
# another, as a player would not change octave for the sake of the rule's order alone.
EXTREME = 1.0
OTHER_KIND = 0.5
UNPLAYED = 4.0
LATER_SHIFT = 0.05
SWITCH = 3.0
NEW_PHRASE = 1.0


class Rule(NamedTuple):
    """One doubling: the notes of ``roles`` from dynamic level ``lowest`` to ``highest``
    (indices into ``dynamics.LEVELS``) are doubled by the first of ``kinds`` that can
    play them, trying the octave ``shifts`` (semitones) in order. ``takes`` says which of
    those notes: "all"; "held" (a beat or longer: short inner notes are not held by
    winds); or "breathing" (where the role goes round a fast figure, ``_fast_bars``, only
    its downbeats and notes of a beat or longer: a wind or brass player doubling a bass
    ostinato needs rests to breathe, and the weight belongs on the beat); or "stabs"
    (from f, the short inner notes of detached chords, ``_Passages.stab``: brass chords
    hit with the strings); or "pedals" (the harp: where the role's notes in the bar can
    all be played on one setting of the harp's pedals, ``harp.pedal_setting``). Only notes
    below ``below`` (the bass instruments: ``BASS_BELOW``)."""

    roles: frozenset[str]
    lowest: int
    highest: int
    kinds: tuple[str, ...]
    shifts: tuple[int, ...]
    takes: str = "all"
    below: int = 128


RULES: tuple[Rule, ...] = (
    Rule(frozenset({"bass"}), 0, 5, ("double-bass",), (-12, 0), below=BASS_BELOW),
    # a bass below the cello's C2 is placed on the basses: the cellos take it an octave up
    # (also where the cellos sit on that bass line: ``add_doublings``' ``away``)
    Rule(frozenset({"bass"}), 0, 5, ("cello",), (0, 12)),
    Rule(frozenset({"bass"}), 2, 5, ("bassoon",), (0, -12), "breathing"),
    Rule(frozenset({"bass"}), 3, 5, ("synth-bass",), (-12, 0), below=BASS_BELOW),
    Rule(frozenset({"bass"}), 4, 5, ("tuba", "bass-trombone", "contrabassoon"), (-12, 0), "breathing",
         BASS_BELOW),
    Rule(frozenset({"melody"}), 2, 5, ("flute",), (12, 0)),
    Rule(frozenset({"melody"}), 3, 5, ("oboe", "clarinet"), (0, 12)),
    Rule(frozenset({"melody"}), 4, 5, ("trumpet", "horn"), (0, -12)),
    Rule(frozenset({"melody"}), 5, 5, ("piccolo",), (12, 24)),
    Rule(frozenset({"sustained", "upper"}), 3, 5, ("horn",), (0, -12), "held"),
    Rule(frozenset({"sustained", "lower"}), 2, 5, ("clarinet", "bassoon"), (0,), "held"),
    Rule(frozenset({"sustained"}), 1, 5, ("pad",), (0, -12), "held"),
    Rule(frozenset({"lower", "sustained"}), 4, 5, ("trombone",), (0, -12), "held"),
    Rule(frozenset({"upper"}), 4, 5, ("horn",), (0, -12), "stabs"),
    Rule(frozenset({"lower"}), 4, 5, ("trombone",), (0, -12), "stabs"),
    Rule(frozenset({"figure"}), 0, 3, ("harp",), (0, 12), "pedals"),
    Rule(frozenset({"figure"}), 3, 5, ("clarinet",), (0,)),
)


def is_kind(instrument_key: str, wanted: str) -> bool:
    """'horn' matches 'horn' and 'horn-in-f'; 'trombone' does not match 'bass-trombone'."""
    return instrument_key == wanted or instrument_key.startswith(wanted + "-") or (
        wanted == "pad" and "pad" in instrument_key)


def add_doublings(ensemble: Ensemble, occupancy, placed: list, lane_parts: list[int], tpq: int,
                  beats_per_bar: float, key_pcs: tuple[int, int], own: frozenset[int] = frozenset(),
                  bar_starts: list[int] | None = None,
                  away: dict[int, tuple[int, ...]] | None = None) -> list[str]:
    """Append doublings of the placed source notes to ``placed``; return a summary. The
    parts in ``own`` play a sketch's track written for them (``seating``) and no doublings
    but those of that track's own notes they could not play: ``away`` maps such a source
    note (placed on another part: range or notes at once) to its seat's parts, which a
    rule's doubling of it tries first. A bass line on the cellos that dips under their C
    string is played there by the basses, at pitch, and the cellos' rule keeps the line
    an octave up. ``bar_starts``: the score's bar lines in ticks
    (``voices.bar_starts_of``), else bars of ``beats_per_bar`` quarters from the start.
    Each rule's octave shift is chosen a phrase at a time (``_octave_plan``); then the notes
    of players of one instrument are dealt top down (``players``), ``occupancy`` and its
    ``part_of_source`` following the notes moved."""
    from .placement import Placed

    parts = ensemble.parts
    by_kind: dict[str, list[int]] = {}
    for rule in RULES:
        for wanted in rule.kinds:
            by_kind[wanted] = [i for i, p in enumerate(parts) if is_kind(p.instrument.key, wanted) and i not in own]
    timpani = [i for i, p in enumerate(parts) if is_kind(p.instrument.key, "timpani") and i not in own]
    sounding = _Sounding(placed)
    bar = round(tpq * beats_per_bar)
    sources = [p for p in placed if p.source >= 0]
    first = len(placed)  # the doublings are appended after it
    bars = _Bars(bar_starts) if bar_starts is not None else _Bars.every(bar, sources)
    passages = _Passages(sources, bar, bars)
    fast = _fast_bars(sources, tpq, bars)
    away = away or {}
    taken = [[_takes(rule, note, tpq, bars, fast, passages) for note in sources] for rule in RULES]
    plan = _octave_plan(parts, sources, by_kind, away, tpq, taken)
    for k, note in enumerate(sources):
        end = note.time + max(note.duration, 1)
        playing = {note.part}
        home = away.get(note.source, ())
        for r, rule in enumerate(RULES):
            if not taken[r][k]:
                continue
            candidates = [i for i in _candidates(parts, rule, home, by_kind) if i not in playing]
            shifts = (plan[r][k],) if k in plan[r] else rule.shifts
            target = _first_fit(parts, occupancy, candidates, note.pitch, shifts, note.time, end, sounding,
                                "comfortable", note.part)
            if target is None and not passages.lies_outside(note, [parts[i].instrument for i in candidates], shifts):
                target = _first_fit(parts, occupancy, candidates, note.pitch, shifts, note.time, end, sounding,
                                    doubled=note.part)
            if target is None:
                continue
            part, pitch = target
            occupancy.take(part, note.time, end)
            playing.add(part)
            placed.append(Placed(note.time, note.duration, pitch, max(1, note.velocity - 6), part, -1,
                                 note.role, note.level, doubles=note))
            sounding.add(placed[-1])
        if timpani and note.role == "bass" and note.level >= 4 and bars.is_downbeat(note.time) \
                and note.pitch < BASS_BELOW and note.pitch % 12 in key_pcs:
            duration = min(note.duration, tpq)
            target = next(filter(None, (_first_fit(parts, occupancy, timpani, note.pitch, (-12, 0, 12, -24, 24),
                                                   note.time, note.time + duration, sounding, tier)
                                        for tier in ("comfortable", "professional"))), None)
            if target is not None:
                occupancy.take(target[0], note.time, note.time + duration)
                placed.append(Placed(note.time, duration, target[1], note.velocity, target[0], -1, "bass",
                                     note.level))
                sounding.add(placed[-1])
    doublings_top_down(parts, placed, first, own)
    if players_top_down(parts, placed, own, tpq, occupancy.part_of_source):
        for part in {i for group in player_groups(parts) for i in group}:
            occupancy.refill(part, placed)
    done = Counter(parts[p.part].label for p in placed[first:])
    if not done:
        return []
    listing = ", ".join(f"{label} {count}" for label, count in sorted(done.items(), key=lambda kv: -kv[1]))
    return [f"{sum(done.values())} doublings: {listing}"]


class _Bars:
    """Bar lines (ticks, from 0): which bar a tick is in, and whether it is a downbeat."""

    def __init__(self, starts: list[int]):
        self.starts = list(starts) or [0]

    @classmethod
    def every(cls, bar: int, notes: list) -> "_Bars":
        """Bars of ``bar`` ticks from 0 past the end of ``notes``: a score without bar lines."""
        end = max((n.time + max(n.duration, 1) for n in notes), default=0)
        return cls(list(range(0, end + bar + 1, max(bar, 1))))

    def index(self, tick: int) -> int:
        return max(0, bisect.bisect_right(self.starts, tick) - 1)

    def is_downbeat(self, tick: int) -> bool:
        return self.starts[self.index(tick)] == tick

    def span(self, tick: int) -> tuple[int, int]:
        """The bar holding ``tick``: (its start, the next bar line or the end of time)."""
        k = self.index(tick)
        return self.starts[k], self.starts[k + 1] if k + 1 < len(self.starts) else 1 << 62


def _takes(rule: Rule, note, tpq: int, bars: _Bars, fast: set[tuple[str, int]], passages: "_Passages") -> bool:
    """Whether ``rule`` doubles the placed source ``note`` (``fast``: ``_fast_bars``)."""
    if note.role not in rule.roles or not rule.lowest <= note.level <= rule.highest or note.pitch >= rule.below:
        return False
    if rule.takes == "held":
        return note.duration >= tpq
    if rule.takes == "stabs":
        return note.duration < tpq and passages.stab(note, tpq)
    if rule.takes == "pedals":
        return passages.pedals(note)
    if rule.takes == "breathing" and (note.role, bars.index(note.time)) in fast:
        return bars.is_downbeat(note.time) or note.duration >= tpq
    return True


def _fast_bars(sources: list, tpq: int, bars: _Bars) -> set[tuple[str, int]]:
    """(role, bar index) where the role goes round a fast figure: four notes or more of
    half a beat or less, at least half its notes in the bar, that come back to their
    pitches (at most half as many pitches as short notes: an ostinato, a drum bass, an
    oom-pah; a bass line that walks through the bar is not one)."""
    found: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for note in sources:
        found.setdefault((note.role, bars.index(note.time)), []).append((note.duration, note.pitch))
    fast = set()
    for key, notes in found.items():
        short = [pitch for duration, pitch in notes if duration <= tpq / 2]
        if len(short) >= 4 and 2 * len(short) >= len(notes) and 2 * len(set(short)) <= len(short):
            fast.add(key)
    return fast


class _Sounding:
    """The pitches each part sounds, so that a doubling never lands on a pitch the
    part already plays then (two notes of one pitch on one MIDI channel: the first
    note-off would end both, and a notation program shows a doubled notehead)."""

    def __init__(self, placed: list):
        self.spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for note in placed:
            self.add(note)

    def add(self, note) -> None:
        self.spans.setdefault((note.part, note.pitch), []).append((note.time, note.time + max(note.duration, 1)))

    def overlaps(self, part: int, pitch: int, start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in self.spans.get((part, pitch), ()))


class _Passages:
    """The source notes of each role by onset: whether the passage around a note lies
    outside the comfortable range of the instruments that would double it."""

    def __init__(self, sources: list, bar: int, bars: _Bars | None = None):
        self.bar = bar  # a bar's length: the window either side of a note
        self.bars = bars if bars is not None else _Bars.every(bar, sources)
        self.struck = Counter(note.time for note in sources)
        self.lines: dict[str, tuple[list[int], list[int]]] = {}
        for note in sorted(sources, key=lambda n: (n.time, n.pitch)):
            times, pitches = self.lines.setdefault(note.role, ([], []))
            times.append(note.time)
            pitches.append(note.pitch)

    def lies_outside(self, note, instruments: list, shifts) -> bool:
        """Whether fewer than half the notes of ``note``'s role struck within a bar either
        side of it are in the comfortable range of one of ``instruments`` at one of
        ``shifts``: a passage that only an extreme register could double."""
        times, pitches = self.lines[note.role]
        near = pitches[bisect.bisect_left(times, note.time - self.bar):bisect.bisect_right(times, note.time + self.bar)]
        easy = sum(any(ins.in_range(p + s, "comfortable") for s in shifts for ins in instruments) for p in near)
        return 2 * easy < len(near)

    def pedals(self, note) -> bool:
        """Whether the notes of ``note``'s role struck in its bar can all be played on one
        setting of the harp's pedals (a chromatic figure, C C sharp D D sharp E F, cannot)."""
        from .harp import pedal_setting

        times, pitches = self.lines[note.role]
        start, stop = self.bars.span(note.time)
        in_bar = pitches[bisect.bisect_left(times, start):bisect.bisect_left(times, stop)]
        return pedal_setting(in_bar) is not None

    def stab(self, note, tpq: int) -> bool:
        """Whether ``note`` is struck in a chord of three notes or more, and its role
        strikes nothing else for a beat after it: a detached chord, not a moving part or
        a chord repeated in quick notes."""
        times, _ = self.lines[note.role]
        later = bisect.bisect_right(times, note.time)
        return self.struck[note.time] >= 3 and (later == len(times) or times[later] - note.time >= tpq)


def _candidates(parts, rule: Rule, home: tuple[int, ...], by_kind: dict[str, list[int]]) -> list[int]:
    """The parts that may double a note under ``rule``, in order: its seat's parts of the
    rule's kinds first (``home``: a seated note played elsewhere), then the rule's kinds."""
    first = [i for k in rule.kinds for i in home if is_kind(parts[i].instrument.key, k)]
    return first + [i for k in rule.kinds for i in by_kind[k]]


def _octave_plan(parts, sources: list, by_kind: dict[str, list[int]], away: dict[int, tuple[int, ...]], tpq: int,
                 taken: list[list[bool]]) -> list[dict[int, int]]:
    """Per rule (``RULES``' order), the octave shift each source note it doubles is doubled
    at (by the note's index in ``sources``), for the rules offering several: one shift a
    phrase, not one a note, so that a doubling does not zigzag by octaves as the notes leave
    and enter the comfortable range one at a time. The notes a rule doubles (``taken``, per
    rule and note) are read per role, as lines of onsets; each onset costs, per shift, what
    its notes cost (``_shift_cost``) and ``LATER_SHIFT`` a note per place the shift comes in
    the rule's order; changing shift costs ``SWITCH`` inside a phrase, ``NEW_PHRASE`` after a
    rest of a beat or more in the doubled line. The cheapest shifts through each line are
    chosen (``_cheapest_shifts``)."""
    plan: list[dict[int, int]] = [{} for _ in RULES]
    for r, rule in enumerate(RULES):
        if len(rule.shifts) < 2:
            continue
        lines: dict[str, list[int]] = {}
        for k, note in enumerate(sources):
            if taken[r][k]:
                lines.setdefault(note.role, []).append(k)
        rows: dict[tuple, list[float]] = {}  # (home, part, pitch) -> the onset's costs per shift
        for line in lines.values():
            line.sort(key=lambda k: (sources[k].time, -sources[k].pitch, k))
            steps: list[list[int]] = []
            costs: list[list[float]] = []
            breaks: list[bool] = []
            reach = None
            for k in line:
                note = sources[k]
                home = away.get(note.source, ())
                key = (home, note.part, note.pitch)
                if key not in rows:
                    candidates = [i for i in _candidates(parts, rule, home, by_kind) if i != note.part]
                    rows[key] = [_shift_cost(parts, rule, candidates, note, shift) + LATER_SHIFT * place
                                 for place, shift in enumerate(rule.shifts)]
                row = rows[key]
                if steps and sources[steps[-1][0]].time == note.time:
                    steps[-1].append(k)
                    costs[-1] = [a + b for a, b in zip(costs[-1], row)]
                else:
                    breaks.append(reach is not None and note.time - reach >= tpq)
                    steps.append([k])
                    costs.append(row)
                end = note.time + max(note.duration, 1)
                reach = end if reach is None else max(reach, end)
            for step, place in zip(steps, _cheapest_shifts(costs, breaks)):
                for k in step:
                    plan[r][k] = rule.shifts[place]
    return plan


def _shift_cost(parts, rule: Rule, candidates: list[int], note, shift: int) -> float:
    """What doubling ``note`` at ``shift`` costs (``_octave_plan``): on the cheapest of the
    ``candidates``, nothing in its comfortable range, ``EXTREME`` in its professional range
    only, ``OTHER_KIND`` more on a later kind of the rule's (the horns doubling a tune for
    the trumpets); ``UNPLAYED`` where none reaches it."""
    costs = [UNPLAYED]
    for i in candidates:
        pitch = note.pitch + player_shift(parts, note.part, i, shift)
        kind = next(k for k, wanted in enumerate(rule.kinds) if is_kind(parts[i].instrument.key, wanted))
        if parts[i].instrument.in_range(pitch, "comfortable"):
            costs.append(OTHER_KIND * (kind > 0))
        elif parts[i].instrument.in_range(pitch):
            costs.append(EXTREME + OTHER_KIND * (kind > 0))
    return min(costs)


def _cheapest_shifts(costs: list[list[float]], breaks: list[bool]) -> list[int]:
    """The shift (its place in the rule's order) for each onset of a line: the sequence of
    least cost (``costs`` per onset and shift, ``SWITCH`` a change, ``NEW_PHRASE`` a change
    where ``breaks`` says a phrase begins); among equals, the earlier shift."""
    best = list(costs[0])
    came: list[list[int]] = []
    for row, new_phrase in zip(costs[1:], breaks[1:]):
        change = NEW_PHRASE if new_phrase else SWITCH
        back = [min(range(len(best)), key=lambda q: (best[q] + (change if q != s else 0.0), q)) for s in range(len(row))]
        best = [best[q] + (change if q != s else 0.0) + row[s] for s, q in enumerate(back)]
        came.append(back)
    place = min(range(len(best)), key=lambda s: (best[s], s))
    chosen = [place]
    for back in reversed(came):
        place = back[place]
        chosen.append(place)
    return chosen[::-1]


def _first_fit(parts, occupancy, candidates: list[int], pitch: int, shifts, start: int,
               end: int, sounding: _Sounding, tier: str = "professional",
               doubled: int = -1) -> tuple[int, int] | None:
    """The first candidate part, trying ``shifts`` in order, that can play the doubling in
    its ``tier`` of range, has room for it and does not already sound that pitch.
    ``doubled``: the part playing the note doubled (``players.player_shift``)."""
    for shift in shifts:
        for i in candidates:
            moved = pitch + player_shift(parts, doubled, i, shift)
            if (parts[i].instrument.in_range(moved, tier) and occupancy.free(i, start, end)
                    and not sounding.overlaps(i, moved, start, end)):
                return i, moved
    return None
