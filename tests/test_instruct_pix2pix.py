"""InstructPix2Pix on a tiny random-weight pipeline, saved and loaded through the users' factory.

The pipeline is built offline once per test session, saved with ``save_pretrained`` and loaded by
``InstructPix2Pix`` exactly as ``--model-path DIR`` does; edits run through the graph on the CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from PIL import Image

from agent.models.prompts import SYSTEM_PROMPT
from agent.session.engine import Engine
from agent.session.session import Session
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, ScriptedChatModel, ai, call, gradient
from tools.errors import EditCancelled, EditFailed, ToolUnavailable
from tools.instruct_pix2pix import InstructPix2Pix, InstructPix2PixParams, checked_frame, working_size
from tools.pix2pix_pipeline import SCHEDULERS, load_pipeline

pytest.importorskip("diffusers", reason="the gpu extra (diffusers, transformers, torch) is not installed")
pytestmark = pytest.mark.usefixtures("one_torch_thread")
ROOT = Path(__file__).resolve().parents[1]
SIDE = 64  # the working size of most tests: 8x8 latents keep a step in milliseconds
PHOTO = (150, 97)  # an input whose sides are not multiples of 64


@pytest.fixture
def editor(model_dir: Path) -> InstructPix2Pix:
    return InstructPix2Pix(model_dir, allow_cpu=True, max_side=SIDE)


@pytest.fixture
def pipe(editor: InstructPix2Pix) -> Any:
    return editor.pipeline()


def photo(size: tuple[int, int] = PHOTO) -> Image.Image:
    return gradient(size)


def open_session(
    editor: InstructPix2Pix,
    *calls: dict[str, Any] | AIMessage,
    image: Image.Image | None = None,
    offer_unready: bool = False,
) -> Session:
    """A session whose scripted model makes one pix2pix call per message (``offer_unready``: even when it
    cannot run, to see the edit's own error).
    """
    model = ScriptedChatModel(script=[c if isinstance(c, AIMessage) else ai(c) for c in calls])
    deps = GraphDeps(
        model, {editor.name: editor}, MemoryImageStore(), SYSTEM_PROMPT, confirm="never", offer_unready=offer_unready
    )
    return Engine(build_graph(InMemorySaver()), deps).open(image or photo())


def edit_call(**args: Any) -> dict[str, Any]:
    return call("instruct_pix2pix", **{"instruction": "turn the sky purple", "steps": 3, **args})


def pixels(session: Session) -> np.ndarray:
    return np.asarray(session.image(), dtype=np.int16)


@pytest.fixture
def calls_seen(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every call of the diffusers pipeline: its keyword arguments, scheduler and input size."""
    from diffusers import StableDiffusionInstructPix2PixPipeline as Pipeline

    seen: list[dict[str, Any]] = []
    original = Pipeline.__call__

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(
            {**kwargs, "prompt": args[0], "scheduler": type(self.scheduler).__name__, "size": kwargs["image"].size}
        )
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "__call__", spy)
    return seen


def test_edit_through_the_graph_runs_every_step_and_keeps_the_input_size(editor, calls_seen):
    session = open_session(editor, edit_call(steps=4, seed=7))
    events: list[dict[str, Any]] = []
    reply = session.send("turn the sky purple", on_event=events.append)
    assert reply.action == "edit" and reply.error is None and reply.tool == "instruct_pix2pix"
    assert [e["step"] for e in events if e["kind"] == "progress"] == [0, 1, 2, 3, 4]
    assert {e["total"] for e in events if e["kind"] == "progress"} == {4}
    assert session.image().size == PHOTO and calls_seen[0]["size"] == working_size(PHOTO, SIDE) == (64, 64)
    assert np.abs(pixels(session) - np.asarray(photo(), dtype=np.int16)).mean() > 1
    assert session.head["params"]["seed"] == 7 and session.head["params"]["steps"] == 4


