"""Hit points: the cue's tempo map is bent so that a downbeat lands on each hit it can catch."""

from __future__ import annotations

import symusic

from scorefarm.render import pipeline
from scorefarm.render.soundfonts import resolve_soundfont
from scorefarm.symbolic.hits import Hit, fit_hits
from scorefarm.symbolic.score_io import load_score_bytes, score_to_bytes
from scorefarm.symbolic.timecode import Timecode

TPQ = 480
BAR = 4 * TPQ


def _score(bars: int = 8, qpm: float = 120.0) -> symusic.Score:
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=qpm))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("Horn", 60, False)
    for k in range(bars * 4):
        track.notes.append(symusic.Note(k * TPQ, TPQ, 60 + k % 5, 80))
    score.tracks.append(track)
    return score


def _seconds(score: symusic.Score, tick: int) -> float:
    """When the note struck at ``tick`` sounds, by symusic's reading of the tempo map."""
    index = [n.time for n in score.tracks[0].notes].index(tick)
    return float(score.to("second").tracks[0].notes[index].time)


def test_downbeats_land_on_the_hits_and_the_notes_keep_their_ticks():
    score = _score()  # 2 s a bar at 120
    out, said = fit_hits(score, [Hit(8.3, "A"), Hit(12.0, "B")])
    assert said == ["hit A: bar 5's downbeat lands on it (tempo x0.964 from bar 1)",
                    "hit B: bar 7's downbeat lands on it (tempo x1.081 from bar 5)"]
    assert abs(_seconds(out, 4 * BAR) - 8.3) < 1e-4
    assert abs(_seconds(out, 6 * BAR) - 12.0) < 1e-4
    # after the last hit the tempo it had comes back; the notes are where they were, in ticks
    assert [(t.time, round(t.qpm, 2)) for t in out.tempos][-1] == (6 * BAR, 120.0)
    assert [(n.time, n.duration, n.pitch) for n in out.tracks[0].notes] == \
        [(n.time, n.duration, n.pitch) for n in score.tracks[0].notes]
    assert [(t.time, t.mspq) for t in score.tempos] == [(0, 500000)]  # the input is left as it was


def test_a_hit_no_small_change_can_catch_is_left_and_said():
    score = _score(bars=4)
    out, said = fit_hits(score, [Hit(3.0, "mid-bar"), Hit(30.0, "late")])
    assert said == [
        "hit mid-bar: not caught, no downbeat lands on it within 10% of the tempo (the nearest, bar 2, would "
        "need x0.667); the tempo is left as it is",
        "hit late: not caught, it comes after the cue's last bar line; the tempo is left as it is"]
    assert [(t.time, t.mspq) for t in out.tempos] == [(0, 500000)]
    # a wider allowance catches the first
    _, said = fit_hits(score, [Hit(3.0, "mid-bar")], max_stretch=0.4)
    assert said == ["hit mid-bar: bar 3's downbeat lands on it (tempo x1.333 from bar 1)"]


def test_the_same_hits_give_the_same_bytes():
    hits = [Hit(6.2, "A"), Hit(9.9, "B")]
    first = score_to_bytes(fit_hits(_score(), hits)[0])
    assert first == score_to_bytes(fit_hits(_score(), hits)[0])
    assert first != score_to_bytes(_score())


def test_a_cue_with_a_hit_delivers_its_midi_with_the_downbeat_on_it():
    font = resolve_soundfont("default")
    start = Timecode.parse("01:00:10:00", 24)
    spec = pipeline.CueSpec(cue_id="1M1", sketch_name="horn.mid", sketch_bytes=score_to_bytes(_score()),
                            soundfont=font, soundfont_sha256="x", start=start,
                            cue_options={"hits": ["01:00:16:06"]})  # 6.25 s in: bar 4 at x0.96
    prepared = pipeline.prepare_cue(spec)
    assert "hit 01:00:16:06: bar 4's downbeat lands on it (tempo x0.960 from bar 1)" in prepared.notes
    delivered = load_score_bytes(prepared.midi_bytes, "cue")
    assert abs(_seconds(delivered, 3 * BAR) - 6.25) < 1e-3


def test_a_hit_on_the_cue_start_is_on_its_first_downbeat():
    out, said = fit_hits(_score(), [Hit(0.0, "start"), Hit(8.0, "bar 5"), Hit(8.0, "again")])
    assert said == ["hit start: bar 1's downbeat is on it",
                    "hit bar 5: bar 5's downbeat lands on it (tempo x1.000 from bar 1)",
                    "hit again: bar 5's downbeat is on it"]
    assert [(t.time, t.mspq) for t in out.tempos] == [(0, 500000), (4 * BAR, 500000)]
