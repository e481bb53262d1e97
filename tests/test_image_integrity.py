"""A stored image that lost or changed its bytes is reported as such; older revisions stay usable."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from agent.session.session import Session
from agent.settings import Settings
from agent.wiring import create_engine
from graphs.storage.store import FileImageStore
from tests.fakes import gradient
from tests.service_helpers import KEY_A, auth, require_serve_extra, send, upload
from tools.errors import ImageCorrupt, ImageMissing, ImageNotFound


def flip_a_byte(path: Path) -> None:
    """Change one byte in the middle of a file, as a bad disk or a stray write would."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def image_file(session: Session, revision_id: str | None = None) -> Path:
    """Where a revision's image lives in the session's file store."""
    store = session.engine.deps.store
    assert isinstance(store, FileImageStore)
    return store.path(session.revision(revision_id)["image"])


def test_the_file_store_checks_the_hash_and_tells_missing_from_malformed(tmp_path):
    store = FileImageStore(tmp_path)
    key = store.put(b"\x89PNG not really, but bytes")
    flip_a_byte(store.path(key))
    with pytest.raises(ImageCorrupt, match=f"{key} is corrupt"):
        store.get(key)
    assert store.put(b"\x89PNG not really, but bytes") == key  # storing it again repairs the file
    assert store.get(key) == b"\x89PNG not really, but bytes"
    store.path(key).unlink()
    with pytest.raises(ImageMissing, match=f"{key} is missing"):
        store.get(key)
    with pytest.raises(ImageNotFound, match="not an image key") as malformed:
        store.get("../etc/passwd")
    assert not isinstance(malformed.value, ImageMissing)


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_an_edit_on_a_damaged_image_says_so_and_undo_gets_back_to_work(tmp_path, damage):
    with create_engine(Settings(data_dir=tmp_path / "data", confirm="never")) as engine:
        session = engine.open(gradient())
        first = session.send("make it brighter")
        second = session.send("flip it horizontally")
        assert (first.action, second.action) == ("edit", "edit")
        damaged = image_file(session)
        flip_a_byte(damaged) if damage == "corrupt" else damaged.unlink()

        failed = session.send("increase the contrast")
        assert f"the stored image of the current revision is {damage}" in failed.text, failed.text
        assert "crashed" not in failed.text
        assert failed.head == second.head and len(failed.revisions) == len(second.revisions)
        with pytest.raises(ImageCorrupt if damage == "corrupt" else ImageMissing):
            session.image()

        assert session.undo().head == first.head
        again = session.send("increase the contrast")
        assert again.action == "edit" and len(again.revisions) == len(second.revisions) + 1
        assert session.image().size == gradient().size


def test_the_service_answers_image_corrupt_and_image_missing_and_serves_intact_ones(tmp_path):
    require_serve_extra()
    from fastapi.testclient import TestClient

    from agent.service.app import create_app

    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY_A, confirm="never")
    with TestClient(create_app(settings)) as client:
        sid = upload(client, KEY_A).json()["id"]
        root = client.get(f"/v1/sessions/{sid}", headers=auth(KEY_A)).json()["head"]
        edited = send(client, KEY_A, sid, "make it brighter")[-1]["data"]
        assert edited["action"] == "edit", edited
        url = f"/v1/sessions/{sid}/revisions/{edited['head']}/image"
        intact = client.get(url, headers=auth(KEY_A))
        assert intact.status_code == 200
        key = intact.headers["etag"].strip('"')
        path = FileImageStore(settings.images_dir).path(key)

        flip_a_byte(path)
        corrupt = client.get(url, headers=auth(KEY_A))
        assert corrupt.status_code == 500 and corrupt.json()["error"]["code"] == "image_corrupt"
        assert f"{key} is corrupt" in corrupt.json()["error"]["message"]
        path.unlink()
        missing = client.get(url, headers=auth(KEY_A))
        assert missing.status_code == 500 and missing.json()["error"]["code"] == "image_missing"

        older = client.get(f"/v1/sessions/{sid}/revisions/{root}/image", headers=auth(KEY_A))
        assert older.status_code == 200
        assert older.headers["etag"] == f'"{hashlib.sha256(older.content).hexdigest()}"'


def test_a_stored_image_name_is_synced_before_put_returns(tmp_path, monkeypatch):
    """The checkpoint that references a key commits after put: the file, its directory and a directory
    just made are fsynced first, or a power loss could keep the reference and lose the image."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store = FileImageStore(tmp_path / "images")
    key = store.put(b"\x89PNG first")
    target = store.path(key)
    assert synced[0].startswith(f"{target.parent}/.tmp-")  # the bytes, before the rename
    assert synced[1:] == [str(target.parent), str(target.parent.parent)]  # the name, and the new folder's
    synced.clear()
    store.put(b"\x89PNG first")  # already stored: nothing written, nothing synced
    assert synced == []
