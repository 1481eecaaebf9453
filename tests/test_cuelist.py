"""Cue list (film.toml): a valid file reads back every field; each refusal names the
file, the cue and the key."""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import pytest

from scorefarm.errors import CueListError, InputError
from scorefarm.symbolic.cuelist import (
    CUE_KEYS,
    Cue,
    CueList,
    Film,
    cue_options_dict,
    film_options_dict,
    load_cue_list,
)
from scorefarm.symbolic.timecode import FrameRate, Timecode

FULL = """
[film]
title = "Harbour Lights"
frame_rate = 29.97
sample_rate = 96000
loudness = -24.5
true_peak = -2
soundfont = "fonts/strings.sf2"
resynth_model = "models/musicgen"

[[cues]]
id = "1M1"
title = "Opening"
sketch = "sketches/1m1.mid"
start = "01:00:00;00"
extend_bars = 8
harmonize = true
ensemble = "full-orchestra"
mood = "tense, low strings, distant brass"
resynth = true
resynth_mode = "replace"
seed = 7
hits = ["01:00:07;12", "01:00:00;00"]

[[cues]]
id = "2M3.alt"
sketch = "./sketches/../sketches/2m3.mid"
start = "01:10:00:00"
"""

MINIMAL_CUE = """
[[cues]]
id = "1M1"
sketch = "sketches/1m1.mid"
start = "01:00:00:00"
"""


@pytest.fixture
def film_dir(tmp_path: Path, make_score) -> Path:
    folder = tmp_path / "harbour"
    (folder / "sketches").mkdir(parents=True)
    for name in ("1m1.mid", "2m3.mid"):
        make_score().dump_midi(str(folder / "sketches" / name))
    _model_files(folder / "models" / "musicgen")
    return folder


MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json")


def _model_files(folder: Path, names=MODEL_FILES) -> None:
    """A folder with a MusicGen-Melody model's file names (the loader checks only names)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("{}")


def write(folder: Path, text: str) -> Path:
    path = folder / "film.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path, *fragments: str) -> str:
    """Load ``path``, expect a CueListError naming the file first and each fragment."""
    with pytest.raises(CueListError) as info:
        load_cue_list(path)
    error = info.value
    assert isinstance(error, InputError) and error.exit_code == 2
    message = error.one_line()
    assert message.startswith(f"{path}: "), message
    assert str(error) == message and "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# -- reading -------------------------------------------------------------------------


def test_full_file_reads_every_field(film_dir: Path):
    cue_list = load_cue_list(write(film_dir, FULL))
    folder = film_dir.resolve()
    df = FrameRate.parse(29.97)
    assert isinstance(cue_list, CueList)
    assert cue_list.path == folder / "film.toml"
    assert cue_list.film == Film(
        title="Harbour Lights", frame_rate=df, sample_rate=96000, loudness_lufs=-24.5,
        true_peak_dbtp=-2.0, soundfont="fonts/strings.sf2", folder=folder,
        resynth_model=folder / "models" / "musicgen",
    )
    assert df.drop_frame and cue_list.film.frame_rate.exact == Fraction(30000, 1001)
    first, second = cue_list.cues
    assert first == Cue(
        id="1M1", title="Opening", sketch=folder / "sketches" / "1m1.mid",
        start=Timecode(107892, df), extend_bars=8, harmonize=True, ensemble="full-orchestra",
        mood="tense, low strings, distant brass", resynth=True, seed=7,
        hits=(Timecode.parse("01:00:07;12", df), Timecode(107892, df)), folder=folder,
        resynth_mode="replace",
    )
    assert isinstance(cue_list.film.true_peak_dbtp, float)
    # defaults, and a path that goes up and back in stays inside
    assert second == Cue(
        id="2M3.alt", title="2M3.alt", sketch=folder / "sketches" / "2m3.mid",
        start=Timecode.parse("01:10:00;00", df), extend_bars=0, harmonize=False, ensemble="",
        mood="", resynth=False, seed=0, hits=(), folder=folder,
    )
    assert second.sketch.is_absolute()


def test_film_defaults(film_dir: Path):
    cue_list = load_cue_list(write(film_dir, MINIMAL_CUE))
    film = cue_list.film
    assert film.frame_rate == FrameRate.parse(24) and not film.frame_rate.drop_frame
    assert (film.sample_rate, film.loudness_lufs, film.true_peak_dbtp, film.soundfont) == (
        48000, -23.0, -1.0, "default")
    assert film.title == "harbour"  # no title: the film folder's name
    assert cue_list.cues[0].start.frames == 86400


@pytest.mark.parametrize("written, label", [("23.976", "23.976"), ('"23.976"', "23.976"),
                                            ("24", "24"), ("25", "25"), ("29.97", "29.97"),
                                            ("30", "30"), ("30.0", "30"),
                                            ('"29.97 drop-frame"', "29.97"), ('"29.97 DF"', "29.97"),
                                            ('"29.97 NDF"', "29.97 NDF"), ('"29.97df"', "29.97"),
                                            ('"29.97ndf"', "29.97 NDF"), ("23.98", "23.976"),
                                            ('"23.98"', "23.976"), ('"23.976 fps"', "23.976"),
                                            ('"25fps"', "25"), ("29.970", "29.97")])
def test_frame_rates_accepted(film_dir: Path, written: str, label: str):
    path = write(film_dir, f"[film]\nframe_rate = {written}\n" + MINIMAL_CUE)
    assert load_cue_list(path).film.frame_rate.label == label


def test_the_readmes_drop_frame_film_reads_as_29_97_drop_frame(film_dir: Path):
    """``frame_rate = "29.97 drop-frame"``, as the README writes it, was refused; it is
    the number 29.97's rate, and its timecodes count the same frames."""
    cue = MINIMAL_CUE.replace('start = "01:00:00:00"', 'start = "01:00:00;02"')
    written = load_cue_list(write(film_dir, '[film]\nframe_rate = "29.97 drop-frame"\n' + cue))
    number = load_cue_list(write(film_dir, "[film]\nframe_rate = 29.97\n" + cue))
    assert written.film.frame_rate == number.film.frame_rate and written.film.frame_rate.drop_frame
    assert written.cues[0].start == number.cues[0].start and str(written.cues[0].start) == "01:00:00;02"
    assert film_options_dict(written.film) == film_options_dict(number.film)