def test_same_seed_same_image_other_seed_other_image(editor):
    first = open_session(editor, edit_call(seed=11), edit_call(seed=12))
    first.send("turn the sky purple")
    same = open_session(editor, edit_call(seed=11))
    same.send("turn the sky purple")
    assert first.head["image"] == same.head["image"]
    first.send("again with another seed")
    assert first.head["image"] != same.head["image"]


def test_guidance_scales_steps_and_scheduler_reach_the_pipeline(editor, calls_seen):
    session = open_session(
        editor, edit_call(steps=2, guidance_scale=9.0, image_guidance_scale=1.2, scheduler="ddim", seed=1)
    )
    session.send("turn the sky purple")
    (seen,) = calls_seen
    assert (seen["num_inference_steps"], seen["guidance_scale"], seen["image_guidance_scale"]) == (2, 9.0, 1.2)
    assert seen["prompt"] == "turn the sky purple" and seen["generator"].initial_seed() == 1
    assert seen["scheduler"] == "DDIMScheduler"
    assert editor.pipeline().scheduler.__class__.__name__ == "EulerAncestralDiscreteScheduler"  # shared one kept


def test_image_guidance_changes_the_result(editor):
    params = {"instruction": "turn the sky purple", "steps": 2}
    loose = editor(photo(), InstructPix2PixParams(**params, image_guidance_scale=1.0), seed=3)
    close = editor(photo(), InstructPix2PixParams(**params, image_guidance_scale=3.0), seed=3)
    assert not np.array_equal(np.asarray(loose), np.asarray(close))


@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
def test_each_scheduler_really_switches_and_gives_finite_output(editor, calls_seen, scheduler):
    result = editor(photo(), InstructPix2PixParams(instruction="make it snowy", steps=2, scheduler=scheduler), seed=5)
    assert calls_seen[0]["scheduler"] == SCHEDULERS[scheduler] and result.size == PHOTO


@pytest.mark.parametrize(
    ("size", "side", "expected"),
    [((150, 97), 64, (64, 64)), ((1024, 768), 512, (512, 384)), ((300, 1000), 512, (128, 512)),
     ((100, 70), 512, (512, 384)), ((4000, 30), 512, (512, 64))],
)  # fmt: skip
def test_working_size_long_side_to_max_in_multiples_of_64(size, side, expected):
    assert working_size(size, side) == expected


def test_round_trip_at_a_larger_working_size(model_dir, calls_seen):
    tool = InstructPix2Pix(model_dir, allow_cpu=True, max_side=128)
    image = photo((201, 133))
    result = tool(image, InstructPix2PixParams(instruction="make it autumn", steps=2), seed=2)
    assert result.size == (201, 133) and calls_seen[0]["size"] == (128, 64)


def test_an_image_larger_than_any_working_size_is_edited_at_the_working_size(editor, calls_seen):
    # A 6000 px photo used to be refused ("accepts up to 4096 px") though it is resized for the model anyway.
    large = Image.linear_gradient("L").resize((6000, 900)).convert("RGB")
    session = open_session(editor, edit_call(steps=1, seed=3), image=large)
    reply = session.send("turn the sky purple")
    assert reply.action == "edit" and reply.error is None and len(session.revisions) == 2
    assert calls_seen[0]["size"] == working_size(large.size, SIDE) and session.image().size == large.size


@contextmanager
def poisoned_decoder(pipe: Any, weight: float, bias: float) -> Iterator[None]:
    """Make the VAE decoder's last layer output a constant (NaN, or very negative: black), then restore."""
    import torch

    layer = pipe.vae.decoder.conv_out
    saved = {k: v.clone() for k, v in layer.state_dict().items()}
    with torch.no_grad():
        layer.weight.fill_(weight)
        layer.bias.fill_(bias)
    try:
        yield
    finally:
        layer.load_state_dict(saved)


@pytest.mark.parametrize(("weight", "bias", "word"), [(float("nan"), 0.0, "NaN"), (0.0, -50.0, "all-black")])
def test_nan_or_black_output_fails_without_a_revision(editor, pipe, weight, bias, word):
    session = open_session(editor, edit_call(seed=4), edit_call(seed=4))
    with poisoned_decoder(pipe, weight, bias):
        reply = session.send("turn the sky purple")
    assert reply.error and word in reply.text and len(reply.revisions) == 1
    assert session.send("turn the sky purple").error is None  # the same edit works once the model is sane


