"""The tool registry: built-in tools plus plug-ins from the ``dialogpaint.tools`` entry points."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points

from pydantic import BaseModel

from tools.base import (
    CONTROL_TOOL_NAMES,
    REPLY_TOOL,
    EditTool,
    Readiness,
    ToolCapabilities,
    readiness,
    tool_description,
)
from tools.colour import Grayscale, Invert, Posterize, Sepia, Tint
from tools.errors import RegistryError
from tools.filters import Blur, Sharpen, Vignette, Vintage
from tools.flux2_klein import Flux2Klein
from tools.geometry import Crop, Flip, Resize, Rotate
from tools.instruct_pix2pix import InstructPix2Pix
from tools.longcat_image_edit import LongCatImageEdit
from tools.qwen_image_edit import QwenImageEdit
from tools.tone import AdjustTone

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "dialogpaint.tools"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
RESERVED_NAMES = frozenset({*CONTROL_TOOL_NAMES, REPLY_TOOL})  # the dialogue model's own tools

BUILTIN_TOOLS: tuple[type[EditTool], ...] = (
    AdjustTone,
    Grayscale,
    Sepia,
    Invert,
    Tint,
    Posterize,
    Blur,
    Sharpen,
    Vignette,
    Vintage,
    Rotate,
    Flip,
    Crop,
    Resize,
    InstructPix2Pix,
    QwenImageEdit,
    Flux2Klein,
    LongCatImageEdit,
)
# The generative editors beside the paper's InstructPix2Pix: registered, but the dialogue model sees one
# generative editor, so they join the registry only when named (--editor NAME, an enabled list, a remote
# tool of that name) or listed (`dialogpaint tools`, `serve-tool NAME`).
ALTERNATE_EDITORS = frozenset({QwenImageEdit.name, Flux2Klein.name, LongCatImageEdit.name})


class ToolRegistry(Mapping[str, EditTool]):
    """Validated editing tools by name, in registration order."""

    def __init__(self, tools: Iterable[tuple[EditTool, str]]) -> None:
        """Register (tool, origin) pairs; origin names where a tool came from in error messages."""
        self._tools: dict[str, EditTool] = {}
        self._origins: dict[str, str] = {}
        for tool, origin in tools:
            validate_tool(tool, origin)
            if tool.name in self._tools:
                raise RegistryError(
                    f"{origin}: a tool named {tool.name!r} is already registered by {self._origins[tool.name]}"
                )
            self._tools[tool.name] = tool
            self._origins[tool.name] = origin

    def __getitem__(self, name: str) -> EditTool:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def origin(self, name: str) -> str:
        """Where the tool came from: 'builtin' or the plug-in's entry point."""
        return self._origins[name]

    def readiness(self, name: str) -> Readiness:
        """Whether the tool ``name`` can run here now (asked of the tool each time: it may break or recover)."""
        return readiness(self._tools[name])


def ready_tools(tools: Mapping[str, EditTool]) -> dict[str, EditTool]:
    """The tools of ``tools`` that can run here now, in order: the only ones a dialogue model is offered."""
    return {name: tool for name, tool in tools.items() if readiness(tool).ready}


def not_ready(tools: Mapping[str, EditTool]) -> dict[str, Readiness]:
    """The registered tools that cannot run here now, with why and what would enable each."""
    return {name: found for name, tool in tools.items() if not (found := readiness(tool)).ready}


def validate_tool(tool: object, origin: str) -> None:
    """Raise RegistryError naming the origin and the first problem found."""
    if inspect.isclass(tool):
        raise RegistryError(f"{origin}: got the class {tool.__name__}, not an instance of it")
    name = getattr(tool, "name", None)
    label = f"{origin} ({name!r})" if name else origin
    if name is None:
        raise RegistryError(f"{label}: the tool has no name; give its class a snake_case name, 2-48 characters")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise RegistryError(f"{label}: name must be snake_case, 2-48 characters, got {name!r}")
    if name in RESERVED_NAMES:
        raise RegistryError(f"{label}: the name {name!r} is reserved for the dialogue controls")
    params = getattr(tool, "Params", None)
    if not (inspect.isclass(params) and issubclass(params, BaseModel)):
        raise RegistryError(f"{label}: Params must be a pydantic BaseModel subclass, got {params!r}")
    if not tool_description(tool).strip():  # type: ignore[arg-type]
        raise RegistryError(f"{label}: Params needs a docstring; it is the model's description")
    try:
        schema = params.model_json_schema()
    except Exception as exc:  # a plug-in's schema can fail in many ways; report it at startup
        raise RegistryError(f"{label}: Params has no JSON schema ({exc})") from exc
    if schema.get("type") != "object":
        raise RegistryError(f"{label}: Params must describe a JSON object, got type {schema.get('type')!r}")
    instruction = schema.get("properties", {}).get("instruction")
    if instruction is not None and instruction.get("type") != "string":
        raise RegistryError(f"{label}: a Params field named 'instruction' must be a string")
    capabilities = getattr(tool, "capabilities", None)
    if not isinstance(capabilities, ToolCapabilities):
        raise RegistryError(f"{label}: capabilities must be a ToolCapabilities, got {type(capabilities).__name__}")
    for method in ("check_inputs", "__call__"):
        if not callable(getattr(tool, method, None)):
            raise RegistryError(f"{label}: missing method {method}()")


