"""create_engine(): wire settings into concrete objects (model, tools, store, checkpointer, graph)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from langchain_core.language_models import BaseChatModel

from agent.models import make_chat_model
from agent.prompts import SYSTEM_PROMPT
from agent.session import Engine, Limits
from agent.settings import Settings
from graphs.checkpoint import sqlite_checkpointer
from graphs.deps import GraphDeps
from graphs.deps import Limits as GraphLimits
from graphs.graph import build_graph
from graphs.store import FileImageStore, ImageStore
from tools.base import EditTool
from tools.errors import ToolUnavailable
from tools.instruct_pix2pix import InstructPix2Pix
from tools.registry import load_registry

logger = logging.getLogger(__name__)


def build_tools(settings: Settings) -> Mapping[str, EditTool]:
    """The registry the settings describe: built-ins (InstructPix2Pix configured), plug-ins, filters."""
    pix2pix = InstructPix2Pix(
        settings.model_path,
        device=settings.device,
        allow_cpu=settings.allow_cpu,
        max_side=settings.editor_max_side,
    )
    enabled = [settings.editor] if settings.editor else settings.tools_enabled
    tools = load_registry(configured=[pix2pix], enabled=enabled, disabled=settings.tools_disabled)
    if settings.editor:
        check_editor(tools[settings.editor])
    return tools


def check_editor(tool: EditTool) -> None:
    """Load the one chosen editor now, so a missing package, model or GPU stops startup, not turn one."""
    reason: Callable[[], str | None] | None = getattr(tool, "unavailable_reason", None)
    problem = reason() if reason else None
    if problem:
        raise ToolUnavailable(f"--editor {tool.name}: {problem}")
    load: Callable[[], object] | None = getattr(tool, "load", None)
    if load is not None:
        load()


def create_engine(
    settings: Settings,
    *,
    model: BaseChatModel | None = None,
    tools: Mapping[str, EditTool] | None = None,
    store: ImageStore | None = None,
) -> Engine:
    """An Engine on the settings' data directory (SQLite checkpoints, file image store).

    ``model``, ``tools`` and ``store`` replace what the settings would build (tests, embedding).
    """
    checkpointer = sqlite_checkpointer(settings.checkpoint_path)
    deps = GraphDeps(
        model=model or make_chat_model(settings),
        tools=tools if tools is not None else build_tools(settings),
        store=store or FileImageStore(settings.images_dir),
        system_prompt=SYSTEM_PROMPT,
        confirm=settings.confirm,
        limits=GraphLimits(
            model_calls_per_turn=settings.model_calls_per_turn,
            edits_per_message=settings.edits_per_message,
            context_tokens=settings.context_tokens,
        ),
        seed=settings.seed,
    )
    limits = Limits(
        max_message_chars=settings.max_message_chars,
        max_pixels=settings.max_pixels,
        max_upload_bytes=settings.max_upload_bytes,
    )
    logger.info("engine on %s with tools %s", settings.data_dir, ", ".join(deps.tools))
    return Engine(build_graph(checkpointer), deps, limits, closers=[checkpointer.conn.close])
