"""The film on an embedded Ray: every cue delivered, deterministic, cached, and
cues failing on their own."""

from __future__ import annotations

import csv
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
import soundfile

from scorefarm.errors import CueListError, FarmError, OutputError, SoundFontError
from scorefarm.render.farm import FarmOptions, render_film
from scorefarm.symbolic.cuelist import load_cue_list

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "corpora" / "demo"

pytestmark = pytest.mark.slow


def _copy_demo(tmp_path: Path, cues: int | None = None) -> Path:
    film = tmp_path / "film"
    shutil.copytree(DEMO / "sketches", film / "sketches")
    text = (DEMO / "film.toml").read_text()
    if cues is not None:  # keep the first `cues` cues
        head, *blocks = text.split("[[cues]]")
        text = head + "".join("[[cues]]" + b for b in blocks[:cues])
    (film / "film.toml").write_text(text)
    return film / "film.toml"


def _digests(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    film = _copy_demo(tmp)
    out = tmp / "out"
    events = []
    report = render_film(load_cue_list(film), out, FarmOptions(workers=2), progress=events.append)
    return film, out, report, events


def test_demo_film_delivers_every_cue(demo_run):
    film, out, report, events = demo_run
    cue_list = load_cue_list(film)
    assert [o.state for o in report.outcomes] == ["rendered"] * len(cue_list.cues)
    for cue in cue_list.cues:
        folder = out / cue.id
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["cue"]["id"] == cue.id
        mix = folder / f"{cue.id}_mix.wav"
        info = soundfile.info(str(mix))
        assert (info.samplerate, info.subtype, info.channels) == (48000, "PCM_24", 2)
        assert (folder / f"{cue.id}.mid").is_file()
        stems = [p for p in folder.glob(f"{cue.id}_*.wav") if p != mix]
        assert stems, cue.id
        for stem in stems:
            assert soundfile.info(str(stem)).frames == info.frames  # stems are full length, aligned
        record = manifest["outputs"][mix.name]
        assert abs(record["loudness_lufs"] - (-23.0)) <= 0.2
        assert record["true_peak_dbtp"] <= -1.0
    # the piano cue has a single keys stem; the chase has strings, brass and percussion
    assert sorted(p.name for p in (out / "2M1").glob("*.wav")) == ["2M1_keys.wav", "2M1_mix.wav"]
    assert {"1M2_strings.wav", "1M2_brass.wav", "1M2_percussion.wav"} <= {p.name for p in (out / "1M2").iterdir()}
    rows = list(csv.DictReader((out / "cue_sheet.csv").open()))
    assert [r["cue"] for r in rows] == [c.id for c in cue_list.cues]
    assert rows[0]["start"] == "01:00:12:00"
    film_manifest = json.loads((out / "manifest.json").read_text())
    assert [c["state"] for c in film_manifest["cues"]] == ["delivered"] * len(cue_list.cues)
    assert {e["state"] for e in events} >= {"queued", "done"}
    assert not list(out.rglob("*.part"))


def test_rerun_is_cached_and_byte_identical(demo_run):
    film, out, report, _ = demo_run
    before = _digests(out)
    again = render_film(load_cue_list(film), out, FarmOptions(workers=2))
    assert [o.state for o in again.outcomes] == ["cached"] * len(again.outcomes)
    assert _digests(out) == before


def test_two_fresh_runs_give_identical_bytes(demo_run, tmp_path):
    film, out, _, _ = demo_run
    other = tmp_path / "again"
    report = render_film(load_cue_list(film), other, FarmOptions(workers=2, force=True))
    assert all(o.state == "rendered" for o in report.outcomes)
    assert _digests(other) == _digests(out)


def test_changing_one_cue_rerenders_only_that_cue(tmp_path):
    film = _copy_demo(tmp_path, cues=2)
    out = tmp_path / "out"
    render_film(load_cue_list(film), out, FarmOptions(workers=2))
    text = film.read_text().replace('seed = 2', 'seed = 22')
    film.write_text(text)
    report = render_film(load_cue_list(film), out, FarmOptions(workers=2))
    assert [(o.cue_id, o.state) for o in report.outcomes] == [("1M1", "cached"), ("1M2", "rendered")]


def test_a_cue_failing_while_rendering_fails_alone(tmp_path, make_score):
    import symusic

    film = _copy_demo(tmp_path, cues=2)
    muted = make_score([(0, 1, 60, 100)])  # a sound sketch at load that renders to silence
    muted.tracks[0].controls.append(symusic.ControlChange(0, 7, 0))
    muted.dump_midi(str(film.parent / "sketches" / "1m1_harbour_dawn.mid"))
    out = tmp_path / "out"
    report = render_film(load_cue_list(film), out, FarmOptions(workers=2))
    states = {o.cue_id: o for o in report.outcomes}
    assert states["1M2"].state == "rendered"
    assert states["1M1"].state == "failed"
    assert "1m1_harbour_dawn.mid" in states["1M1"].reason and "silence" in states["1M1"].reason
    assert not (out / "1M1").exists()
    rows = list(csv.DictReader((out / "cue_sheet.csv").open()))
    assert [r["cue"] for r in rows] == ["1M2"]


@pytest.mark.parametrize("sketch, problem", [(b"", "is not a MIDI file (it is empty"),
                                             (b"MThd\x00\x00\x00\x06garbage", "declares MIDI format 26465")])
def test_a_corrupt_sketch_stops_the_film_at_load(tmp_path, sketch, problem):
    film = _copy_demo(tmp_path, cues=2)
    (film.parent / "sketches" / "1m2_the_chase.mid").write_bytes(sketch)
    with pytest.raises(CueListError) as info:
        load_cue_list(film)
    message = info.value.one_line()
    assert message.startswith(f"{film}: cue 1M2: key 'sketch': 'sketches/1m2_the_chase.mid' {problem}"), message


def test_unwritable_output_folder_is_refused(tmp_path):
    film = _copy_demo(tmp_path, cues=1)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError) as info:
        render_film(load_cue_list(film), blocker / "out", FarmOptions())
    assert info.value.one_line() == f"{blocker}: cannot write here: a file, not a folder"


