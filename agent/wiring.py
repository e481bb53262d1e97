"""Wire settings into concrete objects: create_engine() (model, tools, store, checkpointer, graph), build_tool_app().

The composition root: the image store (files or an S3 bucket), the object detector and the self-check the
settings describe are assembled here too, so the runtime folders never reach into eval or train.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import ExitStack

from langchain_core.language_models import BaseChatModel

from agent.models.factories import make_chat_model, model_calls
from agent.models.prompts import system_prompt
from agent.session.c2pa import C2paSigner, SigningFailed
from agent.session.engine import Engine
from agent.session.lock import FileSessionLock, PostgresSessionLock, SharedLock
from agent.session.refusals import InputLimits
from agent.settings import Settings
from graphs.deps import GraphDeps, Previews, TurnLimits
from graphs.graph import build_graph
from graphs.selfcheck import SelfCheck
from graphs.storage.checkpoint import postgres_checkpointer, sqlite_checkpointer
from graphs.storage.s3_store import S3ImageStore, S3Location
from graphs.storage.store import FileImageStore, ImageStore
from tools.base import EditTool, make_ready
from tools.clip import ClipSimilarities
from tools.detect import Detector
from tools.errors import RegistryError, ToolUnavailable
from tools.flux2_klein import Flux2Klein
from tools.instruct_pix2pix import InstructPix2Pix
from tools.longcat_image_edit import LongCatImageEdit
from tools.owlv2 import Owlv2Detector
from tools.qwen_image_edit import QwenImageEdit
from tools.registry import load_registry, ready_tools
from tools.remote import RemoteLimits, connect_remote_tool
from tools.serving import ToolApp

logger = logging.getLogger(__name__)


def build_tools(settings: Settings, *, every_editor: bool = False) -> Mapping[str, EditTool]:
    """The registry the settings describe: built-ins (InstructPix2Pix configured), remote tools, plug-ins,
    filters. A remote tool named like a built-in replaces it (e.g. InstructPix2Pix on a GPU machine).
    """
    limits = RemoteLimits(
        connect_timeout_s=settings.remote_connect_timeout_s,
        read_timeout_s=settings.remote_timeout_s,
        max_request_bytes=settings.max_upload_bytes,
        max_response_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_pixels,
    )
    store = shared_store(settings)
    configured: list[EditTool] = [
        connect_remote_tool(n, url, limits, store) for n, url in settings.remote_tools.items()
    ]
    if InstructPix2Pix.name not in settings.remote_tools:
        pix2pix = InstructPix2Pix(
            settings.model_path,
            device=settings.device,
            allow_cpu=settings.allow_cpu,
            max_side=settings.editor_max_side,
            preview_steps=settings.preview_steps,
            preview_side=settings.preview_side,
        )
        configured.append(pix2pix)
    configured += [e for e in generative_editors(settings) if e.name not in settings.remote_tools]
    enabled = [settings.editor] if settings.editor else settings.tools_enabled
    return load_registry(
        configured=configured, enabled=enabled, disabled=settings.tools_disabled, every_editor=every_editor
    )


def generative_editors(settings: Settings) -> list[EditTool]:
    """Qwen-Image-Edit, FLUX.2 klein and LongCat-Image-Edit with the weights and options the settings name."""
    device, cpu, fp8, side = settings.device, settings.allow_cpu, settings.editor_fp8, settings.new_editor_max_side
    return [
        QwenImageEdit(
            settings.qwen_image_edit_path, lora=settings.qwen_image_edit_lora, max_side=side, device=device,
            allow_cpu=cpu, fp8=fp8,
        ),
        Flux2Klein(settings.flux2_klein_path, max_side=side, device=device, allow_cpu=cpu, fp8=fp8),
        LongCatImageEdit(
            settings.longcat_image_edit_path, turbo=settings.longcat_image_edit_turbo, device=device, allow_cpu=cpu,
            fp8=fp8,
        ),
    ]  # fmt: skip


def graph_deps(settings: Settings, model: BaseChatModel, tools: Mapping[str, EditTool], store: ImageStore) -> GraphDeps:
    """The run context the settings describe, around an already built model, tools and store."""
    calls = model_calls(settings)
    return GraphDeps(
        model=model,
        tools=tools,
        store=store,
        system_prompt=system_prompt(calls.tool_mode, tools if settings.offer_unready_tools else ready_tools(tools)),
        confirm=settings.confirm,
        limits=TurnLimits(
            model_calls_per_turn=settings.model_calls_per_turn,
            edits_per_message=settings.edits_per_message,
            context_tokens=settings.context_tokens,
            questions_in_a_row=settings.questions_in_a_row,
            window_turns=settings.window_turns,
        ),
        seed=settings.seed,
        calls=calls,
        previews=Previews(confirm=settings.preview, every=settings.step_preview_every),
        self_check=self_check(settings),
        detector=build_detector(settings),
        offer_unready=settings.offer_unready_tools,
    )


def build_tool_app(name: str, settings: Settings, *, concurrency: int = 1) -> ToolApp:
    """The ASGI app serving the registered tool ``name``; also the builder a Ray Serve ingress calls.

    Raises:
        RegistryError: no tool of that name is registered (after plug-ins and filters).
        ToolUnavailable: the tool cannot run on this machine (no model, package or GPU).
    """
    tools = build_tools(settings, every_editor=True)
    if name not in tools:
        raise RegistryError(f"no tool named {name!r} to serve; known: {', '.join(tools)}")
    tool = tools[name]
    # Refuse now rather than answer every edit with 503 behind a healthy /healthz; and load a model
    # before the first request, which would otherwise wait for it past the client's read timeout.
    make_ready(tool, f"cannot serve {name} here")
    return ToolApp(
        tool,
        max_body_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_pixels,
        concurrency=concurrency,
        store=shared_store(settings),
    )


def c2pa_signer(settings: Settings) -> C2paSigner | None:
    """The C2PA signer of exported PNGs, when both a certificate and a key are configured."""
    if settings.c2pa_cert is None and settings.c2pa_key is None:
        return None
    if settings.c2pa_cert is None or settings.c2pa_key is None:
        raise SigningFailed("a C2PA manifest needs both DIALOGPAINT_C2PA_CERT and DIALOGPAINT_C2PA_KEY")
    return C2paSigner.from_files(settings.c2pa_cert, settings.c2pa_key)


def session_lock(settings: Settings) -> SharedLock:
    """The cross-process session lock: advisory locks in the Postgres that holds the checkpoints, or lock
    files beside the SQLite database.
    """
    if settings.checkpoint_url is None:
        return FileSessionLock(settings.data_dir / "locks")
    return PostgresSessionLock(settings.checkpoint_url.get_secret_value(), settings.state_store_timeout_s)


def create_engine(
    settings: Settings,
    *,
    model: BaseChatModel | None = None,
    tools: Mapping[str, EditTool] | None = None,
    store: ImageStore | None = None,
) -> Engine:
    """An Engine on the settings' data directory (file image store unless ``s3_bucket`` is set; SQLite
    checkpoints unless a Postgres ``checkpoint_url`` is set).

    ``model``, ``tools`` and ``store`` replace what the settings would build (tests, embedding).
    What it builds (remote tools' connections, the checkpointer) is closed by ``Engine.close()``, or
    at once if a later step fails.
    """
    signer = c2pa_signer(settings)  # before anything is built: a bad key path leaves nothing open
    with ExitStack() as built:
        if tools is None:
            tools = build_tools(settings)
            for tool in tools.values():
                if callable(close_tool := getattr(tool, "close", None)):
                    built.callback(close_tool)
            if settings.editor:
                make_ready(tools[settings.editor], f"--editor {settings.editor}")
        model = model or make_chat_model(settings)
        if settings.checkpoint_url is not None:
            url, wait = settings.checkpoint_url.get_secret_value(), settings.state_store_timeout_s
            checkpointer, close = postgres_checkpointer(url, timeout_s=wait)
        else:
            checkpointer = sqlite_checkpointer(settings.checkpoint_path, timeout_s=settings.state_store_timeout_s)
            close = checkpointer.conn.close
        built.callback(close)
        closers = built.pop_all()
    deps = graph_deps(settings, model, tools, store or image_store(settings))
    limits = input_limits(settings)
    where = "postgres" if settings.checkpoint_url is not None else "sqlite"
    logger.info("engine on %s (%s checkpoints) with tools %s", settings.data_dir, where, ", ".join(deps.tools))
    lock = session_lock(settings)
    closers.callback(lock.close)
    return Engine(build_graph(checkpointer), deps, limits, closers=[closers.close], shared_lock=lock, signer=signer)


def input_limits(settings: Settings) -> InputLimits:
    """The limits on messages and uploads the settings name."""
    return InputLimits(
        max_message_chars=settings.max_message_chars,
        max_pixels=settings.max_pixels,
        max_upload_bytes=settings.max_upload_bytes,
        min_image_side=settings.min_image_side,
        max_aspect_ratio=settings.max_aspect_ratio,
    )


def s3_location(settings: Settings) -> S3Location | None:
    """The bucket the settings name, or None for the file store."""
    if settings.s3_bucket is None:
        return None
    return S3Location(
        bucket=settings.s3_bucket,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        connect_timeout_s=settings.s3_connect_timeout_s,
        read_timeout_s=settings.s3_timeout_s,
    )


def image_store(settings: Settings) -> ImageStore:
    """The shared bucket if configured, else the file store under the data directory."""
    return shared_store(settings) or FileImageStore(settings.images_dir)


def shared_store(settings: Settings) -> S3ImageStore | None:
    """The bucket that service replicas and editing servers share, if configured (images then go by key)."""
    location = s3_location(settings)
    return None if location is None else S3ImageStore(location)


def build_detector(settings: Settings) -> Detector | None:
    """An OWLv2 detector on ``settings.detector_path``, or None when none is configured (no questions asked).

    Raises:
        ToolUnavailable: a detector is configured but cannot run here (missing extra or weights);
            checked cheaply now so a wrong path fails at startup, the model itself loads on first use.
    """
    if settings.detector_path is None:
        return None
    detector = Owlv2Detector(settings.detector_path, threshold=settings.detector_threshold)
    reason = detector.unavailable_reason()
    if reason:
        raise ToolUnavailable(f"DIALOGPAINT_DETECTOR_PATH: {reason}")
    return detector


def self_check(settings: Settings) -> SelfCheck | None:
    """The self-check the settings describe: on with local CLIP weights (``clip_path``), off without."""
    if settings.clip_path is None or not settings.self_check:
        return None
    return SelfCheck(
        score=ClipSimilarities(settings.clip_path),
        min_image_similarity=settings.self_check_min_image_similarity,
        min_directional_similarity=settings.self_check_min_directional_similarity,
        retries=settings.self_check_retries,
        guidance_step=settings.self_check_guidance_step,
    )
