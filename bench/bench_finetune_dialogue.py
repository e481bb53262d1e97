"""Throughput of `dialogpaint finetune-dialogue`: samples/s and peak memory of LoRA SFT steps.

Renders the eval set through the graph (the real requests), tokenizes them with the model's chat
template and times TRL's SFTTrainer for a few steps. Default: the tiny random Qwen2 of the tests,
built offline (CPU, numbers only show the wiring's overhead); --base DIR times a real local model,
e.g. Qwen2.5-7B-Instruct on a GPU (add --bf16 --gradient-checkpointing).

    python bench/bench_finetune_dialogue.py [--base DIR] [--steps 4] [--batch-size 2] [--bf16]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.eval.dataset import load_eval_file
from agent.settings import Settings
from agent.train.dialogue.render import render_all
from agent.train.dialogue.train import TrainPlan, sft_trainer, tokenize

EVAL_SET = Path(__file__).resolve().parents[1] / "eval_sets" / "dialogs.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="local chat model folder (default: the tiny test model)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer

    work = Path(tempfile.mkdtemp(prefix="bench-sft-"))
    if args.base is None:
        from tests.tiny_chat_lm import save_tiny_chat_lm

        args.base = save_tiny_chat_lm(work)
    started = time.perf_counter()
    rendered = list(render_all(load_eval_file(EVAL_SET), Settings(data_dir=work / "render")))
    samples = [s for r in rendered for s in r.samples]
    render_s = time.perf_counter() - started
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    rows = [tokenize(tokenizer, s) for s in samples]
    tokens = [len(r["input_ids"]) for r in rows]
    plan = TrainPlan(
        base=args.base, out=work / "out", max_steps=args.steps, batch_size=args.batch_size, grad_accum=1,
        bf16=args.bf16, gradient_checkpointing=args.gradient_checkpointing,
    )  # fmt: skip
    trainer = sft_trainer(rows, plan, tokenizer)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - started
    result = {
        "base": str(args.base), "device": str(trainer.model.device), "dialogues": len(rendered),
        "samples": len(samples), "render_samples_per_s": round(len(samples) / render_s, 1),
        "tokens_per_sample_mean": round(sum(tokens) / len(tokens)), "tokens_per_sample_max": max(tokens),
        "steps": args.steps, "batch_size": args.batch_size,
        "train_samples_per_s": round(args.steps * args.batch_size / train_s, 3),
        "peak_cpu_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20) if torch.cuda.is_available() else None,
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
