"""CLIP: the image and text embeddings behind the InstructPix2Pix similarities, from local weights.

The two metrics are the ones InstructPix2Pix reports (Brooks et al., 2023, sec. 5.1): *CLIP image
similarity*, the cosine between the CLIP embeddings of the input and the edited image, and *CLIP
directional similarity* (from StyleGAN-NADA), the cosine between the change of the image embeddings and
the change of the text embeddings of a caption before and after the edit. One scorer serves the eval
harness (agent.eval), the self-check after a generative edit (graphs.selfcheck, through
``ClipSimilarities``) and make-pairs' filter (agent.train.pairs).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from tools.errors import DialogPaintError, MissingExtra


class ClipUnavailable(DialogPaintError):
    """CLIP metrics were asked for but the weights or libraries are missing."""


def caption_after(caption: str, instructions: Sequence[str]) -> str:
    """The text standing for an image made from a captioned source by the given instructions, in order.

    Eval sets carry instructions, not the before/after captions InstructPix2Pix scored with, so the
    after-caption is the source caption with the instructions applied, newest first: CLIP truncates
    text at its context length (77 tokens), and the newest instruction is the one a turn is scored on.
    """
    return "; ".join([*reversed(instructions), caption])


@dataclass
class ClipScorer:
    """CLIP image and text embeddings on one device, with the two InstructPix2Pix similarities."""

    model: Any  # transformers.CLIPModel
    processor: Any  # transformers.CLIPImageProcessor
    tokenizer: Any  # transformers.CLIPTokenizer
    device: str = "cpu"

    def image_embeddings(self, images: Sequence[Image.Image]) -> Any:
        """Unit-length image embeddings, one row per image."""
        import torch

        pixels = self.processor(images=[i.convert("RGB") for i in images], return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            features = self.model.get_image_features(pixel_values=pixels.to(self.device))
        return _unit(features)

    def text_embeddings(self, texts: Sequence[str]) -> Any:
        """Unit-length text embeddings, one row per text (truncated to CLIP's context)."""
        import torch

        context = self.model.config.text_config.max_position_embeddings
        tokens = self.tokenizer(list(texts), padding=True, truncation=True, max_length=context, return_tensors="pt")
        with torch.inference_mode():
            features = self.model.get_text_features(
                input_ids=tokens["input_ids"].to(self.device), attention_mask=tokens["attention_mask"].to(self.device)
            )
        return _unit(features)

    def image_similarity(self, source: Image.Image, edited: Image.Image) -> float:
        """Cosine similarity of the CLIP embeddings of the two images."""
        return _image_cosine(self.image_embeddings([source, edited]))

    def directional_similarity(
        self, source: Image.Image, edited: Image.Image, source_caption: str, edited_caption: str
    ) -> float:
        """Cosine between the image change and the caption change in CLIP space."""
        images = self.image_embeddings([source, edited])
        return _direction_cosine(images, self.text_embeddings([source_caption, edited_caption]))

    def similarities(
        self, source: Image.Image, edited: Image.Image, source_caption: str, edited_caption: str
    ) -> tuple[float, float]:
        """Image and directional similarity of one edit, embedding the two images once for both."""
        images = self.image_embeddings([source, edited])
        texts = self.text_embeddings([source_caption, edited_caption])
        return _image_cosine(images), _direction_cosine(images, texts)


def _image_cosine(images: Any) -> float:
    return float((images[0] * images[1]).sum())  # the rows are unit length


# Image embeddings are unit length, so a change shorter than this is rounding noise, not an edit: two
# runs of the same image in one batch can differ in the last bits (kernel and thread layout), and the
# cosine of that noise with the caption change is an arbitrary number (0.27 was seen for an image and itself).
NO_CHANGE = 1e-4


def _direction_cosine(images: Any, texts: Any) -> float:
    import torch

    change = images[1] - images[0]
    if float(change.norm()) < NO_CHANGE:
        return 0.0  # the image did not move, so it moved in no direction
    return float(torch.nn.functional.cosine_similarity(change, texts[1] - texts[0], dim=0))


def _unit(features: Any) -> Any:
    import torch

    # transformers 4 returns the projected embeddings; 5 returns an output whose pooler_output they are.
    embeddings = features if isinstance(features, torch.Tensor) else features.pooler_output
    return embeddings / embeddings.norm(dim=-1, keepdim=True)


def load_clip(path: str | Path, device: str = "cpu") -> ClipScorer:
    """A CLIP model, image processor and tokenizer from a local folder (save_pretrained layout); no download."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise ClipUnavailable(f"no CLIP weights at {path} (expected a save_pretrained folder with config.json)")
    try:
        import transformers
    except ImportError as exc:
        raise MissingExtra("CLIP metrics need transformers and torch", "gpu") from exc
    # transformers 5 names the Pillow processor CLIPImageProcessorPil (its default one needs torchvision).
    processor_class: Any = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor
    model: Any = transformers.CLIPModel.from_pretrained(path, local_files_only=True)
    processor = processor_class.from_pretrained(path, local_files_only=True)
    tokenizer = transformers.CLIPTokenizer.from_pretrained(path, local_files_only=True)
    return ClipScorer(model.to(device).eval(), processor, tokenizer, device)


NEUTRAL_CAPTION = "a photo"


class ClipSimilarities:
    """(input, edited, instruction) -> (CLIP image similarity, CLIP directional similarity)."""

    def __init__(self, path: str | Path, device: str = "cpu") -> None:
        self.path, self.device = path, device
        self.scorer: ClipScorer | None = None
        self.lock = threading.Lock()

    def __call__(self, source: Image.Image, edited: Image.Image, instruction: str) -> tuple[float, float]:
        """Both similarities of one edit, from one pass of the image tower."""
        with self.lock:  # load once; CLIP modules are not re-entrant across threads anyway
            if self.scorer is None:
                self.scorer = load_clip(self.path, self.device)
            after = caption_after(NEUTRAL_CAPTION, [instruction])
            return self.scorer.similarities(source, edited, NEUTRAL_CAPTION, after)
