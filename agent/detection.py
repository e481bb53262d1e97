"""The object detector the settings describe, for questions that need the image (graphs.disambiguate)."""

from __future__ import annotations

from agent.settings import Settings
from tools.detect import Detector
from tools.errors import ToolUnavailable
from tools.owlv2 import Owlv2Detector


def build_detector(settings: Settings) -> Detector | None:
    """An OWLv2 detector on ``settings.detector_path``, or None when none is configured (no questions asked).

    Raises:
        ToolUnavailable: a detector is configured but cannot run here (missing extra or weights);
            checked cheaply now so a wrong path fails at startup, the model itself loads on first use.
    """
    if settings.detector_path is None:
        return None
    detector = Owlv2Detector(settings.detector_path, threshold=settings.detector_threshold)
    reason = detector.unavailable_reason()
    if reason:
        raise ToolUnavailable(f"DIALOGPAINT_DETECTOR_PATH: {reason}")
    return detector
