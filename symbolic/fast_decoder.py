"""Fast incremental decoding for the extension model (a ``LlamaForCausalLM``).

``FastDecoder`` copies the model's weights once, rearranged for one token at a
time, and keeps a preallocated KV cache. Kept apart from ``model.py`` because it
needs torch at import (TorchScript compiles ``_forward`` from this module's source).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def _forward(x: Tensor, layers: list[tuple[Tensor, Tensor, Tensor, Tensor]], caches: list[tuple[Tensor, Tensor]],
             rotation: Tensor, start: int, mask: Optional[Tensor], eps: Tensor, mean_of: Tensor,
             head: Tensor, n_heads: int, n_kv: int, head_dim: int) -> Tensor:
    """One pass of ``FastDecoder``'s layers over ``x`` (n, hidden) at positions
    ``start`` .. ``start + n - 1``, writing their keys and values into the caches;
    the logits of the last position. TorchScript compiles it where it can (see
    ``_compiled_forward``); the arithmetic is the same either way."""
    n = x.shape[0]
    end = start + n
    H, KV, D = n_heads, n_kv, head_dim
    qk_width = (H + KV) * D
    for i in range(len(layers)):
        w_qkv, w_o, w_gate_up, w_down = layers[i]
        keys_t, values = caches[i]  # (kv heads, D, context) and (kv heads, context, D)
        # RMSNorm (its weight is in w_qkv), the mean square as a matrix product. No addmm
        # anywhere: TorchScript's optimizer splits it into mm + add after its first runs,
        # which rounds differently, and a seed must give the same numbers in every call
        qkv = torch.mm(x * (torch.mm(x * x, mean_of) + eps).rsqrt(), w_qkv)
        qk = torch.view_as_real(torch.view_as_complex(qkv[:, :qk_width].reshape(n, H + KV, D // 2, 2)) * rotation)
        qk = qk.view(n, H + KV, D).transpose(0, 1)  # (heads, n, D), rotated
        keys_t.narrow(2, start, n).copy_(qk[H:].transpose(1, 2))
        values.narrow(1, start, n).copy_(qkv[:, qk_width:].view(n, KV, D).transpose(0, 1))
        keys_t, values = keys_t.narrow(2, 0, end), values.narrow(1, 0, end)
        if KV != H:
            keys_t = keys_t.repeat_interleave(H // KV, 0)
            values = values.repeat_interleave(H // KV, 0)
        scores = torch.bmm(qk[:H], keys_t)  # (heads, n, end); the query carries the 1/sqrt(D)
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        attended = torch.bmm(torch.softmax(scores, -1), values)
        x = x + torch.mm(attended.transpose(0, 1).reshape(n, H * D), w_o)
        gate_up = torch.mm(x * (torch.mm(x * x, mean_of) + eps).rsqrt(), w_gate_up)
        inter = gate_up.shape[1] // 2
        x = x + torch.mm(torch.nn.functional.silu(gate_up[:, :inter]) * gate_up[:, inter:], w_down)
    last = x[n - 1:]
    return torch.mm(last * (torch.mm(last * last, mean_of) + eps).rsqrt(), head)[0]


_COMPILED: list = []


def _compiled_forward():
    """``_forward`` compiled by TorchScript once per process: a token of this small
    model costs more in per-operation Python than in arithmetic, and the compiled
    function runs the same ATen kernels without it (no fusion on CPU, so the same
    numbers). ``torch.jit`` is deprecated in recent PyTorch: where it is missing or
    refuses, ``_forward`` runs as plain Python."""
    if not _COMPILED:
        import warnings

        compiled = _forward
        if hasattr(torch, "jit") and hasattr(torch.jit, "script"):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    compiled = torch.jit.script(_forward)
            except (OSError, RuntimeError, torch.jit.frontend.FrontendError):
                pass  # no source to read (a zipped install), or a construct it refuses: plain Python
        _COMPILED.append(compiled)
    return _COMPILED[0]


class FastDecoder:
    """Incremental decoding for the Llama model with a preallocated KV cache.

    The same arithmetic as ``LlamaForCausalLM`` (RMSNorm, rotary positions, SwiGLU,
    tied output) in as few tensor operations per layer as it takes, compiled by
    TorchScript (``_forward``). Rearranged, not approximated (tests compare its
    logits with the model's own forward):

    * each RMSNorm's weight is folded into the matrix that follows it, and the
      attention's 1/sqrt(head_dim) into the query projection;
    * the query and key rows of each head are interleaved (i, i + D/2), so that the
      rotary embedding is one complex multiplication; attention scores are dot
      products of query and key, which the same reordering of both leaves unchanged;
    * keys are cached transposed, (head, dim, position), so a new token's scores are
      one batched matrix-vector product.

    ``feed(ids)`` runs tokens at the next positions and returns the last position's
    logits (float32); ``reset()`` empties the cache (the sliding window re-feeds a
    suffix). Under ``torch.inference_mode()`` it skips entering that per call."""

    def __init__(self, model, compiled: bool = True):
        import math

        cfg = model.config
        self.n_heads = H = cfg.num_attention_heads
        self.n_kv = KV = cfg.num_key_value_heads
        self.head_dim = D = getattr(cfg, "head_dim", None) or cfg.hidden_size // H
        self.context = cfg.max_position_embeddings
        inner = model.model
        half = D // 2
        interleave = torch.stack([torch.arange(half), torch.arange(half) + half], 1).reshape(-1)

        def by_head(weight, heads):  # (heads * D, hidden) with each head's rows interleaved
            return weight.view(heads, D, -1)[:, interleave].reshape(heads * D, -1)

        with torch.no_grad():
            self.embed = inner.embed_tokens.weight.detach().clone()
            self.layers = []
            for layer in inner.layers:
                a, m = layer.self_attn, layer.mlp
                qkv = torch.cat([by_head(a.q_proj.weight, H) / math.sqrt(D), by_head(a.k_proj.weight, KV),
                                 a.v_proj.weight]) * layer.input_layernorm.weight
                gate_up = torch.cat([m.gate_proj.weight, m.up_proj.weight]) * layer.post_attention_layernorm.weight
                self.layers.append(tuple(w.detach().t().contiguous() for w in
                                         (qkv, a.o_proj.weight, gate_up, m.down_proj.weight)))
            self.head = (model.lm_head.weight * inner.norm.weight).detach().t().contiguous()
            # rotary angles from the model's own rotary embedding (so rope scaling matches)
            cos, sin = inner.rotary_emb(torch.zeros(1, self.context, D), torch.arange(self.context).unsqueeze(0))
            self.rotation = torch.complex(cos[0, :, :half], sin[0, :, :half]).unsqueeze(1).contiguous()
        hidden = self.embed.shape[1]
        self.eps = torch.full((1, 1), float(cfg.rms_norm_eps))
        self.mean_of = torch.full((hidden, 1), 1.0 / hidden)
        # per layer: keys transposed, (kv head, dim, position), and values (kv head, position, dim)
        self.caches = [(torch.zeros(KV, D, self.context), torch.zeros(KV, self.context, D)) for _ in self.layers]
        self.length = 0
        self.compiled = compiled  # a flag, not the function: the decoder stays picklable

    def reset(self) -> None:
        self.length = 0

    def feed(self, ids: list[int]):
        """Logits (vocab,) after feeding ``ids`` at the next positions."""
        if torch.is_inference_mode_enabled():
            return self._feed(ids)
        with torch.inference_mode():
            return self._feed(ids)

    def _feed(self, ids: list[int]):
        n, start = len(ids), self.length
        if start + n > self.context:
            raise ValueError(f"{start + n} tokens exceed the context of {self.context}")
        x = self.embed[ids[0]:ids[0] + 1] if n == 1 else self.embed[torch.tensor(ids)]
        mask = None if n == 1 else torch.ones(n, start + n, dtype=torch.bool).triu(start + 1)
        forward = _compiled_forward() if self.compiled else _forward
        logits = forward(x, self.layers, self.caches, self.rotation[start:start + n], start, mask,
                         self.eps, self.mean_of, self.head, self.n_heads, self.n_kv, self.head_dim)
        self.length = start + n
        return logits
