"""Qwen2-VL's processor without its video half, for the editors whose text encoder reads the input image.

Qwen-Image-Edit and LongCat-Image-Edit prompt a Qwen2.5-VL text encoder with the image through
``Qwen2VLProcessor``. transformers builds that processor's video processor only when torchvision is
installed, though an image editor never sends a video; this loads the same tokenizer and image processor
from the pipeline folder's processor subfolder without it, so a CPU-only torch (no torchvision) can run them.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any


def load_processor(folder: Path) -> Any:
    """The folder's Qwen2VLProcessor: transformers' own with torchvision, else one without the video processor."""
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLProcessor

    if importlib.util.find_spec("torchvision") is not None:
        return Qwen2VLProcessor.from_pretrained(str(folder), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    image_processor = AutoImageProcessor.from_pretrained(str(folder), local_files_only=True)
    return image_only_class()(image_processor=image_processor, tokenizer=tokenizer)


@functools.cache
def image_only_class() -> type:
    """The Qwen2VLProcessor subclass whose only parts are the image processor and the tokenizer."""
    from transformers import Qwen2VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
        """Qwen2VLProcessor for images and text only (no video processor, so no torchvision)."""

        def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None) -> None:
            self.image_token = getattr(tokenizer, "image_token", "<|image_pad|>")
            self.video_token = getattr(tokenizer, "video_token", "<|video_pad|>")
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)  # type: ignore[no-untyped-call]

    return ImageOnlyQwen2VLProcessor
