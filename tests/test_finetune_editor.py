"""finetune-editor on tiny random models: the loss learns a fixed batch, resume, and the chain pairs -> tune -> edit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from PIL import Image
from typer.testing import CliRunner

from agent.cli import app
from agent.models.prompts import SYSTEM_PROMPT
from agent.session.engine import Engine
from graphs.deps import GraphDeps
from graphs.graph import build_graph
from tests.fakes import MemoryImageStore, ScriptedChatModel, ai, call, gradient
from tests.test_make_pairs import KEEP_ALL, ROWS, make_pairs, write_rows

pytest.importorskip("diffusers", reason="the train extra (diffusers, transformers, torch) is not installed")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def fresh_accelerate_state() -> Iterator[None]:
    """accelerate keeps one process-wide state (mixed precision included): each run starts its own, as a CLI call."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def test_widened_unet_learns_a_fixed_batch(models):
    import torch

    from agent.train.editor.loop import denoising_loss
    from agent.train.editor.models import load_parts

    parts = load_parts(models["sd"])
    assert parts.unet.config.in_channels == 8 and not parts.unet.conv_in.weight[:, 4:].any()
    tokens = parts.tokenizer(["make it summer"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    batch = {"input_pixels": torch.rand(2, 3, 64, 64) * 2 - 1, "edited_pixels": torch.rand(2, 3, 64, 64) * 2 - 1,
             "input_ids": tokens.repeat(2, 1)}  # fmt: skip
    parts.vae.requires_grad_(False)
    parts.text_encoder.requires_grad_(False)
    optimizer = torch.optim.AdamW(parts.unet.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):  # the same noise, timesteps and dropout draw each step: a fixed batch
        loss = denoising_loss(parts, parts.unet.train(), batch, 0.05, torch.Generator().manual_seed(0))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] < losses[0] * 0.9, losses


def unet_weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    (weights,) = (folder / "unet").glob("*.safetensors")
    return load_file(weights)


def test_pairs_then_finetune_with_resume_then_the_tool_edits_through_a_session(models, tmp_path):
    import torch

    from tools.instruct_pix2pix import InstructPix2Pix

    # 1. make-pairs: two captions -> an imagefolder.
    pairs = tmp_path / "pairs"
    code, output = make_pairs(models, write_rows(tmp_path / "rows.jsonl", ROWS), pairs, *KEEP_ALL)
    assert code == 0, output
    # 2. finetune-editor from the text-to-image checkpoint, stopped at step 1 (mid-epoch), then resumed to step 3.
    tuned = tmp_path / "tuned"
    args = ["finetune-editor", str(pairs), "--base", str(models["sd"]), "--out", str(tuned), "--batch-size", "1",
            "--resolution", "64", "--checkpoint-every", "1", "--ema"]  # fmt: skip
    first = CliRunner().invoke(app, [*args, "--steps", "1"])
    assert first.exit_code == 0 and "trained steps 0..1" in first.output, first.output
    second = CliRunner().invoke(app, [*args, "--steps", "3"])
    assert second.exit_code == 0 and "trained steps 1..3" in second.output, second.output
    summary = json.loads((tuned / "training.json").read_text())
    assert summary["start_step"] == 1 and len(summary["losses"]) == 2
    assert sorted(p.name for p in (tuned / "checkpoints").iterdir()) == [f"checkpoint-{n}" for n in (1, 2, 3)]
    # The resumed run ends where an unbroken one does: same data order, flips, noise, optimizer and EMA state.
    straight = CliRunner().invoke(app, [*args[:5], str(tmp_path / "straight"), *args[6:], "--steps", "3"])
    assert straight.exit_code == 0, straight.output
    assert json.loads((tmp_path / "straight" / "training.json").read_text())["losses"][1:] == summary["losses"]
    assert unet_weights(tuned).keys() == unet_weights(tmp_path / "straight").keys()
    for name, tensor in unet_weights(tmp_path / "straight").items():
        assert torch.allclose(tensor, unet_weights(tuned)[name], atol=1e-6), name
    # 3. The tool loads the result through its factory and edits through a Session.
    editor = InstructPix2Pix(tuned, allow_cpu=True, max_side=64)
    assert editor.pipeline().unet.config.in_channels == 8
    model = ScriptedChatModel(script=[ai(call("instruct_pix2pix", instruction="make it summer", steps=2, seed=1))])
    deps = GraphDeps(model, {editor.name: editor}, MemoryImageStore(), SYSTEM_PROMPT, confirm="never")
    session = Engine(build_graph(InMemorySaver()), deps).open(gradient())
    reply = session.send("make it summer")
    assert reply.action == "edit" and reply.error is None and len(session.revisions) == 2
    assert isinstance(session.image(), Image.Image)


def test_bf16_with_gradient_checkpointing_trains_and_saves_fp32(models, tmp_path):
    import torch

    from agent.train.editor.loop import EditorRecipe, finetune_editor

    code, output = make_pairs(models, write_rows(tmp_path / "rows.jsonl", ROWS[:1]), tmp_path / "pairs", *KEEP_ALL)
    assert code == 0, output
    recipe = EditorRecipe(base=models["sd"], data=tmp_path / "pairs", out=tmp_path / "tuned", steps=1, batch_size=1,
                          resolution=64, mixed_precision="bf16", gradient_checkpointing=True)  # fmt: skip
    report = finetune_editor(recipe)
    assert report.steps == 1 and torch.isfinite(torch.tensor(report.losses)).all()
    assert {t.dtype for t in unet_weights(tmp_path / "tuned").values()} == {torch.float32}


def test_magicbrush_parquet_folder_reads_as_the_three_columns(tmp_path):
    from datasets import Dataset, Features, Value
    from datasets import Image as ImageFeature

    from agent.train.editor.data import load_pairs

    image = gradient((32, 32))
    rows = {"img_id": ["1"], "turn_index": [1], "source_img": [image], "mask_img": [image],
            "instruction": ["add a hat"], "target_img": [image]}  # fmt: skip
    features = Features(
        {
            "img_id": Value("string"),
            "turn_index": Value("int32"),
            "source_img": ImageFeature(),
            "mask_img": ImageFeature(),
            "instruction": Value("string"),
            "target_img": ImageFeature(),
        }
    )
    (tmp_path / "data").mkdir()
    Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / "data" / "train-00000.parquet"))
    dataset = load_pairs(tmp_path)
    assert dataset.column_names == ["input_image", "edit_prompt", "edited_image"]
    assert dataset[0]["edit_prompt"] == "add a hat" and dataset[0]["input_image"].size == (32, 32)


def test_a_folder_without_pairs_or_a_base_that_is_no_pipeline_is_one_error_line(models, tmp_path):
    result = CliRunner().invoke(app, ["finetune-editor", str(tmp_path), "--base", str(models["sd"]),
                                      "--out", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 2 and "neither a metadata.jsonl" in result.output
    (tmp_path / "metadata.jsonl").write_text("")
    result = CliRunner().invoke(app, ["finetune-editor", str(tmp_path), "--base", str(tmp_path), "--out", "o"])
    assert result.exit_code == 2 and "holds no pairs" in result.output
