"""A tiny Owlv2ForObjectDetection with random weights and its processor, built fully offline.

The text tower uses the byte-level CLIP tokenizer tests/tiny_pix2pix.py writes; the vision tower
sees a 64x64 image as 4x4 patches, so a detection costs milliseconds on the CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.tiny_pix2pix import BOS, EOS, MERGES, byte_symbols

TEXT_TOKENS = 16  # OWLv2's text queries are padded to max_position_embeddings


def write_tokenizer_files(folder: Path) -> Path:
    """A byte-level CLIP BPE like tiny_pix2pix's, with the start token not at id 0.

    OWL-ViT and OWLv2 treat a query whose first token id is 0 as padding and mask it out.
    """
    symbols = byte_symbols()
    tokens = [*symbols, *(s + "</w>" for s in symbols), *("".join(m) for m in MERGES), BOS, EOS]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(dict.fromkeys(tokens))}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in MERGES))
    return folder


def save_tiny_owlv2(folder: Path) -> Path:
    """Build a seeded tiny OWLv2 and ``save_pretrained`` model and processor to ``folder / 'owlv2'``."""
    import torch
    from transformers import CLIPTokenizer, Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessor, Owlv2Processor

    tokenizer = CLIPTokenizer.from_pretrained(write_tokenizer_files(folder / "tokenizer-src"))
    tokenizer.model_max_length = TEXT_TOKENS
    config = Owlv2Config(
        text_config={
            "vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
            "num_attention_heads": 4, "max_position_embeddings": TEXT_TOKENS,
            "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 4,
            "image_size": 64, "patch_size": 16,
        },
        projection_dim=32,
    )  # fmt: skip
    torch.manual_seed(0)
    model = Owlv2ForObjectDetection(config).eval()
    with torch.no_grad():
        # Each patch's box is then its own grid cell (OWLv2's box bias), a known geometry; and each score
        # is the sigmoid of a cosine similarity, within (0.26, 0.74), instead of vanishing.
        for layer in (model.box_head.dense2, model.class_head.logit_shift, model.class_head.logit_scale):
            layer.weight.zero_()
            layer.bias.zero_()
    image_processor = Owlv2ImageProcessor(size={"height": 64, "width": 64})
    target = folder / "owlv2"
    model.save_pretrained(target)
    Owlv2Processor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(target)
    return target
