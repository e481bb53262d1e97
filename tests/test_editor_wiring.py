"""How the new editors are wired: one generative editor unless named, settings, serve-tool, listing, bench."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from tests.fakes import RecordingTool
from tests.tiny_editors import editor
from tools.registry import ALTERNATE_EDITORS, load_registry

pytest.importorskip("diffusers", reason="the gpu extra (diffusers, transformers, torch) is not installed")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


class RemoteKlein(RecordingTool):
    """Stands for a klein served from a GPU machine (a remote tool of that name)."""

    name: ClassVar[str] = "flux2_klein"


def test_the_model_sees_one_generative_editor_unless_another_is_named():
    default = load_registry(plugins=False)
    assert "instruct_pix2pix" in default and not ALTERNATE_EDITORS & set(default)
    chosen = load_registry(plugins=False, enabled=["flux2_klein"])
    assert list(chosen) == ["flux2_klein"]
    every = load_registry(plugins=False, every_editor=True)
    assert set(every) >= ALTERNATE_EDITORS
    served = load_registry(plugins=False, configured=[RemoteKlein()])
    assert "flux2_klein" in served and "qwen_image_edit" not in served  # a remote klein was chosen explicitly


def test_serve_tool_builds_an_alternate_editor(editor_dirs, tmp_path):
    from agent.settings import Settings
    from agent.wiring import build_tool_app

    settings = Settings(data_dir=tmp_path, flux2_klein_path=str(editor_dirs["flux2_klein"]), allow_cpu=True)
    assert build_tool_app("flux2_klein", settings).tool.name == "flux2_klein"


def test_settings_wire_the_weights_and_editor_loads_at_startup(editor_dirs, tmp_path):
    from agent.settings import Settings
    from agent.wiring import create_engine

    settings = Settings(
        data_dir=tmp_path, editor="flux2_klein", flux2_klein_path=str(editor_dirs["flux2_klein"]), allow_cpu=True
    )
    with create_engine(settings) as engine:
        (tool,) = engine.deps.tools.values()
        assert tool.name == "flux2_klein" and tool.unavailable_reason() is None  # type: ignore[attr-defined]


def test_tools_listing_shows_each_editor_with_its_state(tmp_path, editor_dirs):
    env = {**os.environ, "DIALOGPAINT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "400"}
    env["DIALOGPAINT_LONGCAT_IMAGE_EDIT_PATH"] = str(editor_dirs["longcat_image_edit"])
    for name in ("QWEN_IMAGE_EDIT_PATH", "FLUX2_KLEIN_PATH"):
        env.pop(f"DIALOGPAINT_{name}", None)
    result = subprocess.run(
        [sys.executable, "-m", "agent.cli", "tools"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│ ") and "_" in line}
    assert "no weights configured" in rows["qwen_image_edit"] and "no weights configured" in rows["flux2_klein"]
    assert "no weights configured" not in rows["longcat_image_edit"]


def load_bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("bench_gpu_editors", root / "bench" / "bench_gpu_editors.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    return bench


@pytest.mark.parametrize(("fixed", "per_step", "projected"), [(1.5, 0.25, "11.500"), (2.0, -0.1, None)])
def test_gpu_bench_projects_long_tiers_from_two_step_counts(monkeypatch, editor_dirs, fixed, per_step, projected):
    # A clock that advances by fixed + steps x per_step per edit: the projection must recover 40 steps exactly,
    # and a "longer run was faster" reading (a busy machine) must not be printed as a number.
    bench = load_bench(monkeypatch)
    clock = [0.0]
    tool = editor("qwen_image_edit", editor_dirs)
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock[0])

    def run(pipe: Any, image: Image.Image, params: Any, *, seed: int) -> Image.Image:
        clock[0] += fixed + params.steps * per_step
        return image

    monkeypatch.setattr(tool, "run", run)
    args = SimpleNamespace(tiny=False, runs=3, device="cpu")
    steps, seconds, how, peak, _ = bench.bench_tier(tool, None, {}, 64, args)
    assert steps == 40 and peak is None
    if projected is None:
        assert np.isnan(seconds) and "not projected" in how
    else:
        assert f"{seconds:.3f}" == projected and "projected" in how and "at 2, 6 steps" in how
