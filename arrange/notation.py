"""An orchestration as MusicXML, through music21.

One part per ensemble part in score order, at written pitch (sounding minus the
instrument's transposition) with a ``<transpose>`` element so a notation program
plays it at concert pitch; the catalogue's clef, another its players read for a passage
lying far outside it, bar by bar (``notation_clefs``: a cello's melody in tenor or treble
clef, a low horn part in bass clef); articulation marks, "pizz." /
"arco" and tremolo strokes; a dynamic mark wherever a part's dynamic level changes,
and a hairpin where it rises or falls a level at a time (``_hairpins``); the
reduction's time signatures and tempi (those standing before the score's last bar line: one at
or after it would only add an empty bar), a bar cut short by a signature standing mid-bar
written in a signature of its own length, and a pickup as an incomplete first measure,
measure 0, in the metre it leads to (``notation_metres.Metres``); the key signatures (the
reduction's own, a new one wherever it changes, else the key the project's key finder
hears), transposed for each transposing instrument, and every pitch spelled from the key
in force (``notation_keys``: A-flat major writes E-flat and D-flat, never D-sharp and
C-sharp); grace notes before the notes they lead to (``graces.grace_elements``); rests in
every silence, a whole-bar rest for a bar of it, rests on the beats inside a bar
(``notation_metres.rests``). Percussion parts are unpitched notes on a percussion staff
(the drum-set layout of ``_DRUM_DISPLAY``), and kit notes no part of the ensemble plays
get a "Drum Kit" staff at the head of the percussion section. A piano, harp, celesta or
marimba part is one part of two staves, treble and bass, split at middle C, its dynamics
under the upper staff (``notation_staves``). Onsets and lengths are
quantized to eighths-of-a-beat or sixths-of-a-beat (whichever is nearer); a note that stops
just short of the next one (the gap under a sixteenth, the note three quarters of the span
or more) is written up to it, as a player's detached note is notated; a part's notes are
written as one line of chords on each staff, a note held while others of its part move (or longer than
those struck with it) going on in the chords after it, tied (``notation_rhythm.slices``;
one overlapping the next onset by less than a sixteenth, a player's legato, is cut there);
every staff runs to the bar line after the last note. The MIDI keeps the exact
performance, the score is for reading and editing.

Output is deterministic: part and instrument ids are fixed and the encoding date
that music21 stamps is removed.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import re
from collections import defaultdict
from fractions import Fraction

from .dynamics import LEVELS
from .notation_clefs import bar_clefs, clef_options
from .notation_keys import PartKeys, concert_keys
from .notation_metres import Metres, rests
from .notation_rhythm import quantize, slices
from .notation_staves import STAFF_CLEFS, grand_staff, lower_staff_layout, split_hands

_CLEFS = {"treble": "TrebleClef", "alto": "AltoClef", "tenor": "TenorClef", "bass": "BassClef",
          "treble-8vb": "Treble8vbClef", "treble8vb": "Treble8vbClef", "percussion": "PercussionClef",
          "bass-8vb": "Bass8vbClef", "treble-8va": "Treble8vaClef"}
_MARKS = {"staccato": "Staccato", "spiccato": "Spiccato", "tenuto": "Tenuto", "accent": "Accent",
          "marcato": "StrongAccent"}


_CHANNELS = [c for c in range(16) if c != 9]  # music21 counts from 0; 9 is the drum channel


def _last_note_end(orchestration) -> int:
    """The tick where the orchestration's last note (placed or kept drum) ends."""
    ends = [p.time + p.duration for p in orchestration.placed]
    ends += [n.time + n.duration for track in orchestration.drums for n in track.notes]
    return max(ends, default=0)


def _score_end(orchestration, tpq: int) -> Fraction:
    """The bar line at or after the last note (in quarters from the start): the score's
    last. A note that starts on that bar line once its onset is put on the notation's grid
    (a few ticks before it in the MIDI) gets the bar after it. A time signature or tempo
    standing there or later is left out of the score."""
    from scorefarm.symbolic.metre import bar_starts_through, score_signatures

    onsets = [p.time for p in orchestration.placed]
    onsets += [n.time for track in orchestration.drums for n in track.notes]
    written = max((quantize(t / tpq) for t in onsets), default=Fraction(0))
    end = max(_last_note_end(orchestration), int(written * tpq) + 1)
    return Fraction(bar_starts_through(score_signatures(orchestration.source), tpq, end)[-1], tpq)


