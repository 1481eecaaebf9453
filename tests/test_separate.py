"""Voice separation: the shipped model, the assignment, the zone baseline, the scoring."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from scorefarm.arrange import separate as sep
from scorefarm.arrange.separation_data import fit_zones, make_piece, score_labels

TPQ = 480
MODEL_DIR = Path(sep.__file__).resolve().parents[1] / "models" / "separate"

# C major: I - IV - V - vi - ii6 - V - I, half notes, as (soprano, alto, tenor, bass)
SATB = [(72, 67, 64, 48), (72, 69, 65, 53), (74, 67, 62, 55), (76, 72, 64, 57),
        (74, 69, 65, 53), (74, 67, 62, 55), (72, 67, 64, 48)]


def satb_notes():
    notes, parts = [], []
    for i, chord in enumerate(SATB):
        for part, pitch in enumerate(chord):
            notes.append((i * 2 * TPQ, 2 * TPQ, pitch))
            parts.append(part)
    return notes, np.array(parts)


def test_satb_progression_comes_back_in_its_parts():
    notes, parts = satb_notes()
    result = sep.separate(notes, TPQ)
    assert result.labels.dtype == np.int8 and result.probabilities.dtype == np.float32
    assert result.probabilities.shape == (len(notes), sep.PARTS)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert (result.labels == parts).all()


def test_a_moving_inner_voice_keeps_its_part():
    # soprano and bass hold a whole bar while alto and tenor move in quarters
    notes = [(0, 4 * TPQ, 76), (0, 4 * TPQ, 48)]
    parts = [0, 3]
    for beat, (alto, tenor) in enumerate([(67, 60), (69, 62), (71, 64), (72, 64)]):
        notes += [(beat * TPQ, TPQ, alto), (beat * TPQ, TPQ, tenor)]
        parts += [1, 2]
    result = sep.separate(notes, TPQ)
    assert (result.labels == np.array(parts)).all()


def test_labels_are_deterministic():
    notes, _ = satb_notes()
    a, b = sep.separate(notes, TPQ), sep.separate(notes, TPQ)
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.probabilities, b.probabilities)


def test_labels_follow_the_notes_when_the_input_is_shuffled():
    notes, _ = satb_notes()
    notes += [(14 * TPQ + TPQ // 2, TPQ // 2, 70), (15 * TPQ, TPQ, 62)]
    reference = dict(zip(notes, sep.separate(notes, TPQ).labels.tolist()))
    shuffled = notes[:]
    random.Random(3).shuffle(shuffled)
    labels = sep.separate(shuffled, TPQ).labels.tolist()
    assert {n: label for n, label in zip(shuffled, labels)} == reference


def test_empty_input():
    result = sep.separate([], TPQ)
    assert result.labels.shape == (0,) and result.probabilities.shape == (0, sep.PARTS)


def test_a_six_note_chord_gets_valid_labels():
    chord = [(0, TPQ, p) for p in (84, 76, 72, 67, 60, 36)]
    labels = sep.separate(chord, TPQ).labels
    assert labels.shape == (6,) and set(labels.tolist()) <= {0, 1, 2, 3}
    assert labels[0] == 0 and labels[-1] == 3
    assert max(np.bincount(labels, minlength=4)) <= 2  # shared fairly among the four parts


def test_long_input_is_windowed():
    rng = np.random.default_rng(0)
    notes = [(i * TPQ // 2, TPQ // 2, int(p)) for i in range(1200) for p in (rng.integers(40, 52), rng.integers(70, 80))]
    result = sep.separate(notes, TPQ, monophonic=False)
    assert result.labels.shape == (2400,)
    assert set(result.labels.tolist()) <= {0, 1, 2, 3}
    highs = result.labels[1::2] if notes[1][2] > notes[0][2] else result.labels[0::2]
    assert np.mean(highs <= 1) > 0.9


def test_zone_baseline():
    labels = sep.zone_baseline([(0, 1, 72), (0, 1, 57), (0, 1, 50), (0, 1, 40), (0, 1, 60)], TPQ, (60, 55, 48))
    assert labels.tolist() == [0, 1, 2, 3, 0]
    assert labels.dtype == np.int8
    with pytest.raises(ValueError, match="3 boundaries"):
        sep.zone_baseline([(0, 1, 60)], TPQ, (60, 50))


def test_fit_zones_finds_the_boundaries():
    rows = [(float(i), 1.0, p, 0.0, part) for i, (p, part) in
            enumerate([(80, 0), (75, 0), (70, 1), (66, 1), (60, 2), (57, 2), (50, 3), (40, 3)])]
    zones = fit_zones([make_piece("x", "bach", "train", 4.0, rows)])
    assert 70 < zones[0] <= 75 and 60 < zones[1] <= 66 and 50 < zones[2] <= 57
    assert sep.zone_baseline([(0, 1, r[2]) for r in rows], TPQ, zones).tolist() == [r[4] for r in rows]


def test_unisons_are_scored_by_the_best_matching():
    onset = np.array([0.0, 0.0, 1.0])
    pitch = np.array([60, 60, 62])
    truth = np.array([1, 2, 1])
    assert score_labels(onset, pitch, truth, np.array([2, 1, 1])) == 3  # swapped unison: both right
    assert score_labels(onset, pitch, truth, np.array([1, 1, 1])) == 2


def test_the_shipped_model_loads_and_matches_its_config():
    config = json.loads((MODEL_DIR / "config.json").read_text())
    assert (MODEL_DIR / "model.safetensors").stat().st_size < 10 * 2**20
    model, loaded, lookup = sep.load_model()
    assert loaded == config
    bert = model.encoder.config
    assert (bert.hidden_size, bert.num_hidden_layers, bert.num_labels) == (config["hidden_size"], config["layers"], 4)
    assert model.embed.num_embeddings == len(config["vocabulary"])
    assert {"Pitch_60", "Position_0", "Duration_1.0.8"} <= set(config["vocabulary"])  # miditok REMI names
    assert len(config["zones"]["bach"]) == 3
    training = json.loads((MODEL_DIR / "training.json").read_text())
    assert training["command"].startswith("python -m scorefarm.arrange.separate_train")


def test_a_tiny_random_model_gives_probabilities():
    import torch

    names = ["PAD"] + [f"Pitch_{p}" for p in range(21, 109)] + [f"Position_{i}" for i in range(32)]
    names += [f"Duration_{b}.{p}.8" for b in range(4) for p in range(8) if b or p]
    names += [f"{s}_{i}" for s in ("RankTop", "RankBottom", "Sounding", "Starting") for i in range(sep.CONTEXT_MAX + 1)]
    names += [f"Gap_{i}" for i in range(len(sep.GAP_BUCKETS))]
    torch.manual_seed(0)
    model = sep.build_model({"vocabulary": names, "hidden_size": 16, "layers": 1, "heads": 2, "max_notes": 8}).eval()
    lookup = sep.Lookup.from_names(names)
    onset = np.repeat(np.arange(5.0), 4)
    pitch = np.tile([72, 67, 64, 48], 5)
    tokens = sep.note_tokens(lookup, onset, np.ones(20), pitch, onset % 4)
    assert tokens.shape == (20, len(sep.SLOTS))
    probs = sep.predict_probabilities(model, tokens, 8)  # 20 notes in windows of 8
    assert probs.shape == (20, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    labels = sep.assign(onset, np.ones(20), probs)
    for t in range(5):  # four notes at once get four different parts
        assert sorted(labels[4 * t:4 * t + 4].tolist()) == [0, 1, 2, 3]
