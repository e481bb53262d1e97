"""Qwen-Image-Edit, FLUX.2 klein and LongCat-Image-Edit on tiny random-weight pipelines, as users load them.

Each pipeline is built offline once per test session (tests/tiny_editors.py), saved with
``save_pretrained`` and loaded by its tool from the folder, as the weights path settings do; edits run
through a Session on the CPU, and replays must be bit for bit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from PIL import Image, ImageChops, ImageFilter

from agent.models.prompts import SYSTEM_PROMPT
from agent.session.engine import Engine, Session
from agent.session.provenance import read_provenance
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, RecordingTool, ScriptedChatModel, ai, call, gradient
from tests.tiny_editors import BUILDERS, EDITORS
from tools.diffusion_editor import DiffusionEditor
from tools.edit_geometry import composite_unchanged, shift_between, snapped_size
from tools.errors import EditCancelled, ToolUnavailable
from tools.flux2_klein import Flux2Klein
from tools.longcat_image_edit import LongCatImageEdit
from tools.qwen_image_edit import QwenImageEdit
from tools.registry import ALTERNATE_EDITORS, load_registry

pytest.importorskip("diffusers", reason="the gpu extra (diffusers, transformers, torch) is not installed")
pytestmark = pytest.mark.usefixtures("one_torch_thread")
CLASSES: dict[str, type[DiffusionEditor]] = {
    "qwen_image_edit": QwenImageEdit, "flux2_klein": Flux2Klein, "longcat_image_edit": LongCatImageEdit,
}  # fmt: skip
SIDE = 96  # the working side of the tests (klein's image processor refuses sides under 64)
PHOTO = (150, 97)  # sides that are no multiple of anything the models need
NO_CFG = {"qwen_image_edit": {"true_cfg_scale": 1.0}, "longcat_image_edit": {"guidance_scale": 1.0}}


@pytest.fixture(scope="session")
def editor_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three tiny pipeline folders, built once per test session."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {name: BUILDERS[name](tmp_path_factory.mktemp(name)) for name in EDITORS}
    finally:
        torch.set_num_threads(threads)


def editor(name: str, dirs: dict[str, Path], **options: Any) -> DiffusionEditor:
    return CLASSES[name](dirs[name], allow_cpu=True, max_side=SIDE, **options)


def open_session(tool: DiffusionEditor, *calls: dict[str, Any], image: Image.Image | None = None) -> Session:
    """A session whose scripted model makes one call per message."""
    model = ScriptedChatModel(script=[ai(c) for c in calls])
    deps = GraphDeps(model, {tool.name: tool}, MemoryImageStore(), SYSTEM_PROMPT, confirm="never")
    return Engine(build_graph(InMemorySaver()), deps).open(image or gradient(PHOTO))


@pytest.mark.parametrize("name", EDITORS)
def test_edit_through_a_session_keeps_the_size_records_the_recipe_and_replays_bit_for_bit(name, editor_dirs, tmp_path):
    tool = editor(name, editor_dirs)
    instruction = "replace the sky with a purple sunset, keep the hills unchanged"
    session = open_session(tool, call(name, instruction=instruction, steps=2, seed=7))
    events: list[dict[str, Any]] = []
    reply = session.send("make the sky a purple sunset", on_event=events.append)
    assert reply.action == "edit" and reply.error is None and reply.tool == name
    assert [e["step"] for e in events if e["kind"] == "progress"] == [0, 1, 2]
    assert session.image().size == PHOTO
    assert np.abs(np.asarray(session.image(), np.int16) - np.asarray(gradient(PHOTO), np.int16)).mean() > 1
    recipe = session.head["params"]
    assert recipe["seed"] == 7 and recipe["steps"] == 2
    settings = recipe["settings"]
    assert settings["prompt"] == instruction and settings["pipeline"] == tool.pipeline_class
    assert settings["dtype"] == "float32" and settings["steps_run"] == 2 and settings["lora"] is None
    assert settings["scheduler"] == "FlowMatchEulerDiscreteScheduler"
    replay = session.replay()
    assert replay.matches, "the recipe must rebuild the image bit for bit"
    session.export(tmp_path / "out.png")
    (step,) = read_provenance(tmp_path / "out.png").chain
    assert step.params["settings"]["prompt"] == instruction and step.model == editor_dirs[name].name


@pytest.mark.parametrize("name", EDITORS)
@pytest.mark.parametrize("size", [(150, 97), (61, 200), (128, 128)])
def test_output_size_equals_input_size_for_every_aspect(name, size, editor_dirs, monkeypatch):
    import diffusers

    tool = editor(name, editor_dirs)
    seen: list[tuple[tuple[int, int], tuple[int, int]]] = []
    pipeline = getattr(diffusers, tool.pipeline_class)
    original = pipeline.__call__

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        output = original(self, *args, **kwargs)
        frame = output.images[0]
        seen.append((kwargs["image"].size, (frame.shape[1], frame.shape[0])))
        return output

    monkeypatch.setattr(pipeline, "__call__", spy)
    params = tool.Params(instruction="make it look like winter", steps=1, **NO_CFG.get(name, {}))
    result = tool(gradient(size), params, seed=1)
    assert result.size == size
    ((sent, returned),) = seen
    # The pipeline got the working size and returned exactly it: nothing cropped, nothing rescaled inside.
    assert sent == returned == tool.work_size(tool.pipeline(), size)
    assert abs(sent[0] / sent[1] - size[0] / size[1]) < 0.25 * size[0] / size[1]


@pytest.mark.parametrize(
    ("size", "area", "multiple", "expected", "min_side"),
    [((150, 97), 96**2, 16, (112, 80), 0), ((1024, 768), 1024**2, 16, (1184, 880), 0),
     ((61, 200), 96**2, 16, (48, 176), 0), ((4000, 30), 1024**2, 16, (11824, 96), 0),
     ((64, 64), 96**2, 16, (96, 96), 0), ((61, 200), 96**2, 16, (64, 208), 64)],
)  # fmt: skip
def test_snapped_size_keeps_the_area_and_aspect_in_multiples(size, area, multiple, expected, min_side):
    assert snapped_size(size, area, multiple, min_side) == expected
    assert all(side % multiple == 0 for side in expected)


def textured(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(noise).filter(ImageFilter.GaussianBlur(2))


def test_shift_between_measures_a_known_shift_and_none_for_the_same_image():
    scene = textured((300, 200))
    reference = scene.crop((10, 10, 160, 107))
    moved = scene.crop((6, 13, 156, 110))  # the content moved 4 px right and 3 px up
    assert shift_between(reference, reference) == pytest.approx((0.0, 0.0), abs=1e-6)
    assert shift_between(reference, moved) == pytest.approx((4.0, -3.0), abs=0.05)
    assert shift_between(reference, ImageChops.offset(reference, -2, 5)) == pytest.approx((-2.0, 5.0), abs=0.05)


@pytest.mark.parametrize("name", EDITORS)
def test_the_geometry_round_trip_does_not_shift_the_unchanged_region(name, editor_dirs):
    # What the editor does around the model (resize to the working size, resize back) must leave an
    # unchanged region where it was; the model's own shift is measured on a GPU with real weights.
    tool = editor(name, editor_dirs)
    image = textured(PHOTO, seed=3)
    work = image.resize(tool.work_size(tool.pipeline(), image.size), Image.Resampling.LANCZOS)
    restored = work.resize(image.size, Image.Resampling.LANCZOS)
    dx, dy = shift_between(image, restored)
    assert abs(dx) < 0.1 and abs(dy) < 0.1


def test_keep_unchanged_copies_back_only_the_pixels_the_edit_left_alone():
    original = gradient(PHOTO)
    edited = original.copy()
    edited.paste((255, 0, 0), (20, 20, 60, 50))  # the edit
    noisy = Image.fromarray(np.clip(np.asarray(edited, np.int16) + 3, 0, 255).astype(np.uint8))  # model drift
    kept = composite_unchanged(original, noisy, threshold=8)
    assert kept.getpixel((100, 80)) == original.getpixel((100, 80))  # drift outside the edit is undone
    assert kept.getpixel((40, 35)) == noisy.getpixel((40, 35))  # the edit itself stays
    assert composite_unchanged(original, noisy, threshold=0) is noisy


def test_keep_unchanged_reaches_the_result(editor_dirs):
    tool = editor("flux2_klein", editor_dirs)
    plain = tool(gradient(PHOTO), tool.Params(instruction="make it snowy", steps=1), seed=2)
    kept = tool(gradient(PHOTO), tool.Params(instruction="make it snowy", steps=1, keep_unchanged=64), seed=2)
    changed = np.abs(np.asarray(plain, np.int16) - np.asarray(gradient(PHOTO), np.int16)).max(axis=2) < 64
    assert not np.array_equal(np.asarray(plain), np.asarray(kept)) and changed.any()


def test_cancel_from_progress_stops_between_steps(editor_dirs):
    tool = editor("flux2_klein", editor_dirs)
    steps: list[int] = []

    def progress(step: int, total: int) -> None:
        steps.append(step)
        if step == 2:
            raise EditCancelled("stop")

    with pytest.raises(EditCancelled):
        tool(gradient(PHOTO), tool.Params(instruction="make it snowy", steps=6), seed=1, progress=progress)
    assert steps == [0, 1, 2]


def lightning_like_lora(tool: DiffusionEditor, path: Path) -> Path:
    """A random rank-4 LoRA on every attention's to_q and to_v, in the diffusers/peft file format."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(0)
    weights = {}
    for name, module in tool.pipeline().transformer.named_modules():
        if name.endswith(("attn.to_q", "attn.to_v")):
            weights[f"transformer.{name}.lora_A.weight"] = torch.randn(4, module.in_features, generator=generator) / 2
            weights[f"transformer.{name}.lora_B.weight"] = torch.randn(module.out_features, 4, generator=generator) / 2
    save_file(weights, str(path))
    return path


