"""Constrained sampling for the extension model: the grammar state, the allowed
tokens, the logits processors, the sampler and the decoding loop.

``Constraints`` holds the rules of ``extend.py``'s module doc (grammar, voice ranges,
key, the sketch's pitch-class profile). The tokens allowed at a point depend on a
few facts of the ``RemiState`` (the last token's kind, the voice, the position,
whether the bar must close, which monophonic voices already sounded here), so each
answer is computed once per extension as a sorted array of token ids and looked up
afterwards: a decoding step costs a dictionary lookup, not a pass over the vocabulary.

Two consumers share those answers:

* ``sample_plan``, our loop: the model's logits at the allowed ids only (a few dozen
  numbers), the pitch prior and key filter on pitch steps, then ``sample_candidates``
  with numpy's PCG64 (float64, so the same seed gives the same tokens);
* the ``transformers.LogitsProcessor`` classes, so that plain ``generate`` runs under
  the same constraints (the speed benchmark compares the two).
"""

from __future__ import annotations

import contextlib

import numpy as np

from .tokenizer import BEAT_RES, Vocab

BAR, TS, POS, TEMPO, PROG, PITCH, VEL, DUR, SPECIAL = range(9)


POSITIONS_PER_BEAT = max(BEAT_RES.values())  # the grid of Position tokens (the finest beat resolution)


def _positions(duration: str) -> int:
    """A Duration token's value ('beats.positions.resolution', miditok's) in grid positions
    of ``POSITIONS_PER_BEAT`` per beat."""
    beats, positions, resolution = (int(x) for x in duration.split("."))
    return beats * POSITIONS_PER_BEAT + positions * POSITIONS_PER_BEAT // max(resolution, 1)


class RemiState:
    """Where a REMI token stream stands: consumed incrementally, token by token."""

    def __init__(self, vocab: Vocab, positions_per_bar: int, monophonic: frozenset = frozenset()):
        self.vocab = vocab
        self.kind = np.full(vocab.size, SPECIAL, dtype=np.int8)
        for group, kind in (("position", POS), ("tempo", TEMPO), ("program", PROG), ("pitch", PITCH),
                            ("velocity", VEL), ("duration", DUR), ("time_sig", TS)):
            self.kind[vocab.ids(group)] = kind
        self.kind[vocab.bar] = BAR
        self.kinds = self.kind.tolist()  # plain ints: faster to index per token
        self.positions_per_bar = positions_per_bar
        self.last = SPECIAL
        self.position = -1
        self.program = -1
        self.bars = 0  # Bar tokens seen
        self.tokens_in_bar = 0
        self.seen = 0  # tokens consumed (so generate's processors can catch up)
        self.onsets_here: set[int] = set()  # voice slots with a note at the current position
        self.onsets_in_bar: set[int] = set()  # voice slots with a note starting in the current bar
        # (voice slot, pitch) -> where its note ends (bars * positions_per_bar + position), as the
        # notes are written (``extend.assemble``): a key struck again ends its held note, and a
        # voice of ``monophonic`` ends its held note where it strikes the next
        self.held_until: dict[int, dict[int, int]] = {}  # voice slot -> {pitch: end}, those sounding
        self.monophonic = frozenset(monophonic)
        self.pitch = -1
        self._struck_at: dict[tuple[int, int], int] = {}
        self.duration_positions = {i: _positions(value) for i, value in vocab.duration.items()}

    def feed(self, token: int) -> None:
        kind = self.kinds[token]
        self.seen += 1
        self.tokens_in_bar += 1
        if kind == BAR:
            self.bars += 1
            start = self.bars * self.positions_per_bar
            for voice, ends in self.held_until.items():  # notes over by now say nothing more
                self.held_until[voice] = {p: end for p, end in ends.items() if end > start}
            self.position = -1
            self.tokens_in_bar = 0
            self.onsets_here = set()
            self.onsets_in_bar = set()
        elif kind == POS:
            self.position = self.vocab.position[token]
            self.onsets_here = set()
        elif kind == PROG:
            self.program = self.vocab.program[token]
            self.onsets_here.add(self.program)
            self.onsets_in_bar.add(self.program)
        elif kind == PITCH:
            self.pitch = self.vocab.pitch[token]
        elif kind == DUR:
            start = self.bars * self.positions_per_bar + max(self.position, 0)
            end = start + self.duration_positions[token]
            ends = self.held_until.setdefault(self.program, {})
            if self.program in self.monophonic:
                for pitch, held in ends.items():
                    ends[pitch] = min(held, start)
            key = (self.program, self.pitch)
            if self._struck_at.get(key) == start:  # struck twice at once: one note, the longer
                ends[self.pitch] = max(ends.get(self.pitch, 0), end)
            else:  # an earlier note of the key ends where it is struck again
                ends[self.pitch] = end
                self._struck_at[key] = start
        if kind != SPECIAL:
            self.last = kind

    def silent_in_bar(self, voices: frozenset) -> frozenset:
        """Which of ``voices`` neither strike a note in the current bar nor hold one into it."""
        start = self.bars * self.positions_per_bar
        return frozenset(v for v in voices if v not in self.onsets_in_bar
                         and not any(end > start for end in self.held_until.get(v, {}).values()))

    def catch_up(self, ids) -> None:
        row = ids[0] if hasattr(ids, "ndim") and ids.ndim == 2 else ids
        for token in row[self.seen:].tolist():
            self.feed(int(token))


