"""The CLIP image metrics on a tiny randomly initialised CLIP built offline and loaded like real weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.cli import app
from tests.tiny_training import save_tiny_clip
from tools.clip import ClipUnavailable, load_clip

STILL_LIFE = Path(__file__).resolve().parents[1] / "eval_sets" / "images" / "still-life.png"
APPLE = {
    "id": "apple", "image": str(STILL_LIFE), "caption": "a red apple and a blue cup",
    "turns": [{"user": "make it black and white", "expect": "edit"}, {"user": "undo", "expect": "undo"},
              {"user": "add a vignette", "expect": "edit"}],
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


def test_similarities_from_a_saved_clip(tiny_clip):
    scorer = load_clip(tiny_clip)
    apple = Image.open(STILL_LIFE)
    grey = apple.convert("L").convert("RGB")
    assert scorer.image_similarity(apple, apple) == pytest.approx(1.0, abs=1e-5)
    assert -1 <= scorer.image_similarity(apple, grey) < 1
    assert scorer.directional_similarity(apple, apple, "a picture", "make it grey; a picture") == 0
    moved = scorer.directional_similarity(apple, grey, "a picture", "make it grey; a picture")
    assert -1 <= moved <= 1 and moved != 0
    with pytest.raises(ClipUnavailable, match="no CLIP weights at"):
        load_clip(tiny_clip / "missing")


def test_eval_reports_clip_metrics_for_edited_turns(tiny_clip, tmp_path):
    (tmp_path / "set.jsonl").write_text(json.dumps(APPLE))
    args = ["eval", str(tmp_path / "set.jsonl"), "--out", str(tmp_path / "out"), "--clip-path", str(tiny_clip)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    edited = [rows[0], rows[2]]
    assert all(-1 <= r["clip_image_similarity"] <= 1 and r["clip_directional_similarity"] is not None for r in edited)
    assert rows[1]["clip_image_similarity"] is None  # an undo makes no new image to score
    image = json.loads((tmp_path / "out" / "metrics.json").read_text())["image"]
    assert image["clip_image_similarity_mean"] == pytest.approx(
        (rows[0]["clip_image_similarity"] + rows[2]["clip_image_similarity"]) / 2
    )
    assert image["clip"] == f"computed with the CLIP weights at {tiny_clip}"


def test_an_edited_turn_runs_the_image_tower_once_for_both_scores(tiny_clip, tmp_path):
    from agent.eval.run import load_eval_files, run_eval
    from agent.settings import Settings

    scorer = load_clip(tiny_clip)
    towers: list[int] = []
    scorer.model.vision_model.register_forward_hook(lambda module, args, output: towers.append(1))
    apple = Image.open(STILL_LIFE)
    grey = apple.convert("L").convert("RGB")
    captions = ("a picture", "make it grey; a picture")
    both = scorer.similarities(apple, grey, *captions)
    assert len(towers) == 1
    assert both == pytest.approx(
        (scorer.image_similarity(apple, grey), scorer.directional_similarity(apple, grey, *captions))
    )
    (tmp_path / "set.jsonl").write_text(json.dumps(APPLE))
    towers.clear()
    run = run_eval("run", load_eval_files([tmp_path / "set.jsonl"]), Settings(data_dir=tmp_path / "data"), scorer)
    scored = [r for r in run.rows if r["clip_image_similarity"] is not None]
    assert len(scored) == 2 and len(towers) == 2  # one image-tower run per edited turn


def test_an_unchanged_image_has_no_direction_even_with_rounding_noise():
    import torch

    from tools.clip import _direction_cosine

    same = torch.nn.functional.normalize(torch.tensor([[0.6, 0.8, 0.0], [0.6, 0.8, 0.0]]), dim=-1)
    noisy = same + torch.tensor([[0.0, 0.0, 0.0], [1e-7, -1e-7, 2e-7]])  # what a batched kernel can leave
    texts = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert _direction_cosine(noisy, texts) == 0.0
    moved = torch.nn.functional.normalize(torch.tensor([[0.6, 0.8, 0.0], [0.0, 0.8, 0.6]]), dim=-1)
    assert _direction_cosine(moved, texts) == pytest.approx(1.0)  # image and caption moved the same way
