"""The code fingerprint in a cue's cache key: outputs of changed code are not reused."""

from __future__ import annotations

from pathlib import Path

from scorefarm.fingerprint import code_fingerprint, fingerprint


def test_the_fingerprint_follows_source_and_data_files_only(tmp_path: Path):
    core, sub = tmp_path / "core", tmp_path / "symbolic"
    (core / "nested").mkdir(parents=True)
    (sub / "data").mkdir(parents=True)
    (core / "a.py").write_text("x = 1\n")
    (core / "nested" / "weights.safetensors").write_bytes(b"big")  # a wheel nests subpackages under the core
    (sub / "data" / "table.json").write_text("{}")
    (sub / "notes.txt").write_text("not code")
    first = fingerprint([core, sub], shallow=1)
    assert first == fingerprint([core, sub], shallow=1)
    (sub / "notes.txt").write_text("still not code")
    (core / "nested" / "weights.safetensors").write_bytes(b"bigger")
    assert fingerprint([core, sub], shallow=1) == first
    (sub / "data" / "table.json").write_text('{"a": 1}')
    assert fingerprint([core, sub], shallow=1) != first
    (sub / "data" / "table.json").write_text("{}")
    (sub / "data" / "table.json").rename(sub / "data" / "other.json")  # a renamed file counts too
    assert fingerprint([core, sub], shallow=1) != first


def test_a_cue_key_changes_with_the_code(monkeypatch):
    import scorefarm.fingerprint as module
    from scorefarm.render.pipeline import CueSpec

    spec = CueSpec(cue_id="1M1", sketch_name="1m1.mid", sketch_bytes=b"MThd", soundfont=None, soundfont_sha256="0" * 64)
    assert len(code_fingerprint()) == 64
    before = spec.key()
    monkeypatch.setattr(module, "code_fingerprint", lambda: "f" * 64)
    assert spec.key() != before
