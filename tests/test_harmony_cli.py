"""`compose analyze`, `harmonize` and `check` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import symusic
from click.testing import CliRunner

from scorefarm.cli.errors import ComposeGroup
from scorefarm.cli.harmony_commands import COMMANDS, analyze, check, harmonize
from scorefarm.symbolic.vl_examples import clean_voices, planted_faults_voices
from scorefarm.symbolic.voices import voices_to_score

TUNE = [(i, 1.0, p, 90) for i, p in enumerate([67, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 64, 65, 64, 62])] + [
    (15, 1.0, 60, 90)]


@pytest.fixture
def compose() -> click.Group:
    return ComposeGroup(name="compose", commands=list(COMMANDS))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def tune(tmp_path: Path, make_score) -> Path:
    path = tmp_path / "tune.mid"
    make_score(TUNE).dump_midi(str(path))
    return path


def write_voices(voices, path: Path) -> Path:
    voices_to_score(voices).dump_midi(str(path))
    return path


def test_commands_have_short_help_and_examples(runner, compose):
    for command in (analyze, harmonize, check):
        assert command.short_help
        result = runner.invoke(compose, [command.name, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output and f"compose {command.name} " in result.output


def test_harmonize_writes_beside_the_melody(runner, compose, tune: Path):
    result = runner.invoke(compose, ["harmonize", str(tune)])
    assert result.exit_code == 0, result.output
    out = tune.with_name("tune.harmonized.mid")
    assert out.exists() and str(out) in result.output
    assert "note: key: C major" in result.output
    assert [t.name for t in symusic.Score(str(out)).tracks] == ["Soprano", "Alto", "Tenor", "Bass"]


def test_harmonize_film_to_a_named_output(runner, compose, tune: Path, tmp_path: Path):
    out = tmp_path / "film.mid"
    result = runner.invoke(compose, ["harmonize", str(tune), "--style", "film", "--key", "C", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "pedal" in result.output and out.exists()
    assert "9 chords over 16 beats (harmonic rhythm: half-bar)" in result.output


def test_harmonize_harmonic_rhythm_of_a_bar(runner, compose, tune: Path, tmp_path: Path):
    out = tmp_path / "slow.mid"
    result = runner.invoke(compose, ["harmonize", str(tune), "--harmonic-rhythm", "bar", "--embellish", "none",
                                     "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "6 chords over 16 beats (harmonic rhythm: bar)" in result.output
    bass = symusic.Score(str(out)).tracks[3].notes
    assert {n.time // 480 for n in bass} <= {0, 4, 8, 12, 14, 15}  # bar lines, and the cadence's last two beats
    wrong = runner.invoke(compose, ["harmonize", str(tune), "--harmonic-rhythm", "quaver"])
    assert wrong.exit_code == 2 and "quaver" in wrong.output


def test_harmonize_bad_input_exits_2_with_one_line(runner, compose, tmp_path: Path, make_score):
    empty = tmp_path / "drums.mid"
    make_score([(0, 1, 36, 80)], is_drum=True).dump_midi(str(empty))
    result = runner.invoke(compose, ["harmonize", str(empty)])
    assert result.exit_code == 2
    assert "compose: error:" in result.output and "no pitched notes" in result.output
    assert "Traceback" not in result.output
    bad_key = runner.invoke(compose, ["harmonize", str(empty), "--key", "H minor"])
    assert bad_key.exit_code == 2 and "--key" in bad_key.output
    bad_style = runner.invoke(compose, ["harmonize", str(empty), "--style", "jazz"])
    assert bad_style.exit_code == 2


def test_check_lists_faults_with_bar_beat_and_voices(runner, compose, tmp_path: Path):
    path = write_voices(planted_faults_voices()[0], tmp_path / "faults.mid")
    result = runner.invoke(compose, ["check", str(path)])
    assert result.exit_code == 0
    assert "bar 1 beat 2: parallel fifths (Soprano / Alto)" in result.output
    assert "13 fault(s)" in result.output


def test_check_strict_exits_1_on_faults_and_0_when_clean(runner, compose, tmp_path: Path):
    faults = write_voices(planted_faults_voices()[0], tmp_path / "faults.mid")
    clean = write_voices(clean_voices()[0], tmp_path / "clean.mid")
    assert runner.invoke(compose, ["check", str(faults), "--strict"]).exit_code == 1
    result = runner.invoke(compose, ["check", str(clean), "--strict"])
    assert result.exit_code == 0 and "no faults" in result.output


def test_check_json(runner, compose, tmp_path: Path):
    path = write_voices(planted_faults_voices()[0], tmp_path / "faults.mid")
    result = runner.invoke(compose, ["check", str(path), "--json"])
    data = json.loads(result.output)
    assert data["voices"] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert data["counts"]["parallel_fifths"] == 1
    first = data["faults"][0]
    assert {"kind", "bar", "beat", "voices", "detail"} <= set(first)


def test_check_fix_writes_and_says_what_remains(runner, compose, tmp_path: Path):
    path = write_voices(planted_faults_voices()[0], tmp_path / "faults.mid")
    result = runner.invoke(compose, ["check", str(path), "--fix", "--strict"])
    out = tmp_path / "faults.fixed.mid"
    assert out.exists()
    assert "re-voiced Alto, Tenor" in result.output and "could not fix:" in result.output
    assert result.exit_code == 1  # faults in the soprano and bass remain
    as_json = runner.invoke(compose, ["check", str(path), "--fix", "--json", "-o", str(tmp_path / "f.mid")])
    data = json.loads(as_json.output)
    assert len(data["after"]["faults"]) < len(data["before"]["faults"])


def test_check_fix_writes_what_fix_file_writes(runner, compose, tmp_path: Path):
    # the command is the library's fixer and nothing more: the same bytes, with and without --fix-bass
    from scorefarm.symbolic.vl_fix import FixOptions, fix_file

    path = write_voices(planted_faults_voices()[0], tmp_path / "faults.mid")
    for args, options in (([], FixOptions()), (["--fix-bass"], FixOptions(move_bass=True))):
        for old in (tmp_path / "cli.mid", tmp_path / "library.mid"):  # each run writes its own
            old.unlink(missing_ok=True)
        result = runner.invoke(compose, ["check", str(path), "--fix", "-o", str(tmp_path / "cli.mid"), *args])
        assert result.exit_code == 0, (args, result.output)
        fix_file(path, tmp_path / "library.mid", options)
        assert (tmp_path / "cli.mid").read_bytes() == (tmp_path / "library.mid").read_bytes()


def test_check_options_need_fix(runner, compose, tune: Path):
    assert runner.invoke(compose, ["check", str(tune), "--fix-bass"]).exit_code == 2
    assert runner.invoke(compose, ["check", str(tune), "-o", "x.mid"]).exit_code == 2


def test_check_missing_file_exits_2(runner, compose, tmp_path: Path):
    result = runner.invoke(compose, ["check", str(tmp_path / "nope.mid")])
    assert result.exit_code == 2 and "compose: error:" in result.output


def test_analyze_table_and_json(runner, compose, tmp_path: Path, make_score):
    chords = [["C5", "G4", "E4", "C3"], ["C5", "A4", "F4", "F3"], ["B4", "G4", "D4", "G2"], ["C5", "G4", "E4", "C3"]]
    from scorefarm.symbolic.chords import parse_pitch

    notes = [(i, 1, parse_pitch(p), 80) for i, chord in enumerate(chords) for p in chord]
    path = tmp_path / "cadence.mid"
    make_score(notes).dump_midi(str(path))
    table = runner.invoke(compose, ["analyze", str(path)])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["bar", "beat", "key", "chord", "numeral"]
    assert lines[1].split() == ["1", "1", "C", "major", "C", "I"]
    assert lines[3].split() == ["1", "3", "G", "V"]
    data = json.loads(runner.invoke(compose, ["analyze", str(path), "--json"]).output)
    assert [b["roman"] for b in data["beats"]] == ["I", "IV", "V", "I"]
    keyed = runner.invoke(compose, ["analyze", str(path), "--key", "G major"])
    assert "IV" in keyed.output.splitlines()[1]


def one_line_error(result, path: Path, text: str) -> None:
    """Exit 2, one line on stderr naming ``path`` as given, no traceback."""
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"compose: error: {path}: ") and text in lines[0], result.stderr


def _bad_musicxml(kind: str, folder: Path) -> Path:
    import zipfile

    path = folder / ("bad.mxl" if kind.endswith("mxl") else "bad.musicxml")
    if kind == "truncated":
        path.write_text('<?xml version="1.0"?>\n<score-partwise')
    elif kind == "zip-without-score.mxl":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "no score here")
    elif kind == "not-a-zip.mxl":
        path.write_text("garbage\n")
    else:  # empty .musicxml / empty .mxl
        path.write_bytes(b"")
    return path


@pytest.mark.parametrize("kind", ["truncated", "empty", "empty.mxl", "zip-without-score.mxl", "not-a-zip.mxl"])
@pytest.mark.parametrize("args", [["analyze"], ["check"], ["check", "--fix"], ["harmonize"]])
def test_malformed_musicxml_is_one_line_exit_2(runner, compose, tmp_path: Path, kind, args):
    path = _bad_musicxml(kind, tmp_path)
    result = runner.invoke(compose, [*args, str(path)])
    one_line_error(result, path, "MusicXML")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.fixture
def no_work(monkeypatch):
    """Harmonizing or fixing fails the test: a refusal is known to come before the work."""
    from scorefarm.symbolic import harmonize as harmonize_module, vl_fix

    def work(*args, **kwargs):
        raise AssertionError("the work was done; the output should have been refused first")

    monkeypatch.setattr(harmonize_module, "harmonize_file", work)
    monkeypatch.setattr(vl_fix, "fix_file", work)


@pytest.mark.parametrize("args", [["harmonize"], ["check", "--fix"]])
@pytest.mark.parametrize("out, text", [("folder.mid", "is a folder"), ("folder", "is a folder"),
                                       ("tune.mid", "would overwrite the input"), ("out.txt", "must be a MIDI file")])
def test_a_bad_output_is_refused_before_the_work(runner, compose, tune: Path, no_work, args, out, text):
    (tune.parent / "folder.mid").mkdir()
    (tune.parent / "folder").mkdir()
    before = tune.read_bytes()
    result = runner.invoke(compose, [*args, str(tune), "-o", str(tune.parent / out)])
    one_line_error(result, tune.parent / out, text)
    assert tune.read_bytes() == before


def test_harmonize_counts_every_chord_note_left_out(runner, compose, tmp_path: Path, make_score):
    triads = [(i, 1.0, top - step, 80) for i, top in enumerate([72, 74, 76, 77, 79, 77, 76, 74]) for step in (0, 4, 7)]
    held = [(8, 2.0, 79, 80), (8.5, 0.5, 76, 80)]  # one note under a held higher one
    path = tmp_path / "chords_melody.mid"
    make_score(triads + held).dump_midi(str(path))
    result = runner.invoke(compose, ["harmonize", str(path), "-o", str(tmp_path / "out.mid")])
    assert result.exit_code == 0, result.output
    assert "8 chord(s) (notes starting together); took the top note of each and left out the 16 note(s)" in \
        result.stderr
    assert "note: 1 note(s) sounded under a higher one" in result.stderr


def test_check_refuses_one_voice_and_writes_nothing(runner, compose, tune: Path):
    result = runner.invoke(compose, ["check", str(tune)])
    one_line_error(result, tune, "needs at least two voices")
    out = tune.parent / "single_fixed.mid"
    fixed = runner.invoke(compose, ["check", str(tune), "--fix", "-o", str(out)])
    one_line_error(fixed, tune, "needs at least two voices")
    assert not out.exists() and sorted(p.name for p in tune.parent.iterdir()) == [tune.name]


def test_check_fix_bass_keeps_what_it_cannot_improve(runner, compose, tmp_path: Path):
    from scorefarm.symbolic.chords import parse_pitch
    from scorefarm.symbolic.voices import SATB, Part, VNote, Voices

    chords = [["C5", "G4", "E4", "C3"], ["D5", "F4", "A3", "D3"], ["B4", "G4", "B3", "G3"]]
    parts = [Part(name, [VNote(i * 480, (i + 1) * 480, parse_pitch(c[v])) for i, c in enumerate(chords)])
             for v, name in enumerate(SATB)]
    path = write_voices(Voices(480, parts), tmp_path / "octaves.mid")
    out = tmp_path / "fixed.mid"
    result = runner.invoke(compose, ["check", str(path), "--fix", "--fix-bass", "-o", str(out), "--strict"])
    assert result.exit_code == 1, result.output  # the octaves remain
    assert "left as written" in result.output and "antiparallel" not in result.output
    again = json.loads(runner.invoke(compose, ["check", str(out), "--json"]).output)
    assert [f["kind"] for f in again["faults"]] == ["parallel_octaves"]


BOOM = """
import click
from scorefarm.cli.errors import ComposeGroup

