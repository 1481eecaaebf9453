"""Voices named otherwise than Soprano/Alto/Tenor/Bass are range-checked under their range."""

from __future__ import annotations

from scorefarm.symbolic.voiceleading import CheckOptions, check_voices
from scorefarm.symbolic.voices import Part, VNote, Voices


def test_voices_named_in_italian_latin_or_by_letter_are_range_checked():
    """A madrigal's Canto and Basso, a score's 'S.' and 'Tenor II', are the soprano, bass and
    tenor of the range table; a Quinto lies in no one range and is said to be unchecked."""
    from scorefarm.symbolic.voices import voice_range, voice_ranges

    table = voice_ranges("chorale")
    assert [voice_range(n, table) for n in ("Canto", "Basso", "S.", "Tenor II", "Altus")] == [
        table["Soprano"], table["Bass"], table["Soprano"], table["Tenor"], table["Alto"]]
    assert voice_range("Quinto", table) is None and voice_range("Alto Sax", table) is None
    voices = Voices(480, [Part("Canto", [VNote(0, 480, 72)]), Part("Quinto", [VNote(0, 480, 40)]),
                          Part("Basso", [VNote(0, 480, 30)])], [(0, 4, 4)])
    report = check_voices(voices, CheckOptions(kinds=frozenset({"range"}), key=(0, "major")))
    assert [(f.kind, f.voices) for f in report.faults] == [("range", ("Basso",))]
    assert any("not for Quinto" in note for note in report.notes)