def test_safety_checker_substitution_is_a_failed_edit(editor, monkeypatch):
    from diffusers import StableDiffusionInstructPix2PixPipeline as Pipeline

    def flag_everything(self: Any, image: Any, device: Any, dtype: Any) -> tuple[Any, list[bool]]:
        return image * 0 - 1, [True]  # what the SD safety checker does: a black image and a flag

    monkeypatch.setattr(Pipeline, "run_safety_checker", flag_everything)
    session = open_session(editor, edit_call())
    reply = session.send("turn the sky purple")
    assert reply.error and "safety checker" in reply.text and len(reply.revisions) == 1


def test_checked_frame_accepts_a_dark_but_not_black_frame():
    frame = np.full((4, 4, 3), 2 / 255, dtype=np.float32)
    assert checked_frame(frame).getpixel((0, 0)) == (2, 2, 2)
    with pytest.raises(EditFailed, match="all-black"):
        checked_frame(frame * 0)


def test_cancel_from_the_progress_callback_stops_the_run(editor):
    steps: list[int] = []

    def progress(step: int, total: int) -> None:
        steps.append(step)
        if step == 2:
            raise EditCancelled("stop")

    with pytest.raises(EditCancelled):
        editor(photo(), InstructPix2PixParams(instruction="make it snowy", steps=6), seed=1, progress=progress)
    assert steps == [0, 1, 2]


def test_session_cancel_stops_the_running_edit_and_makes_no_revision(editor):
    session = open_session(editor, edit_call(steps=50), edit_call(steps=2))
    steps: list[int] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["kind"] == "progress":
            steps.append(event["step"])
            if event["step"] == 1:
                assert session.cancel() is True  # a run is in progress

    reply = session.send("turn the sky purple", on_event=on_event)
    assert reply.error and "Cancelled" in reply.text and len(reply.revisions) == 1
    assert max(steps) < 50
    assert session.send("turn the sky purple").error is None  # the flag is cleared for the next message


def test_out_of_memory_is_reported_and_the_next_edit_works(editor, pipe, monkeypatch):
    import torch

    original = type(pipe.unet).forward
    failures = iter([True])

    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        if next(failures, False):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe.unet), "forward", forward)
    session = open_session(editor, edit_call(), edit_call())
    reply = session.send("turn the sky purple")
    assert reply.error and "out of GPU memory" in reply.text and len(reply.revisions) == 1
    assert session.send("turn the sky purple").error is None and len(session.revisions) == 2


def test_missing_weights_name_the_path_and_how_to_get_them(tmp_path):
    missing = InstructPix2Pix(tmp_path / "nowhere", allow_cpu=True)
    reason = missing.unavailable_reason()
    assert reason and str(tmp_path / "nowhere") in reason and "hf download timbrooks/instruct-pix2pix" in reason
    (tmp_path / "empty").mkdir()
    with pytest.raises(ToolUnavailable, match=r"no model_index\.json"):
        InstructPix2Pix(tmp_path / "empty", allow_cpu=True).pipeline()
    with pytest.raises(ToolUnavailable, match=r"not cached locally.*--model-path"):
        load_pipeline("dialogpaint-tests/no-such-model", "cpu", allow_cpu=True)
    session = open_session(missing, edit_call(), offer_unready=True)
    reply = session.send("turn the sky purple")
    assert reply.error and "nowhere" in reply.text and len(reply.revisions) == 1
    refused = open_session(missing, edit_call(), ai(text="It cannot run here."))  # by default: never offered
    assert refused.send("turn the sky purple").text == "It cannot run here." and len(refused.revisions) == 1


def test_a_broken_pipeline_folder_is_reported(tmp_path, model_dir):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text((model_dir / "model_index.json").read_text())
    with pytest.raises(ToolUnavailable, match="incomplete"):
        load_pipeline(str(broken), "cpu", allow_cpu=True)