# The longest score written as MusicXML, in bars. A cue runs a few hundred bars, the
# longest concert movements about a thousand, a whole two-hour feature at 120 bpm in 4/4
# 3,600. Past that the sketch's notes start far out (a stray offset) and the score is
# nearly all empty bars, which music21 writes ever more slowly (five staves, on a busy
# two-core machine: 13 s for 1,000 bars, 64 s for 4,000, minutes for 25,000) and a
# notation program opens slowly, if at all. The MIDI has no such limit.
MAX_NOTATION_BARS = 4000


def check_notation_bars(source, name: str | None = None, *, notes_end: int | None = None) -> None:
    """Refuse ``source`` (the reduction as read, a symusic score) when its MusicXML would
    run past ``MAX_NOTATION_BARS`` bars: through its last note's end (``notes_end`` in
    ticks, else the end of the source's own notes). A tempo or time signature after
    it makes no bar (the score ends on the bar line after the last note). ``name``: the
    file the error cites."""
    from scorefarm.errors import ScoreError
    from scorefarm.symbolic.metre import bar_beat, score_signatures

    if notes_end is None:
        notes_end = max((n.time + n.duration for track in source.tracks for n in track.notes), default=0)
    bar, _ = bar_beat(max(notes_end - 1, 0), source.tpq, score_signatures(source))
    if bar > MAX_NOTATION_BARS:
        raise ScoreError(
            f"runs to bar {bar:,} (its last note ends there); a MusicXML score is written for at most "
            f"{MAX_NOTATION_BARS:,} bars, more than a notation program can sensibly open: move the "
            "notes nearer the start, or leave the MusicXML out",
            name,
        )


# Where a GM drum note sits on a percussion staff, and its notehead (the common
# drum-set layout: bass drum in the bottom space, snare in the third, toms around it,
# cymbals and hi-hat above the staff with x noteheads).
_DRUM_DISPLAY = {35: ("F", 4, None), 36: ("F", 4, None), 37: ("C", 5, "x"), 38: ("C", 5, None),
                 39: ("C", 5, "x"), 40: ("C", 5, None), 41: ("A", 4, None), 43: ("A", 4, None),
                 45: ("D", 5, None), 47: ("D", 5, None), 48: ("E", 5, None), 50: ("E", 5, None),
                 42: ("G", 5, "x"), 44: ("D", 4, "x"), 46: ("G", 5, "circle-x"), 49: ("A", 5, "x"),
                 52: ("A", 5, "x"), 55: ("A", 5, "x"), 57: ("A", 5, "x"), 51: ("F", 5, "x"),
                 53: ("F", 5, "diamond"), 59: ("F", 5, "x"), 54: ("B", 4, "x"), 80: ("B", 4, "triangle"),
                 81: ("B", 4, "triangle")}
_DRUM_DEFAULT = ("C", 5, "x")


