"""Doubled lines: two voices moving in octaves or unisons for a stretch (``voiceleading``).

In free instrumental writing a line doubled at the octave is scoring, not part
writing: the viola doubling the cello for a phrase, the violins in octaves, a
unison tutti. The checker would report every move of such a stretch as parallel
octaves (Haydn's op. 74/1 i: 510 of 1,018 faults). A *doubled stretch* is a run
of successive verticalities at which two voices both sound an octave, a unison or
a compound octave apart, through which they move together (both change pitch) at
least ``CheckOptions.doubling_moves`` times (3: four notes in octaves, each moved
to together). It is reported once (``Doubling``: its voices, first and last
verticality, moves), and the parallel and antiparallel octaves and the voice
overlaps between its voices inside it are no faults. Pairs doubled over overlapping
stretches that share a voice are one report (a unison tutti of four parts is one,
not six).

Two successive parallel octaves between otherwise independent voices (three
notes) stay two faults, as one pair does: textbook part writing forbids them, and
Bach's are mostly single pairs. Parallel fifths are never a doubling (only the
octave class is followed). A stretch begins where the two voices arrive in
octaves: a hidden octave into it between the outer voices is judged as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from .voices import format_position

DOUBLING_MIN_MOVES = 3  # successive moves in octaves/unisons that make two lines one doubled line


@dataclass(frozen=True)
class Doubling:
    """Voices moving in octaves or unisons from one verticality to another."""

    tick: int  # the first verticality of the stretch
    bar: int
    beat: float
    end_tick: int  # the last verticality
    end_bar: int
    end_beat: float
    voices: tuple[str, ...]
    moves: int  # transitions inside the stretch at which two of its voices moved together in octaves
    interval: str  # "octaves", "unisons" or "octaves and unisons"

    @property
    def kind(self) -> str:
        return "doubled_in_" + self.interval.replace(" ", "_")

    def describe(self) -> str:
        bars = f"bar {self.bar}" if self.bar == self.end_bar else f"bars {self.bar}-{self.end_bar}"
        return (f"{bars}: doubled in {self.interval} ({' / '.join(self.voices)}), {self.moves} moves from "
                f"{format_position(self.bar, self.beat)} to {format_position(self.end_bar, self.end_beat)}")


def doubled_runs(pitch: list[list[int | None]], min_moves: int) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """For each pair of voices (hi, lo), its doubled stretches as (first, last) verticality
    indices: the maximal runs of verticalities where both sound a multiple of an octave apart
    and through which both voices move together at least ``min_moves`` times."""
    runs: dict[tuple[int, int], list[tuple[int, int]]] = {}
    count = len(pitch)
    length = len(pitch[0]) if pitch else 0
    for hi in range(count):
        for lo in range(hi + 1, count):
            a, b = pitch[hi], pitch[lo]
            k = 0
            while k < length:
                if not _octave(a[k], b[k]):
                    k += 1
                    continue
                first, moves = k, 0
                while k + 1 < length and _octave(a[k + 1], b[k + 1]):
                    k += 1
                    moves += a[k] != a[k - 1] and b[k] != b[k - 1]
                if moves >= min_moves:
                    runs.setdefault((hi, lo), []).append((first, k))
                k += 1
    return runs


def _octave(a: int | None, b: int | None) -> bool:
    return a is not None and b is not None and (a - b) % 12 == 0


def group_runs(runs: dict[tuple[int, int], list[tuple[int, int]]]) -> list[tuple[tuple[int, int], list[int]]]:
    """The doubled stretches as reported, in time order: ((first, last), voices). Runs of
    pairs that share a voice and overlap in time are one stretch (a tutti in octaves is one
    report, not six; a third part joining a doubled pair a beat later joins its report),
    from the first verticality of any of them to the last of any."""
    items = [(span, pair) for pair, spans in runs.items() for span in spans]
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, ((f1, l1), p1) in enumerate(items):
        for j in range(i):
            (f2, l2), p2 = items[j]
            if set(p1) & set(p2) and f1 < l2 and f2 < l1:  # a voice in common, a transition in common
                parent[find(i)] = find(j)
    groups: dict[int, tuple[int, int, set[int]]] = {}
    for i, ((first, last), pair) in enumerate(items):
        f, l, voices = groups.get(find(i), (first, last, set()))
        groups[find(i)] = (min(f, first), max(l, last), voices | set(pair))
    return sorted(((f, l), sorted(voices)) for f, l, voices in groups.values())


def interval_name(pitch: list[list[int | None]], voices: list[int], first: int, last: int) -> str:
    """'unisons' when the voices sound the same pitches throughout, 'octaves' when never one,
    else 'octaves and unisons'."""
    unison = octave = False
    for k in range(first, last + 1):
        sounding = [pitch[v][k] for v in voices if pitch[v][k] is not None]  # a voice joins later
        unison |= len(set(sounding)) < len(sounding)
        octave |= len(set(sounding)) > 1
    return "octaves and unisons" if unison and octave else "unisons" if unison else "octaves"
