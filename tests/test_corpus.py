"""The corpus builder: music21 streams to scores, ABC collections tune by tune,
a user's MIDI folder, the hash split, the cache."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import symusic

from scorefarm.symbolic.corpus import (
    BuildOptions, CorpusError, _abc_tunes, build_corpus, load_manifest, split_of, stream_to_score,
)

ABC_TWO_TUNES = """X:1
T:First
M:3/4
L:1/8
K:G
D2|G2 B2 d2|"D7"c2 A2 F2|G6|]

X:2
T:Second
M:6/8
L:1/8
K:D
A|d2 f e2 d|c2 e A3|]
"""


def test_split_is_a_stable_function_of_identity():
    ids = [f"essen/han1.abc#{i}" for i in range(4000)]
    first = [split_of(i) for i in ids]
    assert first == [split_of(i) for i in reversed(ids)][::-1]
    share = Counter(first)
    assert 0.03 < share["test"] / len(ids) < 0.07
    assert 0.03 < share["validation"] / len(ids) < 0.07


def test_stream_to_score_pads_the_pickup_merges_ties_and_splits_chords():
    from music21 import chord, meter, note, stream, tempo

    part = stream.Part()
    pickup = stream.Measure(number=0)
    pickup.append(meter.TimeSignature("3/4"))
    pickup.append(tempo.MetronomeMark(number=90))
    pickup.append(note.Note("D4", quarterLength=1))
    pickup.paddingLeft = 2.0
    bar1 = stream.Measure(number=1)
    tied = note.Note("G4", quarterLength=3)
    tied.tie = __import__("music21").tie.Tie("start")
    bar1.append(tied)
    bar2 = stream.Measure(number=2)
    end = note.Note("G4", quarterLength=1)
    end.tie = __import__("music21").tie.Tie("stop")
    bar2.append(end)
    bar2.append(chord.Chord(["B3", "D4"], quarterLength=2))
    for m in (pickup, bar1, bar2):
        part.append(m)
    score = stream.Score([part])
    out = stream_to_score(score)
    tpq = out.ticks_per_quarter
    notes = [(n.time / tpq, n.duration / tpq, n.pitch) for n in out.tracks[0].notes]
    # the pickup is padded to a full 3/4 bar: D4 on beat 3, G4 tied over the bar line
    assert notes == [(2.0, 1.0, 62), (3.0, 4.0, 67), (7.0, 2.0, 59), (7.0, 2.0, 62)]
    assert [(t.numerator, t.denominator) for t in out.time_signatures] == [(3, 4)]
    assert out.tempos[0].qpm == pytest.approx(90, rel=1e-3)



def test_stream_to_score_reads_a_transposing_part_at_sounding_pitch():
    from music21 import instrument, meter, note, stream

    def part(inst, written):
        p = stream.Part()
        m = stream.Measure(number=1)
        m.append(meter.TimeSignature("2/4"))
        m.insert(0, inst)
        for name in written:
            m.append(note.Note(name, quarterLength=1))
        p.append(m)
        return p

    clarinet = part(instrument.Clarinet(), ["D5", "E5"])  # a B-flat clarinet's written D sounds C
    clarinet.atSoundingPitch = False  # as music21 marks a part read with a <transpose>
    flute = part(instrument.Flute(), ["C5", "D5"])  # concert pitch: left as it is
    out = stream_to_score(stream.Score([clarinet, flute]))
    assert [n.pitch for n in out.tracks[0].notes] == [72, 74]
    assert [n.pitch for n in out.tracks[1].notes] == [72, 74]

def test_abc_collection_is_read_tune_by_tune_without_chord_symbols(tmp_path):
    path = tmp_path / "two.abc"
    path.write_text(ABC_TWO_TUNES)
    tunes = list(_abc_tunes(path))
    assert [key for key, _ in tunes] == ["1", "2"]
    first = stream_to_score(tunes[0][1])
    pitches = [n.pitch for t in first.tracks for n in t.notes]
    assert pitches[:4] == [62, 67, 71, 74]  # D G B d; the "D7" chord symbol adds no notes
    assert len(pitches) == 8
    second = stream_to_score(tunes[1][1])
    assert [(t.numerator, t.denominator) for t in second.time_signatures] == [(6, 8)]


def _midi(path, pitches):
    score = symusic.Score(480)
    track = symusic.Track("piano", 0, False)
    for i, p in enumerate(pitches):
        track.notes.append(symusic.Note(i * 480, 480, p, 80))
    score.tracks.append(track)
    score.dump_midi(str(path))


def test_build_from_a_user_folder_writes_a_manifest_and_caches(tmp_path):
    cues = tmp_path / "cues"
    cues.mkdir()
    for i in range(6):
        _midi(cues / f"cue{i}.mid", [60 + (i + k) % 12 for k in range(12)])
    _midi(cues / "tiny.mid", [60, 62])  # too few notes: counted as failed, not kept
    build = tmp_path / "build"
    options = BuildOptions(sources=(), midi_dirs=(str(cues),))
    manifest = build_corpus(build, options)
    assert manifest["sources"]["user"] == {"files": 7, "pieces": 6, "failed": 1}
    assert sum(manifest["counts"].values()) == 6
    for piece in manifest["pieces"]:
        assert piece["split"] == split_of(piece["id"])
        assert (build / piece["midi"]).exists()
    stamp = {p: p.stat().st_mtime_ns for p in (build / "midi").rglob("*.mid")}
    again = build_corpus(build, options)
    assert again["pieces"] == manifest["pieces"]
    assert {p: p.stat().st_mtime_ns for p in (build / "midi").rglob("*.mid")} == stamp  # cached
    assert load_manifest(build)["pieces"] == manifest["pieces"]
    assert json.loads((build / "manifest.json").read_text())["format"] == 1


def test_bad_sources_are_refused(tmp_path):
    with pytest.raises(CorpusError, match="unknown corpus source"):
        build_corpus(tmp_path, BuildOptions(sources=("bachh",)))
    with pytest.raises(CorpusError, match="no .mid"):
        build_corpus(tmp_path, BuildOptions(sources=(), midi_dirs=(str(tmp_path),)))
    with pytest.raises(CorpusError, match="no manifest"):
        load_manifest(tmp_path / "nowhere")


def test_one_bach_chorale_builds(tmp_path):
    manifest = build_corpus(tmp_path, BuildOptions(sources=("bach",), max_files_per_source=1))
    (piece,) = manifest["pieces"]
    score = symusic.Score(str(tmp_path / piece["midi"]))
    assert len(score.tracks) >= 4 and piece["notes"] > 100