def test_options_dicts_are_json_safe_and_portable(film_dir: Path, tmp_path: Path):
    cue_list = load_cue_list(write(film_dir, FULL))
    options = cue_options_dict(cue_list.cues[0])
    assert options == {
        "id": "1M1", "title": "Opening", "sketch": "sketches/1m1.mid", "start": "01:00:00;00",
        "extend_bars": 8, "harmonize": True, "ensemble": "full-orchestra",
        "mood": "tense, low strings, distant brass", "resynth": True, "resynth_mode": "replace", "seed": 7,
        "hits": ["01:00:07;12", "01:00:00;00"],
    }
    assert set(options) == set(CUE_KEYS)
    assert json.loads(json.dumps(options)) == options
    assert cue_options_dict(cue_list.cues[1])["sketch"] == "sketches/2m3.mid"
    film = film_options_dict(cue_list.film)
    assert film["frame_rate"] == "29.97" and film["drop_frame"] is True
    json.dumps(film)
    # the same film in another folder gives the same records
    moved = tmp_path / "moved"
    film_dir.rename(moved)
    again = load_cue_list(moved / "film.toml")
    assert cue_options_dict(again.cues[0]) == options
    assert film_options_dict(again.film) == film


def test_options_dict_needs_a_folder(film_dir: Path):
    cue = load_cue_list(write(film_dir, MINIMAL_CUE)).cues[0]
    bare = Cue(**{**cue.__dict__, "folder": None})
    with pytest.raises(ValueError):
        cue_options_dict(bare)
    assert cue_options_dict(bare, film_dir)["sketch"] == "sketches/1m1.mid"


def test_bom_is_tolerated(film_dir: Path):
    path = film_dir / "film.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL_CUE.encode())
    assert load_cue_list(path).cues[0].id == "1M1"


# -- refusals: the file ----------------------------------------------------------------


def test_missing_file(tmp_path: Path):
    refused(tmp_path / "film.toml", "cannot read")


def test_toml_syntax_error_names_line(film_dir: Path):
    path = write(film_dir, '[film]\ntitle = "x"\nframe_rate = \n' + MINIMAL_CUE)
    refused(path, "TOML syntax error", "line 3")


def test_not_utf8(film_dir: Path):
    path = film_dir / "film.toml"
    path.write_bytes(b'[film]\ntitle = "\xff"\n')
    refused(path, "UTF-8")


