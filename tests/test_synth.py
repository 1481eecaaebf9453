"""FluidSynth stem rendering with the real FluidR3_GM SoundFont (short scores)."""

from __future__ import annotations

import numpy as np
import pytest
import symusic

from scorefarm.errors import InputError, RenderError, SilentScoreError, SoundFontError
from scorefarm.render import synth
from scorefarm.render.soundfonts import SoundFont, resolve_soundfont
from scorefarm.render.synth import (
    DRUM_BANK,
    RenderOptions,
    clear_synth_cache,
    fallback_program,
    render_mix,
    render_stems,
    tick_seconds,
)

SR = 48000
FLUID_BLOCK = synth.FLUID_BUFSIZE  # FluidSynth applies events on these boundaries


@pytest.fixture(scope="module")
def font() -> SoundFont:
    try:
        return resolve_soundfont("FluidR3_GM")
    except SoundFontError as exc:
        pytest.skip(str(exc))


def db(x: float) -> float:
    return 20 * np.log10(max(x, 1e-12))


def rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))) if a.size else 0.0


def add_track(score, make_score, notes, **kwargs) -> symusic.Score:
    score.tracks.append(make_score(notes, tpq=score.tpq, **kwargs).tracks[0])
    return score


@pytest.fixture
def ensemble(make_score):
    """Strings play beats 0-2, brass beats 2-4, drums (GM kit) beat 4, at 120 bpm."""
    score = make_score([(0, 2, 60, 90), (0, 2, 64, 90)], program=48, name="Strings")
    add_track(score, make_score, [(2, 2, 48, 100)], program=57, name="Trombone")
    add_track(score, make_score, [(4, 0.5, 36, 110), (4, 0.5, 49, 100)], is_drum=True, name="Drums")
    return score


