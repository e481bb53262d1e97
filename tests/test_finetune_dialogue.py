"""`dialogpaint finetune-dialogue` on a tiny random Qwen2 built offline: the samples are the graph's own
requests, the loss falls on the answer only, a few steps train, and the LoRA adapter loads and generates.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from agent.eval.dataset import EvalDialogue
from agent.settings import Settings
from agent.train.dialogue.render import render_dialogue, stand_in
from agent.wiring import create_engine
from tests.fakes import MemoryImageStore, RecordingTool, gradient
from tests.openai_server import OpenAIServer, calls, text

pytest.importorskip("trl")
pytest.importorskip("peft")

DIALOGUE = EvalDialogue.model_validate(
    {
        "id": "mirror-chat",
        "turns": [
            {"user": "hi there", "expect": "chat"},
            {"user": "mirror it", "expect": "edit", "instruction_contains": ["mirror"]},
            {"user": "undo", "expect": "undo", "undo_steps": 1},
            {"user": "can you make it look better?", "expect": "clarify"},
        ],
    }
)
IDS = re.compile(r"call_[0-9a-f]{24}|chatcmpl-tool-[0-9a-f]+|r_[A-Za-z0-9_-]{22}")


def cli(*args: str, cwd: Path):
    """The CLI in this process (the training libraries are imported once for the whole file)."""
    from typer.testing import CliRunner

    from agent.cli.app import app

    return CliRunner().invoke(app, list(args), env={"DIALOGPAINT_DATA_DIR": str(cwd / "data")})


def normalised(value: object) -> object:
    """The value with tool-call and revision ids (random in every run) numbered by first appearance."""
    seen: dict[str, str] = {}
    dumped = IDS.sub(lambda m: seen.setdefault(m.group(0), f"<id{len(seen)}>"), json.dumps(value, sort_keys=True))
    return json.loads(dumped)


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    from tests.tiny_chat_lm import save_tiny_chat_lm

    return save_tiny_chat_lm(tmp_path_factory.mktemp("lm"))


@pytest.fixture
def samples(tmp_path):
    rendered = render_dialogue(DIALOGUE, Settings(data_dir=tmp_path), {"mirror": stand_in(RecordingTool())})
    assert (rendered.kept_turns, rendered.turns) == (4, 4)
    return rendered.samples


def replay_answer(completion: dict):
    if completion.get("tool_calls"):
        return calls(
            *((c["function"]["name"], json.loads(c["function"]["arguments"])) for c in completion["tool_calls"])
        )
    return text(completion["content"])


def test_samples_are_exactly_what_the_graph_sends_a_served_model(samples, tmp_path):
    """Replay the teacher's answers from the loopback OpenAI server; the client's requests match the samples."""
    script = [replay_answer(s["completion"][0]) for s in samples]
    with OpenAIServer(script) as server:
        settings = Settings(data_dir=tmp_path / "served", llm=server.url, llm_model="test-model")
        engine = create_engine(settings, tools={"mirror": RecordingTool()}, store=MemoryImageStore())
        session = engine.open(gradient())
        replies = [session.send(turn.user) for turn in DIALOGUE.turns]
        engine.close()
    assert [r.action for r in replies] == ["chat", "edit", "undo", "clarify"]
    sent = server.chat_requests
    assert len(sent) == len(samples) == 4
    for request, sample in zip(sent, samples, strict=True):
        assert normalised(request["messages"]) == normalised(sample["prompt"])
        assert request["tools"] == sample["tools"]
    assert samples[1]["completion"][0]["tool_calls"][0]["function"]["name"] == "mirror"
    last = samples[3]["prompt"]
    assert last[0]["role"] == "system" and last[-1] == {"role": "user", "content": "can you make it look better?"}
    assert {"role": "assistant", "content": "Done: mirror it."} in last  # the graph's reply: context, never a target
    assert all(s["completion"][0]["content"] != "Done: mirror it." for s in samples)


def test_loss_falls_on_the_answer_only(samples, tiny_lm, tmp_path):
    from transformers import AutoTokenizer

    from agent.train.dialogue.train import TrainPlan, sft_trainer, template_messages, tokenize

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    row = tokenize(tokenizer, samples[1])
    answer = [t for t, m in zip(row["input_ids"], row["completion_mask"], strict=True) if m]
    call = template_messages(samples[1]["completion"])[0]["tool_calls"][0]["function"]
    assert tokenizer.decode(answer) == (
        f'<tool_call>\n{{"name": "mirror", "arguments": {json.dumps(call["arguments"])}}}\n</tool_call><|im_end|>\n'
    )
    assert "<|im_start|>system" in tokenizer.decode(row["input_ids"][: row["completion_mask"].index(1)])
    trainer = sft_trainer([row], TrainPlan(base=tiny_lm, out=tmp_path), tokenizer)
    labels = trainer.train_dataset[0]["labels"]
    assert [t for t in labels if t != -100] == answer
    assert labels[: row["completion_mask"].index(1)] == [-100] * row["completion_mask"].index(1)


def test_finetune_dialogue_trains_and_the_adapter_loads_and_generates(samples, tiny_lm, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agent.train.dialogue.train import template_messages

    data = tmp_path / "dialogues.jsonl"
    data.write_text(DIALOGUE.model_dump_json() + "\n")
    out = tmp_path / "tuned"
    args = ["finetune-dialogue", str(data), "--out", str(out), "--base", str(tiny_lm), "--max-steps", "2"]
    result = cli(*args, "--batch-size", "1", "--grad-accum", "1", "--editor", "flip", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["steps"] == 2 and manifest["samples"] == 4 and manifest["kept_turns"] == 4
    assert len(manifest["losses"]) == 2 and all(math.isfinite(v) and v > 0 for v in manifest["losses"])
    assert len((out / "samples.jsonl").read_text().splitlines()) == 4
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert adapter["r"] == 16 and set(adapter["target_modules"]) >= {"q_proj", "v_proj", "down_proj"}

    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_lm), out / "adapter").eval()
    lora_b = [p for n, p in tuned.named_parameters() if "lora_B" in n]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)  # trained: LoRA B starts at zero
    tokenizer = AutoTokenizer.from_pretrained(out / "adapter")
    prompt = tokenizer.apply_chat_template(
        template_messages(samples[0]["prompt"]), tools=samples[0]["tools"], add_generation_prompt=True,
        return_tensors="pt", return_dict=True,
    )  # fmt: skip
    with torch.no_grad():
        generated = tuned.generate(**prompt, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] == prompt["input_ids"].shape[1] + 4


def test_bad_input_is_one_error_line(tmp_path):
    data = tmp_path / "dialogues.jsonl"
    data.write_text(DIALOGUE.model_dump_json() + "\n")
    result = cli("finetune-dialogue", str(data), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert result.exit_code == 2 and result.stderr.strip().splitlines() == [
        "error: --base must be a local model folder with config.json, got None"
    ]
    only = cli(
        "finetune-dialogue", str(data), "--out", str(tmp_path / "r"), "--render-only", "--editor", "flip", cwd=tmp_path
    )
    assert only.exit_code == 0, only.output
    assert "rendered 4 samples from 4 of 4 turns (1 dialogues)" in only.stdout
    assert not (tmp_path / "r" / "adapter").exists()
