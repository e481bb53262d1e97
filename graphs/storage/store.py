"""Content-addressed image store: the key of an image is the sha256 of its canonical PNG bytes."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from PIL import Image

from tools.errors import ImageCorrupt, ImageMissing, ImageNotFound, ImageStoreUnavailable
from tools.images import encode_png

KEY_PATTERN = re.compile(r"^[0-9a-f]{64}$")
MIN_FREE_BYTES = 16 * 1024 * 1024  # below this a file store reports itself unavailable (room for a few images)


class ImageStore(Protocol):
    """Stores canonical PNG bytes under their sha256."""

    def put(self, png: bytes) -> str:
        """Store PNG bytes; return their key. Storing the same bytes twice is a no-op."""

    def get(self, key: str) -> bytes:
        """Return the PNG bytes; ImageNotFound for a malformed key, ImageMissing or ImageCorrupt for a lost one."""

    def __contains__(self, key: object) -> bool:
        """Whether the key is stored."""


def image_key(png: bytes) -> str:
    """The store key of canonical PNG bytes."""
    return hashlib.sha256(png).hexdigest()


def check_key(key: str) -> str:
    """Return the key if it is a well-formed sha256 hex digest; raise ImageNotFound otherwise."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ImageNotFound(f"not an image key: {key!r:.80}")
    return key


def verified(key: str, png: bytes) -> bytes:
    """The bytes read for a key, if they still hash to it; ImageCorrupt otherwise (the check is free here)."""
    if image_key(png) != key:
        raise ImageCorrupt(f"the stored image {key} is corrupt: its bytes no longer match its sha256")
    return png


def sync_directory(path: Path) -> None:
    """Sync a directory to disk, so that names created or renamed in it survive a power loss (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def put_image(store: ImageStore, image: Image.Image) -> str:
    """Encode an image canonically and store it."""
    return store.put(encode_png(image))


def get_image(store: ImageStore, key: str) -> Image.Image:
    """Load a stored image as RGB."""
    with Image.open(io.BytesIO(store.get(key)), formats=["PNG"]) as image:
        return image.convert("RGB")


# The errors of a store that cannot be written now (full, over quota, read-only, failing): a fault of
# the store, answered as retryable (503), never as the edit's or the tool's failure.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


def written_fault(exc: OSError) -> Exception:
    """ImageStoreUnavailable for a storage errno (the reason, never the path), else the error itself."""
    if exc.errno in STORAGE_ERRNOS:
        return ImageStoreUnavailable(f"the image store cannot be written now ({exc.strerror}); retry later")
    return exc


class FileImageStore:
    """Images as ``<root>/<key[:2]>/<key>.png``, written atomically (temp file, fsync, rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def unavailable_reason(self) -> str | None:
        """Why images cannot be written here now (a read-only or nearly full disk), or None."""
        if not os.access(self.root, os.W_OK):
            return "the image directory is not writable"
        if shutil.disk_usage(self.root).free < MIN_FREE_BYTES:
            return f"less than {MIN_FREE_BYTES:,} bytes free on the image disk"
        return None

    def path(self, key: str) -> Path:
        """Where a key lives; the key is validated before it touches the file system."""
        check_key(key)
        return self.root / key[:2] / f"{key}.png"

    def put(self, png: bytes) -> str:
        """Store PNG bytes under their sha256; an intact existing file is left as is, a corrupt one replaced."""
        key = image_key(png)
        target = self.path(key)
        if target.exists() and image_key(target.read_bytes()) == key:
            return key
        try:
            created = not target.parent.is_dir()
            target.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".png")
        except OSError as exc:
            raise written_fault(exc) from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(png)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            # The checkpoint that will reference this key commits after put returns: the file's name
            # must be durable first, so its directory (and a directory just made) is synced too.
            sync_directory(target.parent)
            if created:
                sync_directory(target.parent.parent)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise written_fault(exc) from exc
            raise
        return key

    def get(self, key: str) -> bytes:
        """The PNG bytes of a key, checked against it; ImageMissing if absent, ImageCorrupt if changed."""
        try:
            return verified(key, self.path(key).read_bytes())
        except FileNotFoundError:
            raise ImageMissing(f"the stored image {key} is missing") from None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(KEY_PATTERN.fullmatch(key)) and self.path(key).exists()
