"""Settings: the one place that reads the environment (prefix DIALOGPAINT_); entry points build it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from graphs.deps import MAX_MESSAGE_CHARS, TurnLimits
from tools.detect import DEFAULT_DETECTOR_THRESHOLD
from tools.images import DEFAULT_MAX_ASPECT_RATIO, DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIDE
from tools.remote import RemoteLimits


def default_data_dir() -> Path:
    """Where sessions and images live unless configured: ~/.local/share/dialogpaint."""
    return Path.home() / ".local" / "share" / "dialogpaint"


class Settings(BaseSettings):
    """Configuration of the agent; explicit arguments beat environment variables, which beat defaults."""

    model_config = SettingsConfigDict(env_prefix="DIALOGPAINT_", extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir, description="Sessions and images.")
    llm: str = Field("local", description="'local' (embedded policy) or an OpenAI-compatible base URL.")
    llm_model: str = Field("Qwen/Qwen2.5-7B-Instruct", description="Model name served at the URL.")
    llm_api_key: SecretStr = Field(SecretStr("EMPTY"), description="API key for the model server.")
    llm_timeout_s: float = Field(60.0, gt=0, le=600, description="Read timeout per model call.")
    llm_connect_timeout_s: float = Field(5.0, gt=0, le=120, description="Connect timeout.")
    llm_max_retries: int = Field(
        2,
        ge=0,
        le=5,
        description="Retries after the first attempt of a model call (2: at most 3 attempts in all), for "
        "connection errors, timeouts, 429 and 5xx only (never other 4xx).",
    )
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_max_tokens: int = Field(512, ge=16, le=8192)
    model_path: str | None = Field(None, description="InstructPix2Pix weights: a local dir or cached id.")
    device: str | None = Field(None, description="Torch device for the diffusion editor.")
    allow_cpu: bool = Field(False, description="Let the diffusion editor run on the CPU.")
    editor_max_side: int = Field(512, ge=64, le=2048, description="Working size of the diffusion editor.")
    qwen_image_edit_path: str | None = Field(None, description="Qwen-Image-Edit-2511 weights: a local pipeline dir.")
    qwen_image_edit_lora: str | None = Field(None, description="A Lightning LoRA file for it (8 steps, no CFG).")
    flux2_klein_path: str | None = Field(None, description="FLUX.2 klein 4B weights: a local pipeline dir.")
    longcat_image_edit_path: str | None = Field(None, description="LongCat-Image-Edit weights: a local pipeline dir.")
    longcat_image_edit_turbo: bool = Field(False, description="Those weights are LongCat-Image-Edit-Turbo (8 steps).")
    new_editor_max_side: int = Field(
        1024, ge=64, le=2048, description="Working size of Qwen-Image-Edit and FLUX.2 klein (area = this squared)."
    )
    editor_fp8: bool = Field(False, description="Keep those editors' transformer weights in FP8 on sm_89+ GPUs.")
    confirm: Literal["never", "always", "auto"] = "auto"
    act_model: Path | None = Field(
        None,
        description="A trained act-model file (`dialogpaint train-policy --out FILE`) the embedded policy "
        "decides with instead of the shipped one.",
    )
    offer_unready_tools: bool = Field(
        False,
        description="Offer the dialogue model every registered tool, even one that cannot run here now (its "
        "edits then fail): for scoring decisions on a machine without the editors. Default: only ready tools.",
    )
    preview: bool = Field(True, description="Show a cheap preview with each proposed diffusion edit.")
    preview_steps: int = Field(4, ge=1, le=100, description="Denoising steps of a preview, at most.")
    preview_side: int = Field(256, ge=64, le=2048, multiple_of=64, description="Working size of a preview.")
    step_preview_every: int = Field(
        5, ge=0, le=100, description="A picture of a running diffusion edit every this many steps; 0: none."
    )
    tools_enabled: list[str] | None = None
    tools_disabled: list[str] = Field(default_factory=list)
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, ge=1, description="Largest accepted image, in pixels.")
    max_upload_bytes: int = Field(DEFAULT_MAX_BYTES, ge=1, description="Largest accepted image file.")
    min_image_side: int = Field(DEFAULT_MIN_SIDE, ge=1, le=4096, description="Shortest accepted image side, in pixels.")
    max_aspect_ratio: float = Field(
        DEFAULT_MAX_ASPECT_RATIO, ge=1, le=10_000, description="Longest image side over shortest, at most."
    )
    max_message_chars: int = Field(MAX_MESSAGE_CHARS, ge=1, le=100_000, description="Longest accepted user message.")
    model_calls_per_turn: int = Field(TurnLimits.model_calls_per_turn, ge=1, le=10)
    edits_per_message: int = Field(TurnLimits.edits_per_message, ge=1, le=20)
    context_tokens: int = Field(TurnLimits.context_tokens, ge=500, le=200_000)
    window_turns: int = Field(
        TurnLimits.window_turns,
        ge=4,
        le=1000,
        description="Turns kept in the session state; older ones in the transcript.",
    )
    seed: int | None = Field(None, ge=0, description="Fixed seed for every edit; None derives one.")
    clip_path: str | None = Field(
        None, description="Local CLIP weights for the eval image metrics and the self-check of generative edits."
    )
    self_check: bool = Field(True, description="With clip_path: score each generative edit, retry weak ones.")
    self_check_min_image_similarity: float = Field(0.7, ge=-1, le=1, description="CLIP similarity to the input.")
    self_check_min_directional_similarity: float = Field(
        0.1, ge=-1, le=1, description="CLIP directional similarity of the change to the instruction."
    )
    self_check_retries: int = Field(2, ge=0, le=8, description="Other seeds tried when an edit is below both.")
    self_check_guidance_step: float = Field(1.0, ge=0, le=10, description="s_T added per retry; 0: keep it.")
    c2pa_cert: str | None = Field(None, description="PEM certificate chain: sign exported PNGs with a C2PA manifest.")
    c2pa_key: str | None = Field(None, description="PEM private key of c2pa_cert.")
    remote_tools: dict[str, str] = Field(
        default_factory=dict,
        description="Tools served over HTTP, name -> base URL (JSON in DIALOGPAINT_REMOTE_TOOLS); "
        "one named like a built-in replaces it.",
    )
    remote_connect_timeout_s: float = Field(
        RemoteLimits.connect_timeout_s, gt=0, le=120, description="Connect timeout of remote tools."
    )
    remote_timeout_s: float = Field(
        RemoteLimits.read_timeout_s, gt=0, le=3600, description="Read timeout of one remote edit."
    )

    # The shared image store (issue 17): an S3-compatible bucket instead of data_dir/images.
    s3_bucket: str | None = Field(
        None, description="S3 bucket for images (credentials from the usual AWS env); unset: data_dir/images."
    )
    s3_prefix: str = Field("images/", description="Object name prefix of the images in the bucket.")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO...); unset: AWS.")
    s3_region: str | None = Field(None, description="Bucket region; unset: the AWS env's.")
    s3_connect_timeout_s: float = Field(5.0, gt=0, le=120, description="Connect timeout of the image bucket.")
    s3_timeout_s: float = Field(30.0, gt=0, le=600, description="Read timeout of one image bucket request.")

    @field_validator("remote_tools")
    @classmethod
    def _http_urls(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [f"{name}={url}" for name, url in value.items() if not url.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"remote tool URLs must be http(s) URLs, got {', '.join(bad)}")
        return value

    # The HTTP service (dialogpaint serve).
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Bearer keys, comma-separated; none: local dev mode (loopback only)."
    )
    checkpoint_url: SecretStr | None = Field(None, description="postgresql:// URL; unset: SQLite in data_dir.")
    public_url: str | None = Field(
        None,
        description="Base URL clients reach the server at, for image links in chat replies (langgraph dev, "
        "/v1/chat/completions); unset: the request's host.",
    )
    rate_per_minute: float = Field(60.0, gt=0, description="Requests that start work, per API key per minute.")
    rate_burst: int = Field(20, ge=1, description="How many such requests a key may make at once.")
    work_slots: int = Field(2, ge=1, le=64, description="Graph runs (turns) executing at once.")
    work_queue: int = Field(64, ge=0, le=10_000, description="Runs allowed to wait for a slot; more get 503.")
    work_per_key: int = Field(4, ge=1, le=10_000, description="Runs one API key may have executing or queued.")
    retry_after_s: int = Field(5, ge=1, le=3600, description="Retry-After sent when the work queue is full.")
    body_timeout_s: float = Field(30.0, gt=0, le=3600, description="A request body must arrive within this (408).")
    header_timeout_s: float = Field(
        10.0, gt=0, le=600, description="A request's headers must arrive within this (408, connection closed)."
    )
    state_store_timeout_s: float = Field(
        5.0, gt=0, le=120, description="Longest wait for the checkpoint store (SQLite lock, Postgres pool) before 503."
    )
    api_docs: bool | None = Field(
        None, description="Serve /docs and /openapi.json without a key; default: only when no API keys are set."
    )
    editor: str | None = Field(
        None, description="The one editing tool every edit goes to (e.g. instruct_pix2pix, as in the paper)."
    )
    llm_tool_mode: Literal["auto", "required", "json"] = Field(
        "auto",
        description="How the server model decides: tool calls with text for chat (auto), tool calls only with "
        "a reply tool (required), or JSON-schema structured output for servers without a tool parser (json).",
    )
    llm_turn_timeout_s: float = Field(
        120.0, gt=0, le=1800, description="All dialogue-model calls of one turn, retries included, end within this."
    )
    questions_in_a_row: int = Field(
        TurnLimits.questions_in_a_row, ge=1, le=10, description="Clarifying questions before the model must act."
    )
    detector_path: str | None = Field(
        None, description="Local OWLv2 weights: an edit naming an object seen twice in the image gets a question."
    )
    detector_threshold: float = Field(
        DEFAULT_DETECTOR_THRESHOLD, ge=0, lt=1, description="Lowest detector score that counts as an object."
    )
    synth_rouge_threshold: float = Field(
        0.7,
        gt=0,
        le=1,
        description="`dialogpaint synth` skips an answer whose ROUGE-L F1 with a kept one is above this.",
    )
    synth_temperature: float = Field(1.0, ge=0, le=2, description="Sampling temperature of `dialogpaint synth`.")
    # make-pairs' CLIP filter; the defaults are InstructPix2Pix's (dataset_creation/generate_img_dataset.py).
    pairs_caption_threshold: float = Field(0.2, ge=-1, le=1, description="Least CLIP image-caption similarity.")
    pairs_directional_threshold: float = Field(0.2, ge=-1, le=1, description="Least CLIP directional similarity.")
    pairs_image_threshold: float = Field(0.7, ge=-1, le=1, description="Least CLIP input-edited image similarity.")

    @field_validator("act_model")
    @classmethod
    def _act_model_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"act_model: no file at {value} (write one with `dialogpaint train-policy --out FILE`)")
        return value

    @field_validator("llm")
    @classmethod
    def _local_or_url(cls, value: str) -> str:
        if value == "local":
            return value
        urls = [url.strip().rstrip("/") for url in value.split(",")]  # several: a fleet (agent.models.fleet)
        if not all(url.startswith(("http://", "https://")) for url in urls):
            raise ValueError(f"llm must be 'local' or an http(s) URL, got {value!r} (several servers: comma-separated)")
        return ",".join(urls)

    @property
    def llm_urls(self) -> list[str]:
        """The dialogue-model servers, in order of preference (one unless DIALOGPAINT_LLM lists several)."""
        return self.llm.split(",")

    @field_validator("public_url")
    @classmethod
    def _public_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"public_url must be an http(s) URL, got {value!r}")
        return value.rstrip("/") if value else value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("api_keys")
    @classmethod
    def _long_enough(cls, value: list[SecretStr]) -> list[SecretStr]:
        short = [i for i, key in enumerate(value) if len(key.get_secret_value()) < 16]
        if short:
            raise ValueError(f"API keys must be at least 16 characters (key #{short[0] + 1} is shorter)")
        return value

    @field_validator("checkpoint_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("checkpoint_url must be a postgresql:// URL")
        return value

    @property
    def checkpoint_path(self) -> Path:
        """The SQLite checkpoint database."""
        return self.data_dir / "sessions.sqlite"

    @property
    def images_dir(self) -> Path:
        """The content-addressed image store."""
        return self.data_dir / "images"
