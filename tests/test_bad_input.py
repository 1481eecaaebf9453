"""Bad input, command by command: one line on stderr naming the file and the
problem, exit status 2, no traceback, and nothing written (no output, no
temporary file, no folder). Fast: nothing here renders audio or loads a model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from scorefarm.cli.main import cli

COMPOSE = Path(sys.executable).parent / "compose"


# ---------------------------------------------------------------- bad scores


def _good(make_score, path: Path) -> bytes:
    make_score().dump_midi(str(path))
    return path.read_bytes()


def _bad_midi(kind: str, path: Path, make_score) -> None:
    import symusic

    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        good = _good(make_score, path)
        path.write_bytes(good[: len(good) // 2])
    elif kind == "random-after-MThd":
        path.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0" + bytes(range(7, 250, 3)))
    elif kind == "no-notes":
        score = symusic.Score(480)
        score.tracks.append(symusic.Track("Piano", 0, False))
        score.dump_midi(str(path))
    elif kind == "drums-only":
        make_score([(i, 0.5, 36, 100) for i in range(8)], is_drum=True, name="Kit").dump_midi(str(path))
    elif kind == "tempo-1e6-bpm":
        make_score(bpm=1e6).dump_midi(str(path))
    elif kind == "smpte-division":
        good = bytearray(_good(make_score, path))
        good[12:14] = b"\xe7\x28"  # 25 fps, 40 ticks a frame
        path.write_bytes(bytes(good))
    elif kind == "tpq-0":
        good = bytearray(_good(make_score, path))
        good[12:14] = b"\x00\x00"
        path.write_bytes(bytes(good))
    elif kind == "wav-named-mid":
        path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28))
    elif kind == "rmid-truncated":
        good = _good(make_score, path)
        body = b"RMIDdata" + len(good).to_bytes(4, "little") + good
        path.write_bytes((b"RIFF" + len(body).to_bytes(4, "little") + body)[:-10])


BAD_MIDI = {
    "missing": "cannot read the file (No such file or directory)",
    "directory": "cannot read the file (Is a directory)",
    "empty": "is not a MIDI file (it is empty",
    "truncated": "is truncated",
    "random-after-MThd": "is truncated",
    "no-notes": "has no notes",
    "drums-only": "pitched notes",
    "tempo-1e6-bpm": "allowed: up to 1000 bpm",
    "smpte-division": "SMPTE time division",
    "tpq-0": "0 ticks per quarter note",
    "wav-named-mid": "is a RIFF file of form b'WAVE' (audio, not RMID), not a MIDI file",
    "rmid-truncated": "is truncated",
}


@pytest.mark.parametrize("kind", BAD_MIDI)
@pytest.mark.parametrize("command", [["analyze"], ["check"], ["harmonize", "-o", "out.mid"]])
def test_a_bad_midi_file_is_refused_in_one_line(tmp_path, make_score, kind, command, refused):
    _bad_midi(kind, tmp_path / "theme.mid", make_score)
    refused([command[0], "theme.mid", *command[1:]], tmp_path, "theme.mid", text=BAD_MIDI[kind])


@pytest.mark.parametrize("text, reason", [
    ("this is not xml <<<", "is not a readable MusicXML file (syntax error"),
    ('<?xml version="1.0"?><html><body>hi</body></html>', "Root tag was 'html'"),
    ("", "is empty (0 bytes)"),
])
def test_a_bad_musicxml_file_is_refused_in_one_line(tmp_path, text, reason, refused):
    (tmp_path / "chorale.musicxml").write_text(text)
    refused(["analyze", "chorale.musicxml"], tmp_path, "chorale.musicxml", text=reason)


# ---------------------------------------------------------------- outputs


@pytest.fixture
def no_soundfont(monkeypatch):
    """Looking for a SoundFont fails the test: a render's refusal is known to come
    before anything is loaded, rendered or made."""
    from scorefarm.render import farm, single

    def no_lookup(*args, **kwargs):
        raise AssertionError("the render went on to its SoundFont; it should have been refused first")

    for module, name in ((farm, "resolve_soundfont"), (farm, "resolve_film_soundfont"),
                         (single, "resolve_soundfont")):
        monkeypatch.setattr(module, name, no_lookup)


def test_render_never_writes_over_its_input(tmp_path, make_score, no_soundfont, refused):
    """`compose render theme.mid -o .` would write theme.mid (the rendered MIDI)
    over the sketch: refused before anything is rendered."""
    _good(make_score, tmp_path / "theme.mid")
    line = refused(["render", "theme.mid", "-o", "."], tmp_path, "theme.mid", text="would overwrite the input")
    assert "output folder" in line


@pytest.mark.parametrize("sketch, out", [
    ("theme.mid", "."),
    ("sub/theme.mid", "sub"),
    ("Theme Song.mid", "."),  # the MIDI's name is the safe id: another file, rendered as usual
])
def test_render_score_file_never_writes_its_midi_over_the_sketch(tmp_path, make_score, no_soundfont, sketch, out,
                                                                 files_under):
    """The library refuses it too, not only the command, whenever the MIDI it writes
    (<out>/<safe id>.mid) is the sketch itself."""
    from scorefarm.errors import OutputError
    from scorefarm.render.single import render_score_file

    (tmp_path / "sub").mkdir()
    data = _good(make_score, tmp_path / sketch)
    before = files_under(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        if sketch.startswith("Theme Song"):
            with pytest.raises(AssertionError, match="went on to its SoundFont"):
                render_score_file(sketch, out)
            return
        with pytest.raises(OutputError) as caught:
            render_score_file(sketch, out)
    finally:
        os.chdir(cwd)
    assert caught.value.one_line() == (f"{Path(out) / 'theme.mid'}: would overwrite the input {sketch}; "
                                       "give another output folder")
    assert files_under(tmp_path) == before and (tmp_path / sketch).read_bytes() == data


FILM = '[film]\ntitle = "T"\n[[cues]]\nid = "1M1"\nsketch = "{sketch}"\nstart = "01:00:00:00"\n{extra}'


@pytest.fixture
def film_without_ray(tmp_path, no_soundfont):
    """A film folder; a film that gets as far as its SoundFont fails the test, so a
    refusal is known to come before Ray and before the output folder."""
    (tmp_path / "sketches").mkdir()
    return tmp_path


def test_a_film_never_writes_over_a_cue_sketch(film_without_ray, make_score, refused):
    (film_without_ray / "1M1").mkdir()
    _good(make_score, film_without_ray / "1M1" / "1M1.mid")
    (film_without_ray / "film.toml").write_text(FILM.format(sketch="1M1/1M1.mid", extra=""))
    refused(["render", "film.toml", "-o", "."], film_without_ray, "1M1/1M1.mid", text="would overwrite the input")


def test_render_film_never_writes_a_cue_midi_over_its_sketch(film_without_ray, make_score, files_under):
    """The library refuses it too: a cue list whose cue 1M1's sketch is <out>/1M1/1M1.mid."""
    from scorefarm.errors import OutputError
    from scorefarm.render.farm import render_film
    from scorefarm.symbolic.cuelist import load_cue_list

    (film_without_ray / "1M1").mkdir()
    data = _good(make_score, film_without_ray / "1M1" / "1M1.mid")
    (film_without_ray / "film.toml").write_text(FILM.format(sketch="1M1/1M1.mid", extra=""))
    before = files_under(film_without_ray)
    with pytest.raises(OutputError, match="would overwrite the input .*1M1.mid; give another output folder"):
        render_film(load_cue_list(film_without_ray / "film.toml"), film_without_ray)
    assert files_under(film_without_ray) == before and (film_without_ray / "1M1" / "1M1.mid").read_bytes() == data


