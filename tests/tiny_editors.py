"""Tiny random-weight Qwen-Image-Edit-Plus, FLUX.2 klein and LongCat-Image-Edit pipelines, built offline.

The components follow diffusers' own pipeline tests (tests/pipelines/qwenimage/test_qwenimage_edit_plus.py,
tests/pipelines/flux2/test_pipeline_flux2_klein.py): a few layers of width 16-32, seeded. Where those tests
download a tiny tokenizer, this writes a byte-level Qwen2 BPE tokenizer with the chat's special tokens here,
so nothing is fetched; the text encoders' vocabularies are sized to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.tiny_pix2pix import byte_symbols

if TYPE_CHECKING:
    from tools.diffusion_editor import DiffusionEditor

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
           "<|video_pad|>", "<|placeholder|>"]  # fmt: skip
CHAT = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
EDITORS = ("qwen_image_edit", "flux2_klein", "longcat_image_edit")
SIDE = 96  # the working side of the tests (klein's image processor refuses sides under 64)
PHOTO = (150, 97)  # sides that are no multiple of anything the models need
NO_CFG = {"qwen_image_edit": {"true_cfg_scale": 1.0}, "longcat_image_edit": {"guidance_scale": 1.0}}


def tokenizer() -> Any:
    """A byte-level Qwen2 tokenizer (no merges) with Qwen's chat and vision special tokens and chat template."""
    from transformers import Qwen2TokenizerFast

    tok = Qwen2TokenizerFast(
        vocab={s: i for i, s in enumerate(byte_symbols())}, merges=[], unk_token=None, eos_token="<|im_end|>",
        pad_token="<|endoftext|>", additional_special_tokens=SPECIAL,
    )  # fmt: skip
    tok.chat_template = CHAT
    return tok


def image_processor(full_size: bool = False) -> Any:
    """Qwen2-VL's image processor (14 px patches merged 2x2), capped small so the vision tower stays cheap;
    with ``full_size`` its released limits, as the benchmark's full-size pipelines use it.
    """
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil() if full_size else Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 56)