def musicxml_bytes(orchestration, title: str = "", name: str | None = None) -> bytes:
    """The orchestration as a MusicXML score (bytes, UTF-8). Drum notes no part of the
    ensemble plays (``orchestration.drums``) are written on a "Drum Kit" staff in the
    percussion section. A score longer than ``MAX_NOTATION_BARS`` is refused
    (``check_notation_bars``; ``name``: the file the error cites)."""
    check_notation_bars(orchestration.source, name, notes_end=_last_note_end(orchestration))
    from music21 import instrument, interval, layout, metadata, stream

    from .orchestrate import bar_lines, bar_quarters
    from .percussion import percussion_notes

    source, tpq = orchestration.source, orchestration.source.tpq
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title or "Orchestration")
    by_part: dict[int, list] = defaultdict(list)
    for placed in orchestration.placed:
        by_part[placed.part].append(placed)
    graces_of: dict[int, list] = defaultdict(list)
    for grace in orchestration.graces:
        graces_of[grace.part].append(grace)
    parts = orchestration.ensemble.parts
    kit = percussion_notes([(n.time, n.duration, n.pitch, n.velocity) for track in orchestration.drums
                            for n in track.notes], -1, tpq, bar_quarters(source))
    kit_at = next((i for i, p in enumerate(parts) if p.instrument.section == "percussion"), len(parts))
    end = _score_end(orchestration, tpq)
    lines = [Fraction(tick, tpq) for tick in bar_lines(source)]  # in quarters
    keys = concert_keys(orchestration, end)
    metres = Metres(source, end)
    bars = metres.bars()
    staves: list[tuple[int | None, list]] = [(index, by_part.get(index, [])) for index in range(len(parts))]
    if kit:
        staves.insert(kit_at, (None, kit))
    for number, (index, notes) in enumerate(staves):
        inst = parts[index].instrument if index is not None else None
        ident = f"P{index + 1}" if index is not None else "PK"
        label, abbreviation = (parts[index].label, inst.abbreviation) if inst else ("Drum Kit", "Dr.")
        m21part = (stream.PartStaff if grand_staff(inst) else stream.Part)(id=ident)
        player = instrument.Instrument(inst.name if inst else "Drum Set")
        player.instrumentId = f"{ident}-I1"
        player.partId = ident
        player.partName, player.partAbbreviation = label, abbreviation
        player.instrumentName = inst.name if inst else "Drum Set"
        player.midiProgram = inst.program if inst else 0
        unpitched = inst is None or inst.unpitched
        player.midiChannel = 9 if unpitched else _CHANNELS[index % len(_CHANNELS)]
        if inst is not None and inst.transposition:
            player.transposition = interval.Interval(inst.transposition)
        m21part.insert(0, player)
        part_keys = None if unpitched else PartKeys(keys, inst.transposition, lines, end)
        part_graces = graces_of.get(index, []) if index is not None else []
        if not grand_staff(inst):
            struck = _fill(m21part, notes, inst, tpq, source, part_keys, end, lines, metres.signatures, bars,
                           first=number == 0, graces=part_graces)
            _dynamics(m21part, struck, lines)
            m21part.coreElementsChanged()
            score.insert(0, m21part)
            continue
        # a grand staff: two PartStaffs that music21 writes as one <part> of two staves
        upper, lower = m21part, stream.PartStaff(id=f"{ident}-lower")
        halves = split_hands(notes, part_graces, inst.transposition)
        struck_on: list[list] = []
        for staff, (m21staff, (staff_notes, staff_graces), clef_name) in enumerate(zip((upper, lower), halves,
                                                                                      STAFF_CLEFS)):
            struck_on.append(_fill(m21staff, staff_notes, inst, tpq, source, part_keys, end, lines,
                                   metres.signatures, bars, first=number == 0 and staff == 0, graces=staff_graces,
                                   clefs=(clef_name,), pedal_notes=(notes, part_graces)))
        upper_onsets = {onset for onset, _, _ in struck_on[0]}
        merged = sorted(struck_on[0] + [s for s in struck_on[1] if s[0] not in upper_onsets], key=lambda s: s[0])
        _dynamics(upper, merged, lines)  # the part's dynamics on its upper staff
        for m21staff in (upper, lower):
            m21staff.coreElementsChanged()
            score.insert(0, m21staff)
        score.insert(0, layout.StaffGroup([upper, lower], symbol="brace", barTogether=True))
    if metres.pickup is not None:
        metres.cut_short(score)
    with contextlib.redirect_stderr(io.StringIO()):  # music21 warns once per part past 15 MIDI channels
        data = _export(score)
    return lower_staff_layout(re.sub(rb"\s*<encoding-date>[^<]*</encoding-date>", b"", data))