def test_cpu_needs_explicit_permission(model_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present, so the CPU is never chosen by default")
    with pytest.raises(ToolUnavailable, match=r"no CUDA GPU.*--allow-cpu"):
        InstructPix2Pix(model_dir).pipeline()
    with pytest.raises(ToolUnavailable, match=r"'cuda:0'.*no CUDA GPU"):
        InstructPix2Pix(model_dir, device="cuda:0", allow_cpu=True).pipeline()


def test_cli_run_edits_with_the_chosen_editor(tmp_path, model_dir):
    photo().save(tmp_path / "in.png")
    (tmp_path / "script.txt").write_text("turn the sky purple\nundo\nredo\n")
    env = {
        **os.environ,
        "DIALOGPAINT_DATA_DIR": str(tmp_path / "data"),
        "DIALOGPAINT_EDITOR_MAX_SIDE": "64",
        "OMP_NUM_THREADS": "1",
    }
    command = [
        sys.executable, "-m", "agent.cli", "--allow-cpu", "--confirm", "never", "run", "script.txt", "--image",
        "in.png", "--editor", "instruct_pix2pix", "--model-path", str(model_dir), "--json", "--save", "out.png",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["action"] for t in turns] == ["edit", "undo", "redo"]
    assert turns[0]["tool"] == "instruct_pix2pix" and turns[0]["revisions"] == 2
    out = Image.open(tmp_path / "out.png")
    assert out.size == PHOTO and np.abs(np.asarray(out, np.int16) - np.asarray(photo(), np.int16)).mean() > 1


def test_cli_editor_without_a_model_fails_before_the_first_turn(tmp_path):
    photo().save(tmp_path / "in.png")
    (tmp_path / "script.txt").write_text("turn the sky purple\n")
    env = {**os.environ, "DIALOGPAINT_DATA_DIR": str(tmp_path / "data")}
    env.pop("DIALOGPAINT_MODEL_PATH", None)
    command = [
        sys.executable,
        "-m",
        "agent.cli",
        "--editor",
        "instruct_pix2pix",
        "run",
        "script.txt",
        "--image",
        "in.png",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert result.returncode == 2 and "no model configured" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not result.stdout


def test_editor_is_loaded_at_startup_and_alone(tmp_path, model_dir):
    import torch

    from agent.settings import Settings
    from agent.wiring import build_tools, create_engine

    settings = Settings(data_dir=tmp_path, editor="instruct_pix2pix", model_path=str(model_dir), allow_cpu=True)
    with create_engine(settings) as engine:
        assert list(engine.deps.tools) == ["instruct_pix2pix"]
    if not torch.cuda.is_available():
        no_cpu = settings.model_copy(update={"allow_cpu": False})
        with pytest.raises(ToolUnavailable, match="--allow-cpu"):
            create_engine(no_cpu)
        assert list(build_tools(no_cpu)) == ["instruct_pix2pix"]  # describing the tools loads nothing


def test_tools_listing_with_an_editor_that_cannot_run_shows_why_instead_of_failing(tmp_path):
    env = {**os.environ, "DIALOGPAINT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "400"}
    env.pop("DIALOGPAINT_MODEL_PATH", None)
    command = [sys.executable, "-m", "agent.cli", "--editor", "instruct_pix2pix", "tools"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "instruct_pix2pix" in result.stdout and "no model configured" in result.stdout
    assert "pip install 'dialogpaint[gpu]'" in result.stdout  # rich markup must not eat the extra's name


def test_a_request_for_the_missing_editor_in_chat_shows_the_install_hint_with_the_extras_name(tmp_path):
    env = {**os.environ, "DIALOGPAINT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "400"}
    env.pop("DIALOGPAINT_MODEL_PATH", None)
    image = Path(__file__).resolve().parents[1] / "eval_sets" / "images" / "still-life.png"
    command = [sys.executable, "-m", "agent.cli", "--confirm", "never", "chat", str(image), "--out", str(tmp_path)]
    said = "make it look like winter\n/quit\n"
    result = subprocess.run(command, input=said, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    reply = next(line for line in result.stdout.splitlines() if line.startswith("dialogpaint ("))
    assert reply.startswith("dialogpaint (chat)") and "can't run here" in reply  # never proposed, never run
    assert "pip install 'dialogpaint[gpu]'" in reply


@pytest.mark.gpu
def test_on_cuda_the_factory_loads_fp16_channels_last(model_dir):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    tool = InstructPix2Pix(model_dir, max_side=128)
    pipe = tool.pipeline()
    assert pipe.unet.dtype == torch.float16 and pipe.device.type == "cuda"
    assert pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert tool(photo(), InstructPix2PixParams(instruction="make it snowy", steps=3), seed=1).size == PHOTO


def real_weights() -> str:
    path = os.environ.get("DIALOGPAINT_TEST_MODEL_PATH", "")
    if not path:
        pytest.skip("set DIALOGPAINT_TEST_MODEL_PATH to a local timbrooks/instruct-pix2pix download")
    return path


@pytest.mark.gpu
@pytest.mark.weights
def test_real_weights_on_gpu_edit_at_512_in_fp16():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    tool = InstructPix2Pix(real_weights())
    image = photo((640, 480))
    params = InstructPix2PixParams(instruction="make it look like winter")
    first, again = tool(image, params, seed=42), tool(image, params, seed=42)
    assert tool.pipeline().unet.dtype == torch.float16 and first.size == (640, 480)
    assert np.array_equal(np.asarray(first), np.asarray(again))


def test_gpu_bench_times_and_measures_the_device_it_was_given(monkeypatch):
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("bench_gpu_pix2pix", ROOT / "bench" / "bench_gpu_pix2pix.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    calls: list[tuple[str, object]] = []
    for name in ("synchronize", "reset_peak_memory_stats", "memory_allocated", "max_memory_allocated"):
        monkeypatch.setattr(torch.cuda, name, lambda device=None, name=name: calls.append((name, device)) or 0)
    pipe = SimpleNamespace(components={})
    _, peak, output, status = bench.timed(lambda: "edited", pipe, 2, "cuda:1")
    assert (output, status, peak) == ("edited", "ok", 0.0)
    assert len(calls) == 6 and {device for _, device in calls} == {"cuda:1"}


def test_serve_tool_loads_the_model_before_serving(tmp_path, model_dir, monkeypatch):
    from agent.settings import Settings
    from agent.wiring import build_tool_app
    from tools import pix2pix_pipeline

    monkeypatch.setattr(pix2pix_pipeline, "_pipelines", {})  # as in a fresh server process
    app = build_tool_app("instruct_pix2pix", Settings(data_dir=tmp_path, model_path=str(model_dir), allow_cpu=True))
    assert app.tool.name == "instruct_pix2pix" and list(pix2pix_pipeline._pipelines) == [(str(model_dir), "cpu")]


def test_a_sticky_cuda_error_marks_the_tool_unavailable_until_reloaded(editor, pipe, monkeypatch):
    original = type(pipe.unet).forward

    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("CUDA error: an illegal memory access was encountered\nCompile with TORCH_USE_CUDA_DSA")

    monkeypatch.setattr(type(pipe.unet), "forward", forward)
    session = open_session(editor, edit_call(), edit_call(), ai(text="It cannot run now."), edit_call())
    assert editor.unavailable_reason() is None
    reply = session.send("turn the sky purple")
    assert reply.error and len(reply.revisions) == 1
    assert "illegal memory access" in (editor.unavailable_reason() or "")
    refused = session.send("turn the sky purple")  # no longer offered: a call to it is refused, no GPU call
    model = session.engine.deps.model
    assert refused.text == "It cannot run now." and "until reloaded" in str(model.seen[-1][-1].content)  # type: ignore[attr-defined]
    monkeypatch.setattr(type(pipe.unet), "forward", original)
    editor.load()
    assert editor.unavailable_reason() is None and session.send("turn the sky purple").error is None
