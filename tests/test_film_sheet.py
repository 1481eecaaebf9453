"""A film's cue sheet and manifest in film order, overlapping cues and a multi-voice
sketch harmonized said aloud, a film of which no cue renders leaving nothing (and
saying so, and whose the files already in the folder are), and no stale cue sheet."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import pytest
import symusic
from click.testing import CliRunner

from scorefarm.cli.main import cli
from scorefarm.cli.progress import film_table_title, print_film_table
from scorefarm.render.farm import FarmOptions, render_film
from scorefarm.symbolic.cue_checks import cue_list_warnings, film_order, overlaps
from scorefarm.symbolic.cuelist import load_cue_list
from scorefarm.symbolic.timecode import FrameRate, Timecode

RATE = FrameRate.parse(24)
MELODY = [(i * 1.0, 1.0, p, 80) for i, p in enumerate([67, 69, 71, 72, 74, 72, 71, 67])]  # four seconds


def _tc(label: str) -> Timecode:
    return Timecode.parse(label, RATE)


def _film(folder: Path, cues: list[dict], sketches: dict[str, symusic.Score]) -> Path:
    (folder / "sk").mkdir(parents=True, exist_ok=True)
    for name, score in sketches.items():
        score.dump_midi(str(folder / "sk" / name))
    text = '[film]\ntitle = "QA"\nframe_rate = 24\n'
    for cue in cues:
        text += "\n[[cues]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in cue.items())
    (folder / "film.toml").write_text(text)
    return folder / "film.toml"


def _two_voices(make_score) -> symusic.Score:
    score = make_score(MELODY, name="Soprano")
    under = make_score([(i * 2.0, 2.0, p, 70) for i, p in enumerate([55, 53, 55, 52])], name="Alto").tracks[0]
    score.tracks.append(under)
    return score


def _muted(make_score) -> symusic.Score:
    score = make_score([(0, 1, 60, 100)])  # sound at load, silence when rendered: bad input
    score.tracks[0].controls.append(symusic.ControlChange(0, 7, 0))
    return score


# ---------------------------------------------------------------- the checks themselves


def test_film_order_is_start_then_cue_id_with_numbers_as_numbers():
    class Cue:
        def __init__(self, id, start):
            self.id, self.start = id, _tc(start)

    cues = [Cue("2M1", "01:20:00:00"), Cue("1M10", "01:00:00:00"), Cue("1M2", "01:00:00:00"), Cue("1m3", "00:59:00:00")]
    assert [c.id for c in film_order(cues)] == ["1m3", "1M2", "1M10", "2M1"]


def test_overlaps_name_both_cues_and_how_long():
    spans = [("1M2", _tc("01:00:05:00"), _tc("01:01:31:00")), ("1M1", _tc("01:00:00:00"), _tc("01:00:24:12")),
             ("1M3", _tc("01:01:31:00"), _tc("01:01:40:00")),  # starts as 1M2 ends: no overlap
             ("1M4", _tc("01:01:35:00"), _tc("01:01:36:00"))]  # a source cue under 1M3
    assert overlaps(spans) == [
        "cues 1M1 (01:00:00:00-01:00:24:12) and 1M2 (01:00:05:00-01:01:31:00) overlap by 00:00:19:12",
        "cues 1M3 (01:01:31:00-01:01:40:00) and 1M4 (01:01:35:00-01:01:36:00) overlap by 00:00:01:00",
    ]


def test_harmonizing_a_sketch_of_several_voices_is_warned_of_at_load(tmp_path, make_score):
    film = _film(tmp_path, [
        {"id": "1M1", "sketch": "sk/two.mid", "start": "01:00:00:00", "harmonize": True},
        {"id": "1M2", "sketch": "sk/tune.mid", "start": "01:01:00:00", "harmonize": True},  # a melody alone
        {"id": "1M3", "sketch": "sk/two.mid", "start": "01:02:00:00"},  # not harmonized: its own harmony plays
    ], {"two.mid": _two_voices(make_score), "tune.mid": make_score(MELODY)})
    assert cue_list_warnings(load_cue_list(film)) == [
        "cue 1M1: harmonize = true keeps only the sketch's top line, 8 of its 12 notes (2 tracks); the other 4, "
        "its own harmony, are left out and the harmonizer writes the alto, tenor and bass anew "
        "(set harmonize = false to keep them)"]


# ---------------------------------------------------------------- a film rendered


def test_the_cue_sheet_is_in_film_order_and_overlaps_are_said(tmp_path, make_score):
    """Cues written out of order come out by start timecode in the cue sheet, the film's
    manifest and the report; two that overlap are both delivered, with one line naming both."""
    film = _film(tmp_path, [
        {"id": "1M3", "sketch": "sk/tune.mid", "start": "01:10:00:00"},
        {"id": "1M2", "sketch": "sk/tune.mid", "start": "01:00:02:00"},  # under 1M1's four seconds and tail
        {"id": "1M1", "sketch": "sk/tune.mid", "start": "01:00:00:00"},
    ], {"tune.mid": make_score(MELODY)})
    out = tmp_path / "out"
    report = render_film(load_cue_list(film), out, FarmOptions(serial=True))
    assert [o.cue_id for o in report.outcomes] == ["1M1", "1M2", "1M3"]
    rows = list(csv.DictReader((out / "cue_sheet.csv").open()))
    assert [(r["cue"], r["start"]) for r in rows] == [("1M1", "01:00:00:00"), ("1M2", "01:00:02:00"),
                                                      ("1M3", "01:10:00:00")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [c["id"] for c in manifest["cues"]] == ["1M1", "1M2", "1M3"]
    # the length a performing rights cue sheet takes: m:ss, a part of a second counted whole
    for row, outcome in zip(rows, report.outcomes):
        seconds = math.ceil(outcome.duration_seconds)
        assert row["duration_mmss"] == f"{seconds // 60}:{seconds % 60:02d}"
    end = rows[0]["end"]
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith(f"cues 1M1 (01:00:00:00-{end}) and 1M2 (01:00:02:00-{rows[1]['end']}) "
                                         "overlap by ")
    assert all(o.state == "rendered" for o in report.outcomes)


def test_a_film_of_which_no_cue_renders_writes_nothing(tmp_path, make_score):
    film = _film(tmp_path, [{"id": "1M1", "sketch": "sk/muted.mid", "start": "01:00:00:00"},
                            {"id": "1M2", "sketch": "sk/muted.mid", "start": "01:01:00:00"}],
                 {"muted.mid": _muted(make_score)})
    out = tmp_path / "out" / "film"
    report = render_film(load_cue_list(film), out, FarmOptions(serial=True))
    assert [o.state for o in report.outcomes] == ["failed", "failed"] and not report.delivered
    assert all(o.bad_input and "silence" in o.reason for o in report.outcomes)
    assert not (tmp_path / "out").exists()  # no cue sheet, no manifest, not even the folders it made
    assert report.earlier_files == []
    title, caption = film_table_title(report)  # the table names no folder as the output
    assert title.startswith("nothing written  (") and str(out) not in title
    assert caption == f"no output folder: {out} was not made"


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_run_that_renders_nothing_leaves_an_earlier_run_as_it_was_and_says_so(tmp_path, make_score, capsys):
    """The earlier run's outputs agree with its cue sheet: they are kept, byte for byte,
    and the table says that nothing was written and whose the files are."""
    cues = [{"id": "1M1", "sketch": "sk/tune.mid", "start": "01:00:00:00"},
            {"id": "1M2", "sketch": "sk/tune.mid", "start": "01:01:00:00"}]
    film = _film(tmp_path, cues, {"tune.mid": make_score(MELODY), "muted.mid": _muted(make_score)})
    out = tmp_path / "out"
    render_film(load_cue_list(film), out, FarmOptions(serial=True))
    before = _digests(out)
    film = _film(tmp_path, [{**cue, "sketch": "sk/muted.mid"} for cue in cues], {})
    report = render_film(load_cue_list(film), out, FarmOptions(serial=True))
    assert not report.delivered and _digests(out) == before
    assert report.earlier_files == ["cue_sheet.csv", "manifest.json", "1M1/", "1M2/"]
    print_film_table(report)
    printed = " ".join(capsys.readouterr().out.split())
    assert "nothing written (" in printed
    assert (f"the files in {out} are from an earlier run, left as they were: "
            "cue_sheet.csv, manifest.json, 1M1/, 1M2/") in printed


def test_a_run_cut_short_after_writing_a_cue_leaves_no_stale_cue_sheet(tmp_path, make_score):
    """A run that replaces a cue's outputs first removes the earlier cue sheet and film
    manifest, which time and hash that cue as it was: cut short before it writes its own,
    it leaves none (a rerun writes them), not a cue sheet giving the old cue's end."""
    cues = [{"id": "1M1", "sketch": "sk/long.mid", "start": "01:00:00:00"},
            {"id": "1M2", "sketch": "sk/tune.mid", "start": "01:01:00:00"}]
    film = _film(tmp_path, cues, {"long.mid": make_score(MELODY), "tune.mid": make_score(MELODY),
                                  "short.mid": make_score(MELODY[:6]), "muted.mid": _muted(make_score)})
    out = tmp_path / "out"
    render_film(load_cue_list(film), out, FarmOptions(serial=True))
    first_end = next(csv.DictReader((out / "cue_sheet.csv").open()))["end"]

    class CutShort(Exception):
        pass

    def cut_short(payload):
        if payload["state"] == "done":
            raise CutShort

    shorter = [{**cues[0], "sketch": "sk/short.mid"}, cues[1]]
    film = _film(tmp_path, shorter, {})
    with pytest.raises(CutShort):  # 1M1 written anew, then the run stops
        render_film(load_cue_list(film), out, FarmOptions(serial=True, force=True), progress=cut_short)
    assert not (out / "cue_sheet.csv").exists() and not (out / "manifest.json").exists()
    mix = json.loads((out / "1M1" / "manifest.json").read_text())["outputs"]["1M1_mix.wav"]
    assert mix["duration_seconds"] == 5.0  # six beats at 120 bpm and the 2 s tail (eight beats before)

    muted = _film(tmp_path, [{**cue, "sketch": "sk/muted.mid"} for cue in cues], {})
    report = render_film(load_cue_list(muted), out, FarmOptions(serial=True))
    assert report.earlier_files == ["1M1/", "1M2/"]  # and no cue sheet at odds with 1M1

    film = _film(tmp_path, shorter, {})
    assert [o.state for o in render_film(load_cue_list(film), out, FarmOptions(serial=True)).outcomes] == [
        "cached", "cached"]
    rows = list(csv.DictReader((out / "cue_sheet.csv").open()))
    assert first_end == "01:00:06:00" and rows[0]["end"] == "01:00:05:00"
    recorded = json.loads((out / "manifest.json").read_text())["cues"]
    assert all(c["manifest_sha256"] == hashlib.sha256((out / c["id"] / "manifest.json").read_bytes()).hexdigest()
               for c in recorded)


