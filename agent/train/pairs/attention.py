"""Prompt-to-Prompt attention control as a diffusers attention processor (Hertz et al., 2022).

The pair of prompts (caption, edited caption) is denoised as one batch from the same noise. For the
first ``cross_fraction`` of the steps, the edited prompt's cross-attention maps are replaced by the
caption's, token by token where the two prompts share tokens (P2P's *refine* edit, with the token
alignment of a sequence matcher); new tokens keep their own maps. For the first ``self_fraction``
of the steps the self-attention maps are shared too, which InstructPix2Pix relied on to keep the
layout. The processor is set with ``unet.set_attn_processor``; the sampler is diffusers' own, and a
``callback_on_step_end`` tells the controller which step runs. Steps without injection use diffusers'
SDPA processor, so they cost what a plain text-to-image call costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any


def token_alignment(source: list[int], edited: list[int]) -> tuple[list[int], list[float]]:
    """For each edited-prompt token, the source token it copies attention from and whether it does (1.0) or not (0.0).

    Both lists are padded to the same length (the text encoder's context); equal runs found by a
    sequence matcher are aligned, every other edited token keeps its own map (alpha 0).
    """
    if len(source) != len(edited):
        raise ValueError(f"token lists must be padded to one length, got {len(source)} and {len(edited)}")
    mapper, alphas = list(range(len(edited))), [0.0] * len(edited)
    for block in SequenceMatcher(a=source, b=edited, autojunk=False).get_matching_blocks():
        for offset in range(block.size):
            mapper[block.b + offset] = block.a + offset
            alphas[block.b + offset] = 1.0
    return mapper, alphas


@dataclass
class InjectionSchedule:
    """Which denoising step runs, and until which step each kind of attention is shared."""

    steps: int
    cross_fraction: float
    self_fraction: float
    # Per batch group (unconditional, conditional): token mapper and alphas, as tensors.
    mappers: Any = None
    alphas: Any = None
    step: int = field(default=0)

    def __post_init__(self) -> None:
        for name in ("cross_fraction", "self_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")

    def injects(self, is_cross: bool) -> bool:
        """Whether the current step shares this kind of attention map."""
        fraction = self.cross_fraction if is_cross else self.self_fraction
        return self.step < round(fraction * self.steps)

    def on_step_end(self, pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Diffusers' ``callback_on_step_end``: the next step is ``step + 1``."""
        self.step = step + 1
        return kwargs


class PromptToPromptProcessor:
    """An attention processor that shares the source prompt's attention maps with the edited prompt.

    The batch holds pairs (source, edited), unconditional pair first when classifier-free guidance
    is on: ``[u_src, u_edit, c_src, c_edit]``, as diffusers' pipelines order it.
    """

    def __init__(self, schedule: InjectionSchedule) -> None:
        from diffusers.models.attention_processor import AttnProcessor2_0

        self.schedule = schedule
        self.plain = AttnProcessor2_0()  # type: ignore[no-untyped-call]

    def __call__(
        self,
        attn: Any,
        hidden_states: Any,
        encoder_hidden_states: Any = None,
        attention_mask: Any = None,
        temb: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Attention as diffusers' ``AttnProcessor`` computes it, with the edited maps replaced while injecting."""
        import torch

        is_cross = encoder_hidden_states is not None
        if not self.schedule.injects(is_cross) or attn.spatial_norm is not None or hidden_states.ndim != 3:
            return self.plain(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        residual = hidden_states
        batch, _, _ = hidden_states.shape
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        context = encoder_hidden_states if is_cross else hidden_states
        if is_cross and attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        key = attn.head_to_batch_dim(attn.to_k(context))
        value = attn.head_to_batch_dim(attn.to_v(context))
        mask = attn.prepare_attention_mask(attention_mask, context.shape[1], batch)
        probs = self.controlled(attn.get_attention_scores(query, key, mask), attn.heads, is_cross)
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor

    def controlled(self, probs: Any, heads: int, is_cross: bool) -> Any:
        """``probs`` (batch*heads, queries, keys) with each edited row replaced from its source row."""
        import torch

        groups = probs.shape[0] // (2 * heads)
        pairs = probs.view(groups, 2, heads, *probs.shape[1:])
        source, edited = pairs[:, 0], pairs[:, 1]
        if is_cross:
            mappers, alphas = self.schedule.mappers[-groups:], self.schedule.alphas[-groups:]
            copied = torch.stack([source[g][..., mappers[g]] for g in range(groups)])
            weight = alphas[:, None, None, :].to(probs.dtype)
            edited = copied * weight + edited * (1 - weight)
        else:
            edited = source
        return torch.stack([source, edited], dim=1).reshape(probs.shape)