def test_length_is_last_release_plus_tail_to_the_sample(make_score, font):
    score = make_score([(0, 1, 60, 80), (1.5, 2.25, 67, 80)], bpm=100, program=89)  # a pad: long release
    score.tempos.append(symusic.Tempo(480, 75.0))  # tempo change at beat 1
    options = RenderOptions(tail_seconds=0.5)
    result = render_stems(score, font, options)
    end_seconds = 1 * 60 / 100 + (1.5 + 2.25 - 1) * 60 / 75
    expected = round(end_seconds * SR) + round(0.5 * SR)
    assert result.sample_rate == SR
    assert result.mix.shape == (expected, 2) and result.mix.dtype == np.float32
    assert all(stem.shape == (expected, 2) and stem.dtype == np.float32 for stem in result.stems.values())
    assert result.mix.flags.c_contiguous and rms(result.mix[-SR // 4:]) > 0  # cut while the pad still rings


def test_tempo_map_agrees_with_symusic_seconds(make_score):
    score = make_score([(i * 0.75, 0.5, 60, 80) for i in range(24)], bpm=132)
    score.tempos.append(symusic.Tempo(960, 61.5))
    score.tempos.append(symusic.Tempo(4000, 200.0))
    ticks = np.array([n.time for n in score.tracks[0].notes])
    seconds = np.array([n.time for n in score.to("second").tracks[0].notes])
    np.testing.assert_allclose(tick_seconds(score)(ticks), seconds, atol=1e-5)


@pytest.mark.parametrize("bpm", [120.0, 90.0])
def test_a_note_at_beat_2_starts_at_its_sample(make_score, font, bpm):
    score = make_score([(2, 1, 72, 100)], bpm=bpm, program=0)
    mix = render_stems(score, font, RenderOptions(tail_seconds=0.25)).mix
    expected = round(2 * 60 / bpm * SR)
    level = np.abs(mix).max(axis=1)
    onset = int(np.argmax(level > level.max() * 10 ** (-40 / 20)))
    assert abs(onset - expected) <= 0.004 * SR, (onset, expected)
    assert level[: expected - FLUID_BLOCK].max() == 0.0  # nothing before the note


def test_stems_by_section_play_only_where_their_tracks_do(ensemble, font):
    result = render_stems(ensemble, font, RenderOptions(tail_seconds=1.0))
    assert list(result.stems) == ["strings", "brass", "percussion"]  # SECTION_ORDER
    beat = SR // 2
    strings, brass, drums = (result.stems[s] for s in ("strings", "brass", "percussion"))
    assert db(rms(strings[: 2 * beat])) > -40
    assert db(rms(brass[2 * beat: 4 * beat])) > -40
    assert db(rms(drums[4 * beat: 5 * beat])) > -40
    # silent before their first note (block-aligned events may start 32 frames early)
    assert np.abs(brass[: 2 * beat - FLUID_BLOCK]).max() == 0.0
    assert np.abs(drums[: 4 * beat - FLUID_BLOCK]).max() == 0.0
    # and the strings have died away long after their release
    assert db(rms(strings[-SR // 2:])) < db(rms(strings[: 2 * beat])) - 60


def test_tracks_get_their_own_channel_and_drums_play_on_channel_10_bank_128(ensemble, font, make_score):
    add_track(ensemble, make_score, [(0, 1, 62, 80)], program=48, name="Violin II")
    plans, fallbacks = synth._plan(ensemble, synth._loaded_font(font), font)
    by_name = {p.track.name: p for p in plans}
    assert (by_name["Drums"].channel, by_name["Drums"].bank) == (9, DRUM_BANK)
    assert by_name["Strings"].channel % 16 == by_name["Violin II"].channel % 16  # same stem
    assert len({p.channel for p in plans}) == len(plans)  # never shared
    assert fallbacks == []


def test_stems_sum_to_the_mix_and_match_each_section_rendered_alone(ensemble, font):
    options = RenderOptions(tail_seconds=0.5)
    result = render_stems(ensemble, font, options)
    total = np.zeros_like(result.mix)
    for stem in result.stems.values():
        total += stem
    assert np.array_equal(total, result.mix)  # exactly, in stem order
    alone_sum = np.zeros_like(result.mix)
    for index, section in enumerate(result.stems):
        solo = symusic.Score(ensemble.tpq)
        solo.tempos = ensemble.tempos
        solo.tracks.append(ensemble.tracks[index])
        alone = render_stems(solo, font, RenderOptions(tail_seconds=3.0))  # longer: its tail rings on
        stem = alone.stems[section][: len(result.mix)]
        assert db(np.abs(stem - result.stems[section]).max()) < db(np.abs(result.stems[section]).max()) - 60
        alone_sum += stem
    assert db(np.abs(alone_sum - result.mix).max()) < db(np.abs(result.mix).max()) - 60


def test_same_input_gives_byte_identical_audio(ensemble, make_score, font):
    options = RenderOptions(tail_seconds=0.5)
    first = render_stems(ensemble, font, options)
    other = make_score([(0, 1, 40, 30), (0.25, 2, 90, 127)], program=81, name="Lead")
    render_stems(other, font, options)  # different voices in between
    second = render_stems(ensemble, font, options)
    clear_synth_cache()  # and a freshly loaded SoundFont
    third = render_stems(ensemble, font, options)
    for result in (second, third):
        assert result.mix.tobytes() == first.mix.tobytes()
        assert {k: v.tobytes() for k, v in result.stems.items()} == {k: v.tobytes() for k, v in first.stems.items()}
    assert render_mix(ensemble, font, options).tobytes() == first.mix.tobytes()


def test_the_soundfont_is_loaded_once_for_many_renders(make_score, font, monkeypatch):
    import fluidsynth

    clear_synth_cache()
    calls = []
    original = fluidsynth.Synth.sfload
    monkeypatch.setattr(fluidsynth.Synth, "sfload", lambda self, *a, **k: calls.append(a) or original(self, *a, **k))
    render_stems(make_score([(0, 1, 60, 80)]), font, RenderOptions(tail_seconds=0.1))
    render_stems(make_score([(0, 1, 67, 80)], program=40), font, RenderOptions(tail_seconds=0.2, gain=0.5))
    assert calls == [(str(font.path),)]


def test_controllers_and_pitch_bend_reach_the_synth(make_score, font):
    score = make_score([(0, 1, 69, 100)], program=79)  # ocarina: a near-sine A4
    plain = render_stems(score, font, RenderOptions(tail_seconds=0.1)).mix[:, 0]
    quiet = score.copy()
    quiet.tracks[0].controls.append(symusic.ControlChange(0, 7, 40))
    assert db(rms(render_stems(quiet, font, RenderOptions(tail_seconds=0.1)).mix[:, 0])) < db(rms(plain)) - 6
    bent = score.copy()
    bent.tracks[0].pitch_bends.append(symusic.PitchBend(0, 8191))  # +2 semitones (default range)

    def pitch(audio):
        window = audio[SR // 4: SR // 4 + 8192] * np.hanning(8192)
        return np.argmax(np.abs(np.fft.rfft(window, 8 * 8192))) * SR / (8 * 8192)
    assert pitch(plain) == pytest.approx(440.0, rel=0.01)
    assert pitch(render_stems(bent, font, RenderOptions(tail_seconds=0.1)).mix[:, 0]) == pytest.approx(
        440.0 * 2 ** (2 / 12), rel=0.01)


def test_fluidsynth_reverb_is_off_unless_asked_and_then_stays_in_its_stem(make_score, font):
    score = make_score([(0, 0.5, 60, 110)], program=0)
    add_track(score, make_score, [(0, 0.5, 72, 110)], program=73, name="Flute")
    dry = render_stems(score, font, RenderOptions(tail_seconds=1.5))
    wet = render_stems(score, font, RenderOptions(tail_seconds=1.5, reverb=True))
    late = slice(int(1.4 * SR), None)  # after both notes have released
    for section in ("keys", "woodwinds"):
        assert db(rms(wet.stems[section][late])) > db(rms(dry.stems[section][late])) + 10
    assert np.array_equal(wet.stems["keys"] + wet.stems["woodwinds"], wet.mix)
    flute = symusic.Score(score.tpq)
    flute.tempos = score.tempos
    flute.tracks.append(score.tracks[1])
    alone = render_stems(flute, font, RenderOptions(tail_seconds=1.5, reverb=True)).stems["woodwinds"]
    assert np.array_equal(alone, wet.stems["woodwinds"])  # no piano reverb in the flute stem


def test_silence_is_an_error(make_score, font):
    muted = make_score([(0, 1, 60, 100)])
    muted.tracks[0].controls.append(symusic.ControlChange(0, 7, 0))  # channel volume 0
    with pytest.raises(SilentScoreError, match="renders to silence: every sample is below -90 dBFS"):
        render_stems(muted, font)
    with pytest.raises(SilentScoreError, match="no notes"):
        render_stems(make_score([]), font)
    assert issubclass(SilentScoreError, InputError)  # bad input: exit status 2


def test_missing_and_unloadable_soundfonts(make_score, tmp_path):
    gone = SoundFont("gone", tmp_path / "gone.sf2", "MIT", "test")
    with pytest.raises(SoundFontError, match="cannot read the SoundFont"):
        render_stems(make_score(), gone)
    header_only = tmp_path / "empty.sf2"
    header_only.write_bytes(b"RIFF\x04\x00\x00\x00sfbk")
    with pytest.raises(SoundFontError, match="FluidSynth could not load this SoundFont"):
        render_stems(make_score(), resolve_soundfont(str(header_only)))


@pytest.mark.parametrize("program, available, expected", [
    (41, {0, 40, 42}, 40),  # nearest in the family, ties to the lower
    (45, {0, 40, 42}, 42),
    (60, {0, 40, 42}, 0),  # nothing in the brass family: program 0
    (60, {40, 42}, None),  # not even program 0
    (48, {48}, 48),
])
def test_fallback_program(program, available, expected):
    assert fallback_program(program, available) == expected


def test_missing_drum_kits_fall_back_and_are_reported(make_score, font):
    score = make_score([(0, 0.5, 36, 100)], is_drum=True, program=57, name="Kit")  # no kit 57 in FluidR3
    add_track(score, make_score, [(0, 0.5, 38, 100)], is_drum=True, program=50, name="Orch")
    result = render_stems(score, font, RenderOptions(tail_seconds=0.2))
    assert result.fallbacks == [
        "track 0 'Kit': drum kit 57 is not in FluidR3_GM; using 0 (Standard)",
        "track 1 'Orch': drum kit 50 is not in FluidR3_GM; using 48 (Orchestra Kit)",
    ]
    assert db(rms(result.stems["percussion"])) > -50


def test_more_than_16_tracks_in_a_section_take_a_second_pass(make_score, font):
    score = make_score([(0, 1, 48, 80)], program=48, name="Strings")
    for k in range(17):
        add_track(score, make_score, [(0.1 * k, 0.5, 55 + k, 80)], program=40 + k % 4, name=f"Violin {k}")
    result = render_stems(score, font, RenderOptions(tail_seconds=0.2))
    assert result.passes == 2 and list(result.stems) == ["strings"]
    again = render_stems(score, font, RenderOptions(tail_seconds=0.2))
    assert again.mix.tobytes() == result.mix.tobytes()


def test_other_sample_rates_and_the_timeout(make_score, font):
    score = make_score([(0, 1, 60, 80)])
    result = render_stems(score, font, RenderOptions(sample_rate=44100, tail_seconds=0.5))
    assert result.sample_rate == 44100 and len(result.mix) == 44100 // 2 + 22050
    with pytest.raises(RenderError, match="longer than timeout_seconds=1e-09"):
        render_stems(score, font, RenderOptions(timeout_seconds=1e-9))


def test_options_are_pinned_and_checked():
    settings = RenderOptions().synth_settings()
    assert settings["synth.reverb.active"] == 0 and settings["synth.chorus.active"] == 0
    assert settings["synth.polyphony"] == 256 and settings["synth.cpu-cores"] == 1
    assert settings["synth.dynamic-sample-loading"] == 0 and settings["synth.sample-rate"] == 48000.0
    assert RenderOptions().interpolation == 4  # FluidSynth's 4th-order interpolation
    with pytest.raises(ValueError, match=r"RenderOptions.sample_rate = 1000; allowed: 8000-96000"):
        RenderOptions(sample_rate=1000)
    with pytest.raises(TypeError):
        RenderOptions(sample_rte=48000)  # unknown options fail loudly


def test_a_key_struck_again_while_it_sounds_sounds_to_its_own_end(make_score, font):
    # C4 held over beats 0-2 and struck again at beat 1 (0.5 s) until beat 3: FluidSynth
    # releases every voice of a key at its first note-off (1.0 s), which silenced the second
    # note there. It is played as a player plays it: the first note lets go where the key is
    # struck again.
    options = RenderOptions(tail_seconds=0.5)
    overlapped = render_stems(make_score([(0, 2, 60, 90), (1, 2, 60, 90)]), font, options).mix
    restruck = render_stems(make_score([(0, 1, 60, 90), (1, 2, 60, 90)]), font, options).mix
    assert overlapped.tobytes() == restruck.tobytes()
    assert db(rms(overlapped[int(1.1 * SR):int(1.4 * SR)])) > -50
    # two notes struck on one key at once: the longer one sounds
    doubled = render_stems(make_score([(0, 1, 60, 90), (0, 2, 60, 90), (0, 1, 64, 90)]), font, options).mix
    single = render_stems(make_score([(0, 2, 60, 90), (0, 1, 64, 90)]), font, options).mix
    assert doubled.tobytes() == single.tobytes()
