"""The clefs a staff is written in, bar by bar, as engravers choose them.

An instrument reads its catalogue clef and, for passages lying far outside it, the others
its players read (``OTHER_CLEFS``: a cello tenor and treble clef, a bassoon or tenor
trombone tenor clef, a viola treble clef; a treble-clef instrument whose written range
reaches under C3, the horn, a harp or a keyboard on one staff, bass clef). A clef is chosen
for each bar so that the staff needs as few ledger lines as it can without changing clef
for a few notes (Gould, "Behind Bars": change clef for a passage, not for a note or two; up
to two ledger lines are read without one): the bars' clefs minimise the sum, over the notes,
of the square of each one's ledger lines past two, plus ``CHANGE_COST`` for each change and
``FOREIGN_COST`` for each note the instrument's own clef reads easily written in another, so
that a staff returns to its own clef when nothing calls for another and a single high note
among low ones takes its ledger lines. A clarinet in its chalumeau, a
guitar or a trumpet stays in treble clef however low it plays, as their players read.
"""

from __future__ import annotations

# the bottom line of each clef, in diatonic steps from C-1 (C4 = 28: octave * 7 + letter)
_BOTTOM_LINE = {"treble": 30, "bass": 18, "alto": 24, "tenor": 22}
# each written pitch class's letter (a black key on the letter below: the step it is
# written on is that or the next, a ledger line's difference at most at the staff's edge)
_LETTER = (0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 6)
# the clefs an instrument's players read besides its own (Adler, "The Study of
# Orchestration": the cello's tenor and treble clefs, the bassoon's, tenor trombone's and
# double bass's tenor clef, the viola's treble clef)
OTHER_CLEFS = {"cello": ("tenor", "treble"), "bassoon": ("tenor",), "trombone": ("tenor",),
               "double-bass": ("tenor",), "viola": ("treble",)}
BASS_CLEF_REACH = 48  # written C3: a treble-clef instrument reaching under it reads bass clef too
FREE_LEDGER_LINES = 2  # a note on up to two ledger lines costs nothing
CHANGE_COST = 6.0  # a clef change: worse than a note on four ledger lines (4), better than one on five (9)
FOREIGN_COST = 1.0  # a note the instrument's own clef reads easily, written in another


def clef_options(inst) -> tuple[str, ...]:
    """The clefs ``inst`` may be written in, its own first."""
    if inst is None or inst.unpitched:
        return ("percussion",)
    if inst.clef == "treble" and inst.low - inst.transposition < BASS_CLEF_REACH:
        return ("treble", "bass")
    return (inst.clef,) + tuple(c for c in OTHER_CLEFS.get(inst.key, ()) if c != inst.clef)


def ledger_lines(written: int, clef: str) -> int:
    """How many ledger lines the written MIDI pitch ``written`` needs on a staff in ``clef``."""
    step = (written // 12 - 1) * 7 + _LETTER[written % 12] - _BOTTOM_LINE[clef]
    return max(0, (step - 8) // 2, -step // 2)


def _cost(written: int, clef: str) -> float:
    return max(0, ledger_lines(written, clef) - FREE_LEDGER_LINES) ** 2


def bar_clefs(options: tuple[str, ...], bars: list[list[int]]) -> list[str]:
    """The clef of each bar (``bars``: each bar's written MIDI pitches), from ``options``
    (the instrument's own first): the least costly sequence (module docstring). Of equal
    ones, a clef stays in force: a change falls in the silent bars before the passage that
    calls for it, where there are some, and a staff ends in the instrument's own clef."""
    if len(options) == 1 or not bars:
        return [options[0]] * len(bars)
    cost = [0.0] * len(options)  # of the cheapest sequence ending in each option
    came: list[list[int]] = []  # per bar, per option: the option of the bar before
    for index, pitches in enumerate(bars):
        easy = sum(1 for p in pitches if not _cost(p, options[0]))  # notes its own clef reads easily
        here = [sum(_cost(p, clef) for p in pitches) + (FOREIGN_COST * easy if c else 0.0)
                for c, clef in enumerate(options)]
        froms, new = [], []
        for c in range(len(options)):
            # staying first, then the options in order: of equal costs the clef in force stays
            ways = [(cost[c], c)] + [(cost[k] + (CHANGE_COST if index else 0.0), k)
                                     for k in range(len(options)) if k != c]
            total, k = min(ways, key=lambda way: way[0])
            froms.append(k)
            new.append(total + here[c])
        came.append(froms)
        cost = new
    c = min(range(len(options)), key=lambda k: cost[k])
    clefs = []
    for froms in reversed(came):
        clefs.append(options[c])
        c = froms[c]
    return clefs[::-1]
