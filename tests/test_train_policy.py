"""`dialogpaint train-policy`: reproducible weights, bad corpus refused, and the shipped model used with numpy only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from typer.testing import CliRunner, Result

from agent.cli.app import app
from agent.policy.act_model import ACTS, SHIPPED, load, shipped
from agent.policy.local import LocalPolicy

ROOT = Path(__file__).resolve().parents[1]
TURNS = [
    [("remove the man on the left", "edit")],
    [("can someone make this look amazing?", "clarify"), ("increase the contrast", "edit"), ("thanks", "confirm_yes")],
    [("edit the hue of the red car to 20", "edit"), ("undo that", "undo")],
    [("make it pop", "clarify"), ("blur the background", "edit"), ("no", "confirm_no")],
    [("brighten the whole image", "edit"), ("hello", "chat")],
    [("crop the black border", "edit"), ("go back", "undo"), ("redo", "redo")],
]


def corpus(path: Path) -> Path:
    rows = [
        {"id": f"d{i}-{k}", "source": {"repo": f"src{i % 2}"}, "turns": [{"user": u, "expect": e} for u, e in turns]}
        for k in range(3)
        for i, turns in enumerate(TURNS)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def train(*args: str) -> Result:
    return CliRunner().invoke(app, ["train-policy", *args])


def test_same_seed_same_weights_and_the_model_decides(tmp_path):
    data = corpus(tmp_path / "c.jsonl")
    first, second = (
        train(str(data), "--out", str(tmp_path / "a.npz"), "--kind", "mlp"),
        train(str(data), "--out", str(tmp_path / "b.npz"), "--kind", "mlp"),
    )
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    assert json.loads(first.stdout)["dialogues"] == len(TURNS) * 3
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert all(np.array_equal(a[k], b[k]) for k in ("weights", "bias", "acts", "meta"))
    model = load(tmp_path / "a.npz")
    assert set(model.acts) == set(ACTS) and model.scores([0, 1]).shape == (len(ACTS),)
    reply = LocalPolicy(act_model=model).invoke("hello")
    assert reply.content  # a chat reply, decided by the trained model


def test_bad_corpus_is_refused_by_line_and_keeps_the_weights_already_written(tmp_path):
    out = tmp_path / "a.npz"
    out.write_bytes(b"weights already here")
    bad = tmp_path / "bad.jsonl"
    good = '{"id": "a", "turns": [{"user": "undo", "expect": "undo"}]}'
    bad.write_text(good + '\n{"id": "b", "turns": [{"user": "x", "expect": "dance"}]}\n')
    result = train(str(bad), "--out", str(out))
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and "bad.jsonl:2:" in result.stderr
    assert "expect in edit, clarify" in result.stderr and out.read_bytes() == b"weights already here"
    missing = train(str(tmp_path / "nope.jsonl"), "--out", str(out))
    assert missing.exit_code == 2 and "no corpus file at" in missing.stderr
    assert train(str(bad), "--out", str(tmp_path / "w.txt")).exit_code == 2


def test_shipped_policy_uses_the_learned_model_with_numpy_only():
    assert SHIPPED.is_file() and SHIPPED.stat().st_size < 4_000_000
    model = shipped()
    assert model is not None and model.meta["examples"] > 10_000 and LocalPolicy().learned
    code = (
        "import sys\nfrom langchain_core.messages import HumanMessage\nfrom agent.policy.act_model import shipped\n"
        "from agent.policy.local import policy_answer\nfrom graphs.specs import tool_schemas\n"
        "from tools.registry import load_registry\n"
        "tools = {s['function']['name']: s for s in tool_schemas(load_registry(plugins=False), pending=False)}\n"
        "facts = {'edits_applied': 0, 'redo_available': 0, 'pending': None, 'generative_tools': ['instruct_pix2pix']}\n"
        "for text in sys.argv[1:]:\n"
        "    for model in (None, shipped()):\n"
        "        said = policy_answer([HumanMessage(text)], tools, facts, model)\n"
        "        print(said.tool_calls[0]['name'] if said.tool_calls else 'chat', end=' ')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'torch', 'transformers'}))"
    )
    texts = ["can you make this the best facebook profile image?"]
    run = subprocess.run([sys.executable, "-c", code, *texts], capture_output=True, text=True, cwd=ROOT, check=True)
    # rules alone: the vague request edited; the learned act model overrides them and asks
    assert run.stdout.split() == ["instruct_pix2pix", "ask_clarification", "[]"]


def test_the_shipped_model_is_replaced_only_when_asked_and_progress_is_shown(tmp_path):
    data = corpus(tmp_path / "c.jsonl")
    before = SHIPPED.read_bytes()
    refused = train(str(data))
    assert refused.exit_code == 2 and "--out FILE" in refused.stderr and "--overwrite-shipped" in refused.stderr
    both = train(str(data), "--out", str(tmp_path / "a.npz"), "--overwrite-shipped")
    assert both.exit_code == 2 and SHIPPED.read_bytes() == before
    done = train(str(data), "--out", str(tmp_path / "a.npz"))
    assert done.exit_code == 0, done.output
    assert "7/7" in done.stderr and "every source" in done.stderr  # 3 C values x 2 held-out sources + the final fit
    assert json.loads(done.stdout)["out"] == str(tmp_path / "a.npz") and SHIPPED.read_bytes() == before


def test_the_act_model_setting_loads_a_trained_file(tmp_path, monkeypatch):
    import pytest
    from pydantic import ValidationError

    from agent.models.factories import make_chat_model
    from agent.settings import Settings
    from tools.errors import DialogPaintError

    assert train(str(corpus(tmp_path / "c.jsonl")), "--out", str(tmp_path / "a.npz")).exit_code == 0
    monkeypatch.setenv("DIALOGPAINT_ACT_MODEL", str(tmp_path / "a.npz"))
    model = make_chat_model(Settings(data_dir=tmp_path))
    assert isinstance(model, LocalPolicy) and model.act_model is not None
    assert model.act_model.meta == load(tmp_path / "a.npz").meta and model.act_model is not shipped()
    (tmp_path / "bad.npz").write_bytes(b"not weights")
    with pytest.raises(DialogPaintError, match=r"DIALOGPAINT_ACT_MODEL: .*bad\.npz is not an act model"):
        make_chat_model(Settings(data_dir=tmp_path, act_model=tmp_path / "bad.npz"))
    with pytest.raises(ValidationError, match="no file at"):
        Settings(data_dir=tmp_path, act_model=tmp_path / "nope.npz")