@pytest.mark.parametrize("extra, text", [
    ("seed = = 3\n", "TOML syntax error"),
    ("tempo = 90\n", "key 'tempo': unknown key"),
    ('seed = "one"\n', "key 'seed': received 'one' (a string)"),
    ("seed = -1\n", "key 'seed': received -1"),
    ("extend_bars = -2\n", "key 'extend_bars': received -2"),
    ('hits = ["00:59:00:00"]\n', "before the cue's start"),
    ('ensemble = "brass-band"\n', "unknown ensemble 'brass-band'"),
])
def test_a_bad_cue_list_is_refused_at_load(film_without_ray, make_score, extra, text, refused):
    _good(make_score, film_without_ray / "sketches" / "a.mid")
    (film_without_ray / "film.toml").write_text(FILM.format(sketch="sketches/a.mid", extra=extra))
    refused(["render", "film.toml", "-o", "out"], film_without_ray, "film.toml", text=text)


@pytest.mark.parametrize("sketch, text", [
    ("sketches/nosuch.mid", "file not found"),
    ("sketches", "is not a file"),
    ("sketches/empty.mid", "is not a MIDI file (it is empty"),
])
def test_a_cue_with_a_bad_sketch_is_refused_at_load(film_without_ray, sketch, text, refused):
    (film_without_ray / "sketches" / "empty.mid").write_bytes(b"")
    (film_without_ray / "film.toml").write_text(FILM.format(sketch=sketch, extra=""))
    refused(["render", "film.toml", "-o", "out"], film_without_ray, "film.toml", "key 'sketch'", text=text)


