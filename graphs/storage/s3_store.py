"""S3ImageStore: the content-addressed image store on an S3-compatible bucket (AWS S3, MinIO, moto), for
service replicas and editing workers on many machines.

Objects are ``<prefix><sha256>.png``. Writes are write-once: ``IfNoneMatch="*"`` makes the bucket
refuse to replace an existing object (412, which means the same bytes are already there), and the
sha256 travels as the upload checksum so S3 itself rejects a body damaged in flight. Reads are
checked against the key like the file store's. Credentials come from boto3's usual chain
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an instance role); only the bucket,
prefix, endpoint and timeouts are dialogpaint settings. A store that is unreachable or slower than
its timeouts raises ImageStoreUnavailable naming the endpoint and the limit (503 at the HTTP edge).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

from graphs.storage.store import check_key, image_key, verified
from tools.errors import ImageMissing, ImageStoreUnavailable

logger = logging.getLogger(__name__)

MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True)
class S3Location:
    """Where the images live and how long to wait for the bucket."""

    bucket: str
    prefix: str = "images/"
    endpoint_url: str | None = None  # None: AWS itself
    region: str | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    attempts: int = 2  # botocore's own retries; one layer only

    @property
    def name(self) -> str:
        """The store's identity: two parties with the same name read the same objects."""
        return f"s3://{self.bucket}/{self.prefix}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")


def s3_client(location: S3Location) -> Any:
    """A boto3 S3 client with the location's endpoint, timeouts and retry budget (boto3 imported here)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=location.connect_timeout_s,
        read_timeout=location.read_timeout_s,
        retries={"max_attempts": location.attempts, "mode": "standard"},
        s3={"addressing_style": "path"},  # MinIO and moto serve buckets under the path
    )
    return boto3.client("s3", endpoint_url=location.endpoint_url, region_name=location.region, config=config)


class S3ImageStore:
    """Canonical PNG bytes as write-once objects named by their sha256, checked on every read."""

    def __init__(self, location: S3Location, client: Any | None = None) -> None:
        self.location = location
        self.client = client if client is not None else s3_client(location)

    @property
    def name(self) -> str:
        """See ``S3Location.name``."""
        return self.location.name

    def object_key(self, key: str) -> str:
        """The object name of an image key, validated first."""
        return f"{self.location.prefix}{check_key(key)}.png"

    def put(self, png: bytes) -> str:
        """Store PNG bytes once; storing bytes that are already there is a no-op."""
        key = image_key(png)
        checksum = base64.b64encode(bytes.fromhex(key)).decode()
        try:
            self._call(
                "put_object",
                Bucket=self.location.bucket,
                Key=self.object_key(key),
                Body=png,
                ContentType="image/png",
                ChecksumSHA256=checksum,
                IfNoneMatch="*",
            )
        except _client_error() as exc:
            if _status(exc) != 412:  # 412 Precondition Failed: the object exists, with these very bytes
                raise self._fault(f"refused to store image {key}: {_code(exc)}") from None
        return key

    def get(self, key: str) -> bytes:
        """The PNG bytes of a key; ImageMissing if absent, ImageCorrupt if they no longer hash to it."""
        name = self.object_key(key)
        try:
            response = self._call("get_object", Bucket=self.location.bucket, Key=name)
            body = response["Body"].read()
        except _client_error() as exc:
            if _code(exc) in MISSING_CODES:
                raise ImageMissing(f"the stored image {key} is missing from {self.name}") from None
            raise self._fault(f"refused to read image {key}: {_code(exc)}") from None
        except _transport_errors() as exc:
            raise self._unavailable(exc) from None
        return verified(key, body)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            self._call("head_object", Bucket=self.location.bucket, Key=self.object_key(key))
        except _client_error() as exc:
            if _code(exc) in MISSING_CODES:
                return False
            raise self._fault(f"refused to look up image {key}: {_code(exc)}") from None
        return True

    def unavailable_reason(self) -> str | None:
        """Why the bucket cannot be used now (unreachable, slow, missing, forbidden), or None (for /healthz)."""
        try:
            self._call("head_bucket", Bucket=self.location.bucket)
        except ImageStoreUnavailable as exc:
            return exc.public  # /healthz is read from outside: no endpoint or bucket
        except _client_error() as exc:
            return f"the image store: HEAD bucket answered {_code(exc)}"
        return None

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One S3 operation; transport failures and timeouts become ImageStoreUnavailable."""
        try:
            return getattr(self.client, operation)(**kwargs)
        except _transport_errors() as exc:
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: Exception) -> ImageStoreUnavailable:
        from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

        loc = self.location
        logger.warning("image store %s failed: %r", self.name, exc)
        if isinstance(exc, ConnectTimeoutError):
            return self._fault(f"is unreachable: no connection within {loc.connect_timeout_s:g} s")
        if isinstance(exc, ReadTimeoutError):
            return self._fault(f"is too slow: no answer within {loc.read_timeout_s:g} s")
        if isinstance(exc, EndpointConnectionError):
            return self._fault("is unreachable: the connection was refused")
        return self._fault(f"failed: {type(exc).__name__}")

    def _fault(self, what: str) -> ImageStoreUnavailable:
        """The error naming this bucket and endpoint, for logs and the CLI; ``public`` names neither."""
        return ImageStoreUnavailable(f"{self.name} {what}", public=f"the image store {what}")


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError

    error: type[Exception] = ClientError
    return error


def _transport_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError

    return (BotoCoreError,)


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__))


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None
