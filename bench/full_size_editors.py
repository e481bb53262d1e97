"""The full-size editor pipelines of bench/bench_gpu_editors.py, built from bench/editor_configs with random weights.

Nothing is downloaded: the configs ship in the repository (see bench/editor_configs/README.md for where each
number comes from), the weights are random bf16 tensors made on the device, the tokenizer is the tests'.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CONFIGS = Path(__file__).resolve().parent / "editor_configs"


def build_full_size(name: str, device: str) -> Any:
    """The editor's pipeline from its config with random bf16 weights, built directly on ``device``."""
    import diffusers
    import torch
    import transformers

    from tests.tiny_editors import SPECIAL, processor, tokenizer

    spec = json.loads((CONFIGS / f"{name}.json").read_text())
    tok = tokenizer()
    ids = dict(zip(SPECIAL, tok.convert_tokens_to_ids(SPECIAL), strict=True))
    encoder = spec["text_encoder"]
    config_class = getattr(transformers, encoder["class"]).config_class
    extra = {}
    if "vision_config" in encoder["config"]:  # Qwen2.5-VL: the vision token ids are the tokenizer's
        extra = {"vision_start_token_id": ids["<|vision_start|>"], "vision_end_token_id": ids["<|vision_end|>"],
                 "image_token_id": ids["<|image_pad|>"], "video_token_id": ids["<|video_pad|>"]}  # fmt: skip
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            torch.manual_seed(0)
            parts: dict[str, Any] = {
                "transformer": getattr(diffusers, spec["transformer"]["class"])(**spec["transformer"]["config"]),
                "vae": getattr(diffusers, spec["vae"]["class"])(**spec["vae"]["config"]),
                "text_encoder": getattr(transformers, encoder["class"])(config_class(**encoder["config"], **extra)),
            }
    finally:
        torch.set_default_dtype(default)
    parts = {k: v.eval() for k, v in parts.items()}
    parts["scheduler"] = diffusers.FlowMatchEulerDiscreteScheduler(**spec["scheduler"])
    parts["tokenizer"] = tok
    if name == "qwen_image_edit":
        parts["processor"] = processor(tok, full_size=True)
    elif name == "longcat_image_edit":
        parts["text_processor"] = processor(tok, full_size=True)
    options = {"is_distilled": spec["is_distilled"]} if "is_distilled" in spec else {}
    pipe = getattr(diffusers, spec["pipeline"])(**parts, **options)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def meta_parameter_counts(names: list[str]) -> dict[str, dict[str, float]]:
    """Billions of parameters of each full-size config's transformer and text encoder, built on the meta device."""
    import diffusers
    import torch
    import transformers

    counts = {}
    for name in names:
        spec = json.loads((CONFIGS / f"{name}.json").read_text())
        encoder = spec["text_encoder"]
        with torch.device("meta"):
            transformer = getattr(diffusers, spec["transformer"]["class"])(**spec["transformer"]["config"])
            config = getattr(transformers, encoder["class"]).config_class(**encoder["config"])
            text = getattr(transformers, encoder["class"])(config)
        counts[name] = {
            "transformer_b": sum(p.numel() for p in transformer.parameters()) / 1e9,
            "text_encoder_b": sum(p.numel() for p in text.parameters()) / 1e9,
        }
    return counts