def _export(score) -> bytes:
    """``GeneralObjectExporter(score).parse()``, the same bytes, less its deep copy of the
    whole score (a quarter of the writing time): the score is ours to change. Its gaps are
    filled (none are left, ``notation_metres.rests``), then notation is made and written."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    exporter = GeneralObjectExporter(score)
    score.makeRests(refStreamOrTimeRange=[0.0, score.highestTime], fillGaps=True, inPlace=True, hideRests=True,
                    timeRangeFromBarDuration=True)
    return exporter.parseWellformedObject(exporter.fromScore(score))


def _fill(m21part, notes: list, inst, tpq: int, source, keys, end: Fraction, lines: list[Fraction],
          signatures: list[tuple[Fraction, int, int]], bars: list, *, first: bool, graces: list,
          clefs: tuple[str, ...] | None = None, pedal_notes: tuple[list, list] | None = None) -> list:
    """One staff: clef, keys (``keys``: ``PartKeys``, None for percussion), the tempi before
    ``end`` (on the first), time signatures (offset in quarters, numerator, denominator),
    notes with their marks and the grace notes before them (``graces``), and rests in
    every silence up to ``end`` (``notation_metres.rests`` in ``bars``; ``lines``: the bar
    lines, in quarters). ``clefs``: the clefs the staff may take, in place of the
    instrument's (``notation_clefs.clef_options``); ``pedal_notes``: the notes and graces
    a harp's pedals are set for, bar by bar, where the staff holds only some of them (one
    staff of two). Returns (onset, element, dynamic level) of each chord, note or stroke
    struck, for ``_dynamics``; the part is left for the caller to sort
    (``coreElementsChanged``)."""
    from music21 import articulations, chord, clef, expressions, meter, note, percussion, tempo, tie

    from .graces import grace_elements

    def put(offset, element) -> None:
        # music21's insert measures the part at every call (quadratic in its length); the part
        # is sorted once instead, when music21 bars it (``coreElementsChanged`` at the end)
        m21part.coreInsert(float(offset), element, ignoreSort=True)

    unpitched = inst is None or inst.unpitched
    starts = [bar.start for bar in bars]
    in_bar: list[list[int]] = [[] for _ in bars]  # each bar's written pitches
    for placed in ([] if unpitched else notes):
        in_bar[max(0, bisect.bisect_right(starts, quantize(placed.time / tpq)) - 1)].append(
            placed.pitch - inst.transposition)
    shown = None
    for start, name in zip(starts or [Fraction(0)], bar_clefs(clefs or clef_options(inst), in_bar or [[]])):
        if name != shown:
            put(start, getattr(clef, _CLEFS.get(name, "TrebleClef"))())
            shown = name
    if keys is not None:
        for offset, written_key in keys.shown:
            put(offset, written_key)
    if first:
        for mark in source.tempos:
            if Fraction(mark.time, tpq) < end or mark.time == 0:  # one after the last note would make a bar
                put(Fraction(mark.time, tpq), tempo.MetronomeMark(number=round(mark.qpm, 2)))
    for offset, numerator, denominator in signatures:
        put(offset, meter.TimeSignature(f"{numerator}/{denominator}"))
    plucked = False
    struck: list = []  # (onset, element, level) of every chord, note or stroke, in order
    reached = Fraction(0)
    whole = {(bar.start, bar.stop - bar.start) for bar in bars if bar.origin == bar.start}  # whole-bar rests

    def bar_of(onset: Fraction) -> int:
        return max(0, bisect.bisect_right(lines, onset) - 1)

    pedalled = keys is not None and inst is not None and inst.key == "harp"
    by_bar: dict[int, set[int]] = defaultdict(set)  # a harp's pitches in each bar
    pedal_bar = None
    graced: dict[Fraction, list] = defaultdict(list)  # the graces before each (quantized) onset
    for grace in graces:
        graced[quantize(grace.principal.time / tpq)].append(grace)
    if pedalled:
        pedal_on, pedal_graces = pedal_notes or (notes, graces)
        for time, pitch in [(p.time, p.pitch) for p in pedal_on] + [(g.principal.time, g.pitch) for g in pedal_graces]:
            by_bar[bar_of(quantize(time / tpq))].add(pitch)
    named: dict[int, str] = {}  # a sounding pitch -> its written name where it was struck, for its ties
    for onset, length, group, sounding in slices(notes, tpq, end, hold=not unpitched):
        for offset, silence in rests(reached, onset, bars):
            put(offset, _rest(silence, (offset, silence) in whole))
        reached = max(reached, onset + length)
        if group:
            speller = keys.speller(onset) if keys is not None else None
            if pedalled and (bar_of(onset), id(speller)) != pedal_bar:
                pedal_bar = (bar_of(onset), id(speller))
                speller.pedals(by_bar[pedal_bar[0]])
        if unpitched:
            heads = [_drum_note(pitch) for pitch, _ in sounding]
            element = heads[0] if len(heads) == 1 else percussion.PercussionChord(heads)
        else:
            for placed in group:
                named[placed.pitch] = speller.pitch(placed.pitch - inst.transposition).nameWithOctave
            element = note.Note(named[sounding[0][0]]) if len(sounding) == 1 else \
                chord.Chord([named[pitch] for pitch, _ in sounding])
            for (pitch, tied), sounded in zip(sounding, [element] if len(sounding) == 1 else element.notes):
                if tied:
                    sounded.tie = tie.Tie(tied)
        element.quarterLength = length
        if not group:  # held notes going on alone: no mark of their own
            put(onset, element)
            continue
        first_note = group[0]
        mark = _MARKS.get(first_note.articulation)
        if mark:
            element.articulations.append(getattr(articulations, mark)())
        if first_note.articulation == "tremolo":
            stroke = expressions.Tremolo()
            stroke.numberOfMarks = 3
            element.expressions.append(stroke)
        if (first_note.articulation == "pizzicato") != plucked:
            plucked = not plucked
            put(onset, expressions.TextExpression("pizz." if plucked else "arco"))
        if onset in graced:  # music21 orders grace notes before the note at their offset
            for grace in grace_elements(graced[onset], speller.pitch, inst.transposition):
                put(onset, grace)
        put(onset, element)
        struck.append((onset, element, first_note.level))
    for offset, silence in rests(reached, end, bars):
        put(offset, _rest(silence, (offset, silence) in whole))
    return struck


def _dynamics(m21part, struck: list, lines: list[Fraction]) -> None:
    """A dynamic mark on ``m21part`` wherever the level changes along ``struck`` ((onset,
    element, level) in onset order, ``_fill``'s), and hairpins between marks stepping a
    level at a time (``_hairpins``; ``lines``: the bar lines, in quarters)."""
    from music21 import dynamics

    level, changes = None, []  # (bar index, level, element, onset) where the part's dynamic level changes
    for onset, element, now in struck:
        if now != level:
            level = now
            changes.append((max(0, bisect.bisect_right(lines, onset) - 1), level, element, onset))
    marked, wedges = _hairpins(changes, [(onset, element) for onset, element, _ in struck], HAIRPIN_BARS)
    for _, level, _, onset in marked:
        m21part.coreInsert(float(onset), dynamics.Dynamic(LEVELS[level]), ignoreSort=True)
    for rising, first_element, last_element in wedges:
        m21part.coreInsert(0.0, (dynamics.Crescendo if rising else dynamics.Diminuendo)(first_element, last_element),
                           ignoreSort=True)


# markings that step one level at a time, each within this many bars of the last, are a hairpin
HAIRPIN_BARS = 4


def _hairpins(changes: list, struck: list, reach: int) -> tuple[list, list]:
    """The dynamic marks to write and the hairpins between them, from a part's level
    changes (bar index, level, the element struck there, onset) and its elements in order
    (``struck``: (onset, element)). Two or more changes in a row that each step one level
    the same way, each within ``reach`` bars of the one before, are a crescendo (or diminuendo):
    a hairpin from the first change's element to the element before the last change,
    which keeps its mark; the marks between are dropped (p, mp, mf, f over twelve bars
    reads "p < f"). Returns (the marks kept, (rising, first element, last element) per
    hairpin)."""
    marked, wedges, k = changes[:1], [], 1
    onsets = [onset for onset, _ in struck]
    while k < len(changes):
        step = changes[k][1] - changes[k - 1][1]
        j = k
        while j < len(changes) and abs(step) == 1 and changes[j][1] - changes[j - 1][1] == step \
                and changes[j][0] - changes[j - 1][0] <= reach:
            j += 1
        if j - k >= 2:
            last = changes[j - 1]
            before_last = struck[bisect.bisect_left(onsets, last[3]) - 1][1]
            wedges.append((step > 0, changes[k][2], before_last))
            marked.append(last)
            k = j
        else:
            marked.append(changes[k])
            k += 1
    return marked, wedges


def _rest(length: Fraction, whole_bar: bool):
    """A rest, told whether it fills its bar (music21 would look up the bar's time signature
    for each rest to decide whether it is a whole-bar rest: a tenth of the writing time)."""
    from music21 import note

    rest = note.Rest(quarterLength=length)
    rest.fullMeasure = whole_bar
    return rest


def _drum_note(pitch: int):
    """An unpitched note placed on the staff where a drum set's ``pitch`` (GM) is written."""
    from music21 import note

    step, octave, head = _DRUM_DISPLAY.get(pitch, _DRUM_DEFAULT)
    element = note.Unpitched()
    element.displayStep, element.displayOctave = step, octave
    if head:
        element.notehead = head
    return element
