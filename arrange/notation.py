"""An orchestration as MusicXML, through music21.

One part per ensemble part in score order, at written pitch (sounding minus the
instrument's transposition) with a ``<transpose>`` element so a notation program
plays it at concert pitch; the catalogue's clef; articulation marks, "pizz." /
"arco" and tremolo strokes; a dynamic mark wherever a part's dynamic level changes;
the reduction's time signatures and tempi. Onsets and lengths are quantized to
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


def musicxml_bytes(orchestration, title: str = "") -> bytes:
    """The orchestration as a MusicXML score (bytes, UTF-8)."""
    from music21 import (articulations, clef, dynamics, expressions, instrument, interval, meter, metadata,
                         note, chord, stream, tempo)
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    source, tpq = orchestration.source, orchestration.source.tpq
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title or "Orchestration")
    by_part: dict[int, list] = defaultdict(list)
    for placed in orchestration.placed:
        by_part[placed.part].append(placed)
    for index, part in enumerate(orchestration.ensemble.parts):
        inst = part.instrument
        m21part = stream.Part(id=f"P{index + 1}")
        player = instrument.Instrument(inst.name)
        player.instrumentId = f"P{index + 1}-I1"
        player.partId = f"P{index + 1}"
        player.partName, player.partAbbreviation = part.label, inst.abbreviation
        player.instrumentName = inst.name
        player.midiProgram = inst.program
        player.midiChannel = 9 if inst.unpitched else _CHANNELS[index % len(_CHANNELS)]
        if inst.transposition:
            player.transposition = interval.Interval(inst.transposition)
        m21part.insert(0, player)
        m21part.insert(0, getattr(clef, _CLEFS.get(inst.clef, "TrebleClef"))())
        if index == 0:
            for mark in source.tempos:
                m21part.insert(float(Fraction(mark.time, tpq)), tempo.MetronomeMark(number=round(mark.qpm, 2)))
        for ts in source.time_signatures or []:
            m21part.insert(float(Fraction(ts.time, tpq)), meter.TimeSignature(f"{ts.numerator}/{ts.denominator}"))
        level, plucked = None, False
        for onset, group in _chords(by_part.get(index, []), tpq):
            first = group[0]
            written = [(p.pitch if inst.unpitched else p.pitch - inst.transposition) for p in group]
            length = min(_quantize(p.duration / tpq) for p in group)
            element = note.Note(written[0]) if len(written) == 1 else chord.Chord(sorted(set(written)))
            element.quarterLength = length
            mark = _MARKS.get(first.articulation)
            if mark:
                element.articulations.append(getattr(articulations, mark)())
            if first.articulation == "tremolo":
                stroke = expressions.Tremolo()
                stroke.numberOfMarks = 3
                element.expressions.append(stroke)
            if (first.articulation == "pizzicato") != plucked:
                plucked = not plucked
                m21part.insert(float(onset), expressions.TextExpression("pizz." if plucked else "arco"))
            if first.level != level:
                level = first.level
                m21part.insert(float(onset), dynamics.Dynamic(LEVELS[level]))
            m21part.insert(float(onset), element)
        score.insert(0, m21part)
    with contextlib.redirect_stderr(io.StringIO()):  # music21 warns once per part past 15 MIDI channels
        data = GeneralObjectExporter(score).parse()
    return re.sub(rb"\s*<encoding-date>[^<]*</encoding-date>", b"", data)


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
