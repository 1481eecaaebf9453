"""The compose command through click's CliRunner and as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
from click.testing import CliRunner

from scorefarm.cli.main import cli

COMPOSE = Path(sys.executable).parent / "compose"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_help_lists_every_command_with_one_line():
    result = run("--help")
    assert result.exit_code == 0
    commands = result.output.split("Commands:")[1].strip().splitlines()
    names = [line.split()[0] for line in commands]
    assert set(names) == set(cli.commands)
    for line in commands:
        assert not line.rstrip().endswith("..."), line


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help_with_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and f"compose {command}" in result.output


def test_help_answers_without_heavy_imports():
    probe = ("import sys; from scorefarm.cli.main import cli;"
             "cli.main(['--help'], standalone_mode=False);"
             "heavy = [m for m in ('ray', 'fluidsynth', 'torch', 'transformers', 'pedalboard') if m in sys.modules];"
             "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("args, expected", [
    (["render", "missing.mid"], "missing.mid: no such file"),
    (["render", "film.toml"], "film.toml"),
    (["master", "missing.wav", "-o", "x.wav"], "missing.wav"),
])
def test_bad_input_is_one_line_exit_2_no_traceback(tmp_path, args, expected):
    result = subprocess.run([str(COMPOSE), *args], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_corrupt_midi_leaves_no_output(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"RIFF this is not midi")
    out = tmp_path / "out"
    result = subprocess.run([str(COMPOSE), "render", str(bad), "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "bad.mid" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def _bad_midi(kind: str, path: Path, make_score) -> None:
    """A sketch a user might hand over by mistake."""
    import symusic

    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("a shopping list, not a MIDI file\n")
    elif kind == "truncated":
        make_score().dump_midi(str(path))
        path.write_bytes(path.read_bytes()[:40])
    else:  # a MIDI file with no notes
        score = symusic.Score(480)
        score.tracks.append(symusic.Track("Piano", 0, False))
        score.dump_midi(str(path))


BAD_MIDI = {"empty": "is not a MIDI file (it is empty", "text": "is not a MIDI file (it starts with b'a sh'",
            "truncated": "is truncated", "no-notes": "has no notes"}


def refused(result, first: str, exit_code: int = 2) -> str:
    """One line on stderr starting with ``first``, the exit status, no traceback."""
    assert result.exit_code == exit_code, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(first), result.stderr
    return lines[0]


@pytest.mark.parametrize("kind", BAD_MIDI)
def test_a_bad_score_is_named_as_given_and_leaves_no_folder(tmp_path, monkeypatch, make_score, kind):
    monkeypatch.chdir(tmp_path)
    _bad_midi(kind, tmp_path / "sketches" / "theme.mid", make_score)
    result = run("render", "sketches/theme.mid", "-o", "out/theme")
    refused(result, f"compose: error: sketches/theme.mid: {BAD_MIDI[kind]}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("soundfont, first", [
    ("nosuch", "compose: error: unknown SoundFont 'nosuch'"),
    ("fonts/notes.sf2", "compose: error: fonts/notes.sf2: not a SoundFont"),
])
def test_a_bad_soundfont_leaves_no_folder(tmp_path, monkeypatch, make_score, soundfont, first):
    monkeypatch.chdir(tmp_path)
    make_score().dump_midi("theme.mid")
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "notes.sf2").write_text("not a SoundFont\n")
    refused(run("render", "theme.mid", "-o", "out", "--soundfont", soundfont), first)
    assert not (tmp_path / "out").exists()


FILM = '[film]\ntitle = "T"\n[[cues]]\nid = "1M1"\nsketch = "sketches/a.mid"\nstart = "01:00:00:00"\n'


@pytest.fixture
def film_without_ray(tmp_path, monkeypatch):
    """A film folder ``film/`` (cwd: its parent); rendering it fails the test, so a
    refusal is known to come at load, before Ray starts."""
    from scorefarm.render import farm

    def no_render(*args, **kwargs):
        raise AssertionError("the film was rendered; it should have been refused at load")

    monkeypatch.setattr(farm, "render_film", no_render)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "film").mkdir()
    return tmp_path / "film"


@pytest.mark.parametrize("kind", BAD_MIDI)
def test_a_film_with_a_bad_sketch_is_refused_at_load(film_without_ray, make_score, kind):
    _bad_midi(kind, film_without_ray / "sketches" / "a.mid", make_score)
    (film_without_ray / "film.toml").write_text(FILM)
    refused(run("render", "film/film.toml", "-o", "out"),
            f"compose: error: film/film.toml: cue 1M1: key 'sketch': 'sketches/a.mid' {BAD_MIDI[kind]}")
    assert not (film_without_ray.parent / "out").exists()


def test_a_film_with_an_unknown_ensemble_is_refused_at_load(film_without_ray, make_score):
    (film_without_ray / "sketches").mkdir()
    make_score().dump_midi(str(film_without_ray / "sketches" / "a.mid"))
    (film_without_ray / "film.toml").write_text(FILM + 'ensemble = "nosuch"\n')
    line = refused(run("render", "film/film.toml", "-o", "out"),
                   "compose: error: film/film.toml: cue 1M1: key 'ensemble': unknown ensemble 'nosuch'")
    assert "string-quartet" in line and "full-orchestra" in line
    assert not (film_without_ray.parent / "out").exists()


@pytest.mark.parametrize("args, first, exit_code", [
    (["--soundfont", "nosuch"], "compose: error: unknown SoundFont 'nosuch'", 2),
    (["--address", "127.0.0.1:1"], "compose: error: cannot reach the Ray cluster at 127.0.0.1:1", 1),
])
def test_a_film_that_cannot_start_leaves_no_folder(tmp_path, monkeypatch, make_score, args, first, exit_code):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sketches").mkdir()
    make_score().dump_midi(str(tmp_path / "sketches" / "a.mid"))
    (tmp_path / "film.toml").write_text(FILM)
    refused(run("render", "film.toml", "-o", "out/film", *args), first, exit_code)
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback(tmp_path):
    result = subprocess.run([str(COMPOSE), "--debug", "render", "missing.mid"], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_render_a_midi_file(tmp_path, make_score):
    source = tmp_path / "theme.mid"
    make_score(program=40, name="Violin").dump_midi(str(source))
    out = tmp_path / "out"
    result = run("render", str(source), "-o", str(out))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["manifest.json", "theme.mid", "theme_mix.wav", "theme_strings.wav"]
    info = soundfile.info(str(out / "theme_mix.wav"))
    assert (info.samplerate, info.subtype, info.channels) == (48000, "PCM_24", 2)
    # 8 beats at 120 bpm = 4 s of notes, plus the release tail
    assert 4.0 < info.duration < 4.0 + 3.0


def test_master_command(tmp_path):
    import numpy as np

    t = np.arange(48000 * 2) / 48000
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    source = tmp_path / "rough.wav"
    soundfile.write(str(source), np.stack([tone, tone], axis=1), 44100, subtype="PCM_16")
    out = tmp_path / "mastered.wav"
    result = run("master", str(source), "--lufs", "-20", "-o", str(out))
    assert result.exit_code == 0, result.output
    info = soundfile.info(str(out))
    assert (info.samplerate, info.subtype) == (48000, "PCM_24")
    assert "-20.0 LUFS" in result.output


def test_film_whose_every_cue_is_bad_input_exits_2_and_writes_no_sheet(tmp_path, make_score):
    import symusic

    film = tmp_path / "film.toml"
    muted = make_score([(0, 1, 60, 100)])  # fine at load; renders to silence
    muted.tracks[0].controls.append(symusic.ControlChange(0, 7, 0))
    muted.dump_midi(str(tmp_path / "a.mid"))
    film.write_text('[film]\ntitle = "T"\n[[cues]]\nid = "1M1"\nsketch = "a.mid"\nstart = "01:00:00:00"\n')
    result = subprocess.run([str(COMPOSE), "render", str(film), "-o", str(tmp_path / "out")], capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert "1 of 1 cues failed; no cue sheet or film manifest written" in result.stderr
    assert "a.mid" in result.stdout
    assert not (tmp_path / "out" / "cue_sheet.csv").exists() and not (tmp_path / "out" / "manifest.json").exists()


def test_a_score_that_renders_to_silence_is_bad_input(tmp_path, make_score):
    import symusic

    muted = make_score([(0, 1, 60, 100)])
    muted.tracks[0].controls.append(symusic.ControlChange(0, 7, 0))  # channel volume 0
    source = tmp_path / "muted.mid"
    muted.dump_midi(str(source))
    out = tmp_path / "out"
    result = subprocess.run([str(COMPOSE), "render", str(source), "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "muted.mid" in result.stderr and "silence" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()  # made before rendering, removed when it failed


def test_resynth_command_says_the_licence_and_writes_48k_24bit(tmp_path, tiny_musicgen_dir):
    import numpy as np

    t = np.arange(int(48000 * 1.5)) / 48000
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    source = tmp_path / "stem.wav"
    soundfile.write(str(source), np.stack([tone, tone], axis=1), 48000, subtype="PCM_24")
    out = tmp_path / "voiced.wav"
    result = subprocess.run([str(COMPOSE), "resynth", str(source), "--prompt", "warm low strings", "--model",
                             str(tiny_musicgen_dir), "--window-seconds", "1.0", "--overlap-seconds", "0.25",
                             "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "non-commercial" in result.stderr
    info = soundfile.info(str(out))
    assert (info.samplerate, info.subtype, info.channels, info.frames) == (48000, "PCM_24", 2, len(t))


def test_resynth_without_a_model_folder_is_bad_input(tmp_path):
    source = tmp_path / "stem.wav"
    soundfile.write(str(source), [[0.1, 0.1]] * 48000, 48000, subtype="PCM_24")
    result = subprocess.run([str(COMPOSE), "resynth", str(source), "--prompt", "x", "--model",
                             str(tmp_path / "nowhere"), "-o", str(tmp_path / "o.wav")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "nowhere" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "o.wav").exists()