def test_unreachable_cluster_fails_fast(tmp_path):
    film = _copy_demo(tmp_path, cues=1)
    started = time.monotonic()
    with pytest.raises(FarmError, match="cannot reach the Ray cluster"):
        render_film(load_cue_list(film), tmp_path / "out" / "film", FarmOptions(address="127.0.0.1:9"))
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out").exists()  # the folders it made are gone again
    kept = tmp_path / "kept"
    (kept / "notes").mkdir(parents=True)
    with pytest.raises(FarmError):
        render_film(load_cue_list(film), kept, FarmOptions(address="127.0.0.1:9"))
    assert (kept / "notes").is_dir()  # a folder the user had is left as it was


def test_a_bad_soundfont_is_refused_before_the_output_folder_is_made(tmp_path):
    film = _copy_demo(tmp_path, cues=1)
    with pytest.raises(SoundFontError, match="unknown SoundFont 'nosuch'"):
        render_film(load_cue_list(film), tmp_path / "out", FarmOptions(soundfont="nosuch"))
    assert not (tmp_path / "out").exists()


def test_serial_path_matches_the_farm(demo_run, tmp_path):
    film, out, _, _ = demo_run
    serial = tmp_path / "serial"
    report = render_film(load_cue_list(film), serial, FarmOptions(serial=True))
    assert all(o.state == "rendered" for o in report.outcomes)
    assert _digests(serial) == _digests(out)


