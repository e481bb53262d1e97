"""A tiny StableDiffusionInstructPix2PixPipeline with random weights, built fully offline.

The components follow diffusers' own pipeline tests (tiny random-weight modules, CPU, a few steps),
with one change: the VAE has four blocks, so it downsamples by 8 like the real SD VAE and the
pipeline sees the same latent geometry as with real weights. The tokenizer is a real byte-level BPE
CLIP tokenizer built from a vocab.json and merges.txt written here, so nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The CLIP/GPT-2 byte-to-unicode table: printable bytes map to themselves, the rest above 255.
_PRINTABLE = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
MERGES = [("t", "h"), ("th", "e</w>"), ("i", "t</w>"), ("s", "k"), ("sk", "y</w>")]
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
MAX_TOKENS = 77


def byte_symbols() -> list[str]:
    """The 256 unicode symbols byte-level BPE uses for the 256 byte values."""
    symbols, extra = [], 0
    for byte in range(256):
        if byte in _PRINTABLE:
            symbols.append(chr(byte))
        else:
            symbols.append(chr(256 + extra))
            extra += 1
    return symbols


def write_tokenizer_files(folder: Path) -> Path:
    """Write vocab.json and merges.txt for a byte-level CLIP BPE with a few merges; return the folder."""
    symbols = byte_symbols()
    tokens = [BOS, EOS, *symbols, *(s + "</w>" for s in symbols), *("".join(m) for m in MERGES)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(dict.fromkeys(tokens))}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))
    return folder


def tiny_components(folder: Path, in_channels: int = 8) -> dict[str, Any]:
    """The pipeline's components with small random weights (seeded), in eval mode.

    ``in_channels`` 8 is InstructPix2Pix's UNet (noise and image latents); 4 is a text-to-image one.
    """
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(write_tokenizer_files(folder / "tokenizer-src"))
    tokenizer.model_max_length = MAX_TOKENS
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=in_channels, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8,
    )  # fmt: skip
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 16, 16), layers_per_block=1, norm_num_groups=8, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    )  # fmt: skip
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_attention_heads=4,
            num_hidden_layers=2, max_position_embeddings=MAX_TOKENS, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        )
    )  # fmt: skip
    return assemble(unet, vae, text_encoder, tokenizer)


def assemble(unet: Any, vae: Any, text_encoder: Any, tokenizer: Any) -> dict[str, Any]:
    """Pipeline components around the models (put in eval mode): SD's Euler-a scheduler, no safety checker."""
    from diffusers import EulerAncestralDiscreteScheduler

    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000
    )
    return {
        "unet": unet.eval(), "vae": vae.eval(), "text_encoder": text_encoder.eval(), "tokenizer": tokenizer,
        "scheduler": scheduler, "safety_checker": None, "feature_extractor": None, "image_encoder": None,
    }  # fmt: skip


def save_tiny_pipeline(folder: Path) -> Path:
    """Build the tiny pipeline and ``save_pretrained`` it to ``folder / 'pipeline'``; return that path."""
    from diffusers import StableDiffusionInstructPix2PixPipeline

    pipe = StableDiffusionInstructPix2PixPipeline(**tiny_components(folder), requires_safety_checker=False)
    target = folder / "pipeline"
    pipe.save_pretrained(target)
    return target


if __name__ == "__main__":
    import sys

    print(save_tiny_pipeline(Path(sys.argv[1])))