def test_no_cues(film_dir: Path):
    refused(write(film_dir, '[film]\ntitle = "x"\n'), "key 'cues'", "no cues")
    refused(write(film_dir, "cues = []\n"), "key 'cues'", "no cues")


def test_cues_not_array_of_tables(film_dir: Path):
    refused(write(film_dir, '[cues]\nid = "1M1"\n'), "key 'cues'", "a table", "[[cues]]")
    refused(write(film_dir, "cues = [1]\n"), "cues[0]", "1 (an integer)", "[[cues]] table")


def test_unknown_top_level_key(film_dir: Path):
    refused(write(film_dir, MINIMAL_CUE.replace("[[cues]]", "[[cue]]")),
            "key 'cue'", "unknown key", "did you mean 'cues'", "allowed: film, cues")


# -- refusals: [film] ----------------------------------------------------------------


def test_unknown_film_key(film_dir: Path):
    refused(write(film_dir, "[film]\nloudness_lufs = -23\n" + MINIMAL_CUE),
            "[film]", "key 'loudness_lufs'", "unknown key", "did you mean 'loudness'",
            "allowed: title, frame_rate, sample_rate, loudness, true_peak, soundfont")


@pytest.mark.parametrize(
    "line, key, received, allowed",
    [
        ("frame_rate = 23.97", "frame_rate", "23.97 (a float)", "23.976 (or 23.98), 24, 25, 29.97"),
        ("frame_rate = true", "frame_rate", "true (a boolean)", "23.976 (or 23.98), 24, 25, 29.97"),
        ("frame_rate = \"24 frames\"", "frame_rate", "'24 frames' (a string)", "29.97"),
        ("frame_rate = \"24 DF\"", "frame_rate", "'24 DF' (a string)", "29.97 (drop-frame)"),
        ("sample_rate = 22050", "sample_rate", "22050 (an integer)", "44100, 48000, 96000"),
        ("sample_rate = 48000.0", "sample_rate", "48000.0 (a float)", "44100, 48000, 96000"),
        ("loudness = -50", "loudness", "-50 (an integer)", "from -40 to -5"),
        ("loudness = -3.0", "loudness", "-3.0 (a float)", "from -40 to -5"),
        ("loudness = nan", "loudness", "nan (a float)", "from -40 to -5"),
        ("loudness = \"-23\"", "loudness", "'-23' (a string)", "a number"),
        ("true_peak = 0.5", "true_peak", "0.5 (a float)", "from -10 to 0"),
        ("true_peak = -11", "true_peak", "-11 (an integer)", "from -10 to 0"),
        ("title = 3", "title", "3 (an integer)", "a non-empty string"),
        ("title = \"\"", "title", "'' (a string)", "a non-empty string"),
        ("title = \"   \"", "title", "' ' (a string)", "a non-empty string"),  # one_line collapses spaces
        ("soundfont = \"\"", "soundfont", "'' (a string)", "a non-empty string"),
    ],
)
def test_film_values_refused(film_dir: Path, line, key, received, allowed):
    refused(write(film_dir, f"[film]\n{line}\n" + MINIMAL_CUE),
            "[film]", f"key '{key}'", f"received {received}; allowed: ", allowed)


def test_film_not_a_table(film_dir: Path):
    refused(write(film_dir, 'film = "Harbour"\n' + MINIMAL_CUE), "key 'film'", "a [film] table")


# -- refusals: cues ------------------------------------------------------------------


def cue(**fields: object) -> str:
    """One [[cues]] table: the minimal cue with ``fields`` replaced (None drops a key)."""
    base: dict[str, object] = {"id": '"1M1"', "sketch": '"sketches/1m1.mid"', "start": '"01:00:00:00"'}
    base.update(fields)
    return "[[cues]]\n" + "".join(f"{k} = {v}\n" for k, v in base.items() if v is not None)


def test_unknown_cue_key_names_cue_and_key(film_dir: Path):
    message = refused(write(film_dir, cue(strat='"01:00:00:00"')),
                      "cue 1M1", "key 'strat'", "unknown key", "did you mean 'start'",
                      "allowed: " + ", ".join(CUE_KEYS))
    assert message == (f"{film_dir / 'film.toml'}: cue 1M1: key 'strat': unknown key; "
                       f"did you mean 'start'? allowed: " + ", ".join(CUE_KEYS))


