"""Sketch extension with a tiny random model built here: the sketch kept note for
note, bars, metre, tempo and instruments kept, constraints, determinism, the
sliding window, refusals, the fast decoder, the n-gram, and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import symusic
from click.testing import CliRunner

from scorefarm.errors import ScoreError
from scorefarm.symbolic.extend import (
    ExtendOptions, assemble, bar_starts, estimate_key, extend_score, pitch_class_histogram, scale_pitch_classes,
)
from scorefarm.symbolic.fast_decoder import FastDecoder
from scorefarm.symbolic.model import ModelConfig, build_model, load_model, save_checkpoint
from scorefarm.symbolic.ngram import WittenBell
from scorefarm.symbolic.score_io import load_score, save_score, score_to_bytes
from scorefarm.symbolic.tokenizer import VoiceMap, VoiceTrack, build_tokenizer

TPQ = 480
C_MAJOR_TUNE = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 67]


@pytest.fixture(scope="module")
def tiny():
    import torch

    torch.set_num_threads(1)
    tokenizer = build_tokenizer()
    model = build_model(ModelConfig(vocab_size=len(tokenizer.vocab), hidden_size=32, num_layers=1, num_heads=2,
                                    intermediate_size=64, context=96), seed=0)
    with torch.no_grad():  # a flatter random model samples more varied tokens
        for p in model.parameters():
            p.mul_(3.0)
    return model, tokenizer


def sketch(bars: int = 4, numerator: int = 4, denominator: int = 4, qpm: float = 96.0, drums: bool = False):
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, numerator, denominator))
    score.tempos.append(symusic.Tempo(0, qpm))
    beat = TPQ * 4 // denominator
    melody = symusic.Track("Flute", 73, False)
    bass = symusic.Track("Cello", 42, False)
    for i in range(bars * numerator):
        melody.notes.append(symusic.Note(i * beat, beat, C_MAJOR_TUNE[i % 16], 90))
        if i % numerator == 0:
            bass.notes.append(symusic.Note(i * beat, beat * numerator, [48, 43, 45, 41][(i // numerator) % 4], 70))
    score.tracks.extend([melody, bass])
    if drums:
        kit = symusic.Track("Kit", 0, True)
        kit.notes.append(symusic.Note(0, 120, 36, 100))
        score.tracks.append(kit)
    return score


def test_sketch_kept_note_for_note_then_whole_bars(tiny):
    model, tokenizer = tiny
    original = sketch()
    result = extend_score(original, ExtendOptions(bars=3, seed=5), model=model, tokenizer=tokenizer)
    out = result.score
    bar = TPQ * 4
    assert result.sketch_bars == 4 and result.added_bars == 3 and result.added_notes > 0
    for before, after in zip(original.tracks, out.tracks):
        assert (after.name, after.program, after.is_drum) == (before.name, before.program, before.is_drum)
        kept = [n for n in after.notes if n.time < 4 * bar]
        assert [(n.time, n.duration, n.pitch, n.velocity) for n in kept] == \
            [(n.time, n.duration, n.pitch, n.velocity) for n in before.notes]
        for n in after.notes:
            assert n.time + n.duration <= 7 * bar  # ends on the bar line after the 3 new bars
    assert [(t.time, t.numerator, t.denominator) for t in out.time_signatures] == [(0, 4, 4)]
    assert [round(t.qpm, 3) for t in out.tempos] == [96.0]
    # and it survives the MIDI writer, ending on the final bar line
    assert [(m.time, m.text) for m in out.markers] == [(7 * bar, "end of extension")]
    from scorefarm.symbolic.score_io import load_score_bytes

    assert load_score_bytes(score_to_bytes(out), "out.mid").end() >= 7 * bar


def test_same_seed_same_bytes_other_seed_other_music(tiny):
    model, tokenizer = tiny
    a = extend_score(sketch(), ExtendOptions(bars=2, seed=1), model=model, tokenizer=tokenizer)
    b = extend_score(sketch(), ExtendOptions(bars=2, seed=1), model=model, tokenizer=tokenizer)
    c = extend_score(sketch(), ExtendOptions(bars=2, seed=2), model=model, tokenizer=tokenizer)
    assert score_to_bytes(a.score) == score_to_bytes(b.score)
    assert score_to_bytes(a.score) != score_to_bytes(c.score)


def test_key_and_range_constraints(tiny):
    model, tokenizer = tiny
    result = extend_score(sketch(), ExtendOptions(bars=4, seed=3, chromatic_confidence=1.01, range_margin=2),
                          model=model, tokenizer=tokenizer)
    assert result.key == "C major"
    allowed = scale_pitch_classes(0, "major")
    melody, bass = result.score.tracks
    new_melody = [n.pitch for n in melody.notes if n.time >= 4 * 4 * TPQ]
    new_bass = [n.pitch for n in bass.notes if n.time >= 4 * 4 * TPQ]
    assert new_melody or new_bass
    assert all(p % 12 in allowed for p in new_melody + new_bass)
    assert all(60 - 2 <= p <= 72 + 2 for p in new_melody)
    assert all(41 - 2 <= p <= 48 + 2 for p in new_bass)
    for track in result.score.tracks:  # monophonic in the sketch: monophonic in the extension
        notes = sorted((n.time, n.time + n.duration) for n in track.notes)
        assert all(b[0] >= a[1] for a, b in zip(notes, notes[1:])), track.name
    free = extend_score(sketch(), ExtendOptions(bars=4, seed=3, free=True, range_margin=2),
                        model=model, tokenizer=tokenizer)
    assert free.added_notes > 0


def test_other_metres_and_a_long_extension_slide_the_window(tiny):
    model, tokenizer = tiny  # context 96 tokens: 12 bars must slide several times
    result = extend_score(sketch(bars=2, numerator=6, denominator=8), ExtendOptions(bars=12, seed=0),
                          model=model, tokenizer=tokenizer)
    bar = TPQ * 4 * 6 // 8
    assert result.tokens_generated > 96
    assert max(n.time + n.duration for t in result.score.tracks for n in t.notes) <= 14 * bar
    assert [(t.numerator, t.denominator) for t in result.score.time_signatures] == [(6, 8)]


def test_drums_kept_with_a_note_and_bad_sketches_refused(tiny):
    model, tokenizer = tiny
    result = extend_score(sketch(drums=True), ExtendOptions(bars=1), model=model, tokenizer=tokenizer)
    assert result.score.tracks[2].is_drum and result.score.tracks[2].note_num() == 1
    assert any("drum" in note for note in result.notes)
    only_drums = sketch(drums=True)
    only_drums.tracks = [only_drums.tracks[2]]
    with pytest.raises(ScoreError, match="drum"):
        extend_score(only_drums, ExtendOptions(bars=1), model=model, tokenizer=tokenizer)
    odd = sketch()
    odd.time_signatures = [symusic.TimeSignature(0, 11, 8)]
    with pytest.raises(ScoreError, match="11/8"):
        extend_score(odd, ExtendOptions(bars=1), model=model, tokenizer=tokenizer)
    crowd = sketch()
    for i in range(8):
        extra = symusic.Track(f"extra {i}", 0, False)
        extra.notes.append(symusic.Note(0, TPQ, 50 + i, 80))
        crowd.tracks.append(extra)
    with pytest.raises(ScoreError, match="at most 8 voices"):
        extend_score(crowd, ExtendOptions(bars=1), model=model, tokenizer=tokenizer)
    with pytest.raises(ScoreError, match="top_p"):
        extend_score(sketch(), ExtendOptions(bars=1, top_p=0), model=model, tokenizer=tokenizer)


def test_a_sketch_longer_than_the_context_falls_back_and_says_so(tiny):
    model, tokenizer = tiny
    result = extend_score(sketch(bars=8), ExtendOptions(bars=1), model=model, tokenizer=tokenizer)
    assert any("prompted with its last" in note for note in result.notes)
    assert result.sketch_bars == 8


def test_fast_decoder_matches_the_transformers_forward(tiny):
    import torch

    model, _ = tiny
    ids = torch.randint(3, model.config.vocab_size, (1, 60), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = model(input_ids=ids).logits[0]
    outputs = {}
    for compiled in (True, False):  # TorchScript and plain Python: the same kernels, the same numbers
        decoder = FastDecoder(model, compiled=compiled)
        first = decoder.feed(ids[0, :40].tolist())
        assert torch.allclose(first, reference[39], atol=1e-4)
        steps = [decoder.feed([int(ids[0, t])]) for t in range(40, 60)]
        for t, logits in zip(range(40, 60), steps):
            assert torch.allclose(logits, reference[t], atol=1e-4)
        decoder.reset()  # a reset cache gives the same numbers again
        assert torch.equal(decoder.feed(ids[0, :40].tolist()), first)
        outputs[compiled] = torch.stack([first, *steps])
    assert torch.equal(outputs[True], outputs[False])


class FullContext:
    """The reference decoder: the whole sequence through the transformers forward at each step."""

    def __init__(self, model):
        self.model, self.ids, self.context = model, [], model.config.max_position_embeddings

    @property
    def length(self):
        return len(self.ids)

    def reset(self):
        self.ids = []

    def feed(self, ids):
        import torch

        self.ids += list(ids)
        with torch.no_grad():
            return self.model(input_ids=torch.tensor([self.ids])).logits[0, -1]


def test_kv_cached_loop_gives_the_full_context_tokens(tiny):
    """Greedy decoding (top-k 1) through the KV-cached decoder, sliding the window
    several times, gives the tokens of re-running the whole context every step."""
    from scorefarm.symbolic.decoding import sample_plan
    from scorefarm.symbolic.extend import plan_extension
    from scorefarm.symbolic.tokenizer import Vocab

    model, tokenizer = tiny
    vocab = Vocab.of(tokenizer)
    options = ExtendOptions(bars=6, seed=4, top_k=1)
    tokens = {}
    for name, decoder in (("cached", FastDecoder(model)), ("full", FullContext(model))):
        plan = plan_extension(sketch(bars=2), options, tokenizer, decoder.context)
        tokens[name] = sample_plan(plan, decoder, options, vocab.bar, vocab.eos)
    assert len(tokens["cached"]) > model.config.max_position_embeddings  # the window slid
    assert tokens["cached"] == tokens["full"]


def test_loop_and_logits_processors_apply_the_same_constraints(tiny):
    """Along a real extension, the fast loop's candidates (ids and adjusted logits)
    are exactly the tokens the logits processors (for ``generate``) leave finite."""
    import torch

    from scorefarm.symbolic.extend import plan_extension

    model, tokenizer = tiny
    rng = np.random.default_rng(0)
    for options in (ExtendOptions(bars=3, seed=2, chromatic_confidence=0.2), ExtendOptions(bars=3, free=True),
                    ExtendOptions(bars=2, seed=4, cadence=True)):
        generated = extend_score(sketch(), options, model=model, tokenizer=tokenizer)
        assert generated.added_notes > 0
        plan = plan_extension(sketch(), options, tokenizer, model.config.max_position_embeddings)
        fresh = plan_extension(sketch(), options, tokenizer, model.config.max_position_embeddings)
        pitch_steps = 0
        for _ in range(150):
            state = plan.state
            logits = torch.from_numpy(rng.normal(0, 3, len(tokenizer.vocab)).astype(np.float32))
            ids, z = plan.constraints.candidates(state, logits.numpy())
            scores = logits.unsqueeze(0)
            for processor in fresh.processors:
                processor.state = state  # the same stream position
                scores = processor(torch.zeros((1, state.seen), dtype=torch.long), scores)
            finite = np.flatnonzero(np.isfinite(scores[0].numpy()))
            assert finite.tolist() == ids.tolist()
            assert np.allclose(scores[0].numpy()[finite], z, atol=1e-5)
            pitch_steps += plan.constraints.pitch_step(state)
            state.feed(int(ids[rng.integers(len(ids))]))
        assert pitch_steps > 10


def test_same_seed_same_bytes_with_a_fresh_decoder_and_process_state(tiny):
    """Byte-identical output for a seed, whether the model's decoder is new or has
    run other extensions before (its cache and the compiled function reused)."""
    import copy

    model, tokenizer = tiny
    options = ExtendOptions(bars=5, seed=11)
    first = extend_score(sketch(), options, model=model, tokenizer=tokenizer)
    extend_score(sketch(bars=3), ExtendOptions(bars=2, seed=3), model=model, tokenizer=tokenizer)
    again = extend_score(sketch(), options, model=model, tokenizer=tokenizer)
    other = copy.deepcopy(model)
    other.__dict__.pop("_scorefarm_fast_decoder", None)
    fresh = extend_score(sketch(), options, model=other, tokenizer=tokenizer)
    assert score_to_bytes(first.score) == score_to_bytes(again.score) == score_to_bytes(fresh.score)


def test_key_estimate_and_bar_lines():
    hist = pitch_class_histogram(np.array([57, 60, 64, 57, 69, 62, 65, 64, 56]), None)
    assert estimate_key(hist) == (9, "minor")
    score = sketch(bars=2, numerator=3)
    assert bar_starts(score, 1440 * 2) == [0, 1440, 2880]


def test_witten_bell_is_a_distribution_and_learns():
    rng = np.random.default_rng(0)
    pieces = [np.array([1] + [3 + (i % 5) for i in range(k, k + 40)]) for k in range(30)]
    model = WittenBell(3, 16).fit(pieces, pad=0)
    dist = model.next_distribution(pieces[0][:10])
    assert dist.sum() == pytest.approx(1.0)
    assert model.nll(pieces[:3])[0] < WittenBell(1, 16).fit(pieces, pad=0).nll(pieces[:3])[0]
    # orders above 7 use hashed keys: still a distribution, consistent with the scorer, no jump in NLL
    deep = WittenBell(9, 16).fit(pieces, pad=0)
    assert deep.next_distribution(pieces[0][:12]).sum() == pytest.approx(1.0)
    logp = deep.token_log_probs([pieces[1]])
    assert logp[11] == pytest.approx(np.log(deep.next_distribution(pieces[1][:12])[pieces[1][12]]))
    assert deep.nll(pieces[:3])[0] < model.nll(pieces[:3])[0] + 0.05
    noise = [rng.integers(3, 16, size=40) for _ in range(3)]
    assert model.nll(noise)[0] > model.nll(pieces[:3])[0]


def test_cli_extend_writes_variations(tiny, tmp_path, monkeypatch):
    from scorefarm.cli.extend_commands import extend

    model, tokenizer = tiny
    save_checkpoint(tmp_path / "model", model, tokenizer, {"command": "test"})
    loaded, _, record = load_model(tmp_path / "model")
    assert record == {"command": "test"}
    path = tmp_path / "idea.mid"
    save_score(sketch(), path)
    runner = CliRunner()
    result = runner.invoke(extend, [str(path), "--bars", "2", "--variations", "2", "--seed", "7",
                                    "--model", str(tmp_path / "model"), "-o", str(tmp_path / "long.mid")])
    assert result.exit_code == 0, result.output
    first, second = tmp_path / "long_v1.mid", tmp_path / "long_v2.mid"
    assert load_score(first).tracks[0].name == "Flute"
    assert first.read_bytes() != second.read_bytes()
    again = runner.invoke(extend, [str(path), "--bars", "2", "--seed", "7", "--model", str(tmp_path / "model"),
                                   "-o", str(tmp_path / "again.mid")])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "again.mid").read_bytes() == first.read_bytes()
    help_text = runner.invoke(extend, ["--help"]).output
    assert "Example" in help_text and "compose extend" in help_text


def test_train_resume_and_fine_tune_on_a_user_folder(tmp_path):
    """A few steps of `compose train` on a tiny user corpus: checkpoint, resume, fine-tune."""
    from scorefarm.symbolic.corpus import BuildOptions, build_corpus
    from scorefarm.symbolic.train import TrainOptions, train

    cues = tmp_path / "cues"
    cues.mkdir()
    for i in range(40):
        score = sketch(bars=4)
        for track in score.tracks:
            for note in track.notes:
                note.pitch += i % 5
        save_score(score, cues / f"cue{i:02d}.mid")
    build = tmp_path / "build"
    manifest = build_corpus(build, BuildOptions(sources=(), midi_dirs=(str(cues),)))
    assert manifest["counts"]["train"] > 30
    options = TrainOptions(build_dir=str(build), out_dir=str(tmp_path / "m"), hidden_size=32, num_layers=1,
                           num_heads=2, intermediate_size=64, context=64, batch_size=2, max_steps=4,
                           warmup_steps=2, eval_every=2, eval_windows=4)
    first = train(options)
    assert first["step"] == 4 and first["finished"] and len(first["history"]) == 2
    longer = train(TrainOptions(**{**options.__dict__, "max_steps": 6}))  # resumes at step 4
    assert longer["step"] == 6 and longer["history"][:2] == first["history"]
    _, _, record = load_model(tmp_path / "m")
    assert record["step"] == 6 and record["parameters"] > 0 and record["data"]["train_pieces"] > 30
    tuned = train(TrainOptions(**{**options.__dict__, "out_dir": str(tmp_path / "tuned"),
                                  "init_from": str(tmp_path / "m"), "max_steps": 2, "learning_rate": 2e-4}))
    assert tuned["init_from"] == str(tmp_path / "m") and tuned["step"] == 2


def test_generated_notes_never_sound_one_pitch_twice_in_a_track():
    # the model may strike a pitch again while its earlier note still sounds, or twice at once:
    # a MIDI channel has one note per key, so the held one is cut and a double becomes one note
    sketch = symusic.Score(480)
    piano = symusic.Track("Piano", 0, False)
    piano.notes.append(symusic.Note(0, 1920, 60, 80))
    sketch.tracks.append(piano)
    new = symusic.Score(480)
    slot = symusic.Track("slot", 0, False)
    for time, duration, pitch in [(0, 960, 74), (240, 240, 74), (480, 480, 67), (480, 960, 67), (960, 480, 72)]:
        slot.notes.append(symusic.Note(time, duration, pitch, 90))
    new.tracks.append(slot)
    voices = VoiceMap((VoiceTrack(0, "Piano", 0, 60, 74),))
    out, added = assemble(sketch, voices, new, 1920, 1920 + 4 * 480)
    extension = sorted((n.time, n.end, n.pitch) for n in out.tracks[0].notes if n.time >= 1920)
    assert extension == [(1920, 2160, 74), (2160, 2400, 74), (2400, 3360, 67), (2880, 3360, 72)]
    assert added == 4


@pytest.mark.parametrize("args, path, text", [
    (["-o", "out.txt"], "out.txt", "must be a MIDI file (.mid or .midi), got '.txt'"),
    (["-o", "folder.mid"], "folder.mid", "is a folder"),
    (["-o", "folder"], "folder", "is a folder"),
    (["-o", "idea.mid"], "idea.mid", "would overwrite the input"),
    (["-o", "long.mid", "--variations", "3"], "long_v2.mid", "is a folder"),  # no v1 written before v2 fails
])
def test_cli_extend_refuses_a_bad_output_before_the_work(tmp_path, monkeypatch, args, path, text):
    from scorefarm.cli.main import cli
    from scorefarm.symbolic import extend as extend_module

    def work(*args, **kwargs):
        raise AssertionError("extended; the output should have been refused first")

    monkeypatch.setattr(extend_module, "extend_file", work)
    monkeypatch.chdir(tmp_path)
    save_score(sketch(), tmp_path / "idea.mid")
    for folder in ("folder.mid", "folder", "long_v2.mid"):
        (tmp_path / folder).mkdir()
    before = (tmp_path / "idea.mid").read_bytes()
    result = CliRunner().invoke(cli, ["extend", "idea.mid", "--bars", "2", *args])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"compose: error: {path}: ") and text in lines[0], result.stderr
    assert (tmp_path / "idea.mid").read_bytes() == before


def test_generated_notes_keep_each_tracks_closing_dynamic():
    # the corpus has one velocity throughout: the new bars take each track's velocity from the sketch's end
    sketch = symusic.Score(480)
    violas, flute = symusic.Track("Violas", 41, False), symusic.Track("Flute", 73, False)
    for k in range(12):
        violas.notes.append(symusic.Note(k * 160, 160, 55, 90 if k < 4 else 48))  # gets quieter
        flute.notes.append(symusic.Note(k * 160, 160, 79, 96))
    sketch.tracks.extend([violas, flute])
    new = symusic.Score(480)
    for slot in (0, 1):
        track = symusic.Track("slot", slot, False)
        track.notes.append(symusic.Note(0, 480, 57 + 20 * slot, 79))
        new.tracks.append(track)
    voices = VoiceMap((VoiceTrack(0, "Violas", 41, 55, 55), VoiceTrack(1, "Flute", 73, 79, 79)))
    out, _ = assemble(sketch, voices, new, 1920, 1920 + 1920)
    added = {t.name: [n.velocity for n in t.notes if n.time >= 1920] for t in out.tracks}
    assert added == {"Violas": [48], "Flute": [96]}


@pytest.mark.parametrize("seed", range(4))
def test_the_continuation_enters_on_its_first_downbeat(tiny, seed):
    # a random model happily opens the new bars with rests: the join must not be a silent bar
    model, tokenizer = tiny
    result = extend_score(sketch(bars=2, numerator=5), ExtendOptions(bars=2, seed=seed), model=model,
                          tokenizer=tokenizer)
    join = 2 * 5 * TPQ
    assert min(n.time for t in result.score.tracks for n in t.notes if n.time >= join) == join


def test_only_the_first_new_bar_must_start_on_its_downbeat():
    from scorefarm.symbolic.decoding import TS, Constraints, RemiState
    from scorefarm.symbolic.tokenizer import Vocab

    vocab = Vocab.of(build_tokenizer())
    ts = next(v for v in vocab.time_sig.values())
    per_bar = ts[0] * 8
    constraints = Constraints(vocab, [0], ts, per_bar, {0: (40, 80)}, bars_end=9, max_tokens_per_bar=200,
                              entry_bar=3)
    state = RemiState(vocab, per_bar)
    for _ in range(3):
        state.feed(vocab.bar)
    state.feed(next(i for i, v in vocab.time_sig.items() if v == ts))
    assert state.last == TS
    assert {vocab.position[i] for i in constraints.allowed(state)} == {0}
    state.feed(vocab.bar)
    state.feed(next(i for i, v in vocab.time_sig.items() if v == ts))
    assert len({vocab.position[i] for i in constraints.allowed(state)}) > 1


def test_a_cadence_ends_on_the_tonic_chord(tiny):
    model, tokenizer = tiny
    last_bar = 5 * 4 * TPQ  # a 4-bar sketch in C major and 2 new bars

    def last_bar_notes(options):
        score = extend_score(sketch(), options, model=model, tokenizer=tokenizer).score
        return [[(n.time, n.pitch) for n in t.notes if n.time >= last_bar] for t in score.tracks]

    free_endings = 0
    for seed in range(4):
        melody, bass = last_bar_notes(ExtendOptions(bars=2, seed=seed, cadence=True))
        assert melody or bass
        assert all(p % 12 in {0, 4, 7} for _, p in melody + bass), (seed, melody, bass)
        melody, bass = last_bar_notes(ExtendOptions(bars=2, seed=seed))
        free_endings += any(p % 12 not in {0, 4, 7} for _, p in melody + bass)
    assert free_endings  # without it the random model ends anywhere


def test_the_cadence_puts_the_bass_voices_on_the_tonic_in_the_last_bar():
    from scorefarm.symbolic.decoding import Constraints, RemiState
    from scorefarm.symbolic.tokenizer import Vocab

    vocab = Vocab.of(build_tokenizer())
    ts_id, ts = next(iter(vocab.time_sig.items()))
    per_bar = ts[0] * 8
    position = {v: i for i, v in vocab.position.items()}
    slot_token = {v: i for i, v in sorted(vocab.program.items())}
    ranges = {0: (60, 84), 1: (36, 60)}
    constraints = Constraints(vocab, [0, 1], ts, per_bar, ranges, bars_end=4, max_tokens_per_bar=200,
                              cadence=(2, {2, 6, 9}, {1}))  # D major's tonic triad, voice 1 the bass
    logits = np.zeros(vocab.size)

    def pitch_classes(bars: int, at: int, voice: int) -> set[int]:
        state = RemiState(vocab, per_bar)
        for _ in range(bars):
            state.feed(vocab.bar)
        for token in (ts_id, position[at], slot_token[voice]):
            state.feed(token)
        ids, _ = constraints.candidates(state, logits)
        return {vocab.pitch[i] % 12 for i in ids}

    assert pitch_classes(3, 0, 1) == pitch_classes(3, 4, 1) == {2}  # the last bar (bars_end - 1), the bass
    assert pitch_classes(3, 0, 0) == pitch_classes(3, 4, 0) == {2, 6, 9}
    assert len(pitch_classes(2, 0, 1)) == 12  # the bar before is free


def test_the_cadence_bass_is_the_lowest_voice_of_several():
    from scorefarm.symbolic.extend import _cadence
    from scorefarm.symbolic.tokenizer import to_voices

    three = sketch()
    viola = symusic.Track("Viola", 41, False)
    viola.notes.extend(symusic.Note(i * TPQ, TPQ, 55, 70) for i in range(16))  # under the flute, over the cello
    three.tracks.append(viola)
    voiced, voices = to_voices(three, "sketch")
    slot = {v.name: v.slot for v in voices.voices}
    assert _cadence(9, "minor", voiced) == (9, {9, 0, 4}, {slot["Cello"]})  # the viola stays free for the third
    piano_only = sketch()
    piano_only.tracks.pop(0)
    voiced, _ = to_voices(piano_only, "sketch")
    assert _cadence(0, "major", voiced)[2] == set()  # one voice: its chords carry the whole triad


def test_a_cadence_holds_each_tracks_last_notes_to_the_end():
    sketch_score = symusic.Score(480)
    for name in ("Strings", "Horn"):
        track = symusic.Track(name, 48, False)
        track.notes.append(symusic.Note(0, 1920, 60, 80))
        sketch_score.tracks.append(track)
    new = symusic.Score(480)
    strings, horn = symusic.Track("slot", 0, False), symusic.Track("slot", 1, False)
    for time, duration, pitch in [(0, 480, 48), (1920, 240, 48), (2160, 240, 52), (2160, 240, 55)]:
        strings.notes.append(symusic.Note(time, duration, pitch, 90))
    horn.notes.append(symusic.Note(480, 480, 67, 90))  # its last note is in the bar before
    new.tracks.extend([strings, horn])
    voices = VoiceMap((VoiceTrack(0, "Strings", 48, 48, 60), VoiceTrack(1, "Horn", 60, 60, 72)))
    end = 1920 + 2 * 1920
    held, _ = assemble(sketch_score, voices, new, 1920, end, hold_from=1920 + 1920)
    plain, _ = assemble(sketch_score, voices, new, 1920, end)
    notes = lambda score, k: [(n.time, n.end, n.pitch) for n in score.tracks[k].notes if n.time >= 1920]  # noqa: E731
    assert notes(held, 0) == [(1920, 2400, 48), (3840, 4080, 48), (4080, end, 52), (4080, end, 55)]
    assert notes(plain, 0)[-2:] == [(4080, 4320, 52), (4080, 4320, 55)]
    assert notes(held, 1) == notes(plain, 1) == [(2400, 2880, 67)]


def test_a_sketch_with_nothing_to_continue_is_refused_before_the_model_loads(tmp_path, monkeypatch):
    import scorefarm.symbolic.model as model_module
    from scorefarm.symbolic.extend import extend_file

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded for a sketch that is refused")

    monkeypatch.setattr(model_module, "load_model", no_model)
    drums = symusic.Score(480)
    track = symusic.Track("Kit", 0, True)
    track.notes.append(symusic.Note(0, 240, 36, 100))
    drums.tracks.append(track)
    sketch = tmp_path / "drums.mid"
    save_score(drums, sketch)
    with pytest.raises(ScoreError, match="no pitched notes to continue"):
        extend_file(sketch, tmp_path / "out.mid")
    assert not (tmp_path / "out.mid").exists()


def test_a_line_changing_program_keeps_its_changes_in_the_extension(tiny, tmp_path, monkeypatch):
    """A violin going arco -> pizzicato -> arco is one line, and the written file keeps its changes."""
    import scorefarm.symbolic.model as model_module
    from scorefarm.symbolic.extend import extend_file
    from scorefarm.symbolic.score_io import load_score_and_programs

    model, tokenizer = tiny
    monkeypatch.setattr(model_module, "load_model", lambda *args, **kwargs: (model, tokenizer, None))
    score = sketch(bars=4)
    changes = {0: [(TPQ * 4, 74), (TPQ * 8, 73)]}  # the flute line: bar 2 on another program, bar 3 back
    path = tmp_path / "sketch.mid"
    save_score(score, path, programs=changes)
    out = tmp_path / "out.mid"
    extend_file(path, out, ExtendOptions(bars=2, seed=1))
    written, programs = load_score_and_programs(out)
    assert [(t.name, t.program) for t in written.tracks] == [("Flute", 73), ("Cello", 42)]
    assert programs == changes


def test_every_voice_sounding_at_the_sketch_end_sounds_in_each_new_bar(tiny):
    """keep_voices (the default): a voice of the sketch's last bar neither stops in the new
    bars nor drops out of one; without it the random model leaves voices silent."""
    model, tokenizer = tiny
    score = sketch(bars=4)
    end = 4 * 4 * TPQ
    bar = 4 * TPQ

    def silent_pairs(options):
        out = extend_score(score, options, model=model, tokenizer=tokenizer).score
        return [(t.name, j) for t in out.tracks for j in range(4)
                if not any(n.time < end + (j + 1) * bar and n.time + n.duration > end + j * bar for n in t.notes)]

    for seed in range(4):
        assert silent_pairs(ExtendOptions(bars=4, seed=seed)) == []
    assert any(silent_pairs(ExtendOptions(bars=4, seed=seed, keep_voices=False)) for seed in range(4))


def test_a_kept_voice_comes_in_no_later_than_it_did_in_the_sketch(tiny):
    """The sketch's cello strikes every downbeat: in each new bar it sounds from the bar line
    (struck there or held into the bar), not put off to a late sixteenth, as the random model
    does when only the bar's end forces it in."""
    model, tokenizer = tiny
    score = sketch(bars=4)
    end, bar = 4 * 4 * TPQ, 4 * TPQ

    def late_bars(options):
        out = extend_score(score, options, model=model, tokenizer=tokenizer).score
        cello = next(t for t in out.tracks if t.name == "Cello")
        return [j for j in range(4)
                if not any(n.time <= end + j * bar < n.time + n.duration or n.time == end + j * bar
                           for n in cello.notes)]

    for seed in range(4):
        assert late_bars(ExtendOptions(bars=4, seed=seed)) == []
    assert any(late_bars(ExtendOptions(bars=4, seed=seed, keep_voices=False)) for seed in range(4))


def test_entry_deadlines_are_the_latest_first_entry_of_a_bar():
    from scorefarm.symbolic.extend import entry_deadlines

    score = symusic.Score(TPQ)
    bar = 4 * TPQ
    early = symusic.Track("Early", 0, False)  # strikes each downbeat
    late = symusic.Track("Late", 1, False)  # comes in on beat 1, then beat 3, then is held into bar 3
    rests = symusic.Track("Rests", 2, False)  # only held into bars
    for k in range(3):
        early.notes.append(symusic.Note(k * bar, TPQ, 60, 80))
    late.notes.extend([symusic.Note(0, TPQ, 50, 80), symusic.Note(bar + 2 * TPQ, bar, 50, 80)])
    rests.notes.append(symusic.Note(TPQ, 3 * bar, 40, 80))
    score.tracks.extend([early, late, rests])
    per_bar = 4 * 8  # 8 positions a beat
    deadlines = entry_deadlines(score, [0, bar, 2 * bar, 3 * bar], (4, 4), per_bar)
    assert deadlines == {0: 0, 1: 16, 2: 8}
