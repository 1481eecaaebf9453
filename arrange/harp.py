"""The harp's pedals: which pitch classes one pedal setting can sound, and how to spell them.

A concert harp has seven strings to the octave, C D E F G A B, and seven pedals: each sets
every string of its letter flat, natural or sharp (Adler, *The Study of Orchestration*,
3rd ed., ch. 4, "The Harp"). So a passage plays without a pedal change only when each of
its pitch classes can go on a string of its own letter, or of a neighbouring letter
enharmonically (C sharp on the D string as D flat, F on the E string as E sharp), one
pitch class to a string. A harp part is spelled by the strings that play it: C then C
sharp, written C and C sharp, would ask for one string at two settings; C and D flat
is how a harpist reads it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable

_LETTERS = (("C", 0), ("D", 2), ("E", 4), ("F", 5), ("G", 7), ("A", 9), ("B", 11))
_SIGNS = {-1: "-", 0: "", 1: "#"}  # music21's spelling of flat, natural, sharp


def _choices(pc: int) -> list[tuple[int, str]]:
    """(string index, name) of each string that can sound ``pc``: a natural, or a
    neighbour's flat or sharp."""
    out = []
    for index, (letter, natural) in enumerate(_LETTERS):
        alteration = (pc - natural + 6) % 12 - 6
        if alteration in _SIGNS:
            out.append((index, letter + _SIGNS[alteration]))
    return out


@functools.lru_cache(maxsize=4096)
def _setting(pcs: frozenset[int], preferred: tuple[tuple[int, str], ...]) -> dict[int, str] | None:
    prefer = dict(preferred)
    order = sorted(pcs)
    best, best_cost = None, None
    for strings in itertools.product(*(_choices(pc) for pc in order)):
        if len({index for index, _ in strings}) < len(strings):
            continue  # two pitch classes on one string
        # the key's own spelling first, then naturals before sharps and flats
        cost = sum((name != prefer.get(pc, name)) * 4 + (len(name) > 1) for pc, (_, name) in zip(order, strings))
        if best_cost is None or cost < best_cost:
            best, best_cost = {pc: name for pc, (_, name) in zip(order, strings)}, cost
    return best


def pedal_setting(pcs: Iterable[int], preferred: dict[int, str] | None = None) -> dict[int, str] | None:
    """Pitch class -> note name (music21's: 'D-', 'E#') for one pedal setting that sounds
    all of ``pcs``, the names in ``preferred`` (a key's spelling) kept where they can
    be; None when no one setting can (C, C sharp, D, D sharp, E and F together)."""
    chosen = frozenset(pc % 12 for pc in pcs)
    if len(chosen) > 7:
        return None
    return _setting(chosen, tuple(sorted((preferred or {}).items())))
