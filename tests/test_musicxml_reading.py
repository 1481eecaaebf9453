"""A MusicXML score read for check, analyze and harmonize: its tempo changes, and its parts' names."""

from __future__ import annotations

from scorefarm.symbolic.voices import load_any_score


def _write(tmp_path, named: bool):
    from music21 import note, stream, tempo

    score = stream.Score()
    for index in range(2):
        part = stream.Part()
        if named:
            part.partName = f"Voice {index + 1}"
        if index == 0:
            for offset, bpm in ((0, 60), (8, 90), (16, 120)):
                part.insert(offset, tempo.MetronomeMark(number=bpm))
        for k in range(24):
            part.insert(k, note.Note(72 - 12 * index + k % 5, quarterLength=1))
        score.insert(0, part)
    path = tmp_path / ("named.musicxml" if named else "unnamed.musicxml")
    score.write("musicxml", fp=path)
    return path


def test_every_tempo_mark_is_read_at_its_place(tmp_path):
    score, _, _ = load_any_score(_write(tmp_path, named=True))
    tpq = score.ticks_per_quarter
    assert [(t.time, round(t.qpm)) for t in score.tempos] == [(0, 60), (8 * tpq, 90), (16 * tpq, 120)]
    assert [t.name for t in score.tracks] == ["Voice 1", "Voice 2"]


def test_parts_without_names_are_named_the_same_on_every_read(tmp_path):
    path = _write(tmp_path, named=False)
    first = [t.name for t in load_any_score(path)[0].tracks]
    second = [t.name for t in load_any_score(path)[0].tracks]
    assert first == second
    assert all(not name.isdigit() for name in first)  # never music21's number for an unnamed part


def test_key_signatures_are_read_from_a_concert_part(tmp_path):
    from music21 import instrument, key, meter, note, stream

    def part(inst, signatures, sounding):
        p = stream.Part()
        p.insert(0, inst)
        p.insert(0, meter.TimeSignature("4/4"))
        for offset, signature in signatures:
            p.insert(offset, signature)
        for k in range(8):
            p.insert(k, note.Note(66, quarterLength=1))
        p.atSoundingPitch = sounding
        return p

    clarinet = part(instrument.Clarinet(), [(0, key.KeySignature(5))], False)  # written: G-sharp minor's E
    violin = part(instrument.Violin(), [(0, key.Key("f#", "minor")), (4, key.KeySignature(-1))], True)
    score = stream.Score([clarinet, violin])
    path = tmp_path / "keys.musicxml"
    score.write("musicxml", fp=path)
    read, _, _ = load_any_score(path)
    tpq = read.ticks_per_quarter
    assert [(k.time, k.key, k.tonality) for k in read.key_signatures] == [(0, 3, 1), (4 * tpq, -1, 0)]
