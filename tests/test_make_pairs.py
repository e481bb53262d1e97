"""make-pairs on tiny random Stable Diffusion and CLIP models built offline: folder, filter, resume, attention."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.train.pairs.attention import token_alignment
from agent.train.pairs.clip_filter import Scores, Thresholds, best

pytest.importorskip("diffusers", reason="the train extra (diffusers, transformers, torch) is not installed")
pytestmark = pytest.mark.usefixtures("one_torch_thread")
ROWS = [
    {"caption": "a photo of a cat on a sofa", "instruction": "turn the cat into a dog",
     "edited_caption": "a photo of a dog on a sofa"},
    {"caption": "a red house in the snow", "instruction": "make it summer", "edited_caption": "a red house in summer"},
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[1]
KEEP_ALL = ["--caption-threshold", "-1", "--directional-threshold", "-1", "--image-threshold", "-1"]


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def make_pairs(models: dict[str, Path], rows: Path, out: Path, *extra: str) -> tuple[int, str]:
    return make_pairs_from(models, out, str(rows), *extra)


def make_pairs_from(models: dict[str, Path], out: Path, *extra: str) -> tuple[int, str]:
    args = ["make-pairs", "--out", str(out), "--sd-path", str(models["sd"]), "--clip-path",
            str(models["clip"]), "--steps", "2", "--resolution", "64", "--samples", "1", "--cross-fraction", "0.5",
            "--allow-cpu", *extra]  # fmt: skip
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_two_captions_make_a_folder_datasets_reads_and_a_rerun_resumes(models, tmp_path):
    from datasets import load_dataset

    rows, out = write_rows(tmp_path / "rows.jsonl", ROWS[:1]), tmp_path / "pairs"
    code, output = make_pairs(models, rows, out, *KEEP_ALL)
    assert code == 0, output
    first = sorted((out / "images").iterdir())
    stamps = {p: p.stat().st_mtime_ns for p in first}
    write_rows(rows, ROWS)  # a second row appended: only it is rendered
    code, output = make_pairs(models, rows, out, *KEEP_ALL)
    assert code == 0 and "1 rows rendered now, 1 pairs kept; 2 rows done" in output, output
    assert {p: p.stat().st_mtime_ns for p in first} == stamps
    dataset = load_dataset("imagefolder", data_dir=str(out), split="train")
    assert len(dataset) == 2 and {"input_image", "edited_image", "edit_prompt"} <= set(dataset.column_names)
    assert sorted(dataset["edit_prompt"]) == sorted(r["instruction"] for r in ROWS)
    assert dataset[0]["input_image"].size == (64, 64)
    settings = json.loads((out / "manifest.json").read_text())["settings"]
    assert settings["sampling"]["steps"] == 2 and settings["cross_fractions"] == [0.5]
    assert settings["thresholds"] == {"caption": -1.0, "directional": -1.0, "image": -1.0}
    assert settings["editor_defaults"] == {"image_guidance_scale": 1.5, "scheduler": "euler_ancestral"}
    # Other settings on the same folder are refused, naming them; nothing saved is lost.
    code, output = make_pairs(models, rows, out, "--steps", "3")
    assert code == 2 and "error:" in output and "sampling" in output and "thresholds" in output
    assert len(load_dataset("imagefolder", data_dir=str(out), split="train")) == 2


def test_thresholds_drop_every_pair_and_the_rows_still_count_as_done(models, tmp_path):
    rows, out = write_rows(tmp_path / "rows.jsonl", ROWS[:1]), tmp_path / "pairs"
    code, output = make_pairs(models, rows, out, "--caption-threshold", "1.0")  # no image matches text exactly
    assert code == 0 and "0 pairs kept; 1 rows done" in output, output
    assert (out / "metadata.jsonl").read_text() == ""
    done = json.loads((out / "done.jsonl").read_text())
    assert (done["kept"], done["candidates"]) == (0, 1)


def test_an_interrupted_row_is_redone_and_its_partial_lines_dropped(models, tmp_path):
    from agent.train.pairs.folder import PairsFolder

    out = tmp_path / "pairs"
    folder = PairsFolder(out, {"a": 1}, {})
    (out / "metadata.jsonl").write_text('{"row": "cut", "edit_prompt": "x"}\n{"row": "cu')  # killed mid-row
    reopened = PairsFolder(out, {"a": 1}, {})
    assert reopened.done == set() and (out / "metadata.jsonl").read_text() == ""
    assert folder.root == reopened.root


def test_best_keeps_the_passing_pairs_with_the_highest_directional_similarity():
    limits = Thresholds(caption=0.2, directional=0.2, image=0.7)
    good, better = Scores(0.3, 0.3, 0.4, 0.8), Scores(0.3, 0.3, 0.6, 0.75)
    too_different = Scores(0.3, 0.3, 0.9, 0.5)
    off_caption = Scores(0.1, 0.3, 0.9, 0.9)
    wrong_way = Scores(0.3, 0.3, 0.1, 0.9)
    found = [(s, name) for s, name in [(good, "good"), (too_different, "far"), (better, "better"),
                                        (off_caption, "off"), (wrong_way, "wrong")]]  # fmt: skip
    assert [name for _, name in best(found, limits, keep=5)] == ["better", "good"]
    assert [name for _, name in best(found, limits, keep=1)] == ["better"]


def test_token_alignment_maps_shared_tokens_and_leaves_new_ones():
    mapper, alphas = token_alignment([0, 5, 6, 7, 9, 9], [0, 5, 8, 7, 9, 9])
    assert mapper == [0, 1, 2, 3, 4, 5] and alphas == [1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    mapper, alphas = token_alignment([0, 5, 7, 9, 9, 9], [0, 5, 8, 8, 7, 9])  # an inserted word shifts the rest
    assert mapper[4] == 2 and alphas[2:4] == [0.0, 0.0] and alphas[4] == 1.0


def test_the_processor_copies_source_maps_into_the_edited_rows():
    import torch

    from agent.train.pairs.attention import InjectionSchedule, PromptToPromptProcessor

    schedule = InjectionSchedule(steps=4, cross_fraction=0.5, self_fraction=0.25)
    schedule.mappers = torch.tensor([[0, 1, 2], [0, 2, 1]])  # the conditional pair swaps two tokens
    schedule.alphas = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])  # ... and its last token is new
    processor = PromptToPromptProcessor(schedule)
    heads = 2
    probs = torch.rand(2 * 2 * heads, 5, 3)  # [u_src, u_edit, c_src, c_edit] x heads, 5 queries, 3 tokens
    pairs = probs.view(2, 2, heads, 5, 3)
    out = processor.controlled(probs, heads, is_cross=True).view(2, 2, heads, 5, 3)
    assert torch.equal(out[:, 0], pairs[:, 0]) and torch.equal(out[0, 1], pairs[0, 0])  # uncond: a full copy
    assert torch.equal(out[1, 1, ..., :2], pairs[1, 0][..., [0, 2]]) and torch.equal(
        out[1, 1, ..., 2], pairs[1, 1, ..., 2]
    )
    selfish = processor.controlled(probs, heads, is_cross=False).view(2, 2, heads, 5, 3)
    assert torch.equal(selfish[:, 1], pairs[:, 0])
    assert [schedule.injects(True), schedule.injects(False)] == [True, True]
    schedule.step = 1
    assert [schedule.injects(True), schedule.injects(False)] == [True, False]
    schedule.step = 2
    assert [schedule.injects(True), schedule.injects(False)] == [False, False]


def test_attention_injection_changes_the_edited_image_only(models):
    import numpy as np

    from agent.train.pairs.render import Sampling, caption_pair, load_text_to_image

    pipe = load_text_to_image(models["sd"], "cpu")
    sampling = Sampling(steps=2, guidance_scale=7.5, resolution=64, self_fraction=0.0)
    row = ROWS[0]
    free = caption_pair(pipe, row["caption"], row["edited_caption"], seed=3, cross_fraction=0.0, sampling=sampling)
    shared = Sampling(steps=2, guidance_scale=7.5, resolution=64, self_fraction=1.0)
    held = caption_pair(pipe, row["caption"], row["edited_caption"], seed=3, cross_fraction=1.0, sampling=shared)

    def change(a, b):
        return np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16))

    # The source prompt keeps its maps (explicit attention vs SDPA differ only by float rounding) ...
    assert change(free[0], held[0]).max() <= 2
    # ... while the edited prompt, taking the source's maps, comes out another image.
    assert change(free[1], held[1]).mean() > 1
    assert {type(p).__name__ for p in pipe.unet.attn_processors.values()} == {"AttnProcessor2_0"}  # restored


def test_captions_go_through_step_1_on_a_served_model_then_become_pairs(models, tmp_path):
    from tests.openai_server import OpenAIServer, text

    captions = tmp_path / "captions.txt"
    captions.write_text("a red bus parked by a window\n")
    answer = {"instruction": "make the bus blue", "edited_caption": "a blue bus parked by a window"}
    out = tmp_path / "pairs"
    with OpenAIServer([text(json.dumps(answer))]) as server:
        code, output = make_pairs_from(models, out, "--captions", str(captions), "--seeds",
                                       str(ROOT / "data" / "seed_edits.jsonl"), "--edits", "1", "--llm", server.url,
                                       "--llm-model", "test-model", *KEEP_ALL)  # fmt: skip
    assert code == 0 and "1 rows rendered now, 1 pairs kept" in output, output
    (row,) = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert (row["caption"], row["edit_prompt"]) == ("a red bus parked by a window", "make the bus blue")
    assert json.loads((out / "edits.jsonl").read_text())["model"] == "test-model"


def test_a_real_image_row_is_edited_by_the_current_editor(models, tmp_path):
    import numpy as np
    from PIL import Image, ImageOps

    from tests.fakes import gradient
    from tests.tiny_pix2pix import save_tiny_pipeline

    gradient((96, 80)).save(tmp_path / "photo.png")
    rows = write_rows(tmp_path / "rows.jsonl", [{**ROWS[0], "image": "photo.png"}])  # relative to the rows file
    editor = save_tiny_pipeline(tmp_path / "editor")
    code, output = make_pairs(models, rows, tmp_path / "pairs", "--model-path", str(editor), *KEEP_ALL)
    assert code == 0 and "1 pairs kept" in output, output
    (row,) = [json.loads(line) for line in (tmp_path / "pairs" / "metadata.jsonl").read_text().splitlines()]
    source = np.asarray(Image.open(tmp_path / "pairs" / row["input_image_file_name"]), dtype=np.int16)
    edited = np.asarray(Image.open(tmp_path / "pairs" / row["edited_image_file_name"]), dtype=np.int16)
    expected = np.asarray(ImageOps.fit(gradient((96, 80)), (64, 64), Image.Resampling.LANCZOS), dtype=np.int16)
    assert np.array_equal(source, expected) and np.abs(source - edited).mean() > 1
    assert row["cross_fraction"] is None and row["edit_prompt"] == ROWS[0]["instruction"]


def test_bad_rows_and_a_missing_clip_are_one_error_line(models, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps({"caption": "x"}) + "\n")
    code, output = make_pairs(models, rows, tmp_path / "out")
    assert code == 2 and f"{rows}:2" in output and "instruction" in output
    write_rows(rows, ROWS)
    result = CliRunner().invoke(app, ["make-pairs", str(rows), "--out", str(tmp_path / "out"), "--allow-cpu"])
    assert result.exit_code == 2 and "--clip-path" in result.output
