"""Provenance in the file: exported and served PNGs carry the recipe chain; inspect prints it; replay checks it."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.cli.app import app
from agent.session.provenance import CHUNK, dialogpaint_version, read_provenance, with_provenance
from agent.settings import Settings
from agent.wiring import create_engine
from tests.fakes import gradient


@pytest.fixture
def edited(tmp_path: Path) -> dict[str, Any]:
    """A session on disk with two CPU edits, its exported original and head."""
    with create_engine(Settings(data_dir=tmp_path / "data", confirm="never")) as engine:
        session = engine.open(gradient())
        session.send("apply a sepia tone")
        session.send("blur it a lot")
        original = session.export(tmp_path / "original.png", session.revisions[0]["id"])
        head = session.export(tmp_path / "head.png")
        pixels = session.image().tobytes()
        return {
            "id": session.id,
            "path": session.path(),
            "original": original,
            "head": head,
            "dir": tmp_path,
            "pixels": pixels,
        }


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_the_exported_png_carries_the_chain_and_the_same_pixels(edited):
    path = edited["path"]
    with Image.open(edited["head"]) as image:
        assert image.convert("RGB").tobytes() == edited["pixels"]
        assert CHUNK in image.text
    record = read_provenance(edited["head"])
    assert record.revision == path[-1]["id"] and record.image == path[-1]["image"]
    assert record.original == path[0]["image"] == hashlib.sha256(edited["original"].read_bytes()).hexdigest()
    assert [(s.instruction, s.tool) for s in record.chain] == [(r["instruction"], r["tool"]) for r in path[1:]]
    assert [s.seed for s in record.chain] == [r["params"]["seed"] for r in path[1:]]
    assert record.chain[1].parent_image == path[1]["image"] and record.chain[1].params["radius"] > 2
    assert record.dialogpaint == dialogpaint_version()
    with Image.open(edited["original"]) as original:
        assert CHUNK not in getattr(original, "text", {})  # the upload has no recipe: exported as stored


def test_inspect_prints_the_chain(edited):
    result = cli("inspect", str(edited["head"]))
    assert result.exit_code == 0, result.output
    seed = edited["path"][1]["params"]["seed"]
    assert f"1. apply a sepia tone [sepia] seed {seed}" in result.output
    assert "2. blur it a lot [blur]" in result.output and edited["path"][0]["image"] in result.output
    as_json = cli("inspect", str(edited["head"]), "--json")
    assert '"chain"' in as_json.output and '"radius"' in as_json.output


def test_replay_of_the_file_with_its_original_matches(edited):
    out = edited["dir"] / "rebuilt.png"
    result = cli("replay", str(edited["head"]), "--original", str(edited["original"]), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "replayed 2 edit(s): matches the recorded image" in result.output
    with Image.open(out) as rebuilt, Image.open(edited["head"]) as exported:
        assert rebuilt.convert("RGB").tobytes() == exported.convert("RGB").tobytes()


def test_replay_of_a_session_by_id(edited):
    result = cli("replay", edited["id"], "--data-dir", str(edited["dir"] / "data"))
    assert result.exit_code == 0 and "replayed 2 edit(s): matches" in result.output
    first = cli(
        "replay", edited["id"], "--revision", edited["path"][1]["id"], "--data-dir", str(edited["dir"] / "data")
    )
    assert "replayed 1 edit(s): matches" in first.output


def test_a_tampered_recipe_replays_to_a_different_image(edited, tmp_path):
    record = read_provenance(edited["head"])
    record.chain[1].params["radius"] = 1
    forged = tmp_path / "forged.png"
    forged.write_bytes(with_provenance(edited["head"].read_bytes(), record))
    result = cli("replay", str(forged), "--original", str(edited["original"]))
    assert result.exit_code == 1 and "DIFFERS from the recorded image" in result.output


def test_a_forged_hash_in_the_middle_of_the_chain_does_not_match(edited, tmp_path):
    record = read_provenance(edited["head"])
    forged_key = hashlib.sha256(b"not the image edit 1 made").hexdigest()
    record.chain[0].image = record.chain[1].parent_image = forged_key  # the links still join
    forged = tmp_path / "forged.png"
    forged.write_bytes(with_provenance(edited["head"].read_bytes(), record))
    result = cli("replay", str(forged), "--original", str(edited["original"]))
    assert result.exit_code == 1 and "DIFFERS from the recorded image" in result.output
    assert "first differs from the record at edit 1" in result.output


def test_a_chain_whose_links_do_not_join_is_refused(edited, tmp_path):
    record = read_provenance(edited["head"])
    record.chain[1].parent_image = hashlib.sha256(b"elsewhere").hexdigest()
    forged = tmp_path / "unjoined.png"
    forged.write_bytes(with_provenance(edited["head"].read_bytes(), record))
    result = cli("replay", str(forged), "--original", str(edited["original"]))
    assert result.exit_code == 2 and "error: unjoined.png's recipe is broken at edit 2" in result.output


def test_bad_replay_and_inspect_input_is_one_error_line(edited, tmp_path):
    other = tmp_path / "other.png"
    gradient((40, 40)).save(other)
    wrong = cli("replay", str(edited["head"]), "--original", str(other))
    assert wrong.exit_code == 2 and "error: the original given has sha256" in wrong.output
    assert "but head.png was made from" in wrong.output
    missing = cli("replay", str(edited["head"]))
    assert missing.exit_code == 2 and "needs --original" in missing.output
    plain = cli("inspect", str(other))
    assert plain.exit_code == 2 and f"has no {CHUNK} chunk" in plain.output
    unknown = cli("replay", "no-such-session", "--data-dir", str(edited["dir"] / "data"))
    assert unknown.exit_code == 2 and "no session 'no-such-session'" in unknown.output


def test_the_service_serves_the_chain_and_replays(tmp_path):
    from fastapi.testclient import TestClient

    from agent.service.app import create_app
    from tests.service_helpers import KEY_A, auth, send, upload

    settings = Settings(data_dir=tmp_path / "data", api_keys=KEY_A, confirm="never")
    with TestClient(create_app(settings)) as client:
        sid = upload(client, KEY_A).json()["id"]
        send(client, KEY_A, sid, "apply a sepia tone")
        head = send(client, KEY_A, sid, "make it brighter")[-1]["data"]["head"]
        image = client.get(f"/v1/sessions/{sid}/revisions/{head}/image", headers=auth(KEY_A))
        with Image.open(io.BytesIO(image.content)) as served:
            assert CHUNK in served.text and head in served.text[CHUNK]
        replayed = client.post(f"/v1/sessions/{sid}/replay", json={}, headers=auth(KEY_A))
        assert replayed.status_code == 200, replayed.text
        body = replayed.json()
        assert body["matches"] is True and body["steps"] == 2 and body["revision"] == head
        assert image.headers["etag"] == f'"{body["expected"]}"'
        unknown = client.post(f"/v1/sessions/{sid}/replay", json={"revision": "r_nope"}, headers=auth(KEY_A))
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "revision_not_found"
        forget = send(client, KEY_A, sid, "forget the sepia but keep the rest")[-1]["data"]
        assert forget["action"] == "forget" and forget["head"] != head
