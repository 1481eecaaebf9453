"""Grand staves: a keyboard's or a harp's part written on two staves, as notation programs
and players expect, instead of one staff whose notes run far onto ledger lines.

The instruments so written are those the catalogue's ``clef`` note names as grand-staff
instruments (``GRAND_STAFF``: harp, piano, celesta, marimba). Their notes are split by
written pitch: middle C and above on the upper staff (treble clef), the rest on the lower
(bass clef), so a chord across middle C is written as two chords, one on each staff, and a
tied note stays on its staff (a tie joins one pitch). A grace note goes on its principal's
staff. In the MusicXML each staff is its own voice, 1 on the upper and 5 on the lower (as
Finale, Sibelius and MuseScore number them), joined with a ``<backup>`` to the bar's start;
the part's dynamics and hairpins, from the notes of both staves, are written under the upper
staff.
"""

from __future__ import annotations

import re

GRAND_STAFF = frozenset({"harp", "piano", "celesta", "marimba"})
SPLIT = 60  # written middle C: it and above go on the upper staff
STAFF_CLEFS = ("treble", "bass")  # of the upper and the lower staff
LOWER_VOICE = 5


def grand_staff(inst) -> bool:
    """Whether ``inst`` (a catalogue instrument, None for the drum kit) is written on two staves."""
    return inst is not None and not inst.unpitched and inst.key in GRAND_STAFF


def split_hands(notes: list, graces: list, transposition: int) -> tuple[tuple[list, list], tuple[list, list]]:
    """``notes`` (placed, sounding) and ``graces`` of one part as ((upper notes, upper graces),
    (lower notes, lower graces)): a note by its written pitch (``SPLIT``), a grace with its
    principal, or by its own pitch where the principal is not among ``notes``."""
    upper_ids = set()
    upper, lower = [], []
    for placed in notes:
        if placed.pitch - transposition >= SPLIT:
            upper.append(placed)
            upper_ids.add(id(placed))
        else:
            lower.append(placed)
    known = {id(placed) for placed in notes}
    upper_graces, lower_graces = [], []
    for grace in graces:
        on_upper = id(grace.principal) in upper_ids if id(grace.principal) in known \
            else grace.pitch - transposition >= SPLIT
        (upper_graces if on_upper else lower_graces).append(grace)
    return (upper, upper_graces), (lower, lower_graces)


_NOTE_OR_MARK = re.compile(rb"<note\b[^>]*>.*?</note>|<direction\b[^>]*>.*?</direction>", re.DOTALL)


def lower_staff_layout(data: bytes) -> bytes:
    """MusicXML ``data`` with each note on a second staff in voice ``LOWER_VOICE`` (music21
    numbers a joined staff's voice after the upper's: 2), and each dynamic mark or hairpin
    music21 put on a second staff (a hairpin from or to a chord of the lower staff alone)
    under the upper staff instead, between the two, at the same time."""
    if b"<staff>2</staff>" not in data:
        return data

    def move(match: re.Match) -> bytes:
        text = match.group(0)
        if b"<staff>2</staff>" not in text:
            return text
        if text.startswith(b"<note"):
            return re.sub(rb"<voice>\d+</voice>", b"<voice>%d</voice>" % LOWER_VOICE, text, count=1)
        if b"<wedge" in text or b"<dynamics" in text:
            return text.replace(b"<staff>2</staff>", b"<staff>1</staff>")
        return text

    return _NOTE_OR_MARK.sub(move, data)