def test_unknown_key_in_cue_without_id_names_index(film_dir: Path):
    text = cue() + cue(id=None, Id='"2M1"', sketch='"sketches/2m3.mid"')
    refused(write(film_dir, text), "cues[1] (2nd [[cues]] table)", "key 'Id'", "did you mean 'id'")


@pytest.mark.parametrize("missing", ["id", "sketch", "start"])
def test_required_keys(film_dir: Path, missing: str):
    place = "cues[0]" if missing == "id" else "cue 1M1"
    refused(write(film_dir, cue(**{missing: None})), place, f"key '{missing}'", "missing")


@pytest.mark.parametrize(
    "written",
    ['"1M1/2"', '".."', '"../1M1"', '"1M 1"', '"1M1."', '"a..b"', '""', '"-1M1"', '".hidden"',
     '"1M1\\n"', '"ÉM1"', f'"{"A" * 33}"', "11", "true"],
)
def test_unsafe_ids(film_dir: Path, written: str):
    refused(write(film_dir, cue(id=written)), "cues[0] (1st [[cues]] table)", "key 'id'",
            "received", "allowed: 1 to 32 characters")


def test_safe_ids(film_dir: Path):
    text = "".join(cue(id=f'"{i}"') for i in ("1M1", "2m3.alt", "R1_M2-b", "A" * 32))
    assert [c.id for c in load_cue_list(write(film_dir, text)).cues][-1] == "A" * 32


def test_duplicate_ids_ignoring_case(film_dir: Path):
    refused(write(film_dir, cue() + cue(id='"1M1"')), "cue 1M1", "key 'id'", "duplicate", "cues[0]")
    refused(write(film_dir, cue() + cue(id='"1m1"')), "cue 1m1", "key 'id'", "duplicate",
            "ignoring case")


@pytest.mark.parametrize(
    "key, written, received, allowed",
    [
        ("title", "7", "7 (an integer)", "a non-empty string"),
        ("sketch", "5", "5 (an integer)", "a non-empty string"),
        ("start", "3600", "3600 (an integer)", "timecode"),
        ("start", "01:00:00", "01:00:00 (a TOML time; quote timecodes)", "timecode"),
        ("extend_bars", "true", "true (a boolean)", "an integer from 0 to 256"),
        ("extend_bars", "8.0", "8.0 (a float)", "an integer from 0 to 256"),
        ("extend_bars", "257", "257 (an integer)", "an integer from 0 to 256"),
        ("extend_bars", "-1", "-1 (an integer)", "an integer from 0 to 256"),
        ("extend_bars", '"8"', "'8' (a string)", "an integer from 0 to 256"),
        ("harmonize", '"yes"', "'yes' (a string)", "true or false"),
        ("harmonize", "1", "1 (an integer)", "true or false"),
        ("resynth", "0", "0 (an integer)", "true or false"),
        ("ensemble", "[\"strings\"]", "an array of 1 item", "a string"),
        ("mood", "{ a = 1 }", "a table", "a string"),
        ("seed", "-1", "-1 (an integer)", "an integer from 0 to"),
        ("seed", "true", "true (a boolean)", "an integer from 0 to"),
        ("seed", "1.5", "1.5 (a float)", "an integer from 0 to"),
        ("seed", "4294967296", "4294967296 (an integer)", "an integer from 0 to 4294967295"),
        ("hits", '"01:00:01:00"', "'01:00:01:00' (a string)", "an array of timecode strings"),
    ],
)
def test_cue_wrong_types_and_ranges(film_dir: Path, key, written, received, allowed):
    refused(write(film_dir, cue(**{key: written})), "cue 1M1", f"key '{key}'",
            f"received {received}; allowed: ", allowed)


@pytest.mark.parametrize(
    "start, fragment",
    [('"1:00:00:00"', "HH:MM:SS:FF"), ('"01:00:60:00"', "seconds 60 out of range"),
     ('"01:00:00:24"', "frames 24 out of range"), ('"01:00:00;00"', "marks drop-frame")],
)
def test_bad_start_timecode(film_dir: Path, start: str, fragment: str):
    refused(write(film_dir, cue(start=start)), "cue 1M1", "key 'start'", start.strip('"'), fragment)


def test_drop_frame_label_that_does_not_exist(film_dir: Path):
    text = "[film]\nframe_rate = 29.97\n" + cue(start='"01:01:00;00"')
    refused(write(film_dir, text), "cue 1M1", "key 'start'", "'01:01:00;00'", "does not exist",
            "01:01:00;02")


