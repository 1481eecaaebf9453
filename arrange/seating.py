"""Seating a sketch's tracks on the ensemble's parts.

A sketch on several pitched tracks says who plays what: a track named "Trumpets", or
on GM program 56 (Trumpet), is the trumpets' music, and a composer who asks for a full
orchestra expects the trumpets to play it. Such a track is *seated*: its notes go to
its seat's parts first, and the separated voices (lanes) only give the notes their
roles (doublings, articulations) and place what the seat cannot play (range, notes at
once), as they place every note of a reduction.

* A track's instruments (``track_family``): the one its name names (the ``name_forms``
  of ``sections``: desk numbers, "in B♭" and plurals dropped; "Violoncellos" is a
  cello), else those whose GM program is the track's. Program 0, which a sketch
  leaves on every track it did not set, names none; a name that names no instrument
  ("Strings", "Melody") leaves it to the program.
* Chords (a track that is not a line) sit on every part of those instruments, the
  parts its desk number names first, then in score order: the notes of a chord,
  struck top first, fill Trumpet 1, then Trumpets 2–3. A part a line sits on comes
  last, so the line has it to itself. A track that names its desk ("Violin I", "2nd
  Violin") plays none of the parts another track names as its desk (``_desk_parts``):
  a quartet's first violin divides Violins I where it plays more than one note at once,
  and leaves Violins II to the second violin; the notes its desk cannot play (range,
  notes at once beyond its divisi) go where the lanes place them, after every seated
  track's notes have their seats. Parts another track names as its desk come last for a
  track that names none.
* A line (``is_line``: ``LINE_ALONE`` of its notes sound alone in it, a legato overlap
  of a 32nd forgiven, grace notes of no length left out) sits on one part: of its instruments' parts no other line sits
  on, the one its desk number names ("Violins I", "Trumpet 2" on Trumpets 2–3), else
  one no other track names as its desk, then the one that reaches most of its notes.
* A line whose instrument the ensemble lacks (or whose parts other lines took) sits on
  one part too, so that it does not hop between parts with the separator's labels. Such
  lines take the main section's parts (the lanes' section) no other track sits on, in
  order, the top line on the top part (``_in_order``: a chorale on tracks named Soprano,
  Alto, Tenor and Bass plays on violins I and II, violas and cellos, the basses doubling),
  the parts reaching their notes, each its lane's part where it can (the lane most of its
  notes were separated into). The basses of a five-part string section are no lane's part
  (``orchestrate._lanes``): they double the cellos' line an octave below (they sound an
  octave under the written note), so they take no such line while the cellos are free and
  reach the lowest of them (``_doubled_by_the_basses``: a sixth line on the basses at pitch
  would leave the cellos without the bass); a bass under the cello's C string sits on the
  basses, the cellos doubling it an octave up. Where there are more such lines than free
  parts, a line shares the part of the line above it, the section dividing (six lines on
  violins I and II, violas and cellos: the seconds and the violas divisi, the cellos, whose
  line the basses double, last); where no part is free, the part reaching most of its notes.
* Soloists do not divide: where the main section is solo strings (the chamber ensemble's
  string quintet) and a line without an instrument of its own would share a part with
  another line (double stops all through), it sits on a free part of another section
  that reaches its notes instead (``_off_the_strings``): six lines for the chamber
  ensemble put the alto on the clarinet and the baritone on the horn, the register
  choosing (``_fit``); the bass the basses double keeps the cello. The flute, which doubles
  the tune from mp, is the last wind to take a line (``_tune_doubler``): a second soprano
  goes to the oboe, the flute still doubling the first. Lines share a part only where no
  such part is left. A section of strings divides as before (divisi is normal).

Doublings go around the parts of a track's own instrument (the lanes may still place a
note there that nothing else can play), but for the track's own notes its parts could not
play: a bass line on the cellos that dips under their C string is played by the basses at
pitch and kept by the cellos an octave up (``doubling.add_doublings``' ``away``).
A single pitched track is a reduction: nothing is seated.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from .catalogue import Ensemble, instruments
from .doubling import RULES, is_kind
from .sections import ROMAN, name_forms

# a track is a line when this share of its notes sound alone in it
LINE_ALONE = 0.9
# a part reaching this share of a line's notes reaches it as well as one reaching them all:
# the alto's one F sharp 3 under the violins' G does not send the alto to the violas
REACH_ENOUGH = 0.95
# what sharing a part with the line above costs a line without an instrument of its own
# (``_in_order``): more than leaving its lane, less than a note its part cannot reach
SHARED = 50.0
# what seating a line without an instrument of its own on another section's part costs
# (``_off_the_strings``): more than any difference of register (``_fit``, in octaves), so
# that no more lines leave the strings than must, less than sharing a part (``SHARED``)
OFF_THE_SECTION = 10.0
# what seating such a line on the part that doubles the tune from the softest dynamic costs
# (``_tune_doubler``: the chamber ensemble's flute): more than a difference of register
# between the free winds, so that the oboe or the clarinet takes the line and the flute keeps
# the tune, less than sharing a part (``SHARED``): where no other part is free, it takes it
TUNE_DOUBLER = 5.0
# a bass: double bass, bass voice or bass guitar? (as ``sections`` does, left to the program)
_AMBIGUOUS = {"bass"}


@dataclass(frozen=True)
class Seat:
    """Where a track's notes are played: its ``parts`` in the order they are tried;
    ``instrument``: the parts of the instrument the track names (else a line's lane part);
    ``lines``: those of a chord track's ``parts`` that another track's line sits on (tried
    last: the line keeps its part to itself, ``players`` moves no chord note onto it)."""

    parts: tuple[int, ...]
    instrument: bool
    lines: tuple[int, ...] = ()

    @property
    def movable(self) -> tuple[int, ...]:
        """The parts its notes may move among (``players``): its parts but a line's."""
        return tuple(i for i in self.parts if i not in self.lines)


def joined_at_onset(onsets: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per note, whether another note starts with it or an earlier one still sounds at its onset."""
    order = np.argsort(onsets, kind="stable")
    before = np.searchsorted(onsets[order], onsets, side="left")
    same_onset = np.searchsorted(onsets[order], onsets, side="right") - before
    running_end = np.maximum.accumulate(ends[order])
    held_over = np.where(before > 0, running_end[np.maximum(before - 1, 0)] > onsets, False)
    return (same_onset > 1) | held_over


def is_line(notes: np.ndarray, tpq: int) -> bool:
    """Whether a track's notes (rows time, duration, ...; by onset) are a line:
    ``LINE_ALONE`` of them sound alone, a legato overlap of a 32nd forgiven. A note of no
    length is a grace note (music21 writes them so, struck with the note they lead to): an
    ornament of the line, left out."""
    sounding = notes[:, 1] > 0
    if sounding.any():
        notes = notes[sounding]
    legato_ends = notes[:, 0] + np.maximum(notes[:, 1] - tpq // 8, 1)
    return bool((~joined_at_onset(notes[:, 0], legato_ends)).mean() >= LINE_ALONE)


@functools.cache
def _instrument_names() -> dict[str, str]:
    """Name form -> instrument key, for the pitched instruments of the catalogue: their
    keys ('double bass'), names ('Horn in F' -> 'horn') and the names the catalogue
    lists as ``also_called`` ('Violoncello')."""
    by_name: dict[str, str] = {}
    for key, instrument in instruments().items():
        if not instrument.unpitched:
            for name in (key.replace("-", " "), instrument.name, *instrument.also_called):
                by_name.setdefault(name_forms(name)[0], key)
    return {name: key for name, key in by_name.items() if name not in _AMBIGUOUS}


def track_family(name: str, program: int) -> frozenset[str]:
    """The instrument keys a track names: by its name ('Trumpets': trumpet, trumpet-c),
    else by its GM program (57: trombone, bass-trombone; 0 names none)."""
    by_name = _instrument_names()
    wanted = next((by_name[form] for form in name_forms(name or "") if form in by_name), None)
    if wanted is not None:
        return frozenset(key for key in instruments() if is_kind(key, wanted))
    if program == 0:
        return frozenset()
    return frozenset(key for key, i in instruments().items() if i.program == program and not i.unpitched)


def _desks(name: str) -> set[int]:
    """The desk numbers in a track name or part label: 'Violins I' {1}, 'Horns 1–2' {1, 2},
    '2nd Violins' {2} (a Roman numeral counts after the first word only: 'Vi' is no six)."""
    words = re.findall(r"\d+|[a-z]+", (name or "").lower())
    return {int(w) for w in words if w.isdigit()} | {ROMAN[w] for w in words[1:] if w in ROMAN}


def _desk_parts(ensemble: Ensemble, family: frozenset[str], name: str) -> set[int]:
    """The parts of a track's instruments (``family``) that the desk number in its name
    names ('Violin I': Violins I; '2nd Violin': Violins II); empty without a desk number."""
    desks = _desks(name)
    return {i for i, p in enumerate(ensemble.parts) if p.instrument.key in family and desks & _desks(p.label)}


def seat_tracks(ensemble: Ensemble, names: list[str], programs: list[int], notes: np.ndarray,
                tracks: np.ndarray, lanes: np.ndarray, lane_parts: list[int], tpq: int) -> dict[int, Seat]:
    """The seat of each pitched track that has one, by track index (``names`` and
    ``programs`` by track index; ``notes`` rows by onset, ``tracks`` and ``lanes`` per
    note, ``lane_parts`` the part of each lane). Empty for a single pitched track."""
    present = np.unique(tracks).tolist()
    if len(present) < 2:
        return {}
    lines = {t: is_line(notes[tracks == t], tpq) for t in present}
    families = {t: track_family(names[t], programs[t]) for t in present}
    desk_parts = {t: _desk_parts(ensemble, families[t], names[t]) for t in present}
    seats: dict[int, Seat] = {}
    for t in present:
        pitches = notes[tracks == t, 2]
        named = desk_parts[t]
        others = {i for u in present if u != t for i in desk_parts[u]} - named  # other tracks' desks
        # its desks' parts first, other tracks' desks last, then (for a line) those reaching
        # most of it, then in score order
        parts = sorted((i for i, p in enumerate(ensemble.parts) if p.instrument.key in families[t]),
                       key=lambda i: (i not in named, i in others,
                                      -_reached(ensemble, i, pitches) if lines[t] else 0))
        if named and not lines[t]:  # its desk divides: it plays none of another track's desk
            parts = [i for i in parts if i not in others]
        if parts and not lines[t]:
            seats[t] = Seat(tuple(parts), True)
        elif parts:
            free = [i for i in parts if i not in _taken(seats, lines)]
            if free:
                seats[t] = Seat((free[0],), True)
    section = ensemble.parts[lane_parts[0]].instrument.section
    main = [i for i, p in enumerate(ensemble.parts) if p.instrument.section == section and not p.instrument.unpitched]
    orphans = sorted((t for t in present if lines[t] and t not in seats),
                     key=lambda t: (-float(np.median(notes[tracks == t, 2])), t))  # top line first
    lines_of = {t: (notes[tracks == t, 2], lane_parts[int(np.bincount(lanes[tracks == t]).argmax())])
                for t in orphans}
    doubled = _seat_on_the_section(ensemble, seats, orphans, main, lines_of, lane_parts)
    if _solo_strings(ensemble, main):  # a soloist does not play double stops all through: a wind takes a line
        while moved := _off_the_strings(ensemble, seats, lines, main, lines_of, doubled):
            seats.update(moved)
            left = [t for t in orphans if seats[t].parts[0] in main]
            for t in left:
                del seats[t]
            doubled = _seat_on_the_section(ensemble, seats, left, main, lines_of, lane_parts)
    # a chord track's parts a line sits on come last: the line keeps its part to itself
    # (a horn tune given to Violins I in a string orchestra moves the "Violins I" pad to Violins II)
    line_parts = _taken(seats, lines)
    for t, seat in seats.items():
        if not lines[t] and line_parts & set(seat.parts):
            seats[t] = Seat(tuple(sorted(seat.parts, key=lambda i: i in line_parts)), seat.instrument,
                            tuple(i for i in seat.parts if i in line_parts))
    return seats


def _seat_on_the_section(ensemble: Ensemble, seats: dict[int, Seat], orphans: list[int], main: list[int],
                         lines_of: dict[int, tuple[np.ndarray, int]], lane_parts: list[int]) -> int | None:
    """Seat the lines without an instrument of their own (``orphans``, top line first;
    ``lines_of``: (pitches, lane part) each) on the main section's parts (``main``): in
    order on the parts no track sits on (``_in_order``); where none is free, each on the
    part reaching most of its notes (``_free_part``). Returns the part the basses double
    (``_doubled_by_the_basses``), or None."""
    if not orphans:
        return None
    doubled = _doubled_by_the_basses(ensemble, main, lane_parts, _taken(seats), lines_of[orphans[-1]][0])
    if doubled is not None:  # the basses double the cellos' line: they take none of their own
        main = [i for i in main if not ensemble.parts[i].instrument.sounds_octave_down]
    free = sorted((i for i in main if i not in _taken(seats)), key=lambda i: (-ensemble.parts[i].centre, i))
    if free:
        for t, part in zip(orphans, _in_order(ensemble, free, [lines_of[t] for t in orphans], doubled)):
            seats[t] = Seat((part,), False)
    for t in orphans:  # every part of the main section taken by a track with its instrument
        if t not in seats:
            pitches, lane_part = lines_of[t]
            seats[t] = Seat((_free_part(ensemble, main, pitches, lane_part, _taken(seats)),), False)
    return doubled


def _solo_strings(ensemble: Ensemble, main: list[int]) -> bool:
    """Whether the main section is strings played one to a part (a quartet, the chamber
    ensemble's quintet): a section of players divides, a soloist double-stops."""
    return bool(main) and all(ensemble.parts[i].instrument.section == "strings" and ensemble.parts[i].players == 1
                              for i in main)


def _off_the_strings(ensemble: Ensemble, seats: dict[int, Seat], lines: dict[int, bool], main: list[int],
                     lines_of: dict[int, tuple[np.ndarray, int]], doubled: int | None) -> dict[int, Seat]:
    """New seats for lines without an instrument of their own that share a solo string
    part with another line (the soloist would double-stop all through): each on a free
    part of another section (no track sits on it) that reaches ``REACH_ENOUGH`` of its
    notes, as an orchestrator gives a chamber ensemble's extra line to the clarinet, the
    horn or the bassoon. Of the lines sharing a part, one keeps it (none where a track
    with the instrument sits there, and the bass line the basses double on the ``doubled``
    part always); which move, and where, is the assignment where the parts' registers fit
    the lines best (``_fit``), each line moved costing ``OFF_THE_SECTION`` and each left
    sharing ``SHARED``, and the part doubling the tune (``_tune_doubler``: a second soprano
    on the chamber ensemble's flute would cost the tune its flute) ``TUNE_DOUBLER`` more.
    Empty when no line can move."""
    others = [i for i, p in enumerate(ensemble.parts)
              if i not in main and not p.instrument.unpitched and i not in _taken(seats)]
    doubler = _tune_doubler(ensemble, others)
    sharing: dict[int, list[int]] = {}
    for t, seat in seats.items():
        if lines[t] and len(seat.parts) == 1 and seat.parts[0] in main:
            sharing.setdefault(seat.parts[0], []).append(t)
    sharing = {part: ts for part, ts in sharing.items() if len(ts) > 1}
    bass = min((t for t in sharing.get(doubled, []) if not seats[t].instrument),
               key=lambda t: float(np.median(lines_of[t][0])), default=None)
    staying = {t for ts in sharing.values() for t in ts if seats[t].instrument or t == bass}
    movers = [t for part in sorted(sharing) for t in sharing[part] if t not in staying]
    if not movers or not others:
        return {}
    # columns: the other sections' free parts; then, per shared part, its place alone where
    # no line stays on it, and one place shared with another line per line that may move
    columns: list[tuple[int, bool]] = [(i, False) for i in others]
    for part in sorted(sharing):
        movable = sum(t not in staying for t in sharing[part])
        alone = not any(t in staying for t in sharing[part])
        columns += [(part, False)] * alone + [(part, True)] * (movable - alone)
    never = 1e9
    cost = np.full((len(movers), len(columns)), never)
    for row, t in enumerate(movers):
        pitches, _ = lines_of[t]
        for column, (part, shared) in enumerate(columns):
            if part in others and _reached(ensemble, part, pitches) >= REACH_ENOUGH * len(pitches):
                cost[row, column] = OFF_THE_SECTION + _fit(ensemble, part, pitches) + TUNE_DOUBLER * (part == doubler)
            elif part == seats[t].parts[0]:
                cost[row, column] = _fit(ensemble, part, pitches) + (SHARED if shared else 0.0)
    from scipy.optimize import linear_sum_assignment

    rows, chosen = linear_sum_assignment(cost)
    return {movers[row]: Seat((columns[column][0],), False) for row, column in zip(rows, chosen)
            if columns[column][0] in others}


def _tune_doubler(ensemble: Ensemble, free: list[int]) -> int | None:
    """Of the ``free`` parts, the first of the instrument that doubles the melody from the
    softest dynamic (``doubling.RULES``: the flute, from mp, an octave up or in unison), or
    None: the part an orchestrator keeps for the tune while another can take a line."""
    first = min((rule for rule in RULES if "melody" in rule.roles), key=lambda rule: rule.lowest, default=None)
    if first is None:
        return None
    return next((i for kind in first.kinds for i in free if is_kind(ensemble.parts[i].instrument.key, kind)), None)


def _fit(ensemble: Ensemble, part: int, pitches: np.ndarray) -> float:
    """How far a line's median lies from the middle of a part's comfortable range, in octaves."""
    return abs(ensemble.parts[part].centre - float(np.median(pitches))) / 12


def _doubled_by_the_basses(ensemble: Ensemble, main: list[int], lane_parts: list[int], taken: set[int],
                           lowest: np.ndarray | None) -> int | None:
    """The part whose line the basses double an octave below (the cellos: the bass lane's
    part, ``orchestrate._lanes``, where the main section has a part sounding an octave
    under its written notes),
    while no track sits on it and it reaches most of the ``lowest`` line without an
    instrument of its own; else None (a line under the cello's C string sits on the basses,
    the cellos an octave above it)."""
    bass = lane_parts[3]
    if bass in taken or not any(ensemble.parts[i].instrument.sounds_octave_down for i in main):
        return None
    if lowest is not None and 2 * _reached(ensemble, bass, lowest) <= len(lowest):
        return None
    return bass


def _taken(seats: dict[int, Seat], lines: dict[int, bool] | None = None) -> set[int]:
    """The parts of ``seats`` (only the lines' seats when ``lines`` says which are lines)."""
    return {i for t, seat in seats.items() if lines is None or lines[t] for i in seat.parts}


def _in_order(ensemble: Ensemble, parts: list[int], lines: list[tuple[np.ndarray, int]],
              doubled: int | None = None) -> list[int]:
    """Parts for lines no instrument of their own plays, top line first, in the parts'
    order top to bottom (a chorale's alto under its soprano, its tenor under the alto),
    each line on a part of its own while there are parts enough (a line shares the part of
    the line above it only at a cost, ``SHARED``): of those orders, the one where the
    parts reach the most notes (``REACH_ENOUGH`` of a line's counts as all), then where
    most lines keep their lane's part (``lines``: (pitches, lane part) each), then where
    the parts' centres lie nearest the lines' median pitches. ``parts`` runs top to bottom.
    The part the basses double (``doubled``) is shared at twice the cost: the basses would
    double the line sharing it too, so violas divide before cellos."""
    def cost(line: int, part: int) -> float:
        pitches, lane_part = lines[line]
        short = max(0, int(np.ceil(REACH_ENOUGH * len(pitches))) - _reached(ensemble, part, pitches))
        centre = abs(ensemble.parts[part].centre - float(np.median(pitches)))
        return 1000.0 * short + 10.0 * (part != lane_part) + centre / 12
    m, n = len(lines), len(parts)
    # best[j, k]: lines 0..j seated in order, line j on parts[k]; came[j, k]: line j - 1's part
    best, came = np.full((m, n), np.inf), np.zeros((m, n), np.int64)
    best[0] = [cost(0, parts[k]) for k in range(n)]
    for j in range(1, m):
        for k in range(n):
            shared = SHARED * (2 if parts[k] == doubled else 1)
            above = [(best[j - 1, q] + (shared if q == k else 0.0), q) for q in range(k + 1)]
            value, came[j, k] = min(above)
            best[j, k] = value + cost(j, parts[k])
    k = int(np.argmin(best[m - 1]))  # the topmost part among equals
    chosen = [k]
    for j in range(m - 1, 0, -1):
        k = int(came[j, k])
        chosen.append(k)
    return [parts[k] for k in reversed(chosen)]


def _free_part(ensemble: Ensemble, candidates: list[int], pitches: np.ndarray, lane_part: int,
               taken: set[int]) -> int:
    """The part for a line no instrument of its own plays: of the ``candidates`` (the
    main section's parts), one no other track sits on, then the one reaching most of its
    notes (``REACH_ENOUGH`` of them counts as all), then the part of the lane most of them
    were separated into, then the nearest to their median pitch."""
    median = float(np.median(pitches))
    enough = int(np.ceil(REACH_ENOUGH * len(pitches)))
    return min(candidates, key=lambda i: (i in taken, -min(_reached(ensemble, i, pitches), enough),
                                          i != lane_part, abs(ensemble.parts[i].centre - median), i))


def _reached(ensemble: Ensemble, part: int, pitches: np.ndarray) -> int:
    instrument = ensemble.parts[part].instrument
    return int(((pitches >= instrument.low) & (pitches <= instrument.high)).sum())


def seating_report(ensemble: Ensemble, names: list[str], seats: dict[int, Seat], unseated: int) -> list[str]:
    """One line naming where each seated track sits; one counting the notes played elsewhere."""
    if not seats:
        return []
    where = "; ".join(f"{names[t] or f'track {t}'} on {', '.join(ensemble.parts[i].label for i in seat.parts)}"
                      for t, seat in sorted(seats.items()))
    report = [f"tracks seated: {where}"]
    if unseated:
        report.append(f"{unseated} notes of seated tracks played elsewhere (range or notes at once)")
    return report