@pytest.mark.parametrize("out, text", [
    ("melody.mid", "would overwrite the input"),
    ("sub", "is a folder"),
    ("melody.mid/x.mid", "cannot write here"),
    ("out.txt", "must be a MIDI file"),
])
def test_a_wrong_output_is_refused_before_the_work(tmp_path, make_score, monkeypatch, out, text, refused):
    from scorefarm.symbolic import harmonize

    def no_work(*args, **kwargs):
        raise AssertionError("the work was done; the output should have been refused first")

    monkeypatch.setattr(harmonize, "harmonize_file", no_work)
    _good(make_score, tmp_path / "melody.mid")
    (tmp_path / "sub").mkdir()
    refused(["harmonize", "melody.mid", "-o", out], tmp_path, out.split("/")[0], text=text)


@pytest.mark.parametrize("args, name, text", [
    (["-o", "notes.txt"], "notes.txt", "is a file; give a folder"),
    (["-o", "notes.txt/model"], "notes.txt", "cannot write here"),
    (["--init-from", "studio", "-o", "./studio"], "studio", "would overwrite the input"),
])
def test_train_refuses_a_wrong_model_folder_before_training(tmp_path, monkeypatch, args, name, text, refused):
    from scorefarm.symbolic import train

    def no_training(*args, **kwargs):
        raise AssertionError("the model was trained; the output should have been refused first")

    monkeypatch.setattr(train, "train", no_training)
    (tmp_path / "notes.txt").write_text("not a folder\n")
    (tmp_path / "studio").mkdir()
    refused(["train", "--corpus", "build", *args], tmp_path, name, text=text)


def test_checking_an_output_leaves_nothing_behind(tmp_path):
    from scorefarm.files import check_output, check_output_folder

    check_output(tmp_path / "new" / "deeper" / "x.mid", (".mid",), "a MIDI file")
    check_output_folder(tmp_path / "models" / "studio")
    assert list(tmp_path.iterdir()) == []  # the folders are made by the writer, not the check


# ---------------------------------------------------------------- audio


def _wav(path: Path, channels: int = 2) -> None:
    import numpy as np
    import soundfile

    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(4800) / 48000)
    soundfile.write(str(path), np.stack([tone] * channels, axis=1), 48000, subtype="PCM_24")


@pytest.mark.parametrize("args, name, text", [
    (["master", "stem.wav", "-o", "stem.wav"], "stem.wav", "would overwrite the input"),
    (["master", "notes.txt", "-o", "m.wav"], "notes.txt", "not a WAV file"),
    (["resynth", "stem.wav", "-o", "stem.wav"], "stem.wav", "would overwrite the input"),
    (["resynth", "stem.wav", "-o", "voiced.mid"], "voiced.mid", "must be a WAV file"),
    (["resynth", "stem.wav", "-o", "notes.txt/voiced.wav"], "notes.txt", "cannot write here"),
    (["resynth", "six.wav", "-o", "voiced.wav"], "six.wav", "(frames, 1 or 2 channels)"),
    (["resynth", "stem.wav", "-o", "voiced.wav"], "nowhere", "model folder not found"),
])
def test_bad_audio_input_is_refused_in_one_line(tmp_path, args, name, text, refused):
    """resynth's outputs are checked before the model is looked for (let alone run),
    its stem's faults name the file, and the licence notice comes with a result only."""
    _wav(tmp_path / "stem.wav")
    _wav(tmp_path / "six.wav", channels=6)
    (tmp_path / "notes.txt").write_text("not audio\n")
    if args[0] == "resynth":
        args = [*args, "--prompt", "calm", "--model", "nowhere"]
    refused(args, tmp_path, name, text=text)


# ---------------------------------------------------------------- usage


