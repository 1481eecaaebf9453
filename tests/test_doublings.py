"""Doubled lines (two voices in octaves for a phrase) are scoring, reported once; an isolated
pair of parallel octaves stays a fault; voices sharing a track name get distinct labels."""

from __future__ import annotations

import json

from click.testing import CliRunner

from scorefarm.symbolic.voiceleading import CheckOptions, check_voices
from scorefarm.symbolic.voices import Part, VNote, Voices

KEY = CheckOptions(key=(0, "major"))


def _voices(*lines, names=("Violin", "Cello")):
    parts = [Part(name, [VNote(i * 480, (i + 1) * 480, p) for i, p in enumerate(line)]) for name, line in zip(names, lines)]
    return Voices(480, parts, [(0, 4, 4)])


def test_a_line_doubled_in_octaves_for_a_phrase_is_one_doubling_and_no_parallel_octaves():
    tune = [60, 62, 64, 65, 67, 65, 64, 62]  # eight notes, seven moves in octaves
    report = check_voices(_voices([p + 12 for p in tune], tune), KEY)
    assert report.count({"parallel_octaves", "antiparallel_octaves"}) == 0
    assert [(d.kind, d.voices, d.bar, d.end_bar, d.moves) for d in report.doublings] == [
        ("doubled_in_octaves", ("Violin", "Cello"), 1, 2, 7)]
    assert any("doubled stretch" in note for note in report.notes)
    off = check_voices(_voices([p + 12 for p in tune], tune), CheckOptions(key=(0, "major"), doubling_moves=None))
    assert off.count({"parallel_octaves"}) == 7 and not off.doublings


def test_an_isolated_pair_of_parallel_octaves_stays_a_fault_and_fifths_are_never_a_doubling():
    upper, lower = [72, 74, 76, 77, 76], [48, 50, 45, 41, 48]  # C-C -> D-D, then the lines part
    report = check_voices(_voices(upper, lower), KEY)
    assert [(f.kind, f.bar, f.beat) for f in report.faults if "octaves" in f.kind] == [("parallel_octaves", 1, 2.0)]
    assert not report.doublings
    two = check_voices(_voices([72, 74, 76, 79], [48, 50, 52, 45]), KEY)  # two successive octaves: both faults
    assert two.count({"parallel_octaves"}) == 2 and not two.doublings
    tune = [60, 62, 64, 65, 67]
    fifths = check_voices(_voices([p + 7 for p in tune], tune), KEY)  # a line in fifths throughout
    assert fifths.count({"parallel_fifths"}) >= 3 and not fifths.doublings


def test_two_voices_leaping_an_octave_on_their_pitch_classes_are_no_parallels():
    report = check_voices(_voices([67, 67, 55], [55, 55, 43]), KEY)  # G4-G3 -> G3-G2 at once
    assert report.count({"parallel_octaves", "antiparallel_octaves"}) == 0


def test_a_unison_tutti_is_one_report_and_strict_does_not_fail_for_doublings(tmp_path):
    from scorefarm.cli.main import cli
    from scorefarm.symbolic.voices import voices_to_score
    from scorefarm.symbolic.score_io import save_score

    tune = [60, 62, 64, 65, 67, 65, 64, 62]
    voices = _voices([p + 12 for p in tune], tune, tune, [p - 12 for p in tune],
                     names=("Violin I", "Violin II", "Viola", "Cello"))
    report = check_voices(voices, KEY)
    assert [(d.voices, d.interval) for d in report.doublings] == [
        (("Violin I", "Violin II", "Viola", "Cello"), "octaves and unisons")]
    assert not report.faults
    save_score(voices_to_score(voices), tmp_path / "tutti.mid")
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "tutti.mid"), "--strict", "--json", "--key", "C"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert {"voices", "transitions", "counts", "faults", "notes"} <= set(payload)
    assert payload["faults"] == [] and [d["kind"] for d in payload["doublings"]] == ["doubled_in_octaves_and_unisons"]
    text = CliRunner().invoke(cli, ["check", str(tmp_path / "tutti.mid"), "--key", "C"]).output
    assert "bars 1-2: doubled in octaves and unisons (Violin I / Violin II / Viola / Cello)" in text
