"""A session survives a process restart on a real SQLite file; the CLI reports bad input in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.fakes import gradient

ROOT = Path(__file__).resolve().parents[1]

STEP = textwrap.dedent(
    """
    import json, sys
    from agent.settings import Settings
    from agent.wiring import create_engine
    data_dir, image, session_id, *texts = sys.argv[1:]
    with create_engine(Settings(data_dir=data_dir, confirm="always")) as engine:
        session = engine.open(image) if session_id == "-" else engine.resume(session_id)
        for text in texts:
            reply = session.send(text)
            print(json.dumps({"id": session.id, "action": reply.action, "head": reply.head,
                              "revisions": len(reply.revisions), "text": reply.text}))
        print(json.dumps({"history": session.history(), "pending": session.confirmation() is not None}))
    """
)


def step(tmp_path: Path, session_id: str, *texts: str) -> list[dict]:
    image = tmp_path / "in.png"
    gradient().save(image)
    result = subprocess.run(
        [sys.executable, "-c", STEP, str(tmp_path / "data"), str(image), session_id, *texts],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_session_survives_restart_with_pending_confirmation(tmp_path):
    first = step(tmp_path, "-", "make it black and white", "yes", "flip it horizontally")
    session_id = first[0]["id"]
    assert [r["action"] for r in first[:3]] == ["confirm", "edit", "confirm"]
    assert first[-1]["pending"] is True
    second = step(tmp_path, session_id, "yes", "undo", "redo")
    assert [r["action"] for r in second[:3]] == ["edit", "undo", "redo"]
    assert second[0]["revisions"] == 3 and second[1]["head"] == first[1]["head"]
    assert second[2]["head"] == second[0]["head"]
    history = second[-1]["history"]
    assert history[0] == ["user", "make it black and white"] and ["user", "undo"] in history


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIALOGPAINT_DATA_DIR": str(cwd / "data")}
    command = [sys.executable, "-m", "agent.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, check=False)


def test_help_imports_neither_torch_nor_langgraph():
    code = textwrap.dedent(
        """
        import sys
        sys.argv = ["dialogpaint", "--help"]
        from agent.cli import main
        try:
            main()
        except SystemExit:
            pass
        heavy = ("torch", "diffusers", "langgraph", "langchain_openai", "transformers", "trl", "peft", "datasets",
                 "mcp", "ray", "boto3", "sklearn", "scipy", "numpy")
        print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "Edit images through conversation" in out and out.strip().endswith("[]")


def test_run_json_reports_each_turn(tmp_path):
    gradient().save(tmp_path / "in.png")
    (tmp_path / "script.txt").write_text(
        "# a comment\nmake it better\nmore vivid colours\n\nyes\n"
        "can you make it black and white please\nundo\nredo\nthanks!\n"
    )
    result = cli("run", "script.txt", "--image", "in.png", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["action"] for t in turns] == ["clarify", "confirm", "edit", "edit", "undo", "redo", "chat"]
    assert turns[3]["tool"] == "grayscale" and turns[3]["instruction"] == "make it black and white"
    assert turns[4]["undo_steps"] == 1 and turns[4]["head"] == turns[2]["head"]
    assert set(turns[0]) == {
        "turn",
        "user",
        "action",
        "reply",
        "instruction",
        "tool",
        "undo_steps",
        "head",
        "revisions",
        "actions",
    }


def test_bad_input_is_one_line_and_nonzero(tmp_path):
    (tmp_path / "script.txt").write_text("hello\n")
    (tmp_path / "fake.png").write_text("not an image")
    cases = [
        (("run", "script.txt", "--image", "missing.png"), "no image file at missing.png"),
        (("run", "script.txt", "--image", "fake.png"), "not a PNG, JPEG or WebP image"),
        (("run", "nope.txt", "--image", "fake.png"), "no script file"),
        (("--confirm", "sometimes", "run", "script.txt", "--image", "fake.png"), "invalid setting confirm"),
        (("--disable-tool", "nope", "tools"), "disabled tools not found: nope"),
    ]
    for args, message in cases:
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.strip().startswith("error:") and message in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_demo_writes_revisions_and_transcript(tmp_path):
    result = cli("demo", "--out", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "demo" / "transcript.html").read_text()
    images = sorted(p.name for p in (tmp_path / "demo").glob("rev-*.png"))
    assert len(images) >= 6 and all(name in page for name in images)
    for action in ("(clarify)", "(confirm)", "(edit)", "(undo)", "(redo)", "(forget)"):
        assert action in result.stdout
    assert "bit for bit the same image" in result.stdout


def test_tools_lists_parameters_and_status(tmp_path):
    result = cli("tools", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "adjust_tone" in result.stdout and "brightness" in result.stdout
    assert "instruct_pix2pix" in result.stdout
