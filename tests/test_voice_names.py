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


def _quartet(names, viola_stop=False):
    import symusic

    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    lines = {0: [76, 77, 79, 77, 76, 74, 72, 71], 1: [67, 69, 71, 69, 67, 65, 64, 62],
             2: [60, 60, 62, 62, 60, 59, 57, 55], 3: [48, 53, 55, 50, 48, 43, 45, 43]}
    for index, name in enumerate(names):
        track = symusic.Track(name, 40, False)
        for beat, pitch in enumerate(lines[index] * 2):  # two phrases: one double stop in 16 onsets
            track.notes.append(symusic.Note(beat * 480, 480, pitch, 80))
        if viola_stop and index == 2:
            track.notes.append(symusic.Note(2 * 480, 480, 55, 80))  # a double stop G3 under D4
        score.tracks.append(track)
    return score


def test_a_quartet_keeps_its_instruments_names_and_four_anonymous_tracks_become_satb():
    from scorefarm.symbolic.voices import voices_from_score

    quartet = voices_from_score(_quartet(["Violin I", "Violin II", "Viola", "Cello"]))
    assert quartet.names == ["Violin I", "Violin II", "Viola", "Cello"]
    assert voices_from_score(_quartet(["Piano"] * 4)).names == ["Soprano", "Alto", "Tenor", "Bass"]
    assert voices_from_score(_quartet(["Track 1", "Track 2", "Track 3", "Track 4"])).names == [
        "Soprano", "Alto", "Tenor", "Bass"]


def test_a_line_with_a_double_stop_is_checked_as_its_line_and_says_what_it_left_out():
    from scorefarm.symbolic.voices import voices_from_score

    voices = voices_from_score(_quartet(["Violin I", "Violin II", "Viola", "Cello"], viola_stop=True), "q.mid")
    viola = voices.parts[2]
    assert [n.pitch for n in viola.notes] == [60, 60, 62, 62, 60, 59, 57, 55] * 2  # on by D4, not G3
    report = check_voices(voices, CheckOptions(key=(0, "major")))
    assert any("'Viola': 1 note(s) of double stops left out" in note for note in report.notes)


def test_fix_refuses_a_score_whose_voices_leave_notes_out(tmp_path, refused):
    """The fixed file is written from the voices: a double stop left out of them would be
    lost, so --fix refuses (exit 2, nothing written) where check only says so."""
    _quartet(["Violin I", "Violin II", "Viola", "Cello"], viola_stop=True).dump_midi(str(tmp_path / "q.mid"))
    refused(["check", "q.mid", "--fix", "-o", "fixed.mid"], tmp_path, "q.mid", text="1 note(s) of double stops")


def test_voices_sharing_a_track_name_get_distinct_labels():
    """Two 'Violin' tracks are told apart by their track (and stay violins, not a soprano and an
    alto); Palestrina's two 'Tenor' tracks stay tenors, range-checked as such."""
    from scorefarm.symbolic.voices import SATB, voice_range, voice_ranges, voices_from_score

    quartet = voices_from_score(_quartet(["Violin", "Violin", "Viola", "Cello"]))
    assert quartet.names == ["Violin (track 1)", "Violin (track 2)", "Viola", "Cello"]
    # four parts named as singers, two alike, are a chorale's SATB as before
    assert voices_from_score(_quartet(["Soprano", "Tenor", "Tenor", "Bass"])).names == list(SATB)
    assert voice_range("Tenor (track 3)", voice_ranges("chorale")) == voice_ranges("chorale")["Tenor"]
    trio = _quartet(["Soprano", "Tenor I", "Tenor II", "Bass"])
    del trio.tracks[3]  # three parts: no SATB renaming; 'Tenor I' and 'Tenor II' both read 'Tenor'
    assert voices_from_score(trio).names == ["Soprano", "Tenor I", "Tenor II"]
    trio.tracks[2].name = "Tenor"
    trio.tracks[1].name = "Tenor"
    assert voices_from_score(trio).names == ["Soprano", "Tenor (track 2)", "Tenor (track 3)"]
    report = check_voices(quartet, CheckOptions(key=(0, "major")))
    assert all(len(set(f.voices)) == len(f.voices) for f in report.faults)
