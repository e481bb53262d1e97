"""An optional signed C2PA manifest on exported PNGs, with c2pa-python, when the user supplies a key and certificate.

The manifest holds one ``c2pa.actions`` assertion (the image was made with a trained algorithmic
editor or exact tools) and the recipe record itself (``org.dialogpaint.recipe``, the same JSON as the
``dialogpaint:recipe`` text chunk), signed with the user's certificate chain (PEM, signer first) and
private key. No timestamp authority is called: nothing leaves the machine. Readers that do not know
the user's CA report the signature as untrusted but intact; a changed pixel or assertion breaks it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.errors import DialogPaintError, MissingExtra

ASSERTION = "org.dialogpaint.recipe"
EDITED = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"


class SigningFailed(DialogPaintError, ValueError):
    """The key or certificate cannot sign a C2PA manifest; the message says why."""


@dataclass(frozen=True)
class C2paSigner:
    """Signs PNGs with a C2PA manifest; built from PEM files, checked when built."""

    certificate: bytes  # PEM chain, the signing certificate first
    private_key: bytes  # PEM
    algorithm: str = "es256"

    @classmethod
    def from_files(cls, certificate: str | Path, private_key: str | Path, algorithm: str = "es256") -> C2paSigner:
        """Read the PEM files; SigningFailed naming the file that is missing."""
        for what, path in (("certificate", certificate), ("private key", private_key)):
            if not Path(path).is_file():
                raise SigningFailed(f"no C2PA {what} file at {path}")
        return cls(Path(certificate).read_bytes(), Path(private_key).read_bytes(), algorithm)

    def sign(self, png: bytes, recipe: dict[str, Any], title: str) -> bytes:
        """The PNG with a signed manifest embedded; SigningFailed when c2pa refuses the credentials."""
        c2pa = _c2pa()
        manifest = {
            "claim_generator_info": [{"name": "dialogpaint", "version": str(recipe.get("dialogpaint", ""))}],
            "title": title,
            "assertions": [
                {
                    "label": "c2pa.actions",
                    "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": EDITED}]},
                },
                {"label": ASSERTION, "data": recipe},
            ],
        }
        out = io.BytesIO()
        try:
            info = c2pa.C2paSignerInfo(self.algorithm.encode(), self.certificate, self.private_key, None)
            with c2pa.Signer.from_info(info) as signer, c2pa.Builder(json.dumps(manifest)) as builder:
                builder.sign(signer, "image/png", io.BytesIO(png), out)
        except c2pa.C2paError as exc:
            raise SigningFailed(f"C2PA signing failed: {str(exc).splitlines()[0]}") from None
        return out.getvalue()


def read_manifest(png: bytes) -> dict[str, Any]:
    """The active manifest of a signed PNG and its validation state (``validation_state``, ``validation_status``)."""
    c2pa = _c2pa()
    with c2pa.Reader("image/png", io.BytesIO(png)) as reader:
        document = json.loads(reader.json())
    active = document["manifests"][document["active_manifest"]]
    return {
        **active,
        "validation_state": document.get("validation_state"),
        "validation_status": document.get("validation_status", []),
    }


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError as exc:
        raise MissingExtra("signed C2PA manifests need c2pa-python", "c2pa") from exc
    return c2pa