def test_a_partial_film_lists_what_was_delivered(tmp_path, make_score):
    film = _film(tmp_path, [{"id": "1M1", "sketch": "sk/muted.mid", "start": "01:00:00:00"},
                            {"id": "1M2", "sketch": "sk/tune.mid", "start": "01:01:00:00"}],
                 {"muted.mid": _muted(make_score), "tune.mid": make_score(MELODY)})
    out = tmp_path / "out"
    report = render_film(load_cue_list(film), out, FarmOptions(serial=True))
    assert [(o.cue_id, o.state) for o in report.delivered] == [("1M2", "rendered")]
    assert [r["cue"] for r in csv.DictReader((out / "cue_sheet.csv").open())] == ["1M2"]
    recorded = json.loads((out / "manifest.json").read_text())["cues"]
    assert [(c["id"], c["state"]) for c in recorded] == [("1M1", "failed"), ("1M2", "delivered")]
    assert "silence" in recorded[0]["reason"]


@pytest.mark.slow
def test_compose_render_says_the_warnings_and_exits_2_when_no_cue_renders(tmp_path, make_score):
    """Through the command, on Ray: the warnings are said on stderr and the film is
    delivered (exit 0); a film of which no cue renders for bad input exits 2 and
    leaves nothing."""
    film = _film(tmp_path / "a", [
        {"id": "1M2", "sketch": "sk/tune.mid", "start": "01:00:02:00"},
        {"id": "1M1", "sketch": "sk/two.mid", "start": "01:00:00:00", "harmonize": True},
    ], {"tune.mid": make_score(MELODY), "two.mid": _two_voices(make_score)})
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["render", str(film), "-o", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("compose: warning: ")]
    assert len(warnings) == 2, result.stderr
    assert warnings[0].startswith(f"compose: warning: {film}: cue 1M1: harmonize = true keeps only the "
                                  "sketch's top line, 8 of its 12 notes (2 tracks)")
    assert warnings[1].startswith(f"compose: warning: {film}: cues 1M1 (01:00:00:00-")
    assert [r["cue"] for r in csv.DictReader((out / "cue_sheet.csv").open())] == ["1M1", "1M2"]

    muted = _film(tmp_path / "b", [{"id": "1M1", "sketch": "sk/muted.mid", "start": "01:00:00:00"}],
                  {"muted.mid": _muted(make_score)})
    nothing = tmp_path / "nothing"
    result = CliRunner().invoke(cli, ["render", str(muted), "-o", str(nothing), "--workers", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1] == "compose: 1 of 1 cues failed; no cue sheet or film manifest written"
    assert not nothing.exists()
    printed = " ".join(result.stdout.split())
    assert "nothing written (" in printed and f"no output folder: {nothing} was not made" in printed