@pytest.mark.parametrize("args, text", [
    (["extend", "x.mid", "--seed", "-1"], "'--seed': -1 is not in the range"),
    (["resynth", "x.wav", "--prompt", "p", "--model", "m", "-o", "o.wav", "--window-seconds", "-1"],
     "'--window-seconds': -1.0 is not in the range"),
    (["analyze", "x.mid", "--window-bars", "0"], "'--window-bars': 0 is not in the range"),
    (["harmonize", "x.mid", "--style", "jazz"], "'jazz' is not one of 'chorale', 'film'"),
    (["harmonize", "x.mid", "--key", "H minor"], "'H' is not a note letter"),
    (["master", "x.wav", "--lufs", "loud", "-o", "m.wav"], "'loud' is not a valid float"),
    (["render", "film.toml", "--workers", "0"], "'--workers': 0 is not in the range"),
    (["analyze", "x.mid", "--widow-bars", "2"], "Did you mean '--window-bars'?"),
    (["analyze"], "Missing argument 'SCORE'"),
    (["check", "x.mid", "--fix-bass"], "--fix-bass needs --fix"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["--bogus", "analyze"], "No such option '--bogus'"),
])
def test_a_usage_error_is_one_line(tmp_path, args, text, refused):
    line = refused(args, tmp_path, text=text)
    assert "--help" in line  # where the options are listed


def test_no_command_still_shows_the_help():
    result = CliRunner().invoke(cli, [])
    assert "Usage:" in result.output and "Commands:" in result.output


def test_a_usage_error_is_one_line_with_a_click_that_has_no_NoArgsIsHelpError(tmp_path, monkeypatch, refused):
    """click before 8.2 has no NoArgsIsHelpError (it prints the help itself): a usage
    error is still one line, not an AttributeError."""
    import click

    monkeypatch.delattr(click.exceptions, "NoArgsIsHelpError")
    refused(["analyze", "x.mid", "--widow-bars", "2"], tmp_path, text="No such option '--widow-bars'")
    refused(["--bogus", "analyze"], tmp_path, text="No such option '--bogus'")


# ---------------------------------------------------------------- processes


def _closed_stdout(*args: str) -> subprocess.CompletedProcess:
    read, write = os.pipe()
    os.close(read)  # like `| head -0`
    try:
        return subprocess.run([str(COMPOSE), *args], stdout=write, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["analyze", "--help"]])
def test_help_into_a_closed_pipe_ends_quietly(args):
    result = _closed_stdout(*args)
    assert (result.returncode, result.stderr) == (141, b"")


TERMINATED_LINE = b"compose: terminated; finished outputs are kept, nothing half-written\n"

# `compose master stem.wav -o mastered.wav`, through compose's own entry point, with the
# WAV writer held up mid-write (its temporary file made, the samples not yet written):
# asleep, or blocked writing to a stderr that nobody reads (as a progress bar is when
# its terminal is slow), so that the signal lands inside sys.stderr's write.
STUCK_COMPOSE = """
import sys, time
from scorefarm.render import wavio

def stuck(*args, **kwargs):
{stall}

wavio._pack_samples = stuck
sys.argv = ["compose", "master", "stem.wav", "-o", "mastered.wav"]
from scorefarm.cli.main import main
main()
"""
STALLS = {
    "asleep": "time.sleep(600)",
    "writing to stderr": "sys.stderr.write('progress\\n' * 1_000_000)",  # far more than a pipe holds
    # as ray.wait, where a film's driver waits, does with the handler's SystemExit
    "in a library that exits its own way": "try:\n    time.sleep(600)\nexcept SystemExit:\n    sys.exit(1)",
}


@pytest.mark.parametrize("stall", STALLS)
def test_sigterm_through_compose_removes_the_temporary_file(tmp_path, stall):
    """`timeout` or a scheduler ends compose with SIGTERM: main() has installed the
    handler that says one line (straight to the file descriptor: a write to sys.stderr
    from a handler that lands inside one fails, "reentrant call"), exits 143 and
    leaves no half-written file behind."""
    _wav(tmp_path / "stem.wav")
    script = STUCK_COMPOSE.format(stall=textwrap.indent(STALLS[stall], "    "))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # sys.stderr buffered, as usual
    child = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".mastered.wav.*.part")):  # the job is under way
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the temporary file never appeared"
            time.sleep(0.05)
        time.sleep(0.2)  # into the stall
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 143, err[-2000:]
    if stall != "writing to stderr":
        assert err == TERMINATED_LINE
    else:  # the line once, after the interrupted progress
        assert err.count(TERMINATED_LINE) == 1 and b"Traceback" not in err and b"error" not in err, err[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stem.wav"]
