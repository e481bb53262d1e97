"""Qwen-Image-Edit, FLUX.2 klein and LongCat-Image-Edit on tiny random-weight pipelines, as users load them.

Each pipeline is built offline once per test session (tests/tiny_editors.py), saved with
``save_pretrained`` and loaded by its tool from the folder, as the weights path settings do; edits run
through a Session on the CPU, and replays must be bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from PIL import Image

from agent.models.prompts import SYSTEM_PROMPT
from agent.session.engine import Engine
from agent.session.provenance import read_provenance
from agent.session.session import Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, ScriptedChatModel, ai, call, gradient
from tests.tiny_editors import EDITORS, NO_CFG, PHOTO, editor, editor_class
from tools.base import readiness
from tools.diffusion_editor import DiffusionEditor
from tools.errors import EditCancelled, ToolUnavailable

pytest.importorskip("diffusers", reason="the gpu extra (diffusers, transformers, torch) is not installed")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def open_session(
    tool: DiffusionEditor, *calls: dict[str, Any], image: Image.Image | None = None, offer_unready: bool = False
) -> Session:
    """A session whose scripted model makes one call per message (``offer_unready``: even when the editor
    cannot run, to see the edit's own error).
    """
    model = ScriptedChatModel(script=[ai(c) for c in calls])
    deps = GraphDeps(
        model, {tool.name: tool}, MemoryImageStore(), SYSTEM_PROMPT, confirm="never", offer_unready=offer_unready
    )
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


@contextmanager
def transformer_forward(tool: DiffusionEditor, replacement: Callable[..., Any]) -> Iterator[None]:
    """Run the editor's transformer through ``replacement(original, self, *args, **kwargs)``, then restore it."""
    cls = type(tool.pipeline().transformer)
    original = cls.forward
    cls.forward = lambda self, *args, **kwargs: replacement(original, self, *args, **kwargs)  # type: ignore[method-assign]
    try:
        yield
    finally:
        cls.forward = original  # type: ignore[method-assign]


def nan_output(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    output = original(self, *args, **kwargs)
    return (output[0] * float("nan"), *output[1:])


def out_of_memory(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    import torch

    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def illegal_address(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("CUDA error: an illegal memory access was encountered\nCompile with TORCH_USE_CUDA_DSA")


@pytest.mark.parametrize("name", EDITORS)
@pytest.mark.parametrize(("fault", "said"), [(nan_output, "NaN"), (out_of_memory, "out of GPU memory")])
def test_nan_output_or_out_of_memory_fails_without_a_revision_and_the_next_edit_works(name, fault, said, editor_dirs):
    tool = editor(name, editor_dirs)
    edit = call(name, instruction="turn the sky purple", steps=1, seed=4, **NO_CFG.get(name, {}))
    session = open_session(tool, edit, edit)
    with transformer_forward(tool, fault):
        reply = session.send("turn the sky purple")
    assert reply.error and said in reply.text and len(reply.revisions) == 1
    assert session.send("turn the sky purple").error is None and len(session.revisions) == 2


@pytest.mark.parametrize("name", EDITORS)
def test_a_sticky_cuda_error_marks_the_editor_unavailable_until_reloaded(name, editor_dirs):
    tool = editor(name, editor_dirs)
    edit = call(name, instruction="turn the sky purple", steps=1, **NO_CFG.get(name, {}))
    session = open_session(tool, edit, edit, edit, offer_unready=True)
    with transformer_forward(tool, illegal_address):
        assert session.send("turn the sky purple").error
        assert "illegal memory access" in (tool.unavailable_reason() or "")
        assert "until reloaded" in session.send("turn the sky purple").text  # refused at once, no GPU call
    tool.load()
    assert tool.unavailable_reason() is None and session.send("turn the sky purple").error is None


def test_same_seed_same_image_other_seed_other_image(editor_dirs):
    tool = editor("flux2_klein", editor_dirs)
    params = tool.Params(instruction="make it snowy", steps=2)
    first, again, other = (np.asarray(tool(gradient(PHOTO), params, seed=s)) for s in (11, 11, 12))
    assert np.array_equal(first, again) and not np.array_equal(first, other)


@pytest.mark.parametrize("name", EDITORS)
def test_missing_weights_name_the_path_and_how_to_enable(name, tmp_path):
    unset = editor_class(name)(None, allow_cpu=True)
    reason = unset.unavailable_reason() or ""
    setting = f"DIALOGPAINT_{name.upper()}_PATH"
    assert "no weights configured" in reason and "pip install 'dialogpaint[gpu]'" in reason and setting in reason
    missing = editor_class(name)(tmp_path / "nowhere", allow_cpu=True)
    assert str(tmp_path / "nowhere") in (missing.unavailable_reason() or "")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ToolUnavailable, match=r"no model_index\.json"):
        editor_class(name)(tmp_path / "empty", allow_cpu=True).pipeline()
    session = open_session(missing, call(name, instruction="turn the sky purple"), offer_unready=True)
    reply = session.send("turn the sky purple")
    assert reply.error and "nowhere" in reply.text and len(reply.revisions) == 1
    assert not readiness(missing).ready and "nowhere" in readiness(missing).reason  # so chat never offers it


@pytest.mark.parametrize("name", EDITORS)
def test_an_incomplete_folder_and_a_missing_gpu_are_reported(name, editor_dirs, tmp_path):
    import torch

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text((editor_dirs[name] / "model_index.json").read_text())
    with pytest.raises(ToolUnavailable, match="is incomplete"):
        editor_class(name)(broken, allow_cpu=True).pipeline()
    if not torch.cuda.is_available():
        with pytest.raises(ToolUnavailable, match=r"no CUDA GPU.*--allow-cpu"):
            editor_class(name)(editor_dirs[name]).pipeline()
