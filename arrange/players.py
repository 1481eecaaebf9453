"""Players of one instrument in score order: the 1st at or above the 2nd.

Two parts of one instrument (Flute 1 and 2, Violins I and II, Horns 1–2 and 3–4, Trumpet 1
and Trumpets 2–3) are seated top down (Adler, *The Study of Orchestration*, ch. on the
woodwind section: the 1st above the 2nd): wherever both sound, the later part in score
order sounds at or under the earlier one. Three things keep them so:

* a doubling of a note played by a player of its own instrument takes the octave on the
  right side of it (``player_shift``: Flute 2 doubles Flute 1's tune an octave down where
  the flute rule asks for the octave up);
* doublings struck together for one length are dealt top down (``doublings_top_down``);
* staggered entries (one player enters while the other holds, the lines overlapping without
  starting together) are dealt again (``players_top_down``). The two parts' notes are cut
  into stretches joined by sounding together (between two, neither part holds a note over);
  in a stretch where the 2nd sounds above the 1st, each note goes to one of the two players,
  so that first the 2nd sounds above the 1st for the least time, then the fewest lines go
  from one player to the other (a note following the previous of its part within a beat on
  the other player), then the fewest notes move. Both parts are one instrument (one range);
  neither plays more notes at once than it may (Trumpet 1 one, Trumpets 2–3 two) nor one
  pitch twice at once. Where the 2nd still sounds above the 1st, a doubling held over the
  other player's entry ends there (``_release``).

A sketch's track keeps its seat: a note of a seated track moves only among its seat's parts
(a trumpet track's chords on Trumpet 1 and Trumpets 2–3), never onto a part another track's
line sits on, so a line the composer wrote for one part ("Violin 2", or a horn tune the
first violins play over a "Violins I" pad moved to the seconds) stays there, crossings and
all; a doubling or a note the lanes placed never moves onto a part a track sits on. Strict
mode adds no doublings and runs none of this: each source note stays on its lane's part.
"""

from __future__ import annotations

import collections
import itertools
from typing import NamedTuple

import numpy as np

# a note's last 32nd (tpq // LEGATO) is no crossing: a legato overlap into the next note, as
# ``seating.is_line`` forgives it
LEGATO = 8
# the dealing's costs, in order: a tick of the 2nd above the 1st (``CROSS``), a line handed
# from one player to the other (``HOP``), a note moved (1); each weighs more than any number
# of the next (a stretch holds fewer than 2**20 notes)
HOP = 1 << 20
# The search keeps at most BEAM states (the cheapest) after each onset, and does not deal a
# stretch in which more than MAX_STRUCK notes start at one tick (it stays as placed): the
# states grow with the notes sounding at once, and two keyboards' thick chords made it
# run for minutes.
BEAM = 64
MAX_STRUCK = 6
CROSS = 1 << 40


def player_shift(parts, doubled: int, part: int, shift: int) -> int:
    """The octave ``part`` doubles a note of part ``doubled`` at: ``shift``, but where both
    are players of one instrument the later player sits under the earlier one, so Flute 2
    takes a tune on Flute 1 an octave down where the flute rule asks for the octave up."""
    if doubled < 0 or part == doubled or parts[part].instrument.key != parts[doubled].instrument.key:
        return shift
    return -abs(shift) if part > doubled else abs(shift)


