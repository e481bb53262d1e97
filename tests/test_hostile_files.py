"""Files a user hands us that are deeply nested JSON or not UTF-8: one `error:` line and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL.PngImagePlugin import PngInfo
from typer.testing import CliRunner

from agent.cli.app import app
from agent.session.provenance import CHUNK
from tests.fakes import gradient
from tools import safe_json

DEEP = "[" * 100_000 + "]" * 100_000
UTF16 = '{"id": "a", "turns": []}\n'.encode("utf-16")


def deep_png(path: Path) -> Path:
    info = PngInfo()
    info.add_text(CHUNK, DEEP)
    gradient((32, 32)).save(path, pnginfo=info)
    return path


def commands(tmp: Path, bad: Path) -> dict[str, list[str]]:
    original = tmp / "original.png"
    gradient((32, 32)).save(original)
    return {
        "eval": ["eval", str(bad), "--out", str(tmp / "eval-out")],
        "train-policy": ["train-policy", str(bad), "--out", str(tmp / "w.npz")],
        "synth": ["synth", "--captions", str(bad), "--seeds", str(bad), "--out", str(tmp / "s.jsonl"), "-n", "1",
                  "--llm", "http://127.0.0.1:9/v1"],
        "make-pairs": ["make-pairs", str(bad), "--out", str(tmp / "pairs"), "--clip-path", str(tmp)],
    }  # fmt: skip


@pytest.mark.parametrize("kind", ["deep", "utf16"])
@pytest.mark.parametrize("command", ["eval", "train-policy", "synth", "make-pairs"])
def test_text_inputs_that_are_deep_or_not_utf8_are_one_error_line(tmp_path, kind, command):
    bad = tmp_path / "input.jsonl"
    if kind == "deep":
        bad.write_text(DEEP + "\n")
    else:
        bad.write_bytes(UTF16)
    result = CliRunner().invoke(app, commands(tmp_path, bad)[command], env={"DIALOGPAINT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2, (result.output, result.exception)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    # make-pairs reads rows with pydantic's own JSON parser, which has its own recursion limit
    deep = ("nested deeper than 64", "recursion limit exceeded")
    assert any(m in errors[0] for m in deep) if kind == "deep" else "not UTF-8 text" in errors[0], errors[0]


@pytest.mark.parametrize("command", ["inspect", "replay"])
def test_a_png_whose_recipe_nests_too_deep_is_one_error_line(tmp_path, command):
    png = deep_png(tmp_path / "deep.png")
    original = tmp_path / "original.png"
    gradient((32, 32)).save(original)
    args = ["inspect", str(png)] if command == "inspect" else ["replay", str(png), "--original", str(original)]
    result = CliRunner().invoke(app, args, env={"DIALOGPAINT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2, (result.output, result.exception)
    assert "is not a valid recipe: JSON nested deeper than 64 levels" in result.output


def test_the_depth_check_ignores_brackets_inside_strings():
    assert safe_json.loads('{"a": "' + "[" * 1000 + '"}') == {"a": "[" * 1000}
    with pytest.raises(ValueError, match="deeper than 64"):
        safe_json.loads("[" * 65 + "]" * 65)
    assert safe_json.loads("[" * 64 + "]" * 64) is not None
