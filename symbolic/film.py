"""The film style: a wider chord vocabulary, open voicings and pedal points.

(Its slower harmonic rhythm, a chord held for half a bar under the melody, is
``harmonize``'s: ``DEFAULT_RHYTHM``.)

``film_model()`` is the chorale model with the chords of
``data/film_harmony.json`` added to each mode: a new sonority borrows the
transitions, soprano lengths and metre of its proxy chorale sonority, gets a
soprano distribution spread over its own pitch classes and a log-probability
bonus; one with a ``to`` list (the Neapolitan) moves only to those sonorities.
``film_weights`` opens the voicing (upper voices up to a twelfth apart, a reward
for open position). ``pedal_plan`` holds the tonic in the bass under the opening
bar and the melody's last note.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from functools import lru_cache
from importlib import resources

import numpy as np

from .chorale_model import ChoraleModel, ModeModel, load_model, parse_state
from .melody import Slot
from .voicing import VoicingWeights

OPEN_SPACING = 19  # semitones allowed between adjacent upper voices (a twelfth)


@lru_cache(maxsize=1)
def film_vocabulary() -> dict:
    return json.loads(resources.files("scorefarm.symbolic").joinpath("data/film_harmony.json").read_text())


@lru_cache(maxsize=1)
def film_model() -> ChoraleModel:
    base = load_model()
    vocab = film_vocabulary()
    modes = {mode: _extend(base.modes[mode], vocab[mode], float(vocab["bonus_default"])) for mode in base.modes}
    return ChoraleModel(modes, base.chorales)


def _extend(model: ModeModel, chords: list[dict], default_bonus: float) -> ModeModel:
    index = {state: i for i, state in enumerate(model.states)}
    states = list(model.states)
    trans = model.log_trans.copy()
    rows = {name: getattr(model, name).copy() for name in
            ("log_start", "log_end", "log_pc", "log_long", "log_down", "log_final", "state_counts")}
    inner = copy.copy(model.inner)
    bass_class = list(model.bass_rel)
    net_class = list(model.net_rel)
    for chord in chords:
        state = (int(chord["bass"]), tuple(sorted(int(p) for p in chord["pcs"])))
        proxy_key = parse_state(chord["proxy"])
        if proxy_key not in index:
            raise ValueError(f"film chord {chord['name']!r}: proxy {chord['proxy']!r} is not a chorale sonority")
        proxy = index[proxy_key]
        bonus = float(chord.get("bonus", default_bonus))
        if state in index:  # already a chorale sonority: make it likelier
            trans[:, index[state]] += bonus
            continue
        new = len(states)
        states.append(state)
        bass_class.append(int(model.bass_rel[proxy]))  # the bass model and the net judge it as its proxy
        net_class.append(int(model.net_rel[proxy]))
        index[state] = new
        trans = np.vstack([trans, trans[proxy][None, :]])
        trans = np.hstack([trans, (trans[:, proxy] + bonus)[:, None]])
        trans[new, new] = trans[proxy, proxy]
        if "to" in chord:  # a chord with a strict resolution leaves only for those sonorities
            targets = [index.get(parse_state(key)) for key in chord["to"]]
            if None in targets:
                raise ValueError(f"film chord {chord['name']!r}: 'to' names a sonority the model lacks")
            kept = trans[new, targets].copy()
            trans[new, :] = -np.inf
            trans[new, targets] = kept
        pc_row = np.full(12, np.log(1e-4))
        pc_row[list(state[1])] = np.log(1.0 / len(state[1]))
        for name in rows:
            values = rows[name]
            if name == "log_pc":
                rows[name] = np.vstack([values, pc_row[None, :]])
            else:
                rows[name] = np.concatenate([values, values[proxy : proxy + 1]])
        inner.update(_borrowed_inner(model.inner, proxy, proxy_key, new, state))
    trans -= np.log(np.exp(trans).sum(axis=1, keepdims=True))  # rows sum to one again
    return replace(model, states=states, log_trans=trans, inner=inner,
                   bass_class=np.asarray(bass_class, dtype=np.int64),
                   net_class=np.asarray(net_class, dtype=np.int64), **rows)


def _members(state: tuple[int, tuple[int, ...]]) -> dict[int, int]:
    """{interval above the bass: pitch class} of a sonority's members."""
    bass, pcs = state
    return {(p - bass) % 12: p for p in pcs}


