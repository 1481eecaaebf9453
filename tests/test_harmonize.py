"""Four-part harmonization: the melody on top, ranges, faults, styles, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import symusic

from scorefarm.errors import InputError
from scorefarm.symbolic.bach_corpus import is_held_out
from scorefarm.symbolic.chorale_model import load_model
from scorefarm.symbolic.harmonize import HarmonizeOptions, harmonize_file, harmonize_melody, harmonize_score
from scorefarm.symbolic.melody import HarmonizeError
from scorefarm.symbolic.score_io import score_to_bytes
from scorefarm.symbolic.voiceleading import CheckOptions, check_voices
from scorefarm.symbolic.voices import SATB, voice_ranges, voices_from_score

# "Ode to Joy", its second phrase, in D major, 4/4, 16 beats
ODE = [66, 66, 67, 69, 69, 67, 66, 64, 62, 62, 64, 66, 64, 62, 62]
ODE_NOTES = [(i, 1.0, p, 90) for i, p in enumerate(ODE[:14])] + [(14, 2.0, 62, 90)]
# a minor-key tune with a half-note ending, 3/4
MINOR = [(0, 1, 69, 80), (1, 1, 72, 80), (2, 1, 71, 80), (3, 2, 69, 80), (5, 1, 68, 80), (6, 1, 69, 80),
         (7, 1, 71, 80), (8, 1, 72, 80), (9, 1, 71, 80), (10, 1, 69, 80), (11, 1, 68, 80), (12, 3, 69, 80)]


@pytest.fixture
def ode(make_score):
    return make_score(ODE_NOTES, bpm=96)


def test_four_named_tracks_with_the_melody_untouched(ode):
    out, notes = harmonize_score(ode)
    assert [t.name for t in out.tracks] == list(SATB)
    assert {t.program for t in out.tracks} == {52}  # GM Choir Aahs
    soprano = [(n.time, n.duration, n.pitch, n.velocity) for n in out.tracks[0].notes]
    assert soprano == [(n.time, n.duration, n.pitch, n.velocity) for n in ode.tracks[0].notes]
    assert out.tempos[0].qpm == pytest.approx(96.0)
    assert (out.time_signatures[0].numerator, out.time_signatures[0].denominator) == (4, 4)
    assert any("D major" in n for n in notes)


def test_voices_stay_in_range_and_without_parallels(ode):
    result = harmonize_melody(ode)
    ranges = voice_ranges("chorale")
    for part in result.voices.parts[1:]:
        low, high = ranges[part.name]
        assert all(low <= n.pitch <= high for n in part.notes), part.name
    report = check_voices(result.voices, CheckOptions(key=result.key))
    bad = {"parallel_fifths", "parallel_octaves", "antiparallel_fifths", "antiparallel_octaves", "voice_crossing"}
    assert report.count(bad) == 0
    assert result.key == (2, "major")
    # every beat is covered by all four voices
    for part in result.voices.parts[1:]:
        assert part.notes[0].start == 0 and part.notes[-1].end == 16 * 480


def test_harmony_fits_the_melody(ode):
    result = harmonize_melody(ode)
    for slot, (bass, pcs) in zip(result.slots, result.states):
        assert (slot.sop - result.key[0]) % 12 in pcs  # the soprano is a chord tone
    assert result.states[-1][0] == 0  # ends on the tonic in the bass


def test_minor_melody_in_three_four(make_score):
    result = harmonize_melody(make_score(MINOR, time_signature=(3, 4)))
    assert result.key == (9, "minor")
    assert len(result.slots) == 15
    assert result.states[-1] == (0, (0, 3, 7)) or result.states[-1][0] == 0


def test_same_input_same_bytes(ode):
    first, _ = harmonize_score(ode, HarmonizeOptions(style="film"))
    second, _ = harmonize_score(ode, HarmonizeOptions(style="film"))
    assert score_to_bytes(first) == score_to_bytes(second)


def test_given_key_is_used(ode):
    result = harmonize_melody(ode, HarmonizeOptions(key=(11, "minor")))
    assert result.key == (11, "minor")
    assert any("as given" in n for n in result.notes)


def test_film_style_pedal_open_voicing_and_strings(ode, make_score):
    out, notes = harmonize_score(ode, HarmonizeOptions(style="film"))
    assert {t.program for t in out.tracks} == {48}  # GM String Ensemble 1
    assert any("pedal" in n for n in notes)
    bass = out.tracks[3].notes
    assert bass[0].time == 0 and bass[0].duration == 4 * 480 and bass[0].pitch % 12 == 2  # a D pedal, one bar
    # a tune high enough for either style to open up (the Ode a fifth higher): film style
    # spreads more than an octave from soprano to tenor on most beats, chorale style seldom
    tune = make_score([(on, length, pitch + 7, velocity) for on, length, pitch, velocity in ODE_NOTES])

    def open_beats(result) -> int:
        soprano, tenor = result.voices.parts[0].notes, result.voices.parts[2].notes
        at = lambda notes, tick: next(n.pitch for n in notes if n.start <= tick < n.end)  # noqa: E731
        return sum(at(soprano, slot.start) - at(tenor, slot.start) > 12 for slot in result.slots)

    film, chorale = harmonize_melody(tune, HarmonizeOptions(style="film")), harmonize_melody(tune)
    assert open_beats(film) >= 12 > 6 >= open_beats(chorale)


def test_open_position_is_rewarded_only_with_the_tenor_clear_of_the_bass():
    from scorefarm.symbolic.voicing import VoicingWeights, voicing_scores

    model = load_model().modes["major"]
    state = model.states.index((0, (0, 4, 7)))
    voicings = np.array([[76, 67, 60, 48],   # C: open, tenor an octave over the bass
                         [76, 67, 60, 60],   # open, but tenor and bass in unison
                         [76, 72, 67, 48]])  # close position
    plain = voicing_scores(model, state, voicings, 0, VoicingWeights())
    rewarded = voicing_scores(model, state, voicings, 0, VoicingWeights(open_position=3.0))
    assert list(rewarded - plain) == [3.0, 0.0, 0.0]


def test_passing_tones_fill_thirds(ode):
    plain = harmonize_melody(ode, HarmonizeOptions(embellish="none"))
    passing = harmonize_melody(ode, HarmonizeOptions(embellish="passing"))
    count = lambda r: sum(len(p.notes) for p in r.voices.parts[1:])  # noqa: E731
    assert count(passing) > count(plain)
    report = check_voices(passing.voices, CheckOptions(key=passing.key))
    assert report.count({"parallel_fifths", "parallel_octaves"}) == 0


def _satb(tpq, alto, tenor, bass):
    from scorefarm.symbolic.voices import Part, VNote, Voices

    line = lambda name, pitches: Part(name, [VNote(i * tpq, (i + 1) * tpq, p) for i, p in enumerate(pitches)])  # noqa: E731
    return Voices(tpq, [line("Soprano", [79, 81, 84]), line("Alto", alto), line("Tenor", tenor), line("Bass", bass)])


def test_learned_passing_tones_fill_only_the_thirds_bach_fills():
    from scorefarm.symbolic.embellish import add_passing_tones

    rates = {"Alto": {"-4": 0.34, "-3": 0.79}, "Tenor": {"3": 0.66}, "Bass": {"3": 0.88, "4": 0.81}}
    # C major: the alto falls a major third (E -> C), the tenor rises a minor third (A -> C), the bass a
    # major third (C -> E)
    voices = _satb(480, [76, 72, 72], [57, 60, 60], [48, 52, 52])
    learned = add_passing_tones(voices, (0, "major"), rates=rates)
    every = add_passing_tones(voices, (0, "major"))
    pitches = lambda v, part: [n.pitch for n in v.parts[part].notes]  # noqa: E731
    assert pitches(learned, 3) == [48, 50, 52, 52]  # the bass walks its third: D on the half beat
    assert pitches(learned, 2) == [57, 59, 60, 60]  # so does the tenor (B)
    assert pitches(learned, 1) == [76, 72, 72]  # Bach walks a falling major third in the alto 34 % of the time
    assert pitches(every, 1) == [76, 74, 72, 72]  # without the rates every third is walked
    assert learned.parts[3].notes[1].start == 240 and learned.parts[3].notes[1].end == 480


def test_passing_rates_are_learned_from_the_chorales():
    from scorefarm.symbolic.bach_corpus import Chorale
    from scorefarm.symbolic.embellish import passing_rates

    walk = [(0.0, 0.5, 48), (0.5, 0.5, 50), (1.0, 1.0, 52)]  # C-D-E: a rising third walked
    leap = [(0.0, 1.0, 48), (1.0, 1.0, 52)]  # C-E: the same third leapt
    def chorale(bass):
        voices = {"Soprano": [(0.0, 2.0, 72)], "Alto": [(0.0, 2.0, 67)], "Tenor": [(0.0, 2.0, 64)], "Bass": bass}
        return Chorale("x", "x.krn", 0, "major", (4, 4), 0.0, voices, ())
    rates = passing_rates([chorale(walk), chorale(walk), chorale(leap)])
    assert rates["Bass"]["4"] == pytest.approx(2 / 3, abs=1e-4)
    assert rates["Alto"]["4"] == 0.0 and rates["Bass"]["-4"] == 0.0
    assert load_model().passing["Bass"]["3"] > 0.5  # the shipped model carries them


def test_chords_in_the_melody_take_the_top_note(make_score):
    notes = [(0, 1, 72, 80), (0, 1, 64, 80), (1, 1, 74, 80), (1, 1, 67, 80), (2, 2, 72, 80)]
    result = harmonize_melody(make_score(notes))
    assert [n.pitch for n in result.voices.parts[0].notes] == [72, 74, 72]
    assert any("2 chord(s)" in n and "top note" in n for n in result.notes)


def test_melody_far_out_of_range_is_moved_by_octaves(make_score):
    low = [(i, 1, p - 24, 80) for i, p in enumerate(ODE)]
    result = harmonize_melody(make_score(low))
    assert [n.pitch for n in result.voices.parts[0].notes] == ODE
    assert any("moved it up 2 octaves" in n for n in result.notes)


def test_melody_too_wide_says_what_stays_outside(make_score):
    wide = [(0, 1, 48, 80), (1, 1, 60, 80), (2, 1, 84, 80), (3, 1, 72, 80)]
    result = harmonize_melody(make_score(wide), HarmonizeOptions(check=False))
    assert any("stay outside the soprano range" in n for n in result.notes)


def test_no_notes_is_an_input_error(make_score):
    empty = make_score([])
    with pytest.raises(HarmonizeError, match="no pitched notes") as info:
        harmonize_score(empty)
    assert isinstance(info.value, InputError)
    drums = make_score([(0, 1, 36, 80)], is_drum=True)
    with pytest.raises(HarmonizeError, match="1 of them drums"):
        harmonize_score(drums)


def test_bad_options_are_refused():
    with pytest.raises(HarmonizeError, match="allowed: chorale, film"):
        HarmonizeOptions(style="jazz")
    with pytest.raises(HarmonizeError, match="key"):
        HarmonizeOptions(key=(12, "major"))


def test_harmonize_file_round_trip(tmp_path: Path, ode):
    source = tmp_path / "ode.mid"
    ode.dump_midi(str(source))
    notes = harmonize_file(source, tmp_path / "out.mid")
    back = symusic.Score(str(tmp_path / "out.mid"))
    assert [t.name for t in back.tracks] == list(SATB)
    assert len(voices_from_score(back).parts) == 4
    assert notes
    with pytest.raises(InputError, match="MIDI file"):
        harmonize_file(source, tmp_path / "out.wav")


def test_shipped_model_never_saw_a_held_out_chorale():
    model = load_model()
    assert model.chorales and not [c for c in model.chorales if is_held_out(c)]
    assert set(model.modes) == {"major", "minor"}
    assert model.modes["major"].size > 100


def test_melody_net_gives_a_distribution_per_beat():
    from scorefarm.symbolic.bass_model import Context

    major = load_model().modes["major"]
    seq = [Context(p, 1, int(i % 4 == 0)) for i, p in enumerate(ODE)] + [Context(None, 0, 0)]
    log_probs = major.net.log_probs(seq, 2, "major")
    assert log_probs.shape == (len(seq), major.size)
    assert np.allclose(np.exp(log_probs).sum(axis=1), 1.0)
    bass = major.net.bass_log_probs(seq, 2)
    assert bass.shape == (len(seq), 12) and np.allclose(np.exp(bass).sum(axis=1), 1.0)


def test_lower_voices_rest_with_the_melody_in_chorale_style(make_score):
    # two phrases with a beat's rest between them (beat 4 of bar 1)
    notes = [(0, 1, 72, 80), (1, 1, 74, 80), (2, 1, 76, 80), (4, 1, 77, 80), (5, 1, 76, 80), (6, 2, 72, 80)]
    chorale = harmonize_melody(make_score(notes))
    for part in chorale.voices.parts[1:]:
        assert not [n for n in part.notes if n.start < 4 * 480 and n.end > 3 * 480], part.name
        assert part.notes[0].start == 0 and part.notes[-1].end == 8 * 480
    film = harmonize_melody(make_score(notes), HarmonizeOptions(style="film"))
    assert any(n.start < 4 * 480 and n.end > 3 * 480 for n in film.voices.parts[3].notes)  # strings hold through


def test_slots_know_the_mid_beat_pitch_and_the_beat_in_the_bar(make_score):
    notes = [(0, 0.5, 72, 80), (0.5, 0.5, 74, 80), (1, 1, 76, 80), (2, 1, 77, 80), (3, 1, 79, 80), (4, 1, 72, 80)]
    result = harmonize_melody(make_score(notes))
    assert [s.sop_mid for s in result.slots] == [74, 76, 77, 79, 72]
    assert [s.beat_in_bar for s in result.slots] == [0, 1, 2, 3, 0]


def test_an_ensemble_of_nets_averages_their_probabilities():
    from scorefarm.symbolic.bass_model import Context
    from scorefarm.symbolic.chorale_net import FEATURES, ChoraleNet

    rng = np.random.default_rng(0)
    hidden, sizes = 4, (5, 6)

    def member() -> dict:
        w = {"inp.weight": rng.normal(size=(hidden, FEATURES)), "inp.bias": rng.normal(size=hidden),
             "bass.weight": rng.normal(size=(12, 2 * hidden)), "bass.bias": rng.normal(size=12)}
        for suffix in ("", "_reverse"):
            w[f"gru.weight_ih_l0{suffix}"] = rng.normal(size=(3 * hidden, hidden))
            w[f"gru.weight_hh_l0{suffix}"] = rng.normal(size=(3 * hidden, hidden))
            w[f"gru.bias_ih_l0{suffix}"] = rng.normal(size=3 * hidden)
            w[f"gru.bias_hh_l0{suffix}"] = rng.normal(size=3 * hidden)
        for head, size in enumerate(sizes):
            w[f"heads.{head}.weight"] = rng.normal(size=(size, 2 * hidden))
            w[f"heads.{head}.bias"] = rng.normal(size=size)
        return w

    a, b = member(), member()
    seq = [Context(p, 1, int(i % 4 == 0), p, i % 4) for i, p in enumerate(ODE[:6])]
    both = ChoraleNet([a, b]).log_probs(seq, 2, "minor")
    single = [np.exp(ChoraleNet([w]).log_probs(seq, 2, "minor")) for w in (a, b)]
    assert both.shape == (6, 6)
    assert np.allclose(np.exp(both), (single[0] + single[1]) / 2)
    assert ChoraleNet([a]).outer_log_probs(seq, 2) is None  # a net without that head says so


def test_a_stacked_net_with_a_motion_head_survives_safetensors(tmp_path):
    from scorefarm.symbolic.bass_model import Context
    from scorefarm.symbolic.chorale_net import FEATURES, MOTION, ChoraleNet, _encode, save

    rng = np.random.default_rng(1)
    hidden = 3
    w = {"inp.weight": rng.normal(size=(hidden, FEATURES)), "inp.bias": rng.normal(size=hidden),
         "motion.weight": rng.normal(size=(2 * MOTION + 1, 2 * hidden)), "motion.bias": rng.normal(size=2 * MOTION + 1),
         "heads.0.weight": rng.normal(size=(4, 2 * hidden)), "heads.0.bias": rng.normal(size=4)}
    for layer, width in ((0, hidden), (1, 2 * hidden)):  # the second layer reads both directions of the first
        for suffix in ("", "_reverse"):
            w[f"gru.weight_ih_l{layer}{suffix}"] = rng.normal(size=(3 * hidden, width))
            w[f"gru.weight_hh_l{layer}{suffix}"] = rng.normal(size=(3 * hidden, hidden))
            w[f"gru.bias_ih_l{layer}{suffix}"] = rng.normal(size=3 * hidden)
            w[f"gru.bias_hh_l{layer}{suffix}"] = rng.normal(size=3 * hidden)
    w = {k: v.astype(np.float32).astype(np.float64) for k, v in w.items()}
    seq = [Context(p, 1, int(i % 4 == 0), p, i % 4) for i, p in enumerate(ODE[:5])]
    net = ChoraleNet([w])
    motion = net.motion_log_probs(seq, 2)
    assert motion.shape == (5, 2 * MOTION + 1) and np.allclose(np.exp(motion).sum(axis=1), 1)
    save({"members": [{"hidden": hidden, "weights": {k: _encode(v) for k, v in w.items()}}]}, tmp_path / "net.safetensors")
    again = ChoraleNet.load(tmp_path / "net.safetensors")
    assert np.array_equal(again.log_probs(seq, 2, "major"), net.log_probs(seq, 2, "major"))
    assert np.array_equal(again.motion_log_probs(seq, 2), motion)


def test_members_trained_side_by_side_equal_members_trained_in_turn(monkeypatch):
    import scorefarm.symbolic.chorale_net as chorale_net
    from scorefarm.symbolic.bass_model import Context

    monkeypatch.setattr(chorale_net, "HIDDEN", 4)
    monkeypatch.setattr(chorale_net, "EPOCHS", 2)
    seq = [Context(p, 1, int(i % 4 == 0), p, i % 4) for i, p in enumerate(ODE)]
    n = len(seq)
    sequences = [(seq, 2, "major", [i % 3 for i in range(n)], [(p - 2) % 12 for p in ODE], [12 + i % 5 for i in range(n)]),
                 (seq[:8], 2, "minor", [0] * 8, [2] * 8, [15] * 8)]
    sizes = {"major": 3, "minor": 2}
    in_turn = chorale_net.train_ensemble(sequences, sizes, members=2)
    side_by_side = chorale_net.train_ensemble(sequences, sizes, members=2, processes=2)
    assert in_turn == side_by_side
    assert in_turn["members"][0]["hidden"] == 4 and in_turn["members"][0] != in_turn["members"][1]


def test_a_borrowed_chord_is_voiced_like_the_chord_it_borrows_from():
    from scorefarm.symbolic.chorale_model import load_model
    from scorefarm.symbolic.film import film_model

    chorale, film = load_model().modes["major"], film_model().modes["major"]
    major_iv, minor_iv = (5, (0, 5, 9)), (5, (0, 5, 8))  # IV and the borrowed iv (pitch classes above the tonic)
    IV, iv = chorale.states.index(major_iv), film.states.index(minor_iv)
    for sop_iv, sop_IV in ((0, 0), (5, 5), (8, 9)):  # the soprano on the fifth, the root, the third
        theirs, ours = chorale.inner[f"{IV}:{sop_IV}"], film.inner[f"{iv}:{sop_iv}"]
        swap = {9: 8, 0: 0, 5: 5}  # IV's third stands for iv's
        shared = [(a, t) for a, t in theirs if a in swap and t in swap]  # (the table also holds folded sonorities' tones)
        assert shared
        for a, t in shared:
            assert ours[(swap[a], swap[t])] == theirs[(a, t)]
    half_diminished = film.states.index((2, (0, 2, 5, 8)))  # ii-half-diminished-7, borrowed from minor
    table = film.inner[f"{half_diminished}:5"]
    with_seventh = [v for (a, t), v in table.items() if 0 in (a, t)]  # its seventh: neither favoured nor refused
    assert len(set(with_seventh)) == 1 and min(table.values()) <= with_seventh[0] <= max(table.values())


@pytest.mark.parametrize("time_signature, beat, rhythm, last, spans", [
    ((4, 4), 1.0, "half-bar", 4, [[0, 1], [2, 3], [4, 5], [6], [7], [8, 9, 10, 11]]),
    ((4, 4), 1.0, "bar", 4, [[0, 1, 2, 3], [4, 5, 6], [7], [8, 9, 10, 11]]),
    ((3, 4), 1.0, "half-bar", 3, [[0, 1, 2], [3, 4, 5], [6], [7], [8, 9, 10]]),  # a bar of three is not split
    ((5, 4), 1.0, "half-bar", 2, [[0, 1, 2], [3, 4], [5, 6], [7], [8, 9]]),  # 3 + 2
    ((6, 8), 1.5, "half-bar", 2, [[i] for i in range(8)] + [[8, 9]]),  # a dotted quarter each
    ((4, 4), 1.0, "beat", 4, [[i] for i in range(12)]),
])
def test_harmonic_rhythm_groups_beats_by_the_metre(make_score, time_signature, beat, rhythm, last, spans):
    from scorefarm.symbolic.melody import chord_spans, extract_melody, melody_slots

    # eight beats, then a last note of ``last`` beats: the cadence's approach (beat 7) gets a
    # chord of its own, and the last note keeps one chord
    notes = [(i * beat, beat, 72 + i % 3, 80) for i in range(8)] + [(8 * beat, last * beat, 72, 80)]
    melody = extract_melody(make_score(notes, time_signature=time_signature), (60, 81))
    assert chord_spans(melody, melody_slots(melody), rhythm) == spans


def test_an_upbeat_is_one_span_and_no_span_crosses_a_bar_line(make_score):
    from scorefarm.symbolic.melody import chord_spans, extract_melody, melody_slots

    notes = [(3 + i, 1.0, 72, 80) for i in range(6)]  # a one-beat upbeat, then a bar and a beat
    melody = extract_melody(make_score(notes), (60, 81))
    slots = melody_slots(melody)
    assert [s.beat_in_bar for s in slots] == [3, 0, 1, 2, 3, 0]
    assert chord_spans(melody, slots, "half-bar") == [[0], [1, 2], [3], [4], [5]]  # 3 + 4: the cadence
    assert chord_spans(melody, slots, "bar") == [[0], [1, 2, 3], [4], [5]]
    with pytest.raises(HarmonizeError, match="allowed: beat, half-bar, bar"):
        HarmonizeOptions(harmonic_rhythm="quaver")


def test_film_style_holds_each_chord_for_half_a_bar_under_the_melody(ode):
    film = harmonize_melody(ode, HarmonizeOptions(style="film"))
    tonic = film.key[0]
    assert len(film.slots) == 16 and len(film.chords) == len(film.states) == 9
    # half bars, and the cadence quickens: a chord on beat 13, the approach to the last note on beat 14
    assert [c.start // 480 for c in film.chords] == [0, 2, 4, 6, 8, 10, 12, 13, 14]
    assert any("9 chords over 16 beats (harmonic rhythm: half-bar)" in n for n in film.notes)
    for chord, (_, pcs) in zip(film.chords, film.states):
        assert (chord.sop - tonic) % 12 in pcs  # the melody's note where the chord starts is one of its tones
    starts = {c.start for c in film.chords}
    for part in film.voices.parts[1:]:  # the lower voices sound only where a chord starts, and hold
        assert {n.start for n in part.notes} <= starts, part.name
    chorale = harmonize_melody(ode)
    assert len(chorale.chords) == len(chorale.slots) == 16  # a chord a beat
    bar = harmonize_melody(ode, HarmonizeOptions(style="film", harmonic_rhythm="bar"))
    assert [c.start // 480 for c in bar.chords] == [0, 4, 8, 12, 13, 14]


def test_a_held_chord_weighs_each_melody_note_it_does_not_contain():
    from types import SimpleNamespace

    from scorefarm.symbolic.chord_search import _heads, _held_emissions, _melody_under
    from scorefarm.symbolic.melody import Slot

    states = [(0, (0, 4, 7)), (0, (0, 2, 4, 7))]  # C major and C add9, in C
    model = SimpleNamespace(size=2, states=states, log_final=np.zeros(2))
    beats = [Slot(0, 480, 64, 1, 1), Slot(480, 960, 64, 1, 0)]
    chords = [Slot(0, 960, 64, 1, 1)]  # one chord over the two beats
    options = HarmonizeOptions()

    def cost(second: int) -> list[float]:  # E on the first beat, then ``second``
        under = _melody_under(chords, [(0, 480, 64), (480, 960, second)])
        return list(-_held_emissions(model, np.zeros((2, 2)), _heads(beats, [[0, 1]]), [[0, 1]], under, 0, options)[0])

    assert cost(67) == [0.0, 0.0]  # G: a chord tone of both
    assert cost(62) == [options.held_colour, 0.0]  # D: a ninth over C, a tone of C add9
    assert cost(65) == [options.held_avoid, options.held_avoid]  # F: a half step above E
    assert cost(63) == [options.held_cross, options.held_cross]  # E-flat against E
    assert 0 < options.held_colour < options.held_avoid < options.held_cross


def test_a_rest_ends_a_phrase_and_quickens_its_cadence(make_score):
    from scorefarm.symbolic.melody import chord_spans, extract_melody, melody_slots

    # 3/4: a phrase of six beats ending on a half note (bar 2, beat 2), a bar's rest, a second phrase
    notes = [(0, 1, 72, 80), (1, 1, 74, 80), (2, 1, 76, 80), (3, 1, 74, 80), (4, 2, 72, 80),
             (9, 1, 76, 80), (10, 1, 74, 80), (11, 1, 72, 80), (12, 3, 71, 80)]
    melody = extract_melody(make_score(notes, time_signature=(3, 4)), (60, 81))
    slots = melody_slots(melody)
    assert [s.sop is None for s in slots] == [False] * 6 + [True] * 3 + [False] * 6
    assert chord_spans(melody, slots, "half-bar") == [[0, 1, 2], [3], [4, 5], [6, 7, 8], [9, 10], [11], [12, 13, 14]]


def test_held_notes_are_sorted_by_how_they_sound_over_the_chord():
    from scorefarm.symbolic.chord_search import held_note_kind

    major, minor, iv = (0, 4, 7), (0, 3, 7), (0, 5, 8)  # I, i and iv above the tonic
    assert held_note_kind(4, major) == "chord_tone"
    assert held_note_kind(2, major) == held_note_kind(11, major) == held_note_kind(9, major) == "colour"
    assert held_note_kind(5, major) == "avoid"  # a half step above the third
    assert held_note_kind(3, major) == "cross_relation"  # E-flat against E
    assert held_note_kind(11, minor) == "avoid"  # the leading tone over i: major 7th over a minor triad
    assert held_note_kind(4, iv) == "avoid"  # the major third over iv's A-flat: the modes mixed
    assert held_note_kind(9, iv) == "cross_relation"


def test_the_neapolitan_moves_only_to_the_dominant():
    from scorefarm.symbolic.chorale_model import state_key
    from scorefarm.symbolic.film import film_model, film_vocabulary

    minor = film_model().modes["minor"]
    neapolitan = next(c for c in film_vocabulary()["minor"] if c["name"] == "bII6")
    row = minor.log_trans[minor.states.index((5, (1, 5, 8)))]
    reachable = {state_key(minor.states[j]) for j in np.flatnonzero(np.isfinite(row))}
    assert reachable >= set(neapolitan["to"]) and np.isclose(np.exp(row).sum(), 1.0)
    assert all(key.startswith(("7:", "6:")) for key in reachable)  # V (or v, Vsus4), V7, I6/4 over 5, vii-o7/V


def test_film_pedals_the_opening_bar_and_a_tonic_ending_only(make_score):
    from scorefarm.symbolic.film import pedal_plan
    from scorefarm.symbolic.melody import extract_melody, last_note_beat, melody_slots

    ranges = voice_ranges("film")

    def plan(notes):
        melody = extract_melody(make_score(notes), (55, 84))
        slots = melody_slots(melody)
        return pedal_plan(slots, (7, "major"), ranges, last_note_beat(melody, slots)), len(slots)

    # G major, a one-beat upbeat, three bars, ending on the tonic (G) for a bar
    tune = [(3, 1, 62, 80)] + [(4 + i, 1, 67 + (i % 3), 80) for i in range(8)] + [(12, 4, 67, 80)]
    pedal, beats = plan(tune)
    assert sorted(pedal) == [0, 1, 2, 3, 4] + list(range(9, beats))  # the upbeat and first bar; the last note
    assert set(pedal.values()) == {43}  # G2: the tonic nearest A2
    half_cadence = tune[:-1] + [(12, 4, 69, 80)]  # ending on A, the second degree: no pedal under it
    pedal, _ = plan(half_cadence)
    assert sorted(pedal) == [0, 1, 2, 3, 4]


def test_voicings_under_a_held_chord_avoid_a_minor_ninth_below_the_melody(make_score):
    from scorefarm.symbolic.chord_search import _melody_under, _rubs
    from scorefarm.symbolic.melody import Slot

    voicings = np.array([[72, 64, 55, 48],   # C5 over E4: the melody's F5 later rubs against the alto
                         [72, 67, 60, 48]])  # C5 over G4, C4, C3: it does not
    assert list(_rubs(voicings, [(77, 0.5)])) == [0.5, 0.0]
    assert list(_rubs(voicings, [(76, 0.5)])) == [0.0, 0.0]
    chords = [Slot(0, 960, 72, 1, 1), Slot(960, 1920, 74, 1, 0)]
    melody = [(0, 480, 72), (480, 960, 77), (960, 1920, 74)]
    assert _melody_under(chords, melody) == [[(0, 72, 0.5), (480, 77, 0.5)], [(960, 74, 1.0)]]


def test_chord_symbols_and_the_chart(ode):
    from scorefarm.symbolic.chords import chord_symbol

    g = (7, "major")
    assert [chord_symbol(b, pcs, g) for b, pcs in [(0, (0, 4, 7)), (11, (2, 7, 11)), (0, (0, 2, 4, 7)),
                                                   (0, (0, 5, 7)), (5, (0, 5, 8)), (7, (2, 5, 7, 11))]] == \
        ["G", "D/F#", "Gadd9", "Gsus4", "Cm", "D7"]  # iv in G major is C minor, spelled with E-flat
    assert chord_symbol(0, (0, 1, 6), g) == "G+Ab+C#/G"  # no symbol: spelled out by degree
    c = (0, "major")  # secondary dominants spell their members from their own root
    assert [chord_symbol(b, pcs, c) for b, pcs in [(8, (4, 8, 11)), (8, (2, 4, 8, 11)), (6, (2, 6, 9)),
                                                   (1, (1, 4, 7, 9))]] == ["E/G#", "E7/G#", "D/F#", "A7/C#"]
    film = harmonize_melody(ode, HarmonizeOptions(style="film"))
    chart = next(n for n in film.notes if n.startswith("chords: "))[len("chords: "):]
    bars = chart.split(" | ")
    assert len(bars) == 4 and [len(bar.split()) for bar in bars] == [2, 2, 2, 3]  # the cadence quickens


def test_held_costs_may_not_be_negative():
    with pytest.raises(HarmonizeError, match="none may be negative"):
        HarmonizeOptions(held_avoid=-1.0)


def test_over_a_closing_pedal_only_a_tonic_chord_may_end_the_piece():
    from types import SimpleNamespace

    from scorefarm.symbolic.chord_search import _tonic_chords

    states = [(0, (0, 4, 7)), (0, (0, 3, 7)), (0, (0, 2, 4, 7)), (0, (0, 4, 7, 11)),  # I, i, Iadd9, Imaj7
              (8, (0, 3, 8)), (5, (0, 5, 9)), (7, (2, 7, 11)), (0, (0, 4, 7, 10))]  # bVI, IV, V, I7
    assert list(_tonic_chords(SimpleNamespace(states=states))) == [True] * 4 + [False] * 4


def test_two_note_sonorities_get_symbols():
    from scorefarm.symbolic.chords import chord_symbol

    assert [chord_symbol(0, pcs, (10, "major")) for pcs in [(0, 4), (0, 3), (0, 7)]] == ["Bb(no5)", "Bbm(no5)", "Bb5"]
    assert chord_symbol(7, (0, 2, 5, 7), (0, "major")) == "G7sus4"


def test_a_film_melody_ending_on_the_tonic_ends_on_the_tonic_chord(make_score, monkeypatch):
    import scorefarm.symbolic.chord_search as chord_search

    pitches = [72, 71, 70, 70, 69, 67, 64, 64, 64, 64, 64]
    tune = make_score([(i, 1.0, p, 80) for i, p in enumerate(pitches)] + [(11, 4.0, 72, 80)])
    options = HarmonizeOptions(style="film", key=(0, "major"))
    assert harmonize_melody(tune, options).states[-1] == (0, (0, 4, 7))
    monkeypatch.setattr(chord_search, "FINAL_TONIC_COST", 0.0)  # without the rule this tune ends on vi over the pedal
    assert harmonize_melody(tune, options).states[-1] != (0, (0, 4, 7))


def test_the_chart_names_the_bass_that_sounds(make_score):
    # film style in C: a tonic pedal under the upbeat and the first bar, the chords above it named over C
    scale = [72, 74, 76, 77, 79, 77, 76, 74]
    tune = make_score([(1, 1, 67, 80), (2, 1, 69, 80), (3, 1, 71, 80)]
                      + [(4 + i, 1, scale[i % 8], 80) for i in range(8)] + [(12, 4, 72, 80)])
    film = harmonize_melody(tune, HarmonizeOptions(style="film", key=(0, "major")))
    bars = next(n for n in film.notes if n.startswith("chords: "))[len("chords: "):].split(" | ")
    opening = " ".join(bars[:2]).split()
    assert all(symbol == "C" or symbol.endswith("/C") for symbol in opening)
    assert any(symbol != "C" for symbol in opening)  # a chord of its own over the pedal, e.g. F/C


def test_tune_overlap_finds_a_tune_in_another_setting():
    from scorefarm.symbolic.bach_corpus import Chorale, tune_overlap

    def chorale(ident, soprano):
        voices = {"Soprano": soprano, "Alto": [(0.0, 1.0, 60)], "Tenor": [(0.0, 1.0, 55)], "Bass": [(0.0, 1.0, 48)]}
        return Chorale(ident, ident + ".krn", 0, "major", (4, 4), 0.0, voices, ())

    tune = [72, 74, 76, 72, 79, 77, 76, 74, 72, 71, 72]
    plain = chorale("a", [(float(i), 1.0, p) for i, p in enumerate(tune)])
    # the same tune a fourth lower, in other note values and with a repeated note: still the tune
    varied = [(0.0, 0.5, 67), (0.5, 0.5, 67)] + [(1.0 + 2 * i, 2.0, p - 5) for i, p in enumerate(tune[1:])]
    other = chorale("b", varied)
    stranger = chorale("c", [(float(i), 1.0, p) for i, p in enumerate([72, 71, 69, 67, 69, 71, 72, 76, 74, 72, 71])])
    assert tune_overlap(plain, [other]) == 1.0
    assert tune_overlap(plain, [stranger]) == 0.0
    assert tune_overlap(plain, [stranger, other]) == 1.0  # the closest of several
    half = chorale("d", [(float(i), 1.0, p) for i, p in enumerate(tune[:8] + [84, 83, 81])])
    assert 0.0 < tune_overlap(plain, [half]) < 1.0


def test_a_leading_tone_chord_on_a_chromatic_root_is_spelled_as_the_raised_degree():
    """vii°/ii in F major is F#dim/A (the leading tone of G), not Gbdim/Bbb; vii°7/vi in C
    major is G#dim7; a diminished chord on a degree of the key keeps its spelling."""
    from scorefarm.symbolic.chords import chord_symbol

    assert chord_symbol(4, (1, 4, 7), (5, "major")) == "F#dim/A"
    assert chord_symbol(8, (8, 11, 2, 5), (0, "major")) == "G#dim7"
    assert chord_symbol(1, (1, 4, 7), (0, "major")) == "C#dim"
    assert chord_symbol(11, (11, 2, 5), (0, "major")) == "Bdim"
    assert chord_symbol(2, (2, 5, 8), (9, "minor")) == "Bdim"
    assert chord_symbol(8, (8, 0, 3), (0, "major")) == "Ab"  # a borrowed bVI keeps its flat
    assert chord_symbol(10, (10, 1, 4, 7), (0, "major")) == "Bbdim7"  # vii in major is led to by nothing
    assert chord_symbol(10, (10, 1, 4), (9, "major")) == "Gdim"  # in A major: not F##dim
    assert chord_symbol(11, (11, 2, 5), (9, "minor")) == "G#dim"  # vii° of A minor


def test_the_search_reads_an_incomplete_seventh_chord_as_the_checker_does():
    """C7 without its fifth is a seventh chord over C, which must let its B-flat fall;
    over E it is not (the checker reads it so too)."""
    from types import SimpleNamespace

    from scorefarm.symbolic.voicing import StateInfo

    # states relative to the tonic (F): V7 without its fifth over C, the same over E, V6/5 complete
    model = SimpleNamespace(size=3, states=[(7, (5, 7, 11)), (11, (5, 7, 11)), (11, (2, 5, 7, 11))])
    info = StateInfo.build(model, 5, "major")
    assert list(info.seventh_pc) == [10, -1, 10] and list(info.dominant) == [True, True, True]
