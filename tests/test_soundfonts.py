"""SoundFont catalogue and lookup: names, paths, headers, checksums."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from scorefarm.errors import SoundFontError
from scorefarm.render import soundfonts
from scorefarm.render.soundfonts import (
    SoundFont,
    catalogue,
    find_entry,
    parse_catalogue,
    resolve_soundfont,
    soundfont_format,
    verify_soundfont,
)

FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
needs_fluidr3 = pytest.mark.skipif(not FLUIDR3.is_file(), reason="fluid-soundfont-gm is not installed")


def sf_header(major: int = 2) -> bytes:
    """The first 36 bytes of a SoundFont: RIFF 'sfbk', then INFO's 'ifil' version chunk."""
    return (b"RIFF" + struct.pack("<I", 28) + b"sfbk" + b"LIST" + struct.pack("<I", 16) + b"INFO"
            + b"ifil" + struct.pack("<IHH", 4, major, 1))


def test_catalogue_names_licences_and_sources():
    by_name = {e.name: e for e in catalogue()}
    assert set(by_name) == {"FluidR3_GM", "GeneralUser GS", "TimGM6mb", "MuseScore_General"}
    assert by_name["FluidR3_GM"].licence == "MIT"
    assert by_name["MuseScore_General"].licence == "MIT"
    assert by_name["TimGM6mb"].licence == "GPL-2.0"
    assert "GeneralUser GS License" in by_name["GeneralUser GS"].licence
    assert find_entry("default") is by_name["FluidR3_GM"]
    assert find_entry("FLUIDR3_gm") is by_name["FluidR3_GM"]  # names are case-insensitive
    fluid = by_name["FluidR3_GM"]
    assert Path("/usr/share/sounds/sf2/FluidR3_GM.sf2") in fluid.paths  # Debian/Ubuntu
    assert Path("/usr/share/soundfonts/FluidR3_GM.sf2") in fluid.paths  # Fedora, Arch
    assert any(str(p).startswith("/opt/homebrew/") for p in fluid.paths)  # macOS Homebrew
    assert len(fluid.sha256) == 64 and int(fluid.sha256, 16) >= 0
    for entry in catalogue():
        assert entry.source and entry.paths and entry.install


def test_catalogue_rejects_unknown_keys_and_reused_names():
    good = '[[soundfont]]\nname = "A"\nlicence = "MIT"\nsource = "s"\npaths = ["/x.sf2"]\n'
    assert parse_catalogue(good, "cat.toml")[0].name == "A"
    with pytest.raises(SoundFontError, match=r"unknown keys \['licnce'\]") as info:
        parse_catalogue(good.replace("licence", "licnce"), "cat.toml")
    assert info.value.path == "cat.toml"
    with pytest.raises(SoundFontError, match="used by both"):
        parse_catalogue(good + good.replace('"A"', '"B"\naliases = ["a"]'), "cat.toml")


@needs_fluidr3
def test_resolve_default_name():
    font = resolve_soundfont("default")
    assert font == SoundFont("FluidR3_GM", FLUIDR3, "MIT", font.source, find_entry("FluidR3_GM").sha256)
    assert "Frank Wen" in font.source
    assert soundfont_format(font.path) == "sf2"


@needs_fluidr3
def test_a_path_to_a_catalogued_file_is_identified_through_symlinks(tmp_path):
    link = tmp_path / "my-font.sf2"
    link.symlink_to(FLUIDR3)
    font = resolve_soundfont(str(link))
    assert (font.name, font.licence, font.path) == ("FluidR3_GM", "MIT", link)
    assert resolve_soundfont(link).name == "FluidR3_GM"  # a Path works too


def test_a_path_to_an_unknown_soundfont(tmp_path):
    path = tmp_path / "Strings Deluxe.sf3"
    path.write_bytes(sf_header(3) + b"\0" * 64)
    font = resolve_soundfont(str(path))
    assert (font.name, font.path, font.sha256) == ("Strings Deluxe", path, None)
    assert font.licence.startswith("unknown")
    assert soundfont_format(path) == "sf3"


def test_missing_file(tmp_path):
    missing = tmp_path / "nowhere.sf2"
    with pytest.raises(SoundFontError, match="no such SoundFont file") as info:
        resolve_soundfont(str(missing))
    assert info.value.path == str(missing)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("content", [b"MThd\0\0\0\6\0\1\0\1\1\xe0", b"RIFF\x24\0\0\0WAVEfmt ", b"", b"RIFF"])
def test_not_a_soundfont(tmp_path, content):
    path = tmp_path / "font.sf2"
    path.write_bytes(content)
    with pytest.raises(SoundFontError, match="not a SoundFont: expected a RIFF 'sfbk' header"):
        resolve_soundfont(str(path))


def test_unsupported_version_and_folder(tmp_path):
    path = tmp_path / "future.sf2"
    path.write_bytes(sf_header(4))
    with pytest.raises(SoundFontError, match=r"version 4 is not supported; allowed: \[2, 3\]"):
        resolve_soundfont(str(path))
    with pytest.raises(SoundFontError, match="is a folder"):
        resolve_soundfont(str(tmp_path))


def test_unknown_name_lists_the_known_names_and_the_path_tried(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SoundFontError) as info:
        resolve_soundfont("Orchestral Deluxe")
    message = str(info.value)
    assert "unknown SoundFont 'Orchestral Deluxe'" in message
    for name in ("FluidR3_GM (default, fluidr3)", "GeneralUser GS", "TimGM6mb", "MuseScore_General"):
        assert name in message
    assert str(tmp_path / "Orchestral Deluxe") in message


def test_a_name_whose_files_are_absent_lists_the_paths_tried(tmp_path, monkeypatch):
    first, second = tmp_path / "a" / "X.sf2", tmp_path / "b" / "X.sf2"
    text = (f'[[soundfont]]\nname = "X"\nlicence = "MIT"\nsource = "s"\ninstall = "apt install x"\n'
            f'paths = ["{first}", "{second}"]\n')
    monkeypatch.setattr(soundfonts, "catalogue", lambda: parse_catalogue(text, "test"))
    with pytest.raises(SoundFontError) as info:
        resolve_soundfont("x")
    assert f"tried {first}, {second}; install it with: apt install x" in str(info.value)
    second.parent.mkdir()
    second.write_bytes(sf_header())
    assert resolve_soundfont("X").path == second  # the first existing location wins


def test_verify_checks_the_catalogue_checksum_only_when_asked(tmp_path):
    path = tmp_path / "f.sf2"
    path.write_bytes(sf_header() + b"data")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert verify_soundfont(SoundFont("f", path, "MIT", "test", None)) == digest
    assert verify_soundfont(SoundFont("f", path, "MIT", "test", digest)) == digest
    with pytest.raises(SoundFontError, match=f"checksum mismatch for f: sha256 {digest}"):
        verify_soundfont(SoundFont("f", path, "MIT", "test", "0" * 64))


@needs_fluidr3
def test_recorded_fluidr3_checksum_matches_the_installed_file():
    font = resolve_soundfont("FluidR3_GM")
    assert verify_soundfont(font) == font.sha256