def doublings_top_down(parts, placed: list, first: int, own: frozenset[int]) -> None:
    """Doublings (``placed[first:]``) struck together for one length on players of one
    instrument go top down in score order: Flute 1 the higher and Flute 2 the lower of two
    melody notes it doubles, whichever note was doubled first (the flute rule's octave up
    is out of the comfortable range for the upper one). Each player keeps as many notes
    as it had, over the same time; a deal that would put one pitch twice on a part, or on
    a part already sounding it, is left as it was, and so are doublings on a part of
    ``own`` (a sketch's track seated there: it doubles that track's notes alone)."""
    groups: dict[tuple[str, int, int], list] = {}
    for note in placed[first:]:
        if note.doubles is not None:
            groups.setdefault((parts[note.part].instrument.key, note.time, note.duration), []).append(note)
    sounding: dict[tuple[int, int], list] = {}
    for note in placed:
        sounding.setdefault((note.part, note.pitch), []).append(note)
    for members in groups.values():
        players = sorted(note.part for note in members)
        if players[0] == players[-1] or own.intersection(players):
            continue
        dealt = list(zip(players, sorted(members, key=lambda n: -n.pitch)))
        if all(note.part == part for part, note in dealt) or len({(p, n.pitch) for p, n in dealt}) < len(dealt):
            continue
        start, end = members[0].time, members[0].time + max(members[0].duration, 1)
        ours = {id(note) for note in members}
        if any(other.time < end and start < other.time + max(other.duration, 1) and id(other) not in ours
               for part, note in dealt if note.part != part for other in sounding.get((part, note.pitch), ())):
            continue
        for part, note in dealt:
            if note.part != part:
                held = sounding[(note.part, note.pitch)]
                del held[next(k for k, other in enumerate(held) if other is note)]
                sounding.setdefault((part, note.pitch), []).append(note)
                note.part = part


def player_groups(parts) -> list[list[int]]:
    """The parts of each pitched instrument that has two or more, in score order."""
    groups: dict[str, list[int]] = {}
    for i, part in enumerate(parts):
        if not part.instrument.unpitched:
            groups.setdefault(part.instrument.key, []).append(i)
    return [group for group in groups.values() if len(group) > 1]


def players_top_down(parts, placed: list, own: frozenset[int], tpq: int,
                     part_of_source: np.ndarray | None = None) -> int:
    """Deal the notes of players of one instrument again so that the later part in score
    order sounds at or under the earlier one wherever both sound (see the module's
    docstring). ``own``: the parts a sketch's track sits on; ``part_of_source`` (each source
    note's part), when given, follows the notes moved. Returns how many notes moved or were
    cut."""
    moved = 0
    for group in player_groups(parts):
        for _ in range(len(group) - 1):  # three parts or more: the pairs again until none changes
            changed = sum(_exchange(parts, placed, first, second, own, tpq, part_of_source)
                          for first, second in zip(group, group[1:]))
            moved += changed
            if not changed:
                break
    return moved


def _may_move(note, part: int, own: frozenset[int]) -> bool:
    """Whether ``note`` may be played by ``part``: a seated track's note on its seat's parts
    only; another note (a doubling, a note the lanes placed) on no part a track sits on,
    but a doubling of a seated note that its seat could not play on that seat's parts."""
    if note.source >= 0 and note.seat is not None:
        return part in note.seat
    if note.doubles is not None and note.doubles.seat is not None and part in note.doubles.seat:
        return True
    return part not in own


class _Note(NamedTuple):
    """A note of two players' stretch, as the dealing reads it."""

    side: int  # 0: placed on the 1st part, 1: on the 2nd
    start: int
    end: int
    sounds_to: int  # its end less a legato overlap (``LEGATO``)
    pitch: int
    movable: bool  # whether the other part may play it (``_may_move``)
    joined: bool  # whether it follows the previous note placed on its part within a beat


