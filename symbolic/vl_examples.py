"""The checker's textbook examples (``data/voice_leading_examples.json``, and the
augmented sixth chords of ``data/augmented_sixth_examples.json`` after them) as voices.

``planted_faults_voices()`` lays every fault passage in a bar of its own, with
a bar of rest between passages (so no fault runs from one into the next), and
returns the faults each should produce; ``clean_voices()`` does the same for
the clean progressions. The tests and ``benchmarks/bench_check.py`` use them.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from .chords import parse_pitch
from .voices import SATB, Part, VNote, Voices

TPQ = 480

Expected = tuple[str, int, float, tuple[str, ...]]  # (kind, bar, beat, voices)


EXAMPLE_FILES = ("data/voice_leading_examples.json", "data/augmented_sixth_examples.json")


@lru_cache(maxsize=1)
def examples() -> dict:
    """The passages of every example file, in order: {"clean": [...], "faults": [...]}."""
    out: dict[str, list] = {"clean": [], "faults": []}
    for name in EXAMPLE_FILES:
        table = json.loads(resources.files("scorefarm.symbolic").joinpath(name).read_text())
        for group in out:
            out[group] += table.get(group, [])
    return out


def _lay_out(passages: list[dict]) -> tuple[Voices, list[Expected]]:
    notes: list[list[VNote]] = [[] for _ in SATB]
    expected: list[Expected] = []
    bar = 1
    for passage in passages:
        start = (bar - 1) * 4 * TPQ
        for c, chord in enumerate(passage["chords"]):
            for v, name in enumerate(chord):
                tick = start + c * TPQ
                notes[v].append(VNote(tick, tick + TPQ, parse_pitch(name)))
        for fault in passage.get("expect", []):
            expected.append((fault["kind"], bar, float(fault["chord"]), tuple(fault["voices"])))
        bars = -(-len(passage["chords"]) // 4)
        bar += bars + 1  # a bar of rest between passages
    parts = [Part(name, voice) for name, voice in zip(SATB, notes)]
    return Voices(TPQ, parts, [(0, 4, 4)]), expected


def planted_faults_voices() -> tuple[Voices, list[Expected]]:
    return _lay_out(examples()["faults"])


def clean_voices() -> tuple[Voices, list[Expected]]:
    return _lay_out(examples()["clean"])