def test_bad_hit_timecode(film_dir: Path):
    refused(write(film_dir, cue(hits='["01:00:01:00", "01:00:02:30"]')), "cue 1M1",
            "key 'hits[1]'", "'01:00:02:30'", "frames 30 out of range")
    refused(write(film_dir, cue(hits="[3600]")), "cue 1M1", "key 'hits[0]'", "3600 (an integer)")


def test_hit_before_start(film_dir: Path):
    refused(write(film_dir, cue(hits='["01:00:05:00", "00:59:59:23"]')), "cue 1M1",
            "key 'hits[1]'", "00:59:59:23", "before the cue's start 01:00:00:00",
            "allowed: at or after the start")


def test_missing_sketch(film_dir: Path):
    refused(write(film_dir, cue(sketch='"sketches/9m9.mid"')), "cue 1M1", "key 'sketch'",
            "file not found", "'sketches/9m9.mid'")


def test_sketch_is_a_folder(film_dir: Path):
    refused(write(film_dir, cue(sketch='"sketches"')), "cue 1M1", "key 'sketch'", "not a file")


def test_absolute_sketch_refused(film_dir: Path):
    absolute = (film_dir / "sketches" / "1m1.mid").resolve()
    refused(write(film_dir, cue(sketch=json.dumps(str(absolute)))), "cue 1M1", "key 'sketch'",
            str(absolute), "relative to the film folder")


def test_sketch_escaping_by_dotdot(film_dir: Path, tmp_path: Path):
    (tmp_path / "outside.mid").write_bytes(b"MThd")
    refused(write(film_dir, cue(sketch='"sketches/../../outside.mid"')), "cue 1M1",
            "key 'sketch'", "outside the film folder")


def test_sketch_escaping_by_symlink(film_dir: Path, tmp_path: Path):
    (tmp_path / "outside.mid").write_bytes(b"MThd")
    os.symlink(tmp_path / "outside.mid", film_dir / "sketches" / "link.mid")
    refused(write(film_dir, cue(sketch='"sketches/link.mid"')), "cue 1M1", "key 'sketch'",
            "outside the film folder")


def test_symlink_inside_folder_is_fine(film_dir: Path):
    os.symlink(film_dir / "sketches" / "1m1.mid", film_dir / "alias.mid")
    cue_list = load_cue_list(write(film_dir, cue(sketch='"alias.mid"')))
    assert cue_list.cues[0].sketch == (film_dir / "sketches" / "1m1.mid").resolve()
    assert cue_options_dict(cue_list.cues[0])["sketch"] == "sketches/1m1.mid"


def test_error_names_the_path_as_given(film_dir: Path, monkeypatch: pytest.MonkeyPatch):
    write(film_dir, cue(seed="-3"))
    monkeypatch.chdir(film_dir)
    with pytest.raises(CueListError) as info:
        load_cue_list("film.toml")
    assert info.value.one_line().startswith("film.toml: cue 1M1: key 'seed': received -3")
    assert info.value.path == "film.toml"


def test_resynth_needs_a_model_folder(film_dir: Path):
    text = MINIMAL_CUE + "resynth = true\n"
    with pytest.raises(CueListError, match=r"cue 1M1: key 'resynth': true needs a model"):
        load_cue_list(write(film_dir, text))
    with pytest.raises(CueListError, match=r"\[film\]: key 'resynth_model': no model folder at 'nowhere'"):
        load_cue_list(write(film_dir, '[film]\nresynth_model = "nowhere"\n' + text))
    _model_files(film_dir / "m", MODEL_FILES[:2])  # no tokenizer, no chroma settings
    with pytest.raises(CueListError, match=r"\[film\]: key 'resynth_model': the model folder 'm' is incomplete: "
                                           r"missing tokenizer.json, preprocessor_config.json"):
        load_cue_list(write(film_dir, '[film]\nresynth_model = "m"\n' + text))
    _model_files(film_dir / "m")
    with pytest.raises(CueListError, match=r"cue 1M1: key 'resynth_mode'.*'mix' or 'replace'"):
        load_cue_list(write(film_dir, '[film]\nresynth_model = "m"\n' + text + 'resynth_mode = "blend"\n'))
    cue = load_cue_list(write(film_dir, '[film]\nresynth_model = "m"\n' + text)).cues[0]
    assert (cue.resynth, cue.resynth_mode) == (True, "mix")