def _exchange(parts, placed: list, first: int, second: int, own: frozenset[int], tpq: int,
              part_of_source: np.ndarray | None) -> int:
    """Deal the notes of parts ``first`` and ``second`` again where the 2nd sounds above the
    1st (the module's docstring); returns how many notes moved or were cut."""
    notes = sorted((n for n in placed if n.part in (first, second)), key=lambda n: (n.time, n.duration, n.pitch, n.part))
    if len({n.part for n in notes}) < 2:
        return 0
    forgive = max(tpq // LEGATO, 1)
    last_end = [None, None]
    rows = []
    for n in notes:
        side = int(n.part == second)
        end = n.time + max(n.duration, 1)
        joined = last_end[side] is not None and n.time - last_end[side] < tpq
        last_end[side] = end if last_end[side] is None else max(last_end[side], end)
        rows.append(_Note(side, n.time, end, end - forgive if end - forgive > n.time else end, n.pitch,
                          _may_move(n, (second, first)[side], own), joined))
    limits = (parts[first].max_notes, parts[second].max_notes)
    # per side, from each row on: whether the side's next note follows its previous within a beat
    goes_on = [[False] * (len(rows) + 1) for _ in (0, 1)]
    for k in range(len(rows) - 1, -1, -1):
        for side in (0, 1):
            goes_on[side][k] = rows[k].joined if rows[k].side == side else goes_on[side][k + 1]
    moved = 0
    for lo, hi in _stretches(rows):
        stretch = rows[lo:hi]
        if all(row.side == stretch[0].side for row in stretch) or not _crossing(stretch):
            continue
        labels = _deal(stretch, limits, [goes_on[0][hi], goes_on[1][hi]])
        for note, label in zip(notes[lo:hi], labels):
            if label:
                note.part = second if note.part == first else first
                moved += 1
                if part_of_source is not None and note.source >= 0:
                    for source in (note.source, *note.unisons):
                        part_of_source[source] = note.part
        moved += _release(notes[lo:hi], first, forgive)
    return moved


def _release(stretch: list, first: int, forgive: int) -> int:
    """Where the 2nd part still sounds above the 1st once dealt, a doubling held from before
    the other player's note that crosses it ends where that note enters (doublings are
    optional: a wind holding a tune's note the reduction keeps under the pedal lets go as the
    tune moves on, and Clarinet 1 does not hold an A for fifteen bars under Clarinet 2's line).
    ``stretch``: its notes by onset. Returns how many doublings were cut."""
    cut = 0
    for k, held in enumerate(stretch):
        if held.source >= 0:
            continue
        for entering in stretch[k + 1:]:
            if entering.time >= held.time + max(held.duration, 1) - forgive:
                break
            if entering.part == held.part or entering.time == held.time:
                continue
            upper, lower = (held, entering) if held.part == first else (entering, held)
            if lower.pitch > upper.pitch:
                held.duration = entering.time - held.time
                cut += 1
                break
    return cut


def _stretches(rows: list[_Note]) -> list[tuple[int, int]]:
    """Index ranges of ``rows`` (by onset) joined by sounding together: between two, no note
    sounds over from before."""
    ranges, reach, lo = [], None, 0
    for k, row in enumerate(rows):
        if reach is not None and row.start >= reach:
            ranges.append((lo, k))
            lo = k
        reach = row.end if reach is None or row.start >= reach else max(reach, row.end)
    ranges.append((lo, len(rows)))
    return ranges


def _over(upper: list[int], lower: list[int]) -> int:
    """How the 2nd's notes (``lower``) lie above the 1st's (``upper``): 2 over its top, 1 over
    its bottom only, 0 at or under it."""
    if not upper or not lower:
        return 0
    top = max(lower)
    return (top > max(upper)) + (top > min(upper))


def _crossing(stretch: list[_Note]) -> int:
    """Ticks of ``stretch`` with the 2nd part above the 1st as placed, weighted by ``_over``."""
    edges = sorted([(r.start, 1, r.side, r.pitch) for r in stretch] + [(r.sounds_to, -1, r.side, r.pitch) for r in stretch])
    sides: tuple[list[int], list[int]] = ([], [])
    total, last = 0, None
    for tick, step, side, pitch in edges:  # at a shared tick, endings (-1) come first
        if last is not None and tick > last:
            total += (tick - last) * _over(*sides)
        if step > 0:
            sides[side].append(pitch)
        else:
            sides[side].remove(pitch)
        last = tick
    return total


def _deal(stretch: list[_Note], limits: tuple[int, int], after: list[bool]) -> list[int]:
    """Per note of ``stretch``, 1 where it changes player: the dealing with the least crossing
    (``_crossing``), then the fewest lines handed from one player to the other (a note
    following the previous of its part within a beat, ``_Note.joined``, on the other player;
    ``after``: per side, whether its line goes on within a beat after the stretch, on the
    player it is placed on), then the fewest notes moved. Each part plays at most its
    ``limits`` at once and no pitch twice at once. A search over the notes sounding at each
    tick, their players and the player each part's last note went to."""
    starts = sorted({r.start for r in stretch})
    struck = collections.Counter(r.start for r in stretch)
    if max(struck.values(), default=0) > MAX_STRUCK:
        return [0] * len(stretch)
    ticks = sorted(set(starts) | {r.end for r in stretch} | {r.sounds_to for r in stretch})
    # a state: ((note, label) sounding, last label on side 0, on side 1) -> (cost, previous state)
    layer: dict = {((), 0, 0): (0, None)}
    history: list[dict] = []
    k = 0
    for tick, following in zip(ticks, ticks[1:] + [None]):
        dropped: dict = {}
        for st, (cost, _) in layer.items():
            key = (tuple((i, label) for i, label in st[0] if stretch[i].end > tick), st[1], st[2])
            if key not in dropped or cost < dropped[key][0]:
                dropped[key] = (cost, st)
        if any(len(key[0]) != len(st[0]) for key, (_, st) in dropped.items()):
            history.append(layer)
            layer = dropped
        new = []
        while k < len(stretch) and stretch[k].start == tick:
            new.append(k)
            k += 1
        if new:
            added: dict = {}
            for st, (cost, _) in layer.items():
                for labels in itertools.product((0, 1), repeat=len(new)):
                    step = _add(stretch, st, new, labels, limits)
                    if step is None:
                        continue
                    key, extra = step
                    if key not in added or cost + extra < added[key][0]:
                        added[key] = (cost + extra, st)
            if len(added) > BEAM:  # the cheapest, ties by the state itself: the same on every run
                added = dict(sorted(added.items(), key=lambda item: (item[1][0], item[0]))[:BEAM])
            history.append(layer)
            layer = added
        if following is not None:
            for st, (cost, back) in list(layer.items()):
                sides: tuple[list[int], list[int]] = ([], [])
                for i, label in st[0]:
                    if stretch[i].sounds_to > tick:
                        sides[stretch[i].side ^ label].append(stretch[i].pitch)
                layer[st] = (cost + (following - tick) * _over(*sides) * CROSS, back)
    if not layer:
        return [0] * len(stretch)
    final = min(layer, key=lambda st: layer[st][0] + HOP * sum(after[side] and st[1 + side] for side in (0, 1)))
    labels = [0] * len(stretch)
    state = final
    for past in reversed(history + [layer]):
        for i, label in state[0]:
            labels[i] = label
        state = past[state][1]
        if state is None:
            break
    return labels


def _add(stretch: list[_Note], state, new: list[int], labels, limits: tuple[int, int]):
    """The state after notes ``new`` start on players ``labels`` (1: the other part), and
    what that costs in hops and moves; None where a part would play more than its limit
    or one pitch twice at once."""
    sounding = list(state[0])
    last = [state[1], state[2]]
    extra = 0
    for i, label in zip(new, labels):
        row = stretch[i]
        if label and not row.movable:
            return None
        player = row.side ^ label
        for j, other in sounding:
            if stretch[j].pitch == row.pitch and stretch[j].side ^ other == player and stretch[j].side != row.side:
                return None
        sounding.append((i, label))
        extra += HOP * (row.joined and label != last[row.side]) + label
        last[row.side] = label
    counts = [0, 0]
    for i, label in sounding:
        counts[stretch[i].side ^ label] += 1
    if counts[0] > limits[0] or counts[1] > limits[1]:
        return None
    return (tuple(sounding), last[0], last[1]), extra
