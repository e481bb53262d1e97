"""Editing tools: the EditTool protocol, safe image decoding, the registry and the built-in tools."""

from tools.base import EditTool, ProgressCallback, ToolCapabilities
from tools.errors import (
    DialogPaintError,
    EditCancelled,
    EditFailed,
    ImageNotFound,
    ImageRejected,
    InvalidEditRequest,
    RegistryError,
    ToolUnavailable,
)

__all__ = [
    "DialogPaintError",
    "EditCancelled",
    "EditFailed",
    "EditTool",
    "ImageNotFound",
    "ImageRejected",
    "InvalidEditRequest",
    "ProgressCallback",
    "RegistryError",
    "ToolCapabilities",
    "ToolUnavailable",
]
