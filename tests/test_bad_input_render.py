"""Bad input met by harmonize's embellisher and by render: a melody at 1 tick per
quarter, a score far too long to render, an unknown SoundFont in a film's cue list,
and the sweep of a killed run's temporary files. Fast: nothing here renders audio."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import symusic
from click.testing import CliRunner

from scorefarm.cli.main import cli
from scorefarm.errors import OutputError, ScoreError, SoundFontError


# ---------------------------------------------------------------- harmonize at 1 tick a quarter


def _satb(tpq: int, beats: int, alto, tenor, bass):
    """Four voices of notes ``beats`` quarters long each, at ``tpq`` ticks a quarter."""
    from scorefarm.symbolic.voices import Part, VNote, Voices

    def line(name, pitches):
        return Part(name, [VNote(i * beats * tpq, (i + 1) * beats * tpq, p) for i, p in enumerate(pitches)])

    return Voices(tpq, [line("Soprano", [79, 81, 84]), line("Alto", alto), line("Tenor", tenor),
                        line("Bass", bass)])


def _notes(voices):
    return [[(n.start / voices.tpq, n.end / voices.tpq, n.pitch) for n in part.notes] for part in voices.parts]


def test_passing_tones_at_one_tick_a_quarter_fall_where_a_finer_grid_puts_them():
    from scorefarm.symbolic.embellish import add_passing_tones

    parts = ([76, 72, 72], [57, 60, 60], [48, 52, 52])  # thirds to walk in alto, tenor and bass
    # half notes: the passing note takes the second beat, at any resolution
    coarse = add_passing_tones(_satb(1, 2, *parts), (0, "major"))
    fine = add_passing_tones(_satb(480, 2, *parts), (0, "major"))
    assert _notes(coarse) == _notes(fine)
    assert [n.pitch for n in coarse.parts[3].notes] == [48, 50, 52, 52]
    # quarter notes: an eighth cannot be written at 1 tick a quarter, so none is added
    quarters = _satb(1, 1, *parts)
    assert _notes(add_passing_tones(quarters, (0, "major"))) == _notes(quarters)


def test_harmonize_a_melody_at_one_tick_a_quarter(tmp_path, make_score):
    melody = tmp_path / "tpq1.mid"
    make_score([(i, 1.0, p, 80) for i, p in enumerate([60, 62, 64, 65, 67, 65, 64, 62])] + [(8, 2.0, 60, 80)],
               tpq=1).dump_midi(str(melody))
    out = tmp_path / "satb.mid"
    result = CliRunner().invoke(cli, ["harmonize", str(melody), "-o", str(out), "--embellish", "passing"])
    assert result.exit_code == 0, (result.output, result.exception)
    score = symusic.Score(str(out))
    assert len([t for t in score.tracks if t.notes]) == 4
    # the tune keeps its beats, whatever resolution the file is read and written at
    soprano = next(t for t in score.tracks if t.name == "Soprano")
    assert [n.time / score.tpq for n in soprano.notes] == list(range(9))


# ---------------------------------------------------------------- render: a score too long


def _long_score(make_score, quarters: float):
    """Two notes at 60 bpm, the second ending ``quarters`` seconds in."""
    return make_score([(0, 1.0, 60, 80), (quarters - 1, 1.0, 64, 80)], bpm=60.0)


def test_render_length_limit_is_measured_through_the_tempo_map(make_score):
    from scorefarm.render.synth import MAX_RENDER_SECONDS, check_render_length

    assert check_render_length(_long_score(make_score, MAX_RENDER_SECONDS)) == pytest.approx(MAX_RENDER_SECONDS)
    with pytest.raises(ScoreError, match="last note ends at 30.1 minutes; at most 30 minutes") as caught:
        check_render_length(_long_score(make_score, MAX_RENDER_SECONDS + 6))
    assert caught.value.path is None  # the caller names the file
    # the same notes at 120 bpm last half as long
    assert check_render_length(make_score([(3599, 1.0, 60, 80)], bpm=120.0)) == pytest.approx(1800.0)


def test_render_stems_refuses_a_long_score_before_anything_is_loaded_or_allocated(make_score, monkeypatch):
    from scorefarm.render import synth
    from scorefarm.render.soundfonts import SoundFont

    def forbidden(*args, **kwargs):
        raise AssertionError("allocated or loaded before the length was checked")

    monkeypatch.setattr(synth, "_Output", forbidden)
    monkeypatch.setattr(synth, "_loaded_font", forbidden)
    nowhere = SoundFont("none", Path("/nonexistent.sf2"), "", "")
    fourteen_hours = _long_score(make_score, 14 * 3600)
    with pytest.raises(ScoreError, match="14.0 hours"):
        synth.render_stems(fourteen_hours, nowhere)


def test_render_refuses_a_score_ending_fourteen_hours_in(tmp_path, make_score, refused):
    late = make_score([(i, 1.0, 60 + i, 80) for i in range(4)])
    for note in late.tracks[0].notes:
        note.time += 480 * 100_000  # beat 100,000 at 120 bpm: 13.9 hours
    late.dump_midi(str(tmp_path / "late.mid"))
    line = refused(["render", "late.mid", "-o", "out"], tmp_path, "late.mid", "13.9 hours", "at most 30 minutes")
    assert "stem" not in line  # refused as the sketch is read, before any stem


# ---------------------------------------------------------------- a film's soundfont


def _film(folder: Path, make_score, soundfont: str) -> Path:
    (folder / "sketches").mkdir(parents=True)
    make_score().dump_midi(str(folder / "sketches" / "a.mid"))
    film = folder / "film.toml"
    film.write_text(f'[film]\ntitle = "T"\nframe_rate = 24\nsoundfont = "{soundfont}"\n\n'
                    '[[cues]]\nid = "1M1"\nsketch = "sketches/a.mid"\nstart = "01:00:00:00"\n')
    return film


def test_an_unknown_soundfont_name_in_a_film_names_the_cue_list_and_the_catalogue(tmp_path, make_score, refused):
    from scorefarm.render.farm import render_film
    from scorefarm.render.soundfonts import known_names
    from scorefarm.symbolic.cuelist import load_cue_list

    film = _film(tmp_path / "film", make_score, "nosuch")
    with pytest.raises(SoundFontError) as caught:
        render_film(load_cue_list(film), tmp_path / "out")
    line = caught.value.one_line()
    assert caught.value.path == str(film)
    assert "[film]: key 'soundfont': received 'nosuch'" in line
    assert all(name in line for name in known_names())
    assert not (tmp_path / "out").exists()
    refused(["render", "film/film.toml", "-o", "out"], tmp_path, "film.toml", "key 'soundfont'", "FluidR3_GM")


@pytest.mark.parametrize("value, says", [
    ("fonts/missing.sf2", "'fonts/missing.sf2': no such SoundFont file"),
    ("notes.sf2", "'notes.sf2': not a SoundFont"),
    ("notes", "'notes': not a SoundFont"),  # a bare name that is a file beside film.toml
])
def test_a_bad_soundfont_path_in_a_film_names_the_cue_list_and_the_key(tmp_path, make_score, value, says, refused):
    film = _film(tmp_path / "film", make_score, value)
    (film.parent / "notes.sf2").write_text("not a SoundFont")
    (film.parent / "notes").write_text("not a SoundFont")
    line = refused(["render", "film/film.toml", "-o", "out"], tmp_path, "film.toml", "[film]: key 'soundfont'", says)
    assert "known" not in line and "FluidR3_GM" not in line  # a path is no catalogue name


# ---------------------------------------------------------------- the sweep of stale temporary files


def test_the_sweep_takes_only_our_temporary_files_in_the_output_and_cue_folders(tmp_path):
    from scorefarm.files import atomic_path
    from scorefarm.render.farm import check_output_dir

    out = tmp_path / "out"
    (out / "1M1" / "deeper").mkdir(parents=True)
    (out / "Documents").mkdir()
    swept = [out / ".cue_sheet.csv.0a1b2c3d.part", out / "1M1" / ".1M1_mix.wav.ffffffff.part",
             out / "1M1" / ".1M1.musicxml.00000000.part"]
    kept = [out / ".bashrc.abcdef01.part",  # not a file a render writes
            out / ".session.part", out / ".1M1_mix.wav.part",  # not the atomic writer's names
            out / ".1M1_mix.wav.abc123.part", out / ".1M1_mix.wav.k3_9xq2a.part",
            out / "Documents" / ".report.wav.abcdef01.part",  # not a cue folder
            out / "1M1" / "deeper" / ".1M1_mix.wav.abcdef01.part",  # not in a cue folder itself
            out / "1M1" / "1M1_mix.wav", out / "1M1" / ".1M1_mix.wav.ABCDEF01.part"]
    for path in swept + kept:
        path.write_bytes(b"half")
    with atomic_path(out / "1M1" / "1M1.mid") as tmp:  # the writer's own name is one the sweep takes
        assert tmp.name.startswith(".1M1.mid.") and tmp.name.endswith(".part")
        swept.append(Path(tmp))
        tmp.write_bytes(b"half")
        check_output_dir(out, ["1M1", "1M2"])
        assert not tmp.exists()
        tmp.write_bytes(b"whole")  # so that the rename can go on
    assert [p for p in swept[:-1] if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []
    assert (out / "1M1" / "1M1.mid").read_bytes() == b"whole"
    check_output_dir(out)  # a single score's render: its own folder only
    assert [p for p in kept if not p.exists()] == []


def test_the_temporary_name_is_one_format_made_and_recognized_in_one_place(tmp_path):
    """atomic_path's names come from files.temporary_name and the sweep recognizes them
    with files.is_temporary_name: the two cannot drift apart (the sweep used to copy
    the characters of tempfile's random names)."""
    from scorefarm import files
    from scorefarm.render.farm import RENDERED_SUFFIXES, check_output_dir

    names = []
    for target in ("1M1_mix.wav", "1M1.mid", "1M1.musicxml", "manifest.json", "cue_sheet.csv", "a.b c.mid"):
        with files.atomic_path(tmp_path / target) as tmp:
            names.append(tmp.name)
            assert tmp.name.startswith(f".{target}.") and tmp.name.endswith(".part")
            assert files.is_temporary_name(tmp.name) and files.is_temporary_name(tmp.name, RENDERED_SUFFIXES)
            assert not files.is_temporary_name(tmp.name, (".txt",))
            tmp.write_bytes(b"whole")
    made = {files.temporary_name("1M1_mix.wav") for _ in range(200)}
    assert len(made) == 200 and all(files.is_temporary_name(name, (".wav",)) for name in made)
    for name in (".1M1_mix.wav.part", "1M1_mix.wav.0a1b2c3d.part", ".1M1_mix.wav.0a1b2c3d", ".0a1b2c3d.part",
                 ".1M1_mix.wav.0A1B2C3D.part", ".1M1_mix.wav.0a1b2c3.part", ".1M1_mix.wav.0a1b2c3d0.part"):
        assert not files.is_temporary_name(name), name
    # a killed run's leftovers, made by the writer itself, are swept; the outputs stay
    leftovers = [tmp_path / files.temporary_name(target) for target in ("1M1_mix.wav", "cue_sheet.csv")]
    for path in leftovers:
        path.write_bytes(b"half")
    check_output_dir(tmp_path)
    assert not any(path.exists() for path in leftovers)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["1M1_mix.wav", "1M1.mid", "1M1.musicxml",
                                                                 "manifest.json", "cue_sheet.csv", "a.b c.mid"])