DUO = ('[ensembles.duo]\ndescription = "Cello and piano"\nparts = [\n'
       '    { label = "Solo Cello", instrument = "cello" },\n    { label = "Piano", instrument = "piano" },\n]\n')


def test_an_ensemble_file_must_exist_inside_the_film_folder(film_dir: Path):
    refused(write(film_dir, cue(ensemble='"mine.toml"')), "cue 1M1", "key 'ensemble'", "file not found")
    refused(write(film_dir, cue(ensemble='"../mine.toml"')), "cue 1M1", "key 'ensemble'", "outside the film folder")
    (film_dir / "mine.toml").write_text(DUO)
    assert load_cue_list(write(film_dir, cue(ensemble='"mine.toml"'))).cues[0].ensemble == "mine.toml"


@pytest.mark.parametrize("text, fragment", [
    ("", "ensembles"),
    ("[ensembles.duo\n", "not valid TOML"),
    (DUO.replace('"cello"', '"kazoo"'), "kazoo"),
    (DUO.replace("description", "descripton"), "unknown key"),
    (DUO + DUO.replace("duo", "trio"), "none is named 'mine'"),
])
def test_a_broken_ensemble_file_is_refused_at_load(film_dir: Path, text: str, fragment: str):
    (film_dir / "mine.toml").write_text(text)
    refused(write(film_dir, cue(ensemble='"mine.toml"')), "cue 1M1", "key 'ensemble'",
            str(film_dir.resolve() / "mine.toml"), fragment)


def test_an_unknown_ensemble_is_refused_at_load_with_the_known_ones_listed(film_dir: Path):
    from scorefarm.arrange.catalogue import ensembles

    message = refused(write(film_dir, cue(ensemble='"nosuch"')), "cue 1M1", "key 'ensemble'",
                      "unknown ensemble 'nosuch'", ", ".join(sorted(ensembles())))
    assert "did you mean" not in message
    refused(write(film_dir, cue(ensemble='"string"')), "did you mean 'strings'?")
    refused(write(film_dir, cue(ensemble='"ensembles/strings"')), "unknown ensemble 'ensembles/strings'")
    for name in ("", "strings", "full-orchestra"):
        assert load_cue_list(write(film_dir, cue(ensemble=json.dumps(name)))).cues[0].ensemble == name


# -- refusals: the sketch's contents ---------------------------------------------------


def _no_notes(path: Path) -> None:
    import symusic

    score = symusic.Score(480)
    score.tracks.append(symusic.Track("Piano", 0, False))
    score.dump_midi(str(path))


@pytest.mark.parametrize("make, problem", [
    (lambda path: path.write_bytes(b""), "is not a MIDI file (it is empty"),
    (lambda path: path.write_text("not a MIDI file, only text\n"), "is not a MIDI file (it starts with b'not '"),
    (lambda path: path.write_bytes(path.read_bytes()[:40]), "is truncated"),
    (_no_notes, "has no notes"),
], ids=["empty", "text", "truncated", "no-notes"])
def test_a_bad_sketch_is_refused_at_load(film_dir: Path, make, problem: str):
    make(film_dir / "sketches" / "1m1.mid")
    message = refused(write(film_dir, MINIMAL_CUE), "cue 1M1", "key 'sketch'", "'sketches/1m1.mid' " + problem)
    assert message.startswith(f"{film_dir / 'film.toml'}: cue 1M1: key 'sketch': 'sketches/1m1.mid' ")


def test_a_cue_keeps_the_sketch_it_checked(film_dir: Path):
    from scorefarm.symbolic.score_io import note_count

    cue = load_cue_list(write(film_dir, MINIMAL_CUE)).cues[0]
    assert cue.sketch_bytes == (film_dir / "sketches" / "1m1.mid").read_bytes()
    assert note_count(cue.sketch_score) == 8
    assert "sketch_bytes" not in repr(cue)


# -- what music editors write (QA of the cue list) -----------------------------------


@pytest.mark.parametrize("written, label", [("47.952", "47.952 fps"), ("48", "48 fps"), ("50", "50 fps"),
                                            ("59.94", "59.94 fps drop-frame"), ('"59.94 NDF"', "59.94 fps non-drop"),
                                            ("60", "60 fps")])
