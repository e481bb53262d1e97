"""Training pairs for the editor: a make-pairs folder (imagefolder) or a MagicBrush folder (parquet), as tensors.

Both become the three columns diffusers' train_instruct_pix2pix.py reads: ``input_image``,
``edit_prompt``, ``edited_image``. Images are resized and centre-cropped to the training resolution
and scaled to [-1, 1]; input and edited image are flipped together, as upstream flips them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from tools.errors import DialogPaintError

COLUMNS = ("input_image", "edit_prompt", "edited_image")
# MagicBrush on the Hugging Face hub (osunlp/MagicBrush), downloaded as parquet files.
MAGICBRUSH = {"source_img": "input_image", "instruction": "edit_prompt", "target_img": "edited_image"}


class FinetuneError(DialogPaintError):
    """A training input or setting that cannot be used; the message names it."""


def load_pairs(folder: Path) -> Any:
    """The pairs in ``folder`` as a ``datasets.Dataset`` with the three columns (other columns dropped)."""
    from datasets import load_dataset

    metadata = folder / "metadata.jsonl"
    if metadata.is_file():
        if not metadata.read_text(encoding="utf-8").strip():
            raise FinetuneError(f"{folder} holds no pairs (its metadata.jsonl is empty: the filter kept none?)")
        dataset = load_dataset("imagefolder", data_dir=str(folder), split="train")
    elif parquet := sorted(str(p) for p in folder.rglob("*.parquet")):
        dataset = load_dataset("parquet", data_files=parquet, split="train")
        dataset = dataset.rename_columns({k: v for k, v in MAGICBRUSH.items() if k in dataset.column_names})
    else:
        raise FinetuneError(
            f"{folder} holds neither a metadata.jsonl (a make-pairs folder) nor parquet files (MagicBrush)"
        )
    missing = [c for c in COLUMNS if c not in dataset.column_names]
    if missing:
        raise FinetuneError(f"{folder} has no {', '.join(missing)} column (found {', '.join(dataset.column_names)})")
    if len(dataset) == 0:
        raise FinetuneError(f"{folder} holds no pairs")
    return dataset.select_columns(list(COLUMNS))


def pixels(image: Image.Image, resolution: int, flip: bool) -> Any:
    """An image as a 3xHxW float tensor in [-1, 1] at ``resolution`` (centre crop), optionally mirrored."""
    import numpy as np
    import torch

    square = ImageOps.fit(image.convert("RGB"), (resolution, resolution), Image.Resampling.BICUBIC)
    if flip:
        square = ImageOps.mirror(square)
    array = np.asarray(square, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1)


def collate(rows: list[dict[str, Any]], tokenizer: Any, resolution: int, random_flip: bool, generator: Any) -> Any:
    """A batch: input and edited pixels and the tokenised prompts."""
    import torch

    flips = (torch.rand(len(rows), generator=generator) < 0.5).tolist() if random_flip else [False] * len(rows)
    ids = tokenizer(
        [row["edit_prompt"] for row in rows],
        max_length=tokenizer.model_max_length, padding="max_length", truncation=True, return_tensors="pt",
    ).input_ids  # fmt: skip
    pairs = list(zip(rows, flips, strict=True))
    return {
        "input_pixels": torch.stack([pixels(row["input_image"], resolution, flip) for row, flip in pairs]),
        "edited_pixels": torch.stack([pixels(row["edited_image"], resolution, flip) for row, flip in pairs]),
        "input_ids": ids,
    }
