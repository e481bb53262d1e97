"""create_engine(): wire settings into concrete objects (model, tools, store, checkpointer, graph)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from langchain_core.language_models import BaseChatModel

from agent.models import make_chat_model, model_calls
from agent.prompts import system_prompt
from agent.session import Engine, Limits
from agent.settings import Settings
from graphs.checkpoint import sqlite_checkpointer
from graphs.deps import GraphDeps
from graphs.deps import Limits as GraphLimits
from graphs.graph import build_graph
from graphs.store import FileImageStore, ImageStore
from tools.base import EditTool
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
    return load_registry(configured=[pix2pix], enabled=settings.tools_enabled, disabled=settings.tools_disabled)


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
    tools = tools if tools is not None else build_tools(settings)
    calls = model_calls(settings)
    deps = GraphDeps(
        model=model or make_chat_model(settings),
        tools=tools,
        store=store or FileImageStore(settings.images_dir),
        system_prompt=system_prompt(calls.tool_mode, tools),
        confirm=settings.confirm,
        limits=GraphLimits(
            model_calls_per_turn=settings.model_calls_per_turn,
            edits_per_message=settings.edits_per_message,
            context_tokens=settings.context_tokens,
            questions_in_a_row=settings.questions_in_a_row,
        ),
        seed=settings.seed,
        calls=calls,
    )
    limits = Limits(
        max_message_chars=settings.max_message_chars,
        max_pixels=settings.max_pixels,
        max_upload_bytes=settings.max_upload_bytes,
    )
    logger.info("engine on %s with tools %s", settings.data_dir, ", ".join(deps.tools))
    return Engine(build_graph(checkpointer), deps, limits, closers=[checkpointer.conn.close])
