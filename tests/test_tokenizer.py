"""The extension tokenizer: lossless round trip on its grid, voice slots, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import symusic

from scorefarm.errors import ScoreError
from scorefarm.symbolic.tokenizer import (
    MAX_VOICES, Vocab, build_tokenizer, check_time_signatures, load_tokenizer, save_tokenizer, to_voices,
)

TPQ = 480


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


def _grid_score(tokenizer, numerator: int, denominator: int, seed: int) -> symusic.Score:
    """A random 3-voice score whose every value lies on the tokenizer's grid."""
    rng = np.random.default_rng(seed)
    vocab = Vocab.of(tokenizer)
    velocities = sorted(vocab.velocity.values())
    tempos = sorted(vocab.tempo.values())
    beat = TPQ * 4 // denominator
    step = beat // 8  # 8 positions per beat
    bar = beat * numerator
    # durations the tokenizer has: whole beats + eighths of a beat up to 4 beats
    durations = [beat * b + step * f for b in range(0, 4) for f in range(8) if b or f]
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, numerator, denominator))
    score.tempos.append(symusic.Tempo(0, float(tempos[rng.integers(len(tempos))])))
    for voice, (low, high) in enumerate([(72, 84), (60, 72), (40, 55)]):
        track = symusic.Track(f"voice {voice}", voice, False)
        seen = set()
        for _ in range(30):
            time_ = int(rng.integers(0, 4 * bar // step)) * step
            pitch = int(rng.integers(low, high))
            if (time_, pitch) in seen:
                continue
            seen.add((time_, pitch))
            track.notes.append(symusic.Note(time_, int(rng.choice(durations)), pitch,
                                            int(rng.choice(velocities))))
        track.notes.sort(key=lambda n: (n.time, n.pitch))
        score.tracks.append(track)
    return score


def _notes_in_quarters(score: symusic.Score) -> dict[int, list[tuple]]:
    tpq = score.ticks_per_quarter
    return {t.program: sorted((n.time / tpq, n.duration / tpq, n.pitch, n.velocity) for n in t.notes)
            for t in score.tracks}


@pytest.mark.parametrize("signature", [(4, 4), (3, 4), (6, 8), (2, 2), (5, 4)])
def test_round_trip_is_lossless_on_the_grid(tokenizer, signature):
    score = _grid_score(tokenizer, *signature, seed=sum(signature))
    tokens = tokenizer.encode(score)
    back = tokenizer.decode(tokens)
    assert _notes_in_quarters(back) == _notes_in_quarters(score)
    assert [(t.numerator, t.denominator) for t in back.time_signatures] == [signature]
    assert back.tempos[0].qpm == pytest.approx(score.tempos[0].qpm, rel=1e-3)
    # and the token ids survive a second pass unchanged (tracks in slot order, as to_voices gives them)
    back.tracks = sorted(back.tracks, key=lambda t: t.program)
    assert tokenizer.encode(back).ids == tokens.ids


def test_vocabulary_has_every_element_the_issue_names(tokenizer):
    kinds = {token.split("_")[0] for token in tokenizer.vocab}
    assert {"Bar", "Position", "Pitch", "Duration", "Velocity", "Tempo", "TimeSig", "Program"} <= kinds
    assert len(Vocab.of(tokenizer).program) == MAX_VOICES


def test_saved_tokenizer_loads_identically(tokenizer, tmp_path):
    save_tokenizer(tokenizer, tmp_path)
    again = load_tokenizer(tmp_path)
    assert again.vocab == tokenizer.vocab
    score = _grid_score(tokenizer, 4, 4, seed=3)
    assert again.encode(score).ids == tokenizer.encode(score).ids


def test_voices_are_ordered_high_to_low_and_restored():
    score = symusic.Score(TPQ)
    for name, program, pitch in [("bass", 32, 40), ("flute", 73, 80), ("viola", 41, 60)]:
        track = symusic.Track(name, program, False)
        track.notes.append(symusic.Note(0, TPQ, pitch, 80))
        score.tracks.append(track)
    drums = symusic.Track("kit", 0, True)
    drums.notes.append(symusic.Note(0, TPQ, 36, 100))
    score.tracks.append(drums)
    voiced, voice_map = to_voices(score)
    assert [(t.program, t.notes[0].pitch) for t in voiced.tracks] == [(0, 80), (1, 60), (2, 40)]
    restored = voice_map.restore(voiced.copy())
    assert [(t.name, t.program) for t in restored.tracks] == [("bass", 32), ("flute", 73), ("viola", 41)]


def test_refusals_name_what_was_received():
    drums = symusic.Score(TPQ)
    kit = symusic.Track("kit", 0, True)
    kit.notes.append(symusic.Note(0, TPQ, 36, 100))
    drums.tracks.append(kit)
    with pytest.raises(ScoreError, match="only 1 drum track"):
        to_voices(drums, "beat.mid")
    many = symusic.Score(TPQ)
    for i in range(MAX_VOICES + 1):
        track = symusic.Track(f"t{i}", 0, False)
        track.notes.append(symusic.Note(0, TPQ, 60 + i, 80))
        many.tracks.append(track)
    with pytest.raises(ScoreError, match=f"{MAX_VOICES + 1} pitched tracks"):
        to_voices(many, "big.mid")
    odd = symusic.Score(TPQ)
    odd.time_signatures.append(symusic.TimeSignature(0, 11, 8))
    with pytest.raises(ScoreError, match="11/8"):
        check_time_signatures(odd, "odd.mid")
