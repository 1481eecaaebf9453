"""An orchestration as MusicXML, through music21.

One part per ensemble part in score order, at written pitch (sounding minus the
instrument's transposition) with a ``<transpose>`` element so a notation program
plays it at concert pitch; the catalogue's clef; articulation marks, "pizz." /
"arco" and tremolo strokes; a dynamic mark wherever a part's dynamic level changes;
the reduction's time signatures and tempi. Percussion parts are unpitched notes on a
percussion staff (the drum-set layout of ``_DRUM_DISPLAY``), and kit notes no part of
the ensemble plays get a "Drum Kit" staff at the head of the percussion section. Onsets and lengths are quantized to
eighths-of-a-beat or sixths-of-a-beat (whichever is nearer), and a part's
overlapping notes are notated as chords, the earlier cut at the later's onset: the
MIDI keeps the exact performance, the score is for reading and editing.

Output is deterministic: part and instrument ids are fixed and the encoding date
that music21 stamps is removed.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections import defaultdict
from fractions import Fraction

from .orchestrate import LEVELS

_CLEFS = {"treble": "TrebleClef", "alto": "AltoClef", "tenor": "TenorClef", "bass": "BassClef",
          "treble-8vb": "Treble8vbClef", "treble8vb": "Treble8vbClef", "percussion": "PercussionClef",
          "bass-8vb": "Bass8vbClef", "treble-8va": "Treble8vaClef"}
_MARKS = {"staccato": "Staccato", "spiccato": "Spiccato", "tenuto": "Tenuto", "accent": "Accent",
          "marcato": "StrongAccent"}


_CHANNELS = [c for c in range(16) if c != 9]  # music21 counts from 0; 9 is the drum channel


def _quantize(value: float) -> Fraction:
    eighth, sixth = Fraction(round(value * 8), 8), Fraction(round(value * 6), 6)
    return eighth if abs(eighth - value) <= abs(sixth - value) else sixth


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


def musicxml_bytes(orchestration, title: str = "") -> bytes:
    """The orchestration as a MusicXML score (bytes, UTF-8). Drum notes no part of the
    ensemble plays (``orchestration.drums``) are written on a "Drum Kit" staff in the
    percussion section."""
    from music21 import instrument, interval, metadata, stream
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    from .orchestrate import Placed, velocity_level

    source, tpq = orchestration.source, orchestration.source.tpq
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title or "Orchestration")
    by_part: dict[int, list] = defaultdict(list)
    for placed in orchestration.placed:
        by_part[placed.part].append(placed)
    parts = orchestration.ensemble.parts
    kit = [Placed(n.time, n.duration, n.pitch, n.velocity, -1, -1, "percussion", velocity_level(n.velocity))
           for track in orchestration.drums for n in track.notes]
    kit_at = next((i for i, p in enumerate(parts) if p.instrument.section == "percussion"), len(parts))
    staves: list[tuple[int | None, list]] = [(index, by_part.get(index, [])) for index in range(len(parts))]
    if kit:
        staves.insert(kit_at, (None, kit))
    for number, (index, notes) in enumerate(staves):
        inst = parts[index].instrument if index is not None else None
        ident = f"P{index + 1}" if index is not None else "PK"
        label, abbreviation = (parts[index].label, inst.abbreviation) if inst else ("Drum Kit", "Dr.")
        m21part = stream.Part(id=ident)
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
        _fill(m21part, notes, inst, tpq, source, first=number == 0)
        score.insert(0, m21part)
    with contextlib.redirect_stderr(io.StringIO()):  # music21 warns once per part past 15 MIDI channels
        data = GeneralObjectExporter(score).parse()
    return re.sub(rb"\s*<encoding-date>[^<]*</encoding-date>", b"", data)


def _fill(m21part, notes: list, inst, tpq: int, source, *, first: bool) -> None:
    """One staff: clef, the tempi (on the first), time signatures, notes with their marks."""
    from music21 import articulations, chord, clef, dynamics, expressions, meter, note, percussion, tempo

    unpitched = inst is None or inst.unpitched
    m21part.insert(0, getattr(clef, _CLEFS.get("percussion" if inst is None else inst.clef, "TrebleClef"))())
    if first:
        for mark in source.tempos:
            m21part.insert(float(Fraction(mark.time, tpq)), tempo.MetronomeMark(number=round(mark.qpm, 2)))
    for ts in source.time_signatures or []:
        m21part.insert(float(Fraction(ts.time, tpq)), meter.TimeSignature(f"{ts.numerator}/{ts.denominator}"))
    level, plucked = None, False
    for onset, group in _chords(notes, tpq):
        first_note = group[0]
        length = min(_quantize(p.duration / tpq) for p in group)
        if unpitched:
            heads = [_drum_note(pitch) for pitch in sorted({p.pitch for p in group})]
            element = heads[0] if len(heads) == 1 else percussion.PercussionChord(heads)
        else:
            written = [p.pitch - inst.transposition for p in group]
            element = note.Note(written[0]) if len(written) == 1 else chord.Chord(sorted(set(written)))
        element.quarterLength = length
        mark = _MARKS.get(first_note.articulation)
        if mark:
            element.articulations.append(getattr(articulations, mark)())
        if first_note.articulation == "tremolo":
            stroke = expressions.Tremolo()
            stroke.numberOfMarks = 3
            element.expressions.append(stroke)
        if (first_note.articulation == "pizzicato") != plucked:
            plucked = not plucked
            m21part.insert(float(onset), expressions.TextExpression("pizz." if plucked else "arco"))
        if first_note.level != level:
            level = first_note.level
            m21part.insert(float(onset), dynamics.Dynamic(LEVELS[level]))
        m21part.insert(float(onset), element)


def _drum_note(pitch: int):
    """An unpitched note placed on the staff where a drum set's ``pitch`` (GM) is written."""
    from music21 import note

    step, octave, head = _DRUM_DISPLAY.get(pitch, _DRUM_DEFAULT)
    element = note.Unpitched()
    element.displayStep, element.displayOctave = step, octave
    if head:
        element.notehead = head
    return element


def _chords(notes: list, tpq: int):
    """(quantized onset, notes) per onset, each cut where the next onset begins."""
    groups: dict[Fraction, list] = defaultdict(list)
    for placed in notes:
        groups[_quantize(placed.time / tpq)].append(placed)
    onsets = sorted(groups)
    for i, onset in enumerate(onsets):
        group = sorted(groups[onset], key=lambda p: -p.pitch)
        limit = onsets[i + 1] - onset if i + 1 < len(onsets) else None
        trimmed = []
        for placed in group:
            length = max(_quantize(placed.duration / tpq), Fraction(1, 8))
            if limit is not None:
                length = min(length, limit)
            trimmed.append((placed, length))
        shortest = min(length for _, length in trimmed)
        yield onset, [_with_length(p, shortest, tpq) for p, _ in trimmed]


def _with_length(placed, length: Fraction, tpq: int):
    from copy import copy

    clone = copy(placed)
    clone.duration = int(length * tpq)
    return clone
