"""Bad uploads and messages through the Session API and the CLI: a clear error and nothing saved changes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from agent.session.engine import Engine
from agent.session.refusals import MessageRejected, SessionNotFound
from agent.settings import Settings
from agent.wiring import create_engine
from tests.fakes import gradient
from tests.image_files import declare_size, originals
from tests.service_helpers import png
from tools.errors import ImageRejected

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine as the CLI builds it: SQLite checkpoints, file image store, the embedded policy."""
    with create_engine(Settings(data_dir=tmp_path / "data", confirm="never")) as built:
        yield built


def stored_images(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "data" / "images").rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("size", "limit"),
    [((1, 1), "each side must be at least 8 pixels (min_image_side)"),
     ((7, 100), "each side must be at least 8 pixels (min_image_side)"),
     ((1, 100_000), "each side must be at least 8 pixels (min_image_side)"),
     ((10, 100_000), "10x100000 pixels, 10,000.0:1; the longest side may be at most 20 times the shortest"),
     ((8, 161), "(max_aspect_ratio)")],
)  # fmt: skip
def test_images_every_edit_would_fail_on_are_refused_at_upload(engine, tmp_path, size, limit):
    image = Image.new("RGB", size, (90, 100, 110))
    (tmp_path / "in.png").write_bytes(png(image))
    for upload in (image, png(image), tmp_path / "in.png", str(tmp_path / "in.png")):
        with pytest.raises(ImageRejected, match=re.escape(limit)):
            engine.open(upload, session_id="refused")
    with pytest.raises(SessionNotFound):
        engine.resume("refused")
    assert not stored_images(tmp_path)


def test_the_limits_themselves_are_accepted_and_come_from_the_settings(tmp_path):
    with create_engine(Settings(data_dir=tmp_path / "a")) as engine:
        assert engine.open(Image.new("RGB", (8, 160))).head["parent"] is None  # 8 px, 20:1 exactly
    with create_engine(Settings(data_dir=tmp_path / "b", min_image_side=32, max_aspect_ratio=2)) as engine:
        with pytest.raises(ImageRejected, match="at least 32 pixels"):
            engine.open(gradient((31, 40)))
        with pytest.raises(ImageRejected, match="at most 2 times the shortest"):
            engine.open(gradient((100, 40)))
        assert engine.open(gradient((64, 32))).head["parent"] is None


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIALOGPAINT_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "agent.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=False, timeout=120)


def test_the_cli_refuses_bad_images_in_one_line_without_a_traceback(tmp_path):
    (tmp_path / "script.txt").write_text("make it brighter\n")
    files = {
        "tiny.png": png(Image.new("RGB", (1, 1))),
        "strip.png": png(Image.new("RGB", (10, 3000))),
        "bomb.webp": declare_size(originals()["webp-lossy"], 16383, 16383),
        "cut.jpeg": originals()["jpeg"][:400],
    }
    expected = {"tiny.png": "min_image_side", "strip.png": "max_aspect_ratio", "bomb.webp": "the limit is",
                "cut.jpeg": "corrupt or truncated"}  # fmt: skip
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        result = cli(tmp_path, "run", str(tmp_path / "script.txt"), "--image", str(tmp_path / name))
        assert result.returncode == 2, (name, result.stderr)
        assert result.stderr.startswith("error: ") and expected[name] in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not stored_images(tmp_path)


@pytest.mark.parametrize(
    ("text", "named"),
    [("make it\x00 brighter", "a control character (U+0000) at character 8; only tab and newline are allowed"),
     ("\x1b[31mmake it red\x1b[0m", "a control character (U+001B) at character 1"),
     ("make it\x7f red", "(U+007F)"), ("make it\x85 red", "(U+0085)"),
     ("make it \u202ederb\u202c", "a bidirectional control (U+202E) at character 9"),
     ("make it \u2066red\u2069", "(U+2066)"),
     ("make it \ud800 red", "an unpaired surrogate (U+D800) at character 9; it is not valid Unicode"),
     ("\x00\x00", "a control character (U+0000)")],
)  # fmt: skip
def test_messages_with_control_characters_are_refused_and_change_nothing(engine, text, named):
    session = engine.open(gradient())
    session.send("make it brighter")
    before = (session.history(), session.revisions, session.head)
    with pytest.raises(MessageRejected, match="the message contains .*" + re.escape(named)):
        session.send(text)
    assert (session.history(), session.revisions, session.head) == before


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("make it brighter\r\nplease", "make it brighter\nplease"), ("  blur it\r", "blur it"),
     ("make it\tbrighter", "make it\tbrighter"),
     ("اجعلها أكثر إشراقا\u200f 👩\u200d🎨 🎨", "اجعلها أكثر إشراقا\u200f 👩\u200d🎨 🎨")],
)  # fmt: skip
def test_the_history_holds_exactly_what_the_user_is_shown(engine, tmp_path, sent, stored):
    session = engine.open(gradient())
    session.send(sent)
    assert session.history()[0] == ("user", stored)
    assert engine.resume(session.id).history()[0] == ("user", stored)  # read back from SQLite
