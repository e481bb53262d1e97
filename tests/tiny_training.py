"""Tiny random-weight Stable Diffusion and CLIP folders for the training recipes, built offline."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tiny_pix2pix import assemble, byte_symbols, tiny_components


def tiny_training_models(root: Path) -> dict[str, Path]:
    """The tiny SD and CLIP folders under ``root``, built once: later calls (other test modules) reuse them."""
    sd, clip = root / "sd", root / "clip"
    if not (sd / "model_index.json").is_file():
        sd = save_tiny_text_to_image(root)
    if not (clip / "preprocessor_config.json").is_file():
        clip = save_tiny_clip(root)
    return {"sd": sd, "clip": clip}


def save_tiny_text_to_image(folder: Path) -> Path:
    """A tiny StableDiffusionPipeline (4-channel UNet) saved to ``folder / 'sd'``; return that path."""
    from diffusers import StableDiffusionPipeline

    parts = assemble(*(tiny_components(folder, in_channels=4)[k] for k in ("unet", "vae", "text_encoder", "tokenizer")))
    # StableDiffusionPipeline warns about SD 1.x's old scheduler configs unless steps_offset is 1.
    parts["scheduler"] = type(parts["scheduler"]).from_config(parts["scheduler"].config, steps_offset=1)
    pipe = StableDiffusionPipeline(**parts, requires_safety_checker=False)
    target = folder / "sd"
    pipe.save_pretrained(target)
    return target


def save_tiny_clip(folder: Path) -> Path:
    """A tiny random CLIP model, tokenizer and image processor saved to ``folder / 'clip'``; return that path."""
    import torch
    import transformers

    target = folder / "clip"
    target.mkdir(parents=True, exist_ok=True)
    symbols = byte_symbols()
    vocab = {s: i for i, s in enumerate(symbols)} | {s + "</w>": len(symbols) + i for i, s in enumerate(symbols)}
    vocab |= {"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1}
    (target / "vocab.json").write_text(json.dumps(vocab))
    (target / "merges.txt").write_text("#version: 0.2\n")
    # Positional: the first two parameters are vocab_file/merges_file in transformers 4, vocab/merges in 5.
    tokenizer = transformers.CLIPTokenizer(str(target / "vocab.json"), str(target / "merges.txt"))
    special = {"bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"]}
    small = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = transformers.CLIPConfig(
        text_config={**small, **special, "vocab_size": len(vocab), "max_position_embeddings": 32},
        vision_config={**small, "image_size": 32, "patch_size": 8},
        projection_dim=8,
    )
    torch.manual_seed(0)
    transformers.CLIPModel(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    processor_class = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor
    processor_class(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(target)
    return target