@pytest.mark.parametrize("signum, status, line", [
    ("SIGINT", 130, "compose: interrupted; finished outputs are kept, nothing half-written"),
    ("SIGTERM", 143, "compose: terminated; finished outputs are kept, nothing half-written"),  # as `timeout` stops it
])
def test_interrupted_run_resumes_without_redoing_finished_cues(tmp_path, signum, status, line):
    """Ctrl-C or SIGTERM while Ray renders the film: one line, the signal's status, the
    finished cues kept and nothing half-written. ray.init's own SIGTERM handler, which
    ends the run without a word, must not stay in place of compose's, and ray.wait's
    SystemExit(1) for the handler's exit must not change the status."""
    import signal
    import subprocess
    import sys

    from scorefarm.files import temporary_name

    film = _copy_demo(tmp_path, cues=3)
    out = tmp_path / "out"
    compose = Path(sys.executable).parent / "compose"
    driver = subprocess.Popen([str(compose), "render", str(film), "-o", str(out), "--workers", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = out / "1M1" / "manifest.json"
    deadline = time.monotonic() + 240
    while not first.exists() and driver.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.exists(), driver.communicate()
    # a stray temporary file, as a driver killed mid-write would leave
    (out / "1M2").mkdir(exist_ok=True)
    (out / "1M2" / temporary_name("1M2_mix.wav")).write_bytes(b"half")
    driver.send_signal(getattr(signal, signum))
    _, err = driver.communicate(timeout=120)
    assert driver.returncode in (status, 0), err  # 0 only if it finished before the signal landed
    if driver.returncode == status:
        assert err.strip().splitlines() == [line]
    finished = _digests(out / "1M1")

    report = render_film(load_cue_list(film), out, FarmOptions(workers=2))
    states = {o.cue_id: o.state for o in report.outcomes}
    assert states["1M1"] == "cached"
    assert all(state in ("cached", "rendered") for state in states.values())
    assert _digests(out / "1M1") == finished
    assert not list(out.rglob("*.part"))


def test_a_cue_with_resynthesis_on_ray(tmp_path, tiny_musicgen_dir):
    import numpy as np

    film = _copy_demo(tmp_path, cues=3)
    text = film.read_text().replace("[film]\n", f'[film]\nresynth_model = "{tiny_musicgen_dir}"\n', 1)
    # 2M1 (solo piano, one stem) is re-voiced: the new layer goes under the piano
    text = text.replace('seed = 3\n', 'seed = 3\nresynth = true\nresynth_mode = "mix"\n', 1)
    film.write_text(text)
    plain = tmp_path / "plain"
    render_film(load_cue_list(_copy_demo(tmp_path / "p", cues=3)), plain, FarmOptions(workers=2))
    out = tmp_path / "out"
    report = render_film(load_cue_list(film), out, FarmOptions(workers=2))
    assert [o.state for o in report.outcomes] == ["rendered"] * 3
    manifest = json.loads((out / "2M1" / "manifest.json").read_text())
    assert manifest["options"]["resynth"]["mode"] == "mix"
    assert any("re-synthesized (mix)" in n for n in manifest["notes"])
    assert any("non-commercial" in n for n in manifest["notes"])
    voiced, _ = soundfile.read(str(out / "2M1" / "2M1_keys.wav"))
    original, _ = soundfile.read(str(plain / "2M1" / "2M1_keys.wav"))
    assert voiced.shape == original.shape
    assert not np.array_equal(voiced, original)
    assert np.corrcoef(voiced[:, 0], original[:, 0])[0, 1] > 0.5  # the piano is still there
    # the other cues are untouched by it
    assert (out / "1M1" / "1M1_mix.wav").read_bytes() == (plain / "1M1" / "1M1_mix.wav").read_bytes()


def test_an_unknown_ensemble_stops_the_film_at_load_with_the_known_ones_listed(tmp_path):
    film = _copy_demo(tmp_path, cues=2)
    film.write_text(film.read_text().replace('ensemble = "full-orchestra"', 'ensemble = "kazoo-band"', 1))
    with pytest.raises(CueListError) as info:
        load_cue_list(film)
    message = info.value.one_line()
    assert message.startswith(f"{film}: cue 1M2: key 'ensemble': unknown ensemble 'kazoo-band'")
    assert "string-quartet" in message and "full-orchestra" in message


def test_a_cue_may_name_its_own_ensemble_file(tmp_path):
    import symusic

    film = _copy_demo(tmp_path, cues=2)
    (film.parent / "duo.toml").write_text(
        '[ensembles.duo]\ndescription = "Cello and piano"\nparts = [\n'
        '    { label = "Solo Cello", instrument = "cello" },\n    { label = "Piano", instrument = "piano" },\n]\n')
    film.write_text(film.read_text().replace('ensemble = "full-orchestra"', 'ensemble = "duo.toml"', 1))
    report = render_film(load_cue_list(film), tmp_path / "out", FarmOptions(serial=True))
    assert [o.state for o in report.outcomes] == ["rendered", "rendered"], report.outcomes
    score = symusic.Score(str(tmp_path / "out" / "1M2" / "1M2.mid"))
    assert {t.name for t in score.tracks if t.notes and not t.is_drum} <= {"Solo Cello", "Piano"}


def test_the_melody_cue_is_harmonized_and_played_by_the_strings(demo_run):
    import symusic

    _, out, _, _ = demo_run
    score = symusic.Score(str(out / "4M1" / "4M1.mid"))
    names = [t.name for t in score.tracks if t.notes]
    assert names and set(names) <= {"Violins I", "Violins II", "Violas", "Cellos", "Basses"}
    melody = symusic.Score(str(DEMO / "sketches" / "4m1_lullaby.mid")).tracks[0].notes
    played = {(n.time, n.pitch) for t in score.tracks for n in t.notes}
    assert {(n.time, n.pitch) for n in melody} <= played  # the melody is kept
    top = score.tracks[[t.name for t in score.tracks].index("Violins I")].notes
    assert len({(n.time, n.pitch) for n in melody} & {(n.time, n.pitch) for n in top}) >= 0.9 * len(melody)
    manifest = json.loads((out / "4M1" / "manifest.json").read_text())
    assert any(n.startswith("harmonized (film style)") for n in manifest["notes"])
    assert "orchestrated for strings" in manifest["notes"]
    assert (out / "4M1" / "4M1.musicxml").read_bytes().startswith(b"<?xml")


def test_the_extended_cue_begins_with_its_sketch_and_adds_bars(demo_run):
    import symusic

    _, out, _, _ = demo_run
    sketch = symusic.Score(str(DEMO / "sketches" / "3m1_homecoming.mid"))
    rendered = symusic.Score(str(out / "3M1" / "3M1.mid"))
    played = {(n.time, n.pitch) for t in rendered.tracks for n in t.notes}
    for track in sketch.tracks:  # every note of the sketch is played by the chamber ensemble
        assert {(n.time, n.pitch) for n in track.notes} <= played
    assert {"Flute", "Oboe"} & {t.name for t in rendered.tracks if t.notes} or len(rendered.tracks) > 5
    bar = 5 * sketch.tpq  # 5/4
    assert rendered.end() > sketch.end() + 3 * bar
    manifest = json.loads((out / "3M1" / "manifest.json").read_text())
    assert any(n.startswith("extended by 4 bars") for n in manifest["notes"])


def test_warm_up_stand_ins_cover_every_stage_in_a_bar(tmp_path):
    from scorefarm.render.farm import build_specs
    from scorefarm.render.ray_farm import WARM_QUARTERS, warm_specs
    from scorefarm.render.soundfonts import resolve_soundfont
    from scorefarm.symbolic.score_io import load_score_bytes

    film = _copy_demo(tmp_path)
    cue_list = load_cue_list(film)
    specs = build_specs(cue_list, resolve_soundfont(cue_list.film.soundfont))
    specs[0] = replace(specs[0], sketch_bytes=b"MThd broken")  # 1M1: as if it changed after load
    stand_ins = warm_specs(specs)
    for key in ("extend_bars", "harmonize", "ensemble"):  # every stage the film runs is warmed
        assert any(s.cue_options.get(key) for s in stand_ins), key
    assert len(stand_ins) < len(specs)
    for stand_in in stand_ins:
        score = load_score_bytes(stand_in.sketch_bytes, stand_in.sketch_name)
        assert score.end() <= WARM_QUARTERS * score.ticks_per_quarter
        assert stand_in.cue_options.get("extend_bars", 0) <= 1 and stand_in.resynth is None
    # a film whose only cue is corrupt warms on nothing rather than failing at start-up
    assert warm_specs([s for s in specs if s.cue_id == "1M1"]) == []


def test_each_sketch_is_parsed_once_before_the_workers(tmp_path, monkeypatch):
    # the cue list parses each sketch at load (refusing bad ones); the farm plans with
    # those parsed sketches instead of parsing them again
    from scorefarm.render.farm import build_specs
    from scorefarm.render.ray_farm import expected_cost, warm_specs
    from scorefarm.render.soundfonts import resolve_soundfont
    from scorefarm.symbolic import score_io

    parsed = []
    real = score_io.load_score_bytes
    monkeypatch.setattr(score_io, "load_score_bytes", lambda data, name: parsed.append(name) or real(data, name))
    cue_list = load_cue_list(_copy_demo(tmp_path))
    assert len(parsed) == len(cue_list.cues)
    specs = build_specs(cue_list, resolve_soundfont(cue_list.film.soundfont))
    sketches = {cue.id: cue.sketch_score for cue in cue_list.cues}
    assert warm_specs(specs, sketches) and all(expected_cost(spec, sketches) > 0 for spec in specs)
    assert len(parsed) == len(cue_list.cues)
    assert [spec.sketch_bytes for spec in specs] == [cue.sketch.read_bytes() for cue in cue_list.cues]


def test_shutting_down_an_embedded_ray_stops_its_monitor_first(monkeypatch):
    # ray.shutdown alone stops the GCS before the autoscaler monitor, whose SIGTERM
    # handler then waits on the stopped GCS for Ray's whole grace second; the farm
    # kills the monitor first (it has nothing to save) and then shuts Ray down
    import ray
    from ray._private import worker

    from scorefarm.render.ray_farm import shutdown_ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    (monitor,) = [info.process for info in worker._global_node.all_processes["monitor"]]
    processes = [info.process for infos in worker._global_node.all_processes.values() for info in infos]
    monitor_at_shutdown = []
    real_shutdown = ray.shutdown

    def shutdown(*args, **kwargs):
        monitor_at_shutdown.append(monitor.poll())
        real_shutdown(*args, **kwargs)

    monkeypatch.setattr(ray, "shutdown", shutdown)
    try:
        shutdown_ray(ray)
    finally:
        real_shutdown()
    assert monitor_at_shutdown and monitor_at_shutdown[0] is not None  # gone before Ray's shut-down began
    assert not ray.is_initialized()
    assert all(p.poll() is not None for p in processes)


def test_the_callers_sigterm_handler_survives_starting_ray():
    """ray.init installs its own SIGTERM handler (sys.exit(signum)) and leaves it there;
    start_ray puts compose's back, so SIGTERM still says its line and exits 143."""
    import signal

    from scorefarm.cli.main import _terminated
    from scorefarm.render.ray_farm import shutdown_ray, start_ray
    from scorefarm.render.soundfonts import SoundFont

    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        ray = start_ray(FarmOptions(workers=1), SoundFont("none", Path("/nonexistent.sf2"), "", ""))
        try:
            assert signal.getsignal(signal.SIGTERM) is _terminated
        finally:
            shutdown_ray(ray)
        assert signal.getsignal(signal.SIGTERM) is _terminated
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_cue_product_travels_with_its_files_out_of_band(demo_run):
    # the WAVs go to Ray's object store as out-of-band buffers (copied once, not twice)
    # and come back as the same bytes
    import pickle

    from scorefarm.render.pipeline import CueProduct

    _, out, report, _ = demo_run
    files = {p.name: p.read_bytes() for p in sorted((out / report.outcomes[0].cue_id).glob("*.wav"))}
    product = CueProduct(report.outcomes[0].cue_id, "key", files, {"cue": "x"}, 1.0, -23.0, -1.0, [], 0.5)
    buffers = []
    data = pickle.dumps(product, protocol=5, buffer_callback=buffers.append)
    assert files and sum(b.raw().nbytes for b in buffers) == sum(len(d) for d in files.values())
    assert len(data) < 4096  # the stream holds no audio
    back = pickle.loads(data, buffers=buffers)
    assert back == product and all(type(d) is bytes for d in back.files.values())


def test_a_relative_soundfont_in_the_film_is_found_from_the_films_folder(tmp_path, monkeypatch):
    from scorefarm.render.farm import film_soundfont
    from scorefarm.render.soundfonts import resolve_soundfont

    system = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
    if not system.is_file():
        pytest.skip("the FluidR3 GM SoundFont is not installed")
    film = _copy_demo(tmp_path, cues=1)
    (film.parent / "fonts").mkdir()
    (film.parent / "fonts" / "orchestra.sf2").symlink_to(system)
    film.write_text(film.read_text().replace('soundfont = "default"', 'soundfont = "fonts/orchestra.sf2"', 1))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # compose run from another folder
    cue_list = load_cue_list(film)
    assert resolve_soundfont(film_soundfont(cue_list.film)).path == film.parent / "fonts" / "orchestra.sf2"
    assert film_soundfont(replace(cue_list.film, soundfont="default")) == "default"  # catalogue names stay names
