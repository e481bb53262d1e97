"""InstructPix2Pix fine-tuning, the loop of diffusers' examples/instruct_pix2pix/train_instruct_pix2pix.py.

The loss is the denoising loss of the edited image's latents, with the input image's latents
concatenated to the noisy ones. Conditioning dropout trains the two guidance scales of the paper
(Brooks et al., sec. 3.2.1): with probability p the prompt is dropped, with p the image, with p
both. accelerate brings mixed precision, gradient accumulation, and checkpoints that hold the UNet,
optimizer, scheduler, random states and the EMA weights, so a resumed run continues at its step.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.train.editor.data import FinetuneError, collate, load_pairs
from agent.train.editor.models import EditorParts, load_parts, save_pipeline

logger = logging.getLogger(__name__)
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# (step done, steps in all, loss of that step)
Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class EditorRecipe:
    """Every setting of a fine-tuning run (upstream's defaults where it has them)."""

    base: Path
    data: Path
    out: Path
    steps: int = 1000
    batch_size: int = 4
    gradient_accumulation: int = 1
    learning_rate: float = 5e-5
    resolution: int = 256
    conditioning_dropout: float = 0.05
    ema: bool = False
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    gradient_checkpointing: bool = False
    checkpoint_every: int = 500
    random_flip: bool = True
    seed: int = 0
    max_grad_norm: float = 1.0


@dataclass
class TrainReport:
    """What a run did."""

    start_step: int
    steps: int
    losses: list[float] = field(default_factory=list)


def latest_checkpoint(out: Path) -> Path | None:
    """The checkpoint with the highest step under ``out/checkpoints``, or None."""
    found = [
        (int(m.group(1)), p) for p in (out / "checkpoints").glob("checkpoint-*") if (m := CHECKPOINT.match(p.name))
    ]
    return max(found)[1] if found else None


def denoising_loss(parts: EditorParts, unet: Any, batch: dict[str, Any], dropout: float, generator: Any) -> Any:
    """The InstructPix2Pix training loss of one batch, with conditioning dropout for both guidance scales."""
    import torch

    dtype = parts.vae.dtype
    latents = (
        parts.vae.encode(batch["edited_pixels"].to(dtype)).latent_dist.sample(generator)
        * parts.vae.config.scaling_factor
    )
    size = latents.shape[0]
    noise = torch.randn(latents.shape, generator=generator, device=latents.device, dtype=latents.dtype)
    timesteps = torch.randint(0, parts.noise_scheduler.config.num_train_timesteps, (size,), generator=generator,
                              device=latents.device)  # fmt: skip
    noisy = parts.noise_scheduler.add_noise(latents, noise, timesteps)
    prompts = parts.text_encoder(batch["input_ids"])[0]
    images = parts.vae.encode(batch["input_pixels"].to(dtype)).latent_dist.mode()
    if dropout > 0:
        draw = torch.rand(size, generator=generator, device=latents.device)
        null_ids = parts.tokenizer([""], max_length=parts.tokenizer.model_max_length, padding="max_length",
                                   return_tensors="pt").input_ids.to(latents.device)  # fmt: skip
        prompts = torch.where((draw < 2 * dropout).reshape(size, 1, 1), parts.text_encoder(null_ids)[0], prompts)
        keep_image = 1 - ((draw >= dropout) & (draw < 3 * dropout)).to(images.dtype)
        images = keep_image.reshape(size, 1, 1, 1) * images
    if parts.noise_scheduler.config.prediction_type == "v_prediction":
        target = parts.noise_scheduler.get_velocity(latents, noise, timesteps)
    else:
        target = noise
    predicted = unet(torch.cat([noisy, images], dim=1), timesteps, prompts, return_dict=False)[0]
    return torch.nn.functional.mse_loss(predicted.float(), target.float())


def finetune_editor(recipe: EditorRecipe, progress: Progress | None = None) -> TrainReport:
    """Train (resuming from the latest checkpoint under ``out``), checkpoint, and save the pipeline folder."""
    import torch
    from accelerate import Accelerator

    accelerator = Accelerator(gradient_accumulation_steps=recipe.gradient_accumulation,
                              mixed_precision=recipe.mixed_precision)  # fmt: skip
    run = prepare(recipe, accelerator)
    start = resume(accelerator, recipe)
    report = TrainReport(start_step=start, steps=start)
    noise_rng = torch.Generator(accelerator.device)
    unet = run.unet
    # One optimizer step per ``gradient_accumulation`` batches.
    for number, batch in batches(run, recipe, start):
        if report.steps >= recipe.steps:
            break
        noise_rng.manual_seed(recipe.seed * 1_000_003 + number)  # a resumed run draws what an unbroken one would
        with accelerator.accumulate(unet):
            loss = denoising_loss(run.parts, unet, batch, recipe.conditioning_dropout, noise_rng)
            accelerator.backward(loss)
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(unet.parameters(), recipe.max_grad_norm)
            run.optimizer.step()
            run.optimizer.zero_grad()
        if not accelerator.sync_gradients:
            continue
        if run.ema is not None:
            run.ema.step(unet.parameters())
        report.steps += 1
        report.losses.append(float(loss.detach()))
        if not torch.isfinite(loss):
            raise FinetuneError(f"the loss became {report.losses[-1]} at step {report.steps}; lower the learning rate")
        if progress is not None:
            progress(report.steps, recipe.steps, report.losses[-1])
        if report.steps % recipe.checkpoint_every == 0 or report.steps == recipe.steps:
            accelerator.save_state(str(recipe.out / "checkpoints" / f"checkpoint-{report.steps}"))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:  # under `accelerate launch`, one process writes the pipeline
        finish(run, accelerator.unwrap_model(unet), recipe, report)
    return report


@dataclass
class Run:
    """The prepared pieces of a training run."""

    parts: EditorParts
    unet: Any
    ema: Any
    loader: Any
    loader_rng: Any  # orders the data and draws the flips; seeded per epoch
    optimizer: Any


def batches(run: Run, recipe: EditorRecipe, start: int) -> Iterator[tuple[int, Any]]:
    """(batch number since step 0, batch) from where optimizer step ``start`` left off, epoch after epoch.

    Each epoch's order and flips come from the seed and the epoch number, so a resumed run sees the
    batches an unbroken run would; the batches already trained on in the resumed epoch are loaded
    and dropped (cheap next to a training step) so the flip draws stay in step.
    """
    per_epoch = math.ceil(len(run.loader) / recipe.gradient_accumulation)  # optimizer steps per epoch
    epoch, done = divmod(start, per_epoch)
    skip = done * recipe.gradient_accumulation
    while True:
        run.loader_rng.manual_seed(recipe.seed + epoch)
        for number, batch in enumerate(run.loader):
            if number >= skip:
                yield epoch * len(run.loader) + number, batch
        epoch, skip = epoch + 1, 0


def prepare(recipe: EditorRecipe, accelerator: Any) -> Run:
    """Data, models (frozen VAE and text encoder in the mixed-precision dtype), optimizer, EMA, all prepared."""
    import torch
    from diffusers.training_utils import EMAModel
    from torch.utils.data import DataLoader

    dataset = load_pairs(recipe.data)
    torch.manual_seed(recipe.seed)
    parts = load_parts(recipe.base)
    frozen_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(recipe.mixed_precision, torch.float32)
    for model in (parts.vae, parts.text_encoder):
        model.requires_grad_(False)
        model.to(accelerator.device, dtype=frozen_dtype)
    unet = parts.unet.train()
    if recipe.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    ema = EMAModel(unet.parameters(), model_cls=type(unet), model_config=unet.config) if recipe.ema else None
    loader_rng = torch.Generator().manual_seed(recipe.seed)
    loader = DataLoader(
        dataset, batch_size=recipe.batch_size, shuffle=True, generator=loader_rng, collate_fn=functools.partial(
            collate, tokenizer=parts.tokenizer, resolution=recipe.resolution, random_flip=recipe.random_flip,
            generator=loader_rng),
    )  # fmt: skip
    optimizer = torch.optim.AdamW(unet.parameters(), lr=recipe.learning_rate)
    unet, optimizer, loader = accelerator.prepare(unet, optimizer, loader)
    if ema is not None:
        ema.to(accelerator.device)
        accelerator.register_for_checkpointing(ema)
    return Run(parts, unet, ema, loader, loader_rng, optimizer)


def finish(run: Run, unet: Any, recipe: EditorRecipe, report: TrainReport) -> None:
    """Save the pipeline folder (with the EMA weights when kept, everything in fp32) and training.json."""
    import torch

    if run.ema is not None:
        run.ema.copy_to(unet.parameters())
    for model in (run.parts.vae, run.parts.text_encoder, unet):
        if model.dtype != torch.float32:  # the frozen parts ran in the mixed-precision dtype
            model.to(dtype=torch.float32)
    save_pipeline(run.parts, unet.eval(), recipe.out)
    recipe_data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(recipe).items()}
    summary = {"recipe": recipe_data, "start_step": report.start_step, "steps": report.steps, "losses": report.losses}
    (recipe.out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")


def resume(accelerator: Any, recipe: EditorRecipe) -> int:
    """Load the latest checkpoint under ``out`` if there is one; the step it was taken at (0: a fresh start)."""
    checkpoint = latest_checkpoint(recipe.out)
    if checkpoint is None:
        return 0
    step = int(checkpoint.name.removeprefix("checkpoint-"))
    if step > recipe.steps:
        raise FinetuneError(f"{checkpoint} is past --steps {recipe.steps}; ask for more steps or choose another --out")
    accelerator.load_state(str(checkpoint))
    logger.info("resumed from %s", checkpoint)
    return step
