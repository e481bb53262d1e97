"""The example plug-in package, installed with pip into a throwaway directory, works with no code change:
it is listed by `dialogpaint tools`, the local policy calls it, and its own tests pass."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes import gradient

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "dialogpaint-pixelate"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the installed example (package + dist-info with its entry point), as
    ``pip install --target`` leaves it; the dev environment itself is not changed."""
    source = tmp_path_factory.mktemp("source") / "dialogpaint-pixelate"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run([*command, "--target", str(target), str(source)], check=True, capture_output=True)
    assert (target / "dialogpaint_pixelate-0.1.0.dist-info" / "entry_points.txt").is_file()
    return target


def env_with(site: Path, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site), "DIALOGPAINT_DATA_DIR": str(tmp_path / "data")}


def test_installed_plugin_is_listed_and_used_by_a_scripted_dialogue(site, tmp_path):
    env = env_with(site, tmp_path)
    listed = subprocess.run(
        [sys.executable, "-m", "agent.cli", "tools"], capture_output=True, text=True, cwd=tmp_path, env=env, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert "pixelate" in listed.stdout and "block_size" in listed.stdout
    gradient((96, 64)).save(tmp_path / "in.png")
    (tmp_path / "script.txt").write_text("pixelate the image\nundo\n")
    command = [sys.executable, "-m", "agent.cli", "run", "script.txt", "--image", "in.png", "--json"]
    ran = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert ran.returncode == 0, ran.stderr
    turns = [json.loads(line) for line in ran.stdout.splitlines()]
    assert turns[0]["tool"] == "pixelate" and turns[0]["action"] == "edit" and turns[1]["action"] == "undo"


def test_the_plugin_edit_lands_in_the_session(site, monkeypatch, tmp_path):
    from agent.settings import Settings
    from agent.wiring import create_engine

    monkeypatch.syspath_prepend(str(site))
    with create_engine(Settings(data_dir=tmp_path)) as engine:
        session = engine.open(gradient((96, 64)))
        reply = session.send("pixelate the image")
        assert (reply.action, reply.tool) == ("edit", "pixelate"), reply.text
        assert session.head["params"]["block_size"] == 12
        edited = Image.open(session.export(tmp_path / "out.png"))
    assert len(edited.crop((0, 0, 12, 12)).getcolors() or []) == 1
    assert len(gradient((96, 64)).crop((0, 0, 12, 12)).getcolors() or []) > 1


def test_the_plugin_own_tests_pass(site, tmp_path):
    env = env_with(site, tmp_path)
    command = [sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=EXAMPLE, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