def test_a_sigterm_inside_ray_init_goes_to_the_callers_handler(capfd):
    """ray.init replaces the SIGTERM handler with its own (sys.exit(signum)) and never
    puts the caller's back: the farm does, and a SIGTERM that lands while Ray starts
    (Ray's handler: SystemExit(15)) is handed to compose's handler (exit 143). No Ray
    is started: a stand-in does to the handler what ray.init does."""
    import signal
    import sys

    from scorefarm.cli.main import TERMINATED, _terminated
    from scorefarm.render.ray_farm import keeping_sigterm_handler

    def ray_init(terminate: bool):  # what ray.init does to the handler
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))
        if terminate:
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        with keeping_sigterm_handler():
            ray_init(terminate=False)
        assert signal.getsignal(signal.SIGTERM) is _terminated
        capfd.readouterr()
        with pytest.raises(SystemExit) as caught:
            with keeping_sigterm_handler():
                ray_init(terminate=True)
        assert caught.value.code == 143 and capfd.readouterr().err == TERMINATED.decode()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # a second SIGTERM kills at once
        # a caller that left SIGTERM at its default (a library user) keeps Ray's, as before
        with keeping_sigterm_handler():
            ray_init(terminate=False)
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, _terminated)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_render_film_sweeps_its_own_cue_folders(tmp_path, make_score, monkeypatch):
    from scorefarm.render import farm
    from scorefarm.symbolic.cuelist import load_cue_list

    if not Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").is_file():
        pytest.skip("the FluidR3 GM SoundFont is not installed")
    seen = []

    def spy(out_dir, cue_ids=()):
        seen.append((out_dir, list(cue_ids)))
        raise OutputError("stop here", out_dir)

    monkeypatch.setattr(farm, "check_output_dir", spy)
    with pytest.raises(OutputError, match="stop here"):
        farm.render_film(load_cue_list(_film(tmp_path / "film", make_score, "default")), tmp_path / "out")
    assert seen == [(tmp_path / "out", ["1M1"])]