def test_a_lightning_lora_is_fused_into_its_own_pipeline_and_recorded(editor_dirs, tmp_path):
    base = editor("qwen_image_edit", editor_dirs)
    lora = lightning_like_lora(base, tmp_path / "lightning.safetensors")
    fast = editor("qwen_image_edit", editor_dirs, lora=lora)
    params = fast.Params(instruction="make it snowy", steps=1)
    assert fast.call_arguments(params, gradient(PHOTO))["true_cfg_scale"] == 1.0  # the Lightning tier: no CFG
    settings = fast.recipe_settings(params)
    assert settings["lora"] == "lightning.safetensors" and settings["cfg_run"] == 1.0
    assert settings["negative_prompt"] is None
    plain = base(gradient(PHOTO), base.Params(instruction="make it snowy", steps=1, true_cfg_scale=1.0), seed=4)
    assert not np.array_equal(np.asarray(fast(gradient(PHOTO), params, seed=4)), np.asarray(plain))
    assert base.pipeline() is not fast.pipeline()  # the base weights stay unfused for the other tier
    missing = editor("qwen_image_edit", editor_dirs, lora=tmp_path / "none.safetensors")
    assert "no LoRA file" in (missing.unavailable_reason() or "")


@pytest.mark.parametrize("name", EDITORS)
def test_missing_weights_name_the_path_and_how_to_enable(name, tmp_path):
    unset = CLASSES[name](None, allow_cpu=True)
    reason = unset.unavailable_reason() or ""
    setting = f"DIALOGPAINT_{name.upper()}_PATH"
    assert "no weights configured" in reason and "pip install 'dialogpaint[gpu]'" in reason and setting in reason
    missing = CLASSES[name](tmp_path / "nowhere", allow_cpu=True)
    assert str(tmp_path / "nowhere") in (missing.unavailable_reason() or "")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ToolUnavailable, match=r"no model_index\.json"):
        CLASSES[name](tmp_path / "empty", allow_cpu=True).pipeline()
    session = open_session(missing, call(name, instruction="turn the sky purple"))
    reply = session.send("turn the sky purple")
    assert reply.error and "nowhere" in reply.text and len(reply.revisions) == 1


@pytest.mark.parametrize("name", EDITORS)
def test_an_incomplete_folder_and_a_missing_gpu_are_reported(name, editor_dirs, tmp_path):
    import torch

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text((editor_dirs[name] / "model_index.json").read_text())
    with pytest.raises(ToolUnavailable, match="is incomplete"):
        CLASSES[name](broken, allow_cpu=True).pipeline()
    if not torch.cuda.is_available():
        with pytest.raises(ToolUnavailable, match=r"no CUDA GPU.*--allow-cpu"):
            CLASSES[name](editor_dirs[name]).pipeline()


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
