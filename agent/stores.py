"""The image store the settings describe: an S3-compatible bucket when ``s3_bucket`` is set, else data_dir/images."""

from __future__ import annotations

from agent.settings import Settings
from graphs.s3_store import S3ImageStore, S3Location
from graphs.store import FileImageStore, ImageStore


def s3_location(settings: Settings) -> S3Location | None:
    """The bucket the settings name, or None for the file store."""
    if settings.s3_bucket is None:
        return None
    return S3Location(
        bucket=settings.s3_bucket,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        connect_timeout_s=settings.s3_connect_timeout_s,
        read_timeout_s=settings.s3_timeout_s,
    )


def image_store(settings: Settings) -> ImageStore:
    """The shared bucket if configured, else the file store under the data directory."""
    return shared_store(settings) or FileImageStore(settings.images_dir)


def shared_store(settings: Settings) -> S3ImageStore | None:
    """The bucket that service replicas and editing servers share, if configured (images then go by key)."""
    location = s3_location(settings)
    return None if location is None else S3ImageStore(location)
