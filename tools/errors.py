"""The error types shared by tools, graph and surfaces; each is caught once, at a boundary."""

from __future__ import annotations

from pydantic import ValidationError


class DialogPaintError(Exception):
    """Base of every error dialogpaint raises on purpose."""


class InvalidEditRequest(DialogPaintError, ValueError):
    """The model's or the user's fault (bad parameters, impossible edit): reported back, never retried."""


class EditFailed(DialogPaintError, RuntimeError):
    """Our fault: the tool broke. No revision is made; the user is told and the cause is logged."""


class ToolUnavailable(EditFailed):
    """The tool cannot run here (missing package, weights or GPU); the message says how to enable it."""


class EditCancelled(EditFailed):
    """A progress callback asked the tool to stop."""


class ImageNotFound(DialogPaintError, LookupError):
    """No image or revision under that key (404 at the HTTP edge)."""


class ImageMissing(ImageNotFound):
    """A stored image that a revision refers to is gone from the store (lost on our side, not a bad request)."""


class ImageCorrupt(DialogPaintError, ValueError):
    """A stored image whose bytes no longer match their sha256 key (changed on disk); it is never used."""


class ImageRejected(DialogPaintError, ValueError):
    """An upload that is not an acceptable image; the message names the problem and the limit."""


class RegistryError(DialogPaintError):
    """A tool or plug-in that cannot be registered; the message names it and the problem."""


class MissingExtra(DialogPaintError):
    """An optional extra is not installed; the message names the feature and the `pip install` that adds it."""

    def __init__(self, needs: str, extra: str) -> None:
        """``needs`` says what needs what, e.g. "serve needs fastapi"; ``extra`` is the extra that brings it."""
        super().__init__(f"{needs}: pip install 'dialogpaint[{extra}]'")
        self.extra = extra


class StateStoreUnavailable(DialogPaintError):
    """The checkpoint store cannot be reached or used; the message names it (credentials masked)."""


class CheckpointRejected(DialogPaintError):
    """A saved checkpoint holds a type the state never holds (a tampered row); it is refused, not loaded."""


def brief_errors(exc: ValidationError, whole: str = "arguments", *, limit: int | None = None) -> str:
    """Pydantic errors as one short line: 'field: message; ...' (``whole`` names an error of the whole).

    Args:
        limit: at most this many errors, the first ones (None: all).
    """
    parts = []
    for error in exc.errors(include_url=False)[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or whole
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


class ImageStoreUnavailable(StateStoreUnavailable):
    """The image store cannot be reached, answers too slowly or cannot be written (a full disk); the message
    says which, and the limit, never a path or a credential.
    """

    def __init__(self, message: str, *, public: str | None = None) -> None:
        super().__init__(message)
        # What a remote caller may read: the message without the store's internal location (endpoint, bucket).
        self.public = public if public is not None else message