def test_high_frame_rates_are_refused_saying_why(film_dir: Path, written: str, label: str):
    """Timecode counts them, but the render cannot stamp a cue's MIDI at them yet: refused
    at load with the reason, not failed on Ray (before: 'received 50 (an integer);
    allowed: 23.976, ...' as if 50 fps were a typo)."""
    refused(write(film_dir, f"[film]\nframe_rate = {written}\n" + MINIMAL_CUE),
            "[film]", "key 'frame_rate'", f"{label} timecode is counted, but a film cannot be rendered at it yet",
            "allowed: 23.976 (or 23.98), 24, 25, 29.97 (drop-frame), 30")


@pytest.mark.parametrize("cue_id, fragment", [
    ("manifest.json", "the film's own manifest.json in the output folder"),
    ("Cue_Sheet.CSV", "the film's own cue_sheet.csv in the output folder"),
    ("CON", "a device name on Windows"),
    ("nul", "a device name on Windows"),
    ("aux.alt", "a device name on Windows"),
    ("COM1", "a device name on Windows"),
    ("lpt9", "a device name on Windows"),
])
def test_ids_a_cue_folder_cannot_take_are_refused(film_dir: Path, cue_id: str, fragment: str):
    """A cue 'manifest.json' rendered into out/manifest.json/ and then the film's
    manifest could not be written: exit 2 after rendering, no cue sheet."""
    text = MINIMAL_CUE.replace('id = "1M1"', f'id = "{cue_id}"')
    refused(write(film_dir, text), f"cue {cue_id}", "key 'id'", fragment, "allowed: another id")


@pytest.mark.parametrize("cue_id", ["console", "1M1.con", "auxiliary", "COM10", "manifest", "1M1.json"])
def test_ids_near_reserved_names_are_fine(film_dir: Path, cue_id: str):
    text = MINIMAL_CUE.replace('id = "1M1"', f'id = "{cue_id}"')
    assert load_cue_list(write(film_dir, text)).cues[0].id == cue_id


def test_a_sketch_too_long_to_render_is_refused_at_load(film_dir: Path, make_score):
    """Before, it was refused on the Ray worker: the other cues rendered and the run
    exited 1 with a partial film."""
    make_score([(0, 31 * 120, 60, 80)], bpm=120).dump_midi(str(film_dir / "sketches" / "1m1.mid"))  # 31 minutes
    refused(write(film_dir, MINIMAL_CUE), "cue 1M1", "key 'sketch'",
            "'sketches/1m1.mid': the score's last note ends at 31 minutes; at most 30 minutes can be rendered")


@pytest.mark.parametrize("start, extend, fragment", [
    ("23:59:55:00", "", "from 23:59:55:00 it lasts about 6.0 s (the sketch to its last note 4.0 s, "
                        "the render's 2 s release), past 23:59:59:23"),
    ("23:59:50:00", "extend_bars = 4\n", "the rest of its last bar and 4 bars of extension about 8.0 s"),
])
def test_a_cue_running_past_midnight_is_refused_at_load(film_dir: Path, start: str, extend: str, fragment: str):
    """Before, both cues rendered and then the cue sheet failed: 'compose: error: frame
    2073904 is outside one day at 24 fps', exit 2, naming no file or cue, no sheet."""
    text = MINIMAL_CUE.replace("01:00:00:00", start) + extend
    message = refused(write(film_dir, text), "cue 1M1", "key 'start'", "the cue runs past midnight", fragment,
                      "timecode does not wrap")
    assert "allowed: a start that ends the cue within the day" in message


def test_a_cue_ending_just_before_midnight_is_fine(film_dir: Path):
    cue = load_cue_list(write(film_dir, MINIMAL_CUE.replace("01:00:00:00", "23:59:53:00"))).cues[0]
    assert str(cue.start) == "23:59:53:00"  # 4 s of sketch and 2 s of release end at 23:59:59:00


def test_hits_may_slow_a_cue_near_midnight_past_it(film_dir: Path):
    # 4 s of sketch and 2 s of release end at 23:59:59:16; hits may slow the music by 10 %,
    # 4.4 s + 2 s: past the last frame of the day
    text = MINIMAL_CUE.replace("01:00:00:00", "23:59:53:16")
    assert load_cue_list(write(film_dir, text)).cues[0].hits == ()
    refused(write(film_dir, text + 'hits = ["23:59:55:00"]\n'), "cue 1M1", "the cue runs past midnight",
            "up to 10% slower to catch its hits")