def _borrowed_inner(inner: dict, proxy: int, proxy_state, new: int, state) -> dict:
    """A film chord's alto/tenor table, voiced as its proxy chorale sonority is: each
    member of the proxy stands for the film chord's member nearest it above the bass
    (IV's third for iv's, V's root for bVII's), so iv is spaced and doubled like IV;
    pairs with an added tone (the 9th of add9, a seventh) take the mean of the proxy's
    values, so colour is neither favoured nor refused by the voicing."""
    ours, theirs = _members(state), _members(proxy_state)
    mapped: dict[int, int] = {}  # proxy pc -> our pc
    for interval, pc in theirs.items():
        nearest = min(ours, key=lambda i: (min((i - interval) % 12, (interval - i) % 12), i))
        mapped.setdefault(pc, ours[nearest])
    back = {ours_pc: proxy_pc for proxy_pc, ours_pc in mapped.items()}
    out = {}
    for sop in state[1]:
        source = inner.get(f"{proxy}:{back[sop]}", {}) if sop in back else {}
        translated = {(mapped[a], mapped[t]): v for (a, t), v in source.items() if a in mapped and t in mapped}
        values = list(source.values()) or [v for table in (inner.get(f"{proxy}:{p}", {}) for p in proxy_state[1])
                                           for v in table.values()]
        fallback = float(np.mean(values)) if values else float(np.log(1.0 / len(state[1]) ** 2))
        out[f"{new}:{sop}"] = {(a, t): translated.get((a, t), fallback) for a in state[1] for t in state[1]}
    return out


def film_weights(weights: VoicingWeights) -> VoicingWeights:
    """Open voicings: wider upper spacing and a reward for open position. Overlaps,
    hidden fifths and octaves and unresolved sevenths cost more than in chorale style:
    held chords give the search fewer moves to weigh them against (at chorale style's
    costs, ``benchmarks/bench_film_style.py``'s 699 beats had 5 overlaps and 26
    unresolved sevenths; at these, none and 7)."""
    penalties = replace(weights.penalties, overlap=max(weights.penalties.overlap, 20.0),
                        hidden=max(weights.penalties.hidden, 15.0))
    return replace(weights, max_upper_spacing=max(weights.max_upper_spacing, OPEN_SPACING),
                   open_position=max(weights.open_position, 3.0), spacing=0.0, inner=0.5 * weights.inner,
                   seventh=max(weights.seventh, 30.0), penalties=penalties)


PEDAL_CENTRE = 45  # A2: the pedal takes the tonic nearest it, low in the cellos and basses without growling


def pedal_plan(slots: list[Slot], key: tuple[int, str], ranges: dict[str, tuple[int, int]],
               final_beat: int) -> dict[int, int]:
    """{beat index: bass pitch}: a tonic pedal under the opening (an upbeat and the first
    full bar) and under the melody's last note (``final_beat`` on) when that note is a tone
    of the tonic triad (a melody ending on the second degree ends on V, not over a tonic
    bass). Only when the piece has at least three bars, so something moves in between."""
    downbeats = [i for i, s in enumerate(slots) if s.downbeat]
    if len(downbeats) < 3:
        return {}
    tonic, mode = key
    low, high = ranges["Bass"]
    pedal = min((p for p in range(low, high + 1) if p % 12 == tonic), key=lambda p: (abs(p - PEDAL_CENTRE), p))
    beats = list(range(0, downbeats[1]))  # an upbeat, if any, and the first full bar
    last = next(s.sop for s in reversed(slots) if s.sop is not None)
    if (last - tonic) % 12 in (0, 3 if mode == "minor" else 4, 7):
        beats += range(max(final_beat, beats[-1] + 1), len(slots))
    return {i: pedal for i in beats}