def test_a_cue_refuses_an_hours_long_sketch_before_orchestrating_it(make_score, monkeypatch):
    from scorefarm.arrange import orchestrate
    from scorefarm.render.pipeline import CueSpec, prepare_cue
    from scorefarm.render.soundfonts import SoundFont
    from scorefarm.symbolic.score_io import score_to_bytes

    def forbidden(*args, **kwargs):
        raise AssertionError("orchestrated before the length was checked")

    monkeypatch.setattr(orchestrate, "orchestrate", forbidden)
    spec = CueSpec("1M1", "late.mid", score_to_bytes(_long_score(make_score, 14 * 3600)),
                   SoundFont("none", Path("/nonexistent.sf2"), "", ""), "", cue_options={"ensemble": "strings"})
    with pytest.raises(ScoreError, match="14.0 hours") as caught:
        prepare_cue(spec)
    assert caught.value.path == "late.mid"


# ---------------------------------------------------------------- an output folder that cannot be made


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc, where no folder can be made")
@pytest.mark.parametrize("command, output", [
    (["render", "{midi}"], "/proc/nope/out"),
    (["render", "{midi}"], "/proc/nope/deeper/out"),
    (["harmonize", "{midi}"], "/proc/nope/x.mid"),
    (["orchestrate", "{midi}"], "/proc/nope/deeper/x.mid"),
    (["check", "{midi}", "--fix"], "/proc/nope/x.mid"),
    (["master", "{wav}"], "/proc/nope/x.wav"),
])
def test_a_missing_output_folder_is_named_not_the_folder_above_it(tmp_path, score_file, command, output, refused):
    """``-o /proc/nope/x.mid``: the folder that is missing and cannot be made is
    /proc/nope (was: '/proc: cannot write here')."""
    import numpy as np

    from scorefarm.render.wavio import write_wav

    wav = tmp_path / "tone.wav"
    write_wav(wav, np.full((4800, 2), 0.1, np.float32), 48000, bit_depth=24)
    args = [a.format(midi=score_file, wav=wav) for a in command] + ["-o", output]
    line = refused(args, tmp_path)
    assert line == "compose: error: /proc/nope: no such folder, and it cannot be made in /proc " \
                   "(No such file or directory)"


@pytest.mark.parametrize("output", ["blocker/x.mid", "blocker/deeper/x.mid"])
def test_a_file_standing_where_the_output_folder_should_be_is_named(tmp_path, score_file, output, refused):
    (tmp_path / "blocker").write_text("a file, not a folder")
    line = refused(["harmonize", str(score_file), "-o", output], tmp_path)
    assert line == "compose: error: blocker: cannot write here: a file, not a folder"
    line = refused(["render", str(score_file), "-o", str(Path(output).parent)], tmp_path)
    assert line.startswith("compose: error: blocker: ") and "a file" in line, line