def qwen_vl_encoder(tok: Any, hidden: int = 16) -> Any:
    """A 2-layer Qwen2.5-VL (text and vision) with the tokenizer's vision token ids."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = dict(zip(SPECIAL, tok.convert_tokens_to_ids(SPECIAL), strict=True))
    config = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": hidden, "intermediate_size": hidden, "num_hidden_layers": 2, "num_attention_heads": 2,
            "num_key_value_heads": 2, "vocab_size": len(tok), "rope_theta": 1000000.0, "bos_token_id": None,
            "eos_token_id": None,
            "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
        },
        vision_config={
            "depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": hidden,
        },
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"], vision_token_id=ids["<|image_pad|>"],
    )  # fmt: skip
    torch.manual_seed(0)
    return Qwen2_5_VLForConditionalGeneration(config).eval()


def qwen_image_edit(folder: Path) -> Path:
    """Save a tiny QwenImageEditPlusPipeline to ``folder`` and return it."""
    import torch
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImageEditPlusPipeline,
        QwenImageTransformer2DModel,
    )  # fmt: skip

    tok = tokenizer()
    torch.manual_seed(0)
    transformer = QwenImageTransformer2DModel(
        patch_size=2, in_channels=16, out_channels=4, num_layers=2, attention_head_dim=16, num_attention_heads=3,
        joint_attention_dim=16, guidance_embeds=False, axes_dims_rope=(8, 4, 4),
    )  # fmt: skip
    torch.manual_seed(0)
    vae = AutoencoderKLQwenImage(
        base_dim=4, z_dim=4, dim_mult=[1, 1, 2, 2], num_res_blocks=1, temperal_downsample=[False, True, True],
        latents_mean=[0.0] * 4, latents_std=[1.0] * 4,
    )  # fmt: skip
    pipe = QwenImageEditPlusPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae.eval(), text_encoder=qwen_vl_encoder(tok),
        tokenizer=tok, processor=processor(tok), transformer=transformer.eval(),
    )  # fmt: skip
    return save(pipe, folder, "processor")


def processor(tok: Any, full_size: bool = False) -> Any:
    """A Qwen2VLProcessor over the tokenizer (without its video half: no torchvision here)."""
    from tools.qwen_vl_processor import image_only_class

    return image_only_class()(image_processor=image_processor(full_size), tokenizer=tok)


def save(pipe: Any, folder: Path, processor_name: str) -> Path:
    """``save_pretrained`` the pipeline, naming the processor as real checkpoints do (Qwen2VLProcessor)."""
    import json

    pipe.save_pretrained(folder)
    index = json.loads((folder / "model_index.json").read_text())
    index[processor_name] = ["transformers", "Qwen2VLProcessor"]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    return folder


def flux2_klein(folder: Path) -> Path:
    """Save a tiny distilled Flux2KleinPipeline (a 28-layer Qwen3 of width 16: klein reads layers 9, 18, 27)."""
    import torch
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tok = tokenizer()
    torch.manual_seed(0)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=48, timestep_guidance_channels=256, axes_dims_rope=[4, 4, 4, 4], guidance_embeds=False,
    )  # fmt: skip
    torch.manual_seed(0)
    text_encoder = Qwen3ForCausalLM(
        Qwen3Config(
            intermediate_size=16, hidden_size=16, num_hidden_layers=28, num_attention_heads=2, num_key_value_heads=2,
            vocab_size=len(tok), max_position_embeddings=1024, bos_token_id=None, eos_token_id=None,
        )
    )  # fmt: skip
    torch.manual_seed(0)
    vae = AutoencoderKLFlux2(
        block_out_channels=(4, 4, 8, 8), layers_per_block=1, latent_channels=4, norm_num_groups=4,
        use_quant_conv=False, use_post_quant_conv=False,
    )  # fmt: skip
    pipe = Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae.eval(), text_encoder=text_encoder.eval(),
        tokenizer=tok, transformer=transformer.eval(), is_distilled=True,
    )  # fmt: skip
    pipe.save_pretrained(folder)
    return folder


def longcat_image_edit(folder: Path) -> Path:
    """Save a tiny LongCatImageEditPipeline (its VAE has 16 latent channels, as the pipeline assumes)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        LongCatImageEditPipeline,
        LongCatImageTransformer2DModel,
    )

    tok = tokenizer()
    torch.manual_seed(0)
    transformer = LongCatImageTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=16, pooled_projection_dim=16, axes_dims_rope=[4, 4, 8],
    )  # fmt: skip
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=(4, 4, 8, 8), layers_per_block=1, norm_num_groups=4, latent_channels=16, shift_factor=0.0,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    )  # fmt: skip
    pipe = LongCatImageEditPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae.eval(), text_encoder=qwen_vl_encoder(tok),
        tokenizer=tok, text_processor=processor(tok), transformer=transformer.eval(),
    )  # fmt: skip
    return save(pipe, folder, "text_processor")


BUILDERS = {"qwen_image_edit": qwen_image_edit, "flux2_klein": flux2_klein, "longcat_image_edit": longcat_image_edit}


def editor_class(name: str) -> type[DiffusionEditor]:
    """The tool class of the named editor."""
    from tools.flux2_klein import Flux2Klein
    from tools.longcat_image_edit import LongCatImageEdit
    from tools.qwen_image_edit import QwenImageEdit

    classes = {"qwen_image_edit": QwenImageEdit, "flux2_klein": Flux2Klein, "longcat_image_edit": LongCatImageEdit}
    return classes[name]


def editor(name: str, dirs: dict[str, Path], **options: Any) -> DiffusionEditor:
    """The named editor on its tiny folder, on the CPU, working at ``SIDE``."""
    return editor_class(name)(dirs[name], allow_cpu=True, max_side=SIDE, **options)
