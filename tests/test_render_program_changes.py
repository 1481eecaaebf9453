"""A line that changes program (arco -> pizzicato) renders with its changes, and the cue's MIDI keeps them."""

from __future__ import annotations

import symusic

from scorefarm.render import pipeline, synth
from scorefarm.render.soundfonts import resolve_soundfont
from scorefarm.symbolic.score_io import load_score_bytes_and_programs, score_to_bytes


def _sketch() -> bytes:
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, qpm=120.0))
    violin = symusic.Track("Violin", 40, False)
    for k in range(8):
        violin.notes.append(symusic.Note(k * 480, 480, 67 + k % 3, 90))
    score.tracks.append(violin)
    return score_to_bytes(score, programs={0: [(4 * 480, 45)]})  # pizzicato from beat 5


def test_the_cue_midi_keeps_the_change_and_the_renderer_plays_both_programs(monkeypatch):
    font = resolve_soundfont("default")
    spec = pipeline.CueSpec(cue_id="1M1", sketch_name="pizz.mid", sketch_bytes=_sketch(), soundfont=font,
                            soundfont_sha256="x")
    prepared = pipeline.prepare_cue(spec)
    score, programs = load_score_bytes_and_programs(prepared.midi_bytes, "cue")
    assert [(t.name, t.program, t.note_num()) for t in score.tracks] == [("Violin", 40, 8)]
    assert programs == {0: [(4 * 480, 45)]}
    assert prepared.sections == ["strings"]
    played = {}

    def capture(score, soundfont, options, sections):
        played["tracks"] = [(t.program, [n.time // 480 for n in t.notes]) for t in score.tracks]
        raise RuntimeError("captured")

    monkeypatch.setattr(synth, "render_stems", capture)
    try:
        pipeline.render_section(spec, prepared, "strings")
    except RuntimeError:
        pass
    assert played["tracks"] == [(40, [0, 1, 2, 3]), (45, [4, 5, 6, 7])]
