"""The distribution installs as a regular wheel too, not only editable."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_the_namespace_and_the_console_script(tmp_path: Path):
    wheel_dir = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheel_dir), str(ROOT)], check=True, capture_output=True)
    (wheel,) = wheel_dir.glob("scorefarm-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("scorefarm/__init__.py", "scorefarm/errors.py", "scorefarm/symbolic/score_io.py",
                   "scorefarm/render/synth.py", "scorefarm/cli/main.py", "scorefarm/soundfonts/catalogue.toml",
                   "scorefarm/arrange/data/gm_sections.toml"):
        assert module in names, module
    # nothing with a generic top-level name lands in site-packages
    assert {n.split("/")[0] for n in names} <= {"scorefarm", wheel.name.split("-")[0] + "-0.1.0.dist-info"}
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "compose = scorefarm.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import scorefarm, scorefarm.cli.main as m;"
             "from scorefarm.render.soundfonts import resolve_soundfont;"
             "assert scorefarm.__file__.startswith(sys.argv[1]), scorefarm.__file__;"
             "m.cli.main(['--help'], prog_name='compose', standalone_mode=False)")
    result = subprocess.run([sys.executable, "-c", probe, str(target)], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "render" in result.stdout and "master" in result.stdout


def test_editable_install_serves_the_source_tree():
    result = subprocess.run([sys.executable, "-c", "import scorefarm.render, scorefarm.symbolic;"
                             "print(scorefarm.render.__file__); print(scorefarm.symbolic.__file__)"],
                            capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    render_file, symbolic_file = result.stdout.split()
    assert Path(render_file).resolve() == ROOT / "render" / "__init__.py"
    assert Path(symbolic_file).resolve() == ROOT / "symbolic" / "__init__.py"
    assert (Path(sys.executable).parent / "compose").exists()
