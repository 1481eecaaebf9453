"""Shared fixtures: tests build their own small MIDI files."""

from __future__ import annotations

from pathlib import Path

import pytest
import symusic


def build_score(
    notes: list[tuple[float, float, int, int]] | None = None,
    *,
    tpq: int = 480,
    bpm: float = 120.0,
    program: int = 0,
    name: str = "Piano",
    time_signature: tuple[int, int] = (4, 4),
    is_drum: bool = False,
) -> symusic.Score:
    """A one-track score from (start_beats, duration_beats, pitch, velocity) tuples."""
    if notes is None:
        notes = [(i * 1.0, 1.0, p, 80) for i, p in enumerate([60, 62, 64, 65, 67, 65, 64, 62])]
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, bpm))
    score.time_signatures.append(symusic.TimeSignature(0, *time_signature))
    track = symusic.Track(name, program, is_drum)
    for start, dur, pitch, vel in notes:
        track.notes.append(symusic.Note(int(round(start * tpq)), int(round(dur * tpq)), pitch, vel))
    score.tracks.append(track)
    return score


@pytest.fixture
def make_score():
    return build_score


@pytest.fixture
def score_file(tmp_path: Path) -> Path:
    path = tmp_path / "sketch.mid"
    build_score().dump_midi(str(path))
    return path
