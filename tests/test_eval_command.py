"""`dialogpaint eval`: hand-checked metrics, reproducible results, reports, comparison and clear errors."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.cli import app
from agent.eval.image_metrics import l1_distance
from agent.eval.metrics import metrics, percentile

ROOT = Path(__file__).resolve().parents[1]
HAND_CHECK = ROOT / "tests" / "data" / "eval_hand_check.jsonl"
IMAGES = ROOT / "eval_sets" / "images.jsonl"


def run_eval(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["eval", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_metrics_match_a_hand_check(tmp_path):
    code, output = run_eval(HAND_CHECK, "--out", tmp_path)
    assert code == 0, output
    assert {p.name for p in tmp_path.iterdir()} >= {"results.jsonl", "metrics.json", "report.md", "report.html"}
    got = json.loads((tmp_path / "metrics.json").read_text())
    # What the local policy does on each turn (see tests/data/eval_hand_check.jsonl):
    #   expected   predicted                    keywords  undo steps
    #   edit       edit   (black and white)     hit
    #   edit       edit   (vignette)            miss ("sepia" expected)
    #   clarify    clarify
    #   edit       edit   (proposes contrast)   hit
    #   confirm_no confirm_no
    #   clarify    edit   (invert)
    #   edit       clarify (rotate by how much?) miss (nothing executed)
    #   edit       edit   (sepia)
    #   undo       undo                                   1 of 1: exact
    #   chat       redo
    #   undo       undo   (only one step left)            1 of 2: not exact
    #   chat       chat
    assert [r["predicted"] for r in rows(tmp_path / "results.jsonl")] == [
        "edit", "edit", "clarify", "edit", "confirm_no", "edit", "clarify", "edit", "undo", "redo", "undo", "chat",
    ]  # fmt: skip
    assert got["turns"] == 12 and got["dialogues"] == 7
    assert got["accuracy"] == pytest.approx(9 / 12)
    per_action = got["per_action"]
    assert per_action["edit"] == pytest.approx({"precision": 4 / 5, "recall": 4 / 5, "f1": 0.8, "support": 5})
    assert per_action["clarify"] == pytest.approx({"precision": 1 / 2, "recall": 1 / 2, "f1": 0.5, "support": 2})
    assert per_action["undo"] == pytest.approx({"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2})
    assert per_action["redo"] == pytest.approx({"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0})
    assert per_action["chat"] == pytest.approx({"precision": 1.0, "recall": 1 / 2, "f1": 2 / 3, "support": 2})
    assert per_action["confirm_no"]["f1"] == 1.0 and per_action["confirm_yes"]["support"] == 0
    assert got["macro_f1"] == pytest.approx((0.8 + 0.5 + 1 + 1 + 2 / 3) / 5)
    nonzero = {f"{e}->{p}": n for e, row in got["confusion"].items() for p, n in row.items() if n}
    assert nonzero == {
        "edit->edit": 4, "edit->clarify": 1, "clarify->clarify": 1, "clarify->edit": 1, "undo->undo": 2,
        "confirm_no->confirm_no": 1, "chat->chat": 1, "chat->redo": 1,
    }  # fmt: skip
    assert got["instruction_keyword_hit_rate"] == 2 / 4
    assert got["undo_steps_exact"] == 1 / 2
    assert got["clarification_rate_explicit"] == pytest.approx(1 / 7)  # rotate, of 5 edits and 2 undos
    assert got["clarification_rate_vague"] == 1 / 2
    assert got["model_calls_per_turn"] == 1.0 and got["failed_edits"] == 0
    assert got["config"]["seed"] == 0 and got["config"]["llm"] == "local"
    assert got["image"]["clip"].startswith("skipped")
    report = (tmp_path / "report.md").read_text()
    assert "| edit | 4 | 1 | 0 | 0 | 0 | 0 | 0 |" in report  # the confusion matrix row
    assert "labelled-explicit" in report and "expected edit, got clarify" in report  # a worst dialogue


def test_same_run_twice_gives_the_same_results_and_a_gallery(tmp_path):
    for out in ("one", "two"):
        code, output = run_eval(IMAGES, "--out", tmp_path / out, "--seed", "7")
        assert code == 0, output
    first, second = rows(tmp_path / "one" / "results.jsonl"), rows(tmp_path / "two" / "results.jsonl")
    for row in first + second:
        assert row.pop("latency_s") >= 0
    assert first == second
    assert {r["seed"] for r in first if r["image_changed"] and r["action"] == "edit"} == {7}
    document = json.loads((tmp_path / "one" / "metrics.json").read_text())
    recomputed = metrics(rows(tmp_path / "one" / "results.jsonl"))
    assert {k: v for k, v in document.items() if k not in ("label", "config")} | {"image": None} == recomputed | {
        "image": None
    }
    moved = [r for r in first if r["dialogue"] == "street-tone-steps"]
    assert [r["head"] for r in moved] == [1, 2, 3, 1, 2]  # three edits, back two, redo one
    assert moved[3]["l1_source"] == moved[0]["l1_source"] > 0  # back at the first edit's image
    assert moved[3]["l1_turn"] > 0 and moved[0]["l1_turn"] == moved[0]["l1_source"]
    page = (tmp_path / "one" / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 20 and "src='gallery/" not in page  # self-contained
    assert (tmp_path / "one" / "gallery" / "images.jsonl-street-tone-steps" / "05.png").is_file()


def test_compare_reports_both_configurations_and_the_differing_turns(tmp_path):
    code, output = run_eval(HAND_CHECK, "--out", tmp_path, "--compare", "confirm=always")
    assert code == 0, output
    for side in ("a", "b"):
        assert (tmp_path / side / "metrics.json").is_file() and (tmp_path / side / "report.html").is_file()
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["config"]["confirm"] == "always"
    changed = rows(tmp_path / "differences.jsonl")
    first = next(d for d in changed if d["dialogue"] == "explicit-ok")
    assert first["a"]["action"] == "edit" and first["b"]["action"] == "confirm"  # b asks before editing
    assert all(d["dialogue"] != "hello" for d in changed)  # a chat turn is the same under both
    report = (tmp_path / "report.md").read_text()
    assert "| confirm | auto | always |" in report and f"{len(changed)} of 12 turns differ" in report
    assert "| turns | 12 | 12 | +0 |" in report  # counts differ by whole numbers


def test_bad_line_is_one_error_line_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"id": "a", "turns": [{"user": "undo", "expect": "undo"}]})
    path.write_text(good + "\n" + json.dumps({"id": "b", "turns": [{"user": "x", "expect": "dance"}]}) + "\n")
    result = CliRunner().invoke(app, ["eval", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and not result.stdout
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert f"{path}:2: turns.0.expect" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing ran


def test_missing_image_and_unknown_setting_are_named(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"id": "a", "image": "pics/cat.png", "turns": [{"user": "hi", "expect": "chat"}]}))
    code, output = run_eval(path, "--out", tmp_path / "out")
    assert code == 2 and f"{path}:1: image 'pics/cat.png' not found at {tmp_path / 'pics' / 'cat.png'}" in output
    code, output = run_eval(HAND_CHECK, "--out", tmp_path / "out", "--compare", "colour=red")
    assert code == 2 and "colour" in output


def test_a_foreign_folder_is_never_wiped(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "thesis.tex").write_text("precious")
    code, output = run_eval(HAND_CHECK, "--out", tmp_path)
    assert code == 2 and "thesis.tex" in output and (tmp_path / "data" / "thesis.tex").exists()


def test_a_reused_folder_loses_the_previous_gallery_but_never_foreign_files(tmp_path):
    (tmp_path / "gallery" / "gone-dialogue").mkdir(parents=True)
    (tmp_path / "gallery" / "gone-dialogue" / "01.png").write_bytes(b"old")
    (tmp_path / "report.md").write_text("old report")
    code, output = run_eval(HAND_CHECK, "--out", tmp_path)  # no dialogue brings an image: no gallery
    assert code == 0, output
    assert not (tmp_path / "gallery").exists() and "old report" not in (tmp_path / "report.md").read_text()
    code, output = run_eval(HAND_CHECK, "--out", tmp_path, "--compare", "confirm=always")
    assert code == 0, output
    (tmp_path / "b" / "gallery" / "mine").mkdir(parents=True)
    (tmp_path / "b" / "gallery" / "mine" / "notes.txt").write_text("precious")
    code, output = run_eval(HAND_CHECK, "--out", tmp_path, "--compare", "confirm=always")
    assert code == 2 and "gallery/mine/notes.txt" in output
    assert (tmp_path / "b" / "gallery" / "mine" / "notes.txt").exists()
    assert (tmp_path / "a" / "report.md").exists()  # refused before anything was removed, in A's folder too


def test_l1_and_percentiles():
    black, white = Image.new("RGB", (4, 4)), Image.new("RGB", (4, 4), (255, 255, 255))
    half = Image.new("RGB", (4, 4))
    half.paste(white.crop((0, 0, 2, 4)))
    assert l1_distance(black, black) == 0 and l1_distance(black, white) == 1
    assert l1_distance(black, half) == 0.5 and l1_distance(black, white.resize((8, 2))) == 1
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0 and percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert percentile([], 50) is None


def test_failed_edits_are_summarised_once_and_listed_in_the_report(tmp_path, caplog):
    path = tmp_path / "gen.jsonl"
    turns = [{"user": "turn the dog into a cheetah", "expect": "edit"}, {"user": "yes", "expect": "confirm_yes"}]
    path.write_text("".join(json.dumps({"id": f"g{i}", "turns": turns}) + "\n" for i in range(3)))
    result = CliRunner().invoke(app, ["eval", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "run: 3 warnings during the turns" in result.stderr
    assert "  3 x edit instruct_pix2pix failed: instruct_pix2pix has no model configured" in result.stderr
    assert not [r for r in caplog.records if r.name == "graphs.nodes.actions"]  # not one warning per turn
    report = (tmp_path / "out" / "report.md").read_text()
    failed = report.split("## Failed edits")[1].split("## Gallery")[0]
    assert [line.split(" | ")[1:4] for line in failed.splitlines() if line.startswith("| gen.jsonl")] == [
        ["g0", "2", "yes"],
        ["g1", "2", "yes"],
        ["g2", "2", "yes"],
    ]


def test_an_unreachable_dialogue_model_is_counted_as_model_failures_not_failed_edits(tmp_path, caplog):
    path = tmp_path / "two.jsonl"
    turns = [{"user": "make it black and white", "expect": "edit"}, {"user": "undo", "expect": "undo"}]
    path.write_text(json.dumps({"id": "d", "turns": turns}) + "\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["--llm", "http://127.0.0.1:9/v1", "eval", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    got = json.loads((out / "metrics.json").read_text())
    assert (got["model_failures"], got["failed_edits"], got["accuracy"]) == (2, 0, 0.0)
    assert "No edit failed." in (out / "report.md").read_text()
    assert "run: " in result.stderr and "warnings during the turns" in result.stderr
    assert "accuracy 0.000" in result.stdout and result.stdout.rstrip().splitlines()[-2].endswith(", 2 model failures")
    assert not [r for r in caplog.records if r.name.startswith("graphs.")]


def test_two_files_of_one_name_sharing_an_id_are_told_apart(tmp_path):
    line = json.dumps({"id": "a", "turns": [{"user": "undo", "expect": "undo"}]}) + "\n"
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "set.jsonl").write_text(line)
    code, output = run_eval(tmp_path / "x" / "set.jsonl", tmp_path / "y" / "set.jsonl", "--out", tmp_path / "out")
    assert code == 2 and f"{tmp_path / 'x' / 'set.jsonl'} and {tmp_path / 'y' / 'set.jsonl'} both hold" in output


def test_gallery_captions_with_brackets_keep_the_image_syntax_whole():
    from markdown_it import MarkdownIt

    from agent.eval.report import Section, to_html, to_markdown
    from agent.eval.run import GalleryImage

    caption = "turn 1 edit: make it [brighter] (a lot) *now* \\ <b>x</b> &amp; 'y' _z_"
    sections = [Section("Gallery", galleries={"set.jsonl/a_b": [GalleryImage(1, caption, "key")]})]
    markdown = MarkdownIt("commonmark")  # rich depends on markdown-it-py
    tokens = markdown.parse(to_markdown("t", sections, lambda n, i: "gallery/a/01.png"))
    inline = [t for t in tokens if t.type == "inline"]
    assert inline[2].children[0].content == "set.jsonl/a_b"  # the heading, no emphasis
    image, *text = inline[3].children
    assert image.type == "image" and image.attrs["src"] == "gallery/a/01.png"
    assert (
        "".join(t.content for t in image.children or []) == caption
        and "".join(t.content for t in text).strip() == caption
    )
    page = to_html("t", sections, lambda n, i: "data:image/png;base64,AAAA")
    assert f"alt='{html.escape(caption)}'" in page and "<b>x</b>" not in page


def test_compare_values_are_text_where_the_setting_takes_text():
    from agent.cli.eval import parse_overrides
    from agent.settings import Settings

    given = ["llm_model=123", "llm_temperature=0.5", "seed=null", 'tools_disabled=["blur"]', "confirm=always"]
    settings = Settings(**parse_overrides(given))
    assert settings.llm_model == "123" and settings.llm_temperature == 0.5 and settings.seed is None
    assert settings.tools_disabled == ["blur"] and settings.confirm == "always"


def test_compare_shows_any_setting_that_differs_and_records_no_secret(tmp_path, monkeypatch):
    secrets = ("sk-model-key-never-recorded", "service-key-never-recorded")
    monkeypatch.setenv("DIALOGPAINT_LLM_API_KEY", secrets[0])
    monkeypatch.setenv("DIALOGPAINT_API_KEYS", secrets[1])
    code, output = run_eval(HAND_CHECK, "--out", tmp_path, "--compare", "llm_tool_mode=json")
    assert code == 0, output  # the local policy ignores the tool mode, so both runs decide alike
    assert "| llm_tool_mode | auto | json |" in (tmp_path / "report.md").read_text()
    for side, mode in (("a", "auto"), ("b", "json")):
        text = (tmp_path / side / "metrics.json").read_text()
        assert not any(secret in text for secret in secrets)
        config = json.loads(text)["config"]
        assert config["llm_tool_mode"] == mode and config["questions_in_a_row"] == 2 and config["editor"] == "cpu tools"
        assert not {"llm_api_key", "api_keys", "checkpoint_url", "data_dir"} & set(config)
    shown = (tmp_path / "b" / "report.md").read_text().split("## Scores")[0]
    assert "| llm_tool_mode | json |" in shown and "| editor | cpu tools |" in shown
    assert "context_tokens" not in shown  # at its default: recorded in metrics.json, not shown


def test_recorded_editor_says_where_edits_go_and_urls_lose_their_passwords():
    from agent.eval.run import describe
    from agent.settings import Settings

    remote = {"instruct_pix2pix": "https://user:hunter2@gpu.example:9000"}
    config = describe(Settings(llm="http://me:pw@llm.example/v1", remote_tools=remote, editor="instruct_pix2pix"))
    assert config["editor"] == "instruct_pix2pix at https://***@gpu.example:9000 only"
    assert "hunter2" not in json.dumps(config) and config["llm"] == "http://***@llm.example/v1"
    assert describe(Settings(model_path="/weights/ip2p"))["editor"] == "cpu tools, instruct_pix2pix (/weights/ip2p)"