def test_a_sketch_named_in_the_other_unicode_form_is_found(film_dir: Path):
    """A Mac writes 'é' as 'e' and an accent; the cue list, typed, has one character.
    Before: 'file not found: 'sketches/café.mid'' beside a file of that name."""
    import unicodedata

    (film_dir / "sketches" / "1m1.mid").rename(film_dir / "sketches" / unicodedata.normalize("NFD", "café.mid"))
    text = MINIMAL_CUE.replace("sketches/1m1.mid", unicodedata.normalize("NFC", "sketches/café.mid"))
    cue = load_cue_list(write(film_dir, text)).cues[0]
    assert cue.sketch.name == unicodedata.normalize("NFD", "café.mid") and cue.sketch.is_file()


def test_a_sketch_in_the_wrong_case_is_refused_naming_the_file(film_dir: Path):
    text = MINIMAL_CUE.replace("sketches/1m1.mid", "Sketches/1M1.mid")
    refused(write(film_dir, text), "cue 1M1", "key 'sketch'", "file not found: 'Sketches/1M1.mid'",
            "did you mean 'sketches/1m1.mid'? (file names are case-sensitive here")


def test_backslashes_in_a_sketch_path_are_explained(film_dir: Path):
    text = MINIMAL_CUE.replace('"sketches/1m1.mid"', "'sketches\\1m1.mid'")
    refused(write(film_dir, text), "cue 1M1", "key 'sketch'", "write folders with '/', not '\\'")


def test_a_sketch_path_with_spaces_and_accents_is_relative_to_the_film(film_dir: Path, monkeypatch):
    folder = film_dir / "sketches" / "Rêve d'été"
    folder.mkdir()
    (film_dir / "sketches" / "1m1.mid").rename(folder / "prise 1.mid")
    text = MINIMAL_CUE.replace("sketches/1m1.mid", "./sketches/Rêve d'été/prise 1.mid")
    monkeypatch.chdir(film_dir.parent)  # not the film's folder
    cue = load_cue_list(write(film_dir, text)).cues[0]
    assert cue.sketch == folder / "prise 1.mid"


@pytest.mark.parametrize("name", ["1m1.musicxml", "1m1.mxl"])
def test_a_notation_sketch_is_refused_saying_export_midi(film_dir: Path, name: str):
    (film_dir / "sketches" / name).write_text('<?xml version="1.0"?><score-partwise/>')
    refused(write(film_dir, MINIMAL_CUE.replace("1m1.mid", name)), "cue 1M1", "key 'sketch'",
            f"'sketches/{name}' is a notation file; allowed: a MIDI file (.mid)")


@pytest.mark.parametrize("table, line", [("cue", 'title = """Harbour\nat dawn"""'), ("film", 'title = "A\\tB"')])
def test_a_title_must_be_one_line(film_dir: Path, table: str, line: str):
    text = (f"[film]\n{line}\n" + MINIMAL_CUE) if table == "film" else (MINIMAL_CUE + line + "\n")
    refused(write(film_dir, text), "key 'title'", "on one line, without control characters")


def test_a_word_of_a_key_is_suggested(film_dir: Path):
    refused(write(film_dir, MINIMAL_CUE + 'bars = 4\n'), "key 'bars': unknown key; did you mean 'extend_bars'?")


def test_the_extension_is_counted_from_the_bar_line_after_the_sketch(film_dir: Path, make_score):
    """Seven beats of 4/4 at 120 (3.5 s) and one bar more: the extension starts at the
    bar line (4.0 s) and ends at 6.0 s, with the release 8.0 s; from 23:59:52:06 that is
    past the day (counting one bar from the last note, 7.5 s, it was not)."""
    make_score([(i * 1.0, 1.0, 60 + i, 80) for i in range(7)]).dump_midi(str(film_dir / "sketches" / "1m1.mid"))
    text = MINIMAL_CUE.replace("01:00:00:00", "23:59:52:06") + "extend_bars = 1\n"
    refused(write(film_dir, text), "it lasts about 8.0 s", "the rest of its last bar and 1 bar of extension about 2.5 s")
    assert load_cue_list(write(film_dir, MINIMAL_CUE.replace("01:00:00:00", "23:59:51:23") + "extend_bars = 1\n"))