class Constraints:
    """The tokens allowed after a ``RemiState``, and the key's say on pitches.

    ``bars_end``: the number of Bar tokens at which the stream must stop (EOS instead
    of another Bar). ``entry_bar``: the bar (its count of Bar tokens) where the
    continuation starts; its first note falls on the downbeat, so a continuation
    never opens with a silent bar or half bar. ``cadence`` (tonic pitch class, tonic
    triad's pitch classes, the bass voices): the last bar (``bars_end - 1`` Bar tokens)
    plays tones of the tonic triad only, the bass voices the tonic (a root-position close).
    ``key_pitch_classes`` None: no key filter (``--free``);
    ``profile`` None or ``profile_weight`` 0: no pitch-class prior."""

    def __init__(self, vocab: Vocab, voices: list[int], time_sig: tuple[int, int], positions_per_bar: int,
                 ranges: dict[int, tuple[int, int]], *, bars_end: int, max_tokens_per_bar: int,
                 monophonic: set[int] = frozenset(), key_pitch_classes: set[int] | None = None,
                 chromatic_confidence: float = 0.5, profile: np.ndarray | None = None, profile_weight: float = 0.0,
                 entry_bar: int | None = None, cadence: tuple[int, set[int], set[int]] | None = None,
                 keep_sounding: set[int] = frozenset(), enter_by: dict[int, int] | None = None):
        from scorefarm.errors import ScoreError

        self.vocab = vocab
        self.bars_end = bars_end
        self.max_tokens_per_bar = max_tokens_per_bar
        self.monophonic = frozenset(monophonic)  # voices that play one note at a time (as in the sketch)
        self.time_sig = {i for i, v in vocab.time_sig.items() if v == time_sig}
        if not self.time_sig:
            raise ScoreError(f"time signature {time_sig[0]}/{time_sig[1]} is not in the model's vocabulary")
        self.program_ids = {v: {i for i, p in vocab.program.items() if p == v} for v in voices}
        by_value = sorted((v, i) for i, v in vocab.position.items())
        self.positions_after = [{i for v, i in by_value if after < v < positions_per_bar}
                                for after in range(-1, positions_per_bar)]  # index p + 1: after position p
        self.downbeat = {i for v, i in by_value if v == 0}
        self.entry_bar = entry_bar
        # voices that sound in each new bar (those sounding in the sketch's last): the bar does not
        # close while one of them has neither struck nor held a note in it, and such a voice comes
        # in no later than ``enter_by`` (its position; default the bar's last), the latest it came in
        # in a bar of the sketch, so a pad that struck each downbeat is not put off to the bar's end
        self.keep_sounding = frozenset(keep_sounding)
        self.enter_by = {v: min(max(int((enter_by or {}).get(v, positions_per_bar - 1)), 0), positions_per_bar - 1)
                         for v in self.keep_sounding}
        self.by_position = by_value
        self.pitch = {v: {i for i, p in vocab.pitch.items() if ranges[v][0] <= p <= ranges[v][1]} for v in voices}
        self.confidence = chromatic_confidence
        pitch_ids = np.array(sorted(vocab.pitch), dtype=np.int64)
        pitch_classes = np.array([vocab.pitch[i] % 12 for i in pitch_ids.tolist()])
        self.in_key = None
        if key_pitch_classes is not None:
            self.in_key = np.ones(vocab.size, dtype=bool)
            self.in_key[pitch_ids] = np.isin(pitch_classes, sorted(key_pitch_classes))
        self.cadence = None  # (last bar, pitch ids of the tonic triad, the bass voices, pitch ids of the tonic)
        if cadence is not None:
            tonic, triad, basses = cadence
            self.cadence = (bars_end - 1, pitch_ids[np.isin(pitch_classes, sorted(triad))], frozenset(basses),
                            pitch_ids[pitch_classes == tonic])
        self.bias = None  # float64 over the vocabulary, 0 off the pitches
        if profile is not None and profile_weight > 0:
            share = profile / max(profile.sum(), 1e-9)
            share = 0.99 * share + 0.01 / 12
            self.bias = np.zeros(vocab.size)
            self.bias[pitch_ids] = profile_weight * np.log(share)[pitch_classes]
        self._ids: dict[tuple, np.ndarray] = {}
        self._masks: dict[tuple, object] = {}

    # ------------------------------------------------------------ the grammar

    def _situation(self, s: RemiState) -> tuple:
        """The facts of the state that decide what may follow (the cache key)."""
        last = s.last
        if last == BAR or last == PITCH or last == VEL:
            return (last,)
        if last == PROG:
            return (PROG, s.program)
        taken = self.monophonic & s.onsets_here if self.monophonic else frozenset()
        if last == POS or last == TEMPO:
            return (POS, taken)
        close, at_end = s.tokens_in_bar >= self.max_tokens_per_bar, s.bars >= self.bars_end
        owed = s.silent_in_bar(self.keep_sounding) if self.entry_bar is not None and s.bars >= self.entry_bar \
            else frozenset()
        if last == TS or last == SPECIAL:
            return (TS, close, at_end, s.bars == self.entry_bar, owed)
        return (DUR, close, at_end, s.position, taken, owed)

    def _allowed_set(self, situation: tuple) -> set[int]:
        v = self.vocab
        kind = situation[0]
        if kind == BAR:
            return self.time_sig
        if kind == PROG:
            program = situation[1]
            return self.pitch[program] if program in self.pitch else self._programs(frozenset())
        if kind == PITCH:
            return set(v.velocity)
        if kind == VEL:
            return set(v.duration)
        if kind == POS:  # a note must follow: every voice when each monophonic one has sounded here
            return self._programs(situation[1]) or self._programs(frozenset())
        close, at_end = situation[1], situation[2]
        end = {v.eos if at_end else v.bar}
        if kind == TS:  # a new bar: it holds at least one note (the continuation's first: on the downbeat)
            if close:
                return end
            return self.downbeat if situation[3] else self._positions_until(-1, situation[4])
        # after a Duration: another note here, a later position, or the next bar (not while a voice
        # that keeps sounding is silent in this bar: it comes in here or later, by its ``enter_by``)
        if close:
            return end
        position, taken, owed = situation[3], situation[4], situation[5]
        here = self._programs(taken)
        due = {v for v in owed - taken if self.enter_by[v] <= position}
        if due:  # a silent voice's last chance: it comes in here
            return set().union(*(self.program_ids[v] for v in due))
        if owed:
            return here | self._positions_until(position, owed)
        return here | self.positions_after[position + 1] | end

    def _positions_until(self, after: int, owed: frozenset) -> set[int]:
        """Position tokens after ``after`` and no later than every owed voice's ``enter_by``."""
        if not owed:
            return self.positions_after[after + 1]
        last = min(self.enter_by[v] for v in owed)
        return {i for v, i in self.by_position if after < v <= last}

    def _programs(self, taken: frozenset) -> set[int]:
        """Voices that may start a note at the current position: a voice that is
        monophonic in the sketch starts at most one note per position."""
        return set().union(*(ids for voice, ids in self.program_ids.items() if voice not in taken))

    def allowed(self, state: RemiState) -> np.ndarray:
        """Sorted ids of the tokens REMI can decode after ``state`` (ranges included)."""
        situation = self._situation(state)
        ids = self._ids.get(situation)
        if ids is None:
            ids = self._ids[situation] = np.array(sorted(self._allowed_set(situation)), dtype=np.int64)
        return ids

    def mask(self, state: RemiState):
        """``allowed`` as a boolean torch tensor over the vocabulary."""
        import torch

        situation = self._situation(state)
        mask = self._masks.get(situation)
        if mask is None:
            mask = self._masks[situation] = torch.zeros(self.vocab.size, dtype=torch.bool)
            mask[torch.from_numpy(self.allowed(state))] = True
        return mask

    # ------------------------------------------------------------ pitches

    def pitch_step(self, state: RemiState) -> bool:
        return state.last == PROG and state.program in self.pitch

    def key_keep(self, ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """Which candidate pitches stay: those in key, and chromatic ones holding at
        least ``confidence`` of the candidates' probability mass; all of them when
        nothing in key is reachable."""
        in_key = self.in_key[ids]
        if in_key.all():
            return in_key
        p = np.exp(logits - logits.max())
        p /= p.sum()
        if p[in_key].sum() <= 0:
            return np.ones(len(ids), dtype=bool)
        return in_key | (p >= self.confidence)

    def cadence_keep(self, state: RemiState, ids: np.ndarray) -> np.ndarray | None:
        """In the cadence's last bar, which candidate pitches stay (tones of the tonic triad;
        the tonic for a bass voice), or None elsewhere and where no
        candidate would stay."""
        if self.cadence is None or state.bars != self.cadence[0]:
            return None
        _, triad, basses, tonic = self.cadence
        keep = np.isin(ids, tonic if state.program in basses else triad)
        return keep if keep.any() else None

    def candidates(self, state: RemiState, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(allowed ids, their logits as float64 with the pitch prior added), after the key
        and cadence filters."""
        ids = self.allowed(state)
        z = logits[ids].astype(np.float64)
        if self.pitch_step(state):
            if self.bias is not None:
                z += self.bias[ids]
            if self.in_key is not None:
                keep = self.key_keep(ids, z)
                ids, z = ids[keep], z[keep]
            keep = self.cadence_keep(state, ids)
            if keep is not None:
                ids, z = ids[keep], z[keep]
        return ids, z

    def processors(self, state: RemiState) -> list:
        """The same constraints as ``transformers`` logits processors (for ``generate``)."""
        out = [GrammarProcessor(state, self), RangeProcessor(state, self)]
        if self.bias is not None:
            out.append(ProfileProcessor(state, self))
        if self.in_key is not None:
            out.append(KeyProcessor(state, self))
        if self.cadence is not None:
            out.append(CadenceProcessor(state, self))
        return out


# ---------------------------------------------------------------- processors for generate


def _base():
    from transformers import LogitsProcessor

    return LogitsProcessor


class _Processor(_base()):
    def __init__(self, state: RemiState, constraints: Constraints):
        self.state, self.constraints = state, constraints


class GrammarProcessor(_Processor):
    """Only tokens that REMI can decode at this point of the stream."""

    def __call__(self, input_ids, scores):
        self.state.catch_up(input_ids)
        return scores.masked_fill(~self.constraints.mask(self.state), float("-inf"))


class RangeProcessor(_Processor):
    """Each voice's pitches inside its range (applied where a Pitch comes next)."""

    def __call__(self, input_ids, scores):
        self.state.catch_up(input_ids)
        if self.constraints.pitch_step(self.state):
            scores = scores.masked_fill(~self.constraints.mask(self.state), float("-inf"))
        return scores


class ProfileProcessor(_Processor):
    """Adds the sketch's pitch-class prior (``Constraints.bias``) to pitch logits."""

    def __call__(self, input_ids, scores):
        import torch

        self.state.catch_up(input_ids)
        if not self.constraints.pitch_step(self.state):
            return scores
        return scores + torch.from_numpy(self.constraints.bias).to(scores.dtype)


class KeyProcessor(_Processor):
    """Pitches in key, or chromatic ones the model is confident of (``Constraints.key_keep``)."""

    def __call__(self, input_ids, scores):
        import torch

        self.state.catch_up(input_ids)
        if not self.constraints.pitch_step(self.state):
            return scores
        row = scores[0].double().numpy()
        ids = np.flatnonzero(np.isfinite(row))
        drop = ids[~self.constraints.key_keep(ids, row[ids])]
        if not len(drop):
            return scores
        scores = scores.clone()
        scores[:, torch.from_numpy(drop)] = float("-inf")
        return scores


class CadenceProcessor(_Processor):
    """The last bar on the tonic chord (``Constraints.cadence_keep``)."""

    def __call__(self, input_ids, scores):
        import torch

        self.state.catch_up(input_ids)
        if not self.constraints.pitch_step(self.state):
            return scores
        ids = np.flatnonzero(np.isfinite(scores[0].double().numpy()))
        keep = self.constraints.cadence_keep(self.state, ids)
        if keep is None or keep.all():
            return scores
        scores = scores.clone()
        scores[:, torch.from_numpy(ids[~keep])] = float("-inf")
        return scores


# ---------------------------------------------------------------- sampling


def sample_candidates(ids: np.ndarray, logits: np.ndarray, rng: np.random.Generator, temperature: float,
                      top_p: float, top_k: int) -> int:
    """Temperature, top-k, then nucleus sampling over candidate ``ids`` (sorted) with
    float64 ``logits``; ties keep id order. One draw from ``rng`` per call, even for a
    single candidate, so that a seed's stream of draws does not depend on how the
    constraints are computed."""
    if len(ids) == 0:
        raise RuntimeError("every token was masked")  # a bug in the constraints, never the user's input
    z = logits / temperature
    order = np.argsort(-z, kind="stable")
    ids, z = ids[order], z[order]
    if top_k > 0:
        ids, z = ids[:top_k], z[:top_k]
    p = np.exp(z - z[0])
    p /= p.sum()
    if top_p < 1.0:
        cut = int(np.searchsorted(np.cumsum(p), top_p) + 1)
        ids, p = ids[:cut], p[:cut] / p[:cut].sum()
    return int(ids[min(int(np.searchsorted(np.cumsum(p), rng.random(), side="right")), len(ids) - 1)])


def sample_token(logits: np.ndarray, rng: np.random.Generator, temperature: float, top_p: float,
                 top_k: int) -> int:
    """``sample_candidates`` over the finite entries of a whole logits row."""
    logits = np.asarray(logits, dtype=np.float64)
    ids = np.flatnonzero(np.isfinite(logits))
    return sample_candidates(ids, logits[ids], rng, temperature, top_p, top_k)


def slide(ids: list[int], bar: int, keep: int) -> list[int]:
    """The suffix of ``ids`` that starts at a bar line and is at most ``keep`` long."""
    start = len(ids) - keep
    for i in range(max(start, 0), len(ids)):
        if ids[i] == bar:
            return ids[i:]
    return ids[-keep:]


def sample_plan(plan, decoder, options, bar_token: int, eos_token: int) -> list[int]:
    """Sample until the extension's last bar is complete (``plan``: ``extend.Plan``).

    ``decoder`` has ``reset()``, ``feed(ids) -> logits`` (1-D, torch or numpy),
    ``length`` and ``context``; one token is fed per step (KV cache). When the
    sequence reaches the context, it restarts from a bar line in the second half."""
    import torch

    rng = np.random.Generator(np.random.PCG64(options.seed))
    state, constraints = plan.state, plan.constraints
    ids = list(plan.ids)
    generated: list[int] = []
    with torch.inference_mode():
        decoder.reset()
        logits = decoder.feed(ids)
        while True:
            candidates, z = constraints.candidates(state, _numpy(logits))
            token = sample_candidates(candidates, z, rng, options.temperature, options.top_p, options.top_k)
            if token == eos_token or (token == bar_token and state.bars >= plan.bars_wanted):
                return generated
            state.feed(token)
            generated.append(token)
            ids.append(token)
            if decoder.length >= decoder.context:
                ids = slide(ids, bar_token, decoder.context // 2)
                decoder.reset()
                logits = decoder.feed(ids)
            else:
                logits = decoder.feed([token])


def _numpy(logits) -> np.ndarray:
    return logits.numpy() if hasattr(logits, "numpy") else np.asarray(logits)


@contextlib.contextmanager
def one_thread():
    """Token-by-token decoding of a small model is fastest on one torch thread: its
    matrix products are too small to split, and a second thread on a busy machine
    mostly waits (measured: 5 tokens/s with 2 threads against 400 with 1 on a loaded
    2-core machine). A fixed thread count also keeps the arithmetic, and so the
    output for a seed, the same. The caller's setting is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