@click.command()
def boom():
    click.echo("a line")
    raise BrokenPipeError(32, "Broken pipe")  # as a write to a pipe does

ComposeGroup(name="compose", commands=[boom])(prog_name="compose")
"""


def _run_with_stdout(args: list[str], reader_open: bool):
    """Run with stdout a pipe whose reading end is open (and read) or already closed."""
    import os
    import subprocess
    import sys

    if reader_open:
        return subprocess.run([sys.executable, *args], capture_output=True, timeout=300)
    read, write = os.pipe()
    os.close(read)  # like `| head -0`: every write to stdout fails
    try:
        return subprocess.run([sys.executable, *args], stdout=write, stderr=subprocess.PIPE, timeout=300)
    finally:
        os.close(write)


def test_a_closed_stdout_ends_quietly_with_141():
    closed = _run_with_stdout(["-c", BOOM, "boom"], reader_open=False)
    assert (closed.returncode, closed.stderr) == (141, b"")
    # a broken pipe that is not our stdout is a failure, said in one line
    other = _run_with_stdout(["-c", BOOM, "boom"], reader_open=True)
    assert other.returncode == 1 and other.stdout == b"a line\n"
    assert other.stderr.decode().startswith("compose: internal error: BrokenPipeError")


def test_analyze_into_a_closed_pipe(tmp_path: Path, make_score):
    path = tmp_path / "cadence.mid"
    make_score([(i, 1, p, 80) for i, chord in enumerate([[72, 67, 64, 48], [72, 69, 65, 53], [71, 67, 62, 43]])
                for p in chord]).dump_midi(str(path))
    result = _run_with_stdout(["-c", "from scorefarm.cli.main import main; main()", "analyze", str(path)],
                              reader_open=False)
    assert (result.returncode, result.stderr) == (141, b"")


def test_a_melody_note_no_chord_fits_under_is_refused_naming_the_file_and_the_bar(tmp_path, make_score, refused):
    """A top line that drops to a cello's F#2 (a quartet given as a melody) leaves no room for
    alto, tenor and bass: one line naming the file, the note and where it is, in bars and beats."""
    notes = [(i * 1.0, 1.0, p, 80) for i, p in enumerate([72, 74, 76, 77, 76, 74, 42, 72])]
    make_score(notes).dump_midi(str(tmp_path / "quartet_top.mid"))
    line = refused(["harmonize", "quartet_top.mid", "-o", "out.mid"], tmp_path, "quartet_top.mid",
                   text="F#2 at bar 2, beat 3")
    assert "under the soprano range" in line
