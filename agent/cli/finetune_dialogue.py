"""`dialogpaint finetune-dialogue`: render eval-format dialogues as the graph's requests and LoRA-tune a chat model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from agent.settings import Settings
    from agent.train.dialogue.render import Sample

TRAIN_PACKAGES = ("torch", "transformers", "trl", "peft", "datasets")


def finetune_dialogue(  # noqa: PLR0917 - typer maps each parameter to an argument or option
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Dialogues in the eval format (eval sets, synth output).")],
    out: Annotated[Path, typer.Option(help="Output folder: samples.jsonl, manifest.json, adapter/.")],
    base: Annotated[
        Path | None, typer.Option(help="Local chat model folder to tune (with a tool-calling chat template).")
    ] = None,
    render_only: Annotated[bool, typer.Option(help="Write samples.jsonl and stop (no training).")] = False,
    epochs: Annotated[float, typer.Option(min=0.01, max=100)] = 2.0,
    max_steps: Annotated[int, typer.Option(help="Optimizer steps; > 0 overrides --epochs.")] = -1,
    learning_rate: Annotated[float, typer.Option(min=1e-7, max=1e-2)] = 2e-4,
    batch_size: Annotated[int, typer.Option(min=1, max=512)] = 4,
    grad_accum: Annotated[int, typer.Option(min=1, max=512)] = 4,
    lora_rank: Annotated[int, typer.Option(min=1, max=256, help="LoRA rank (vLLM: --max-lora-rank).")] = 16,
    lora_alpha: Annotated[int, typer.Option(min=1, max=1024)] = 32,
    max_length: Annotated[int, typer.Option(min=256, max=131072, help="Longer samples are left out.")] = 8192,
    bf16: Annotated[bool, typer.Option(help="bfloat16 mixed precision (Ampere or newer GPUs).")] = False,
    gradient_checkpointing: Annotated[bool, typer.Option(help="Trade compute for activation memory.")] = False,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Supervised LoRA fine-tuning of the dialogue model on the exact requests the graph sends."""
    from agent.cli.common import settings_from, user_errors
    from tools.errors import DialogPaintError, MissingExtra

    with user_errors():
        if not render_only:
            if base is None or not (base / "config.json").is_file():
                raise DialogPaintError(f"--base must be a local model folder with config.json, got {base}")
            missing = [p for p in TRAIN_PACKAGES if importlib.util.find_spec(p) is None]
            if missing:
                raise MissingExtra(f"finetune-dialogue needs {', '.join(missing)}", "train")
        settings = settings_from(ctx, data_dir=out / "render")
        samples, kept, turns, dialogues = render(files, settings)
        out.mkdir(parents=True, exist_ok=True)
        with (out / "samples.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(s, ensure_ascii=False) + "\n" for s in samples)
        typer.echo(f"rendered {len(samples)} samples from {kept} of {turns} turns ({dialogues} dialogues)")
        manifest = {
            "files": [str(f) for f in files], "dialogues": dialogues, "turns": turns, "kept_turns": kept,
            "samples": len(samples), "tool_mode": settings.llm_tool_mode,
            "tools": sorted({t["function"]["name"] for s in samples for t in s["tools"]}),
        }  # fmt: skip
        if not render_only:
            assert base is not None
            from agent.train.dialogue.train import TrainPlan, finetune

            plan = TrainPlan(
                base=base, out=out, epochs=epochs, max_steps=max_steps, learning_rate=learning_rate,
                batch_size=batch_size, grad_accum=grad_accum, lora_rank=lora_rank, lora_alpha=lora_alpha,
                max_length=max_length, seed=seed, bf16=bf16, gradient_checkpointing=gradient_checkpointing,
            )  # fmt: skip
            result = finetune(samples, plan)
            manifest |= {"base": str(base), "plan": {k: str(v) for k, v in vars(plan).items()}, "steps": result.steps}
            manifest |= {"trained_samples": result.samples, "too_long": result.too_long, "losses": result.losses}
            typer.echo(f"trained {result.steps} steps on {result.samples} samples; adapter in {result.adapter}")
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def render(files: list[Path], settings: Settings) -> tuple[list[Sample], int, int, int]:
    """Render every dialogue of ``files`` with a progress bar: samples, kept turns, turns, dialogues."""
    from rich.progress import track

    from agent.eval.dataset import load_eval_file
    from agent.train.dialogue.render import render_all

    dialogues = [d for f in files for d in load_eval_file(f)]
    samples: list[Sample] = []
    kept = turns = 0
    for rendered in track(render_all(dialogues, settings), total=len(dialogues), description="rendering"):
        samples += rendered.samples
        kept, turns = kept + rendered.kept_turns, turns + rendered.turns
    return samples, kept, turns, len(dialogues)
