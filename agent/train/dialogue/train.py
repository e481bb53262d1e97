"""LoRA supervised fine-tuning of a chat model on rendered samples, with TRL's SFTTrainer and PEFT.

Each sample is tokenized with the model's own chat template and the tools of its request, the way
vLLM renders a request (tool-call arguments as objects, as vLLM parses them before templating);
the loss falls on the completion only: the prompt's tokens are masked (TRL's completion_mask). The
output folder holds a PEFT LoRA adapter that ``vllm serve BASE --enable-lora --lora-modules NAME=DIR``
serves (docs/training-dialogue.md).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.train.dialogue.render import Sample
from tools.errors import DialogPaintError

logger = logging.getLogger(__name__)

# vLLM's LoRA kernels cover the attention and MLP projections of Llama/Qwen-style models.
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class TrainPlan:
    """What to fine-tune, where to write it, and the recipe."""

    base: Path  # a local model folder (save_pretrained) with a chat template that supports tools
    out: Path
    epochs: float = 2.0
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float = 2e-4
    batch_size: int = 4
    grad_accum: int = 4
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    max_length: int = 8192  # longer samples are left out (counted), never cut: a cut prompt is not the graph's
    seed: int = 0
    bf16: bool = False
    gradient_checkpointing: bool = False


@dataclass(frozen=True)
class TrainResult:
    """What the run did."""

    adapter: Path
    samples: int
    too_long: int
    steps: int
    losses: list[float]


def template_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages as vLLM hands them to a chat template: tool-call arguments parsed into objects."""
    ready = []
    for message in messages:
        calls = message.get("tool_calls") or []
        parsed = [
            {**c, "function": {**c["function"], "arguments": json.loads(c["function"]["arguments"])}} for c in calls
        ]
        ready.append({**message, "tool_calls": parsed} if parsed else message)
    return ready


def tokenize(tokenizer: Any, sample: Sample) -> dict[str, list[int]]:
    """Token ids of prompt + completion and the mask that is 1 on the completion's tokens only.

    Raises:
        DialogPaintError: the template renders the prompt differently once the completion follows,
            so the completion cannot be told apart (a template problem, named with the sample).
    """
    prompt = template_messages(sample["prompt"])
    whole = prompt + template_messages(sample["completion"])
    prompt_ids = list(tokenizer.apply_chat_template(prompt, tools=sample["tools"], add_generation_prompt=True, tokenize=True, return_dict=False))  # fmt: skip  # noqa: E501
    ids = list(tokenizer.apply_chat_template(whole, tools=sample["tools"], tokenize=True, return_dict=False))
    if ids[: len(prompt_ids)] != prompt_ids:
        raise DialogPaintError(
            f"sample {sample['id']}: the chat template renders the prompt differently with its answer"
        )
    return {"input_ids": ids, "completion_mask": [0] * len(prompt_ids) + [1] * (len(ids) - len(prompt_ids))}


def finetune(samples: Sequence[Sample], plan: TrainPlan) -> TrainResult:
    """Train a LoRA adapter on ``samples`` and save it (with the tokenizer) to ``plan.out``."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(plan.base, local_files_only=True)
    rows = [tokenize(tokenizer, s) for s in samples]
    kept = [r for r in rows if len(r["input_ids"]) <= plan.max_length]
    if not kept:
        raise DialogPaintError(f"no sample fits --max-length {plan.max_length} tokens ({len(rows)} rendered)")
    trainer = sft_trainer(kept, plan, tokenizer)
    trainer.train()
    adapter = plan.out / "adapter"
    trainer.save_model(str(adapter))  # the PEFT model saves only the adapter
    tokenizer.save_pretrained(adapter)
    losses = [float(e["loss"]) for e in trainer.state.log_history if "loss" in e]
    if not all(math.isfinite(v) for v in losses):
        raise DialogPaintError(f"training diverged (loss {losses[-1]}); try a lower --learning-rate")
    logger.info("trained %d steps on %d samples; adapter at %s", trainer.state.global_step, len(kept), adapter)
    return TrainResult(adapter, len(kept), len(rows) - len(kept), trainer.state.global_step, losses)


def sft_trainer(rows: Sequence[dict[str, list[int]]], plan: TrainPlan, tokenizer: Any) -> Any:
    """TRL's SFTTrainer on tokenized rows, with a LoRA on every projection vLLM can serve adapted."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    # SDPA: the eager attention of a saved config materialises every score matrix (5x slower at 5k tokens).
    model = AutoModelForCausalLM.from_pretrained(plan.base, local_files_only=True, attn_implementation="sdpa")
    lora = LoraConfig(
        r=plan.lora_rank, lora_alpha=plan.lora_alpha, lora_dropout=plan.lora_dropout,
        target_modules=[m for m in TARGET_MODULES if any(n.endswith(m) for n, _ in model.named_modules())],
        task_type="CAUSAL_LM",
    )  # fmt: skip
    config = SFTConfig(
        output_dir=str(plan.out / "checkpoints"), num_train_epochs=plan.epochs, max_steps=plan.max_steps,
        learning_rate=plan.learning_rate, per_device_train_batch_size=plan.batch_size,
        gradient_accumulation_steps=plan.grad_accum, seed=plan.seed, bf16=plan.bf16,
        gradient_checkpointing=plan.gradient_checkpointing, completion_only_loss=True, max_length=None,
        logging_steps=1, save_strategy="no", report_to="none", lr_scheduler_type="cosine",
    )  # fmt: skip
    return SFTTrainer(
        model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer, peft_config=lora
    )
