"""OWLv2 (transformers' Owlv2ForObjectDetection) as a Detector, from local weights, loaded once per process.

OWLv2 (Minderer et al., "Scaling Open-Vocabulary Object Detection", 2023) scores every image patch
against each text query and regresses a box per patch, so one object comes back as several
overlapping boxes: they are merged by ``suppress_overlaps``. The processor pads the image to a
square (bottom and right) before resizing, so boxes are scaled by the long side and clipped to the
image. Weights come from a local folder saved with ``save_pretrained`` (e.g. google/owlv2-base-patch16-ensemble
downloaded beforehand); nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from tools.detect import DEFAULT_DETECTOR_THRESHOLD, Detection, suppress_overlaps
from tools.errors import ToolUnavailable

logger = logging.getLogger(__name__)

QUERY = "a photo of a {}"  # the prompt template OWL-ViT and OWLv2 were evaluated with
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")  # transformers >= 5, older
ENABLE_HINT = "pip install 'dialogpaint[detect]' and set DIALOGPAINT_DETECTOR_PATH to a local OWLv2 folder"


class Owlv2Detector:
    """Open-vocabulary detection with OWLv2; configured cheaply, the model loads on first use."""

    def __init__(
        self, path: str | Path, *, threshold: float = DEFAULT_DETECTOR_THRESHOLD, device: str | None = None
    ) -> None:
        """Configure without loading anything.

        Args:
            path: a local folder holding an Owlv2ForObjectDetection and its Owlv2Processor.
            threshold: the lowest score that counts as a found object (0..1).
            device: a torch device; default: CUDA when available, else the CPU.
        """
        if not 0.0 <= threshold < 1.0:
            raise ValueError(f"the detector threshold must be in [0, 1), got {threshold}")
        self.path = Path(path).expanduser()
        self.threshold = threshold
        self.device = device

    def unavailable_reason(self) -> str | None:
        """Why the detector cannot run here, or None; cheap (imports nothing heavy)."""
        missing = [m for m in ("torch", "transformers") if not importlib.util.find_spec(m)]
        if missing:
            return f"the OWLv2 detector needs {', '.join(missing)}: {ENABLE_HINT}"
        if not (self.path / "config.json").is_file():
            return f"{self.path} has no config.json, so it is not a saved OWLv2 model; {ENABLE_HINT}"
        if not any((self.path / name).is_file() for name in PROCESSOR_FILES):
            return f"{self.path} has no {' or '.join(PROCESSOR_FILES)}, so no OWLv2 processor was saved there"
        return None

    def load(self) -> None:
        """Load the model now (at startup) rather than at the first detection; ToolUnavailable says why not."""
        self.parts()

    def parts(self) -> tuple[Any, Any, str]:
        """The loaded model, processor and device, shared by every detector on the same folder and device."""
        reason = self.unavailable_reason()
        if reason:
            raise ToolUnavailable(reason)
        return load_owlv2(str(self.path), self.device)

    def detect(self, image: Image.Image, labels: Sequence[str]) -> list[Detection]:
        """Every object of ``labels`` in ``image`` scoring above the threshold, overlapping boxes merged."""
        if not labels:
            return []
        import torch

        model, processor, device = self.parts()
        start = time.perf_counter()
        queries = [QUERY.format(label) for label in labels]
        inputs = processor(text=[queries], images=image.convert("RGB"), return_tensors="pt").to(device)
        with torch.inference_mode():
            outputs = model(**inputs)
        side = max(image.size)  # the processor padded the image to a side x side square
        result = processor.post_process_grounded_object_detection(
            outputs, threshold=self.threshold, target_sizes=[(side, side)]
        )[0]
        found = [
            Detection(labels[int(index)], float(score), clipped(box.tolist(), image.size))
            for score, index, box in zip(result["scores"], result["labels"], result["boxes"], strict=True)
        ]
        found = [d for d in found if d.area > 0]  # a box wholly in the padding found nothing in the image
        kept = suppress_overlaps(found)
        logger.info(
            "detected %d object(s) of %d label(s) in %.3fs", len(kept), len(labels), time.perf_counter() - start
        )
        return kept


def clipped(box: Sequence[float], size: tuple[int, int]) -> tuple[float, float, float, float]:
    """A box limited to the image (boxes may reach into the processor's padding)."""
    width, height = size
    x0, y0, x1, y1 = box
    return (min(max(x0, 0.0), width), min(max(y0, 0.0), height), min(max(x1, 0.0), width), min(max(y1, 0.0), height))


@functools.cache
def load_owlv2(path: str, device: str | None) -> tuple[Any, Any, str]:
    """Load an OWLv2 model and processor from a local folder (never the network), in eval mode."""
    import torch
    from transformers import Owlv2ForObjectDetection, Owlv2Processor

    where = device or ("cuda" if torch.cuda.is_available() else "cpu")
    start = time.perf_counter()
    processor = Owlv2Processor.from_pretrained(path, local_files_only=True)
    model: Any = Owlv2ForObjectDetection.from_pretrained(path, local_files_only=True)
    model.to(where).eval()
    logger.info("loaded OWLv2 from %s on %s in %.1fs", path, where, time.perf_counter() - start)
    return model, processor, where