def discover_plugins() -> list[tuple[EditTool, str]]:
    """Instantiate every tool registered under the ``dialogpaint.tools`` entry points.

    An entry point names a tool class (constructed with no arguments), a factory function returning
    a tool, or a tool instance.
    """
    found: list[tuple[EditTool, str]] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        package = f" from package {entry.dist.name!r}" if entry.dist is not None else ""
        origin = f"plug-in {entry.name!r} ({entry.value}){package}"
        found.append((load_plugin(entry, origin), origin))
    return found


def load_plugin(entry: EntryPoint, origin: str) -> EditTool:
    """Import one entry point and build its tool; RegistryError naming the plug-in otherwise."""
    try:
        target = entry.load()
    except Exception as exc:  # startup boundary: name the broken plug-in, keep the cause
        raise RegistryError(f"{origin}: cannot be imported: {type(exc).__name__}: {exc}") from exc
    if not inspect.isclass(target) and hasattr(target, "Params"):
        return target  # type: ignore[no-any-return]
    if not callable(target):
        raise RegistryError(f"{origin}: names a {type(target).__name__}, not a tool class, factory or instance")
    try:
        tool = target()
    except Exception as exc:  # the plug-in's constructor is not our code; report it at startup
        raise RegistryError(f"{origin}: {type(exc).__name__} while constructing the tool: {exc}") from exc
    return tool  # type: ignore[no-any-return]


def load_registry(
    *,
    configured: Iterable[EditTool] = (),
    enabled: Collection[str] | None = None,
    disabled: Collection[str] = (),
    plugins: bool = True,
    every_editor: bool = False,
) -> ToolRegistry:
    """Build the registry: built-ins (``configured`` instances replace same-named ones), then plug-ins.

    Args:
        configured: tool instances built by the caller with settings (e.g. InstructPix2Pix with a
            model path, remote tools); each replaces the built-in or plug-in of the same name.
        enabled: if given, only these names are kept; an unknown name is an error.
        disabled: names to drop; an unknown name is an error.
        plugins: whether to load entry-point plug-ins.
        every_editor: keep the alternate generative editors even when ``enabled`` does not name them
            (``dialogpaint tools`` lists each with its state).
    """
    configured = list(configured)
    chosen = {tool.name: tool for tool in configured}
    replaced = set(chosen)
    entries: list[tuple[EditTool, str]] = [
        (chosen.pop(cls.name) if cls.name in chosen else cls(), "builtin") for cls in BUILTIN_TOOLS
    ]
    entries += [(tool, "configured") for tool in chosen.values()]
    for tool, origin in discover_plugins() if plugins else []:
        if getattr(tool, "name", None) in replaced:  # e.g. the same plug-in, served from a GPU machine
            logger.info("%s: replaced by the configured tool of the same name", origin)
            continue
        entries.append((tool, origin))
    registry = ToolRegistry(entries)
    for label, names in (("enabled", enabled or ()), ("disabled", disabled)):
        unknown = sorted(set(names) - set(registry))
        if unknown:
            raise RegistryError(f"{label} tools not found: {', '.join(unknown)}; known: {', '.join(registry)}")
    remote = {tool.name for tool in configured if type(tool) not in BUILTIN_TOOLS}  # chosen explicitly, e.g. served
    hidden = set() if every_editor else ALTERNATE_EDITORS - set(enabled or ()) - remote
    keep = [n for n in registry if (enabled is None or n in enabled) and n not in disabled and n not in hidden]
    return ToolRegistry((registry[n], registry.origin(n)) for n in keep)
