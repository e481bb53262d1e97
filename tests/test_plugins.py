"""Plug-ins: entry-point discovery, a clear startup error for every way one can be broken, and the
capabilities the model and the confirm policy see."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from graphs.specs import edit_tool_schema
from tests.fakes import ai, call
from tools.base import ToolCapabilities
from tools.errors import RegistryError
from tools.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]

TOOL = '''
from typing import ClassVar
from PIL import ImageOps
from pydantic import BaseModel, Field
from tools.base import PillowTool, ToolCapabilities


class MirrorParams(BaseModel):
    """Mirror the image left to right."""

    times: int = Field(1, ge=1, le=3)


class Mirror(PillowTool[MirrorParams]):
    name: ClassVar[str] = "{name}"
    Params: ClassVar[type[BaseModel]] = MirrorParams
    capabilities: ClassVar[ToolCapabilities] = {capabilities}

    def apply(self, image, params):
        return ImageOps.mirror(image)


def make():
    return Mirror()


INSTANCE = Mirror()
'''


def fake_distribution(site: Path, module: str, source: str, entry: str, name: str = "mirror_it") -> Path:
    """An installed distribution (module + dist-info with an entry point), as pip would leave it."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[dialogpaint.tools]\n{name} = {module}:{entry}\n")
    return site


def tool_source(name: str = "mirror_it", capabilities: str = "ToolCapabilities()") -> str:
    return TOOL.replace("{name}", name).replace("{capabilities}", capabilities)


@pytest.mark.parametrize("entry", ["Mirror", "make", "INSTANCE"])
def test_a_plugin_class_factory_or_instance_is_registered(tmp_path, monkeypatch, entry):
    module = f"mirror_{entry.lower()}"
    monkeypatch.syspath_prepend(fake_distribution(tmp_path, module, tool_source(), entry))
    registry = load_registry()
    assert "mirror_it" in registry and "grayscale" in registry
    assert registry.origin("mirror_it") == f"plug-in 'mirror_it' ({module}:{entry}) from package '{module}'"
    assert "mirror_it" not in load_registry(disabled=["mirror_it"])
    assert list(load_registry(enabled=["mirror_it", "blur"])) == ["blur", "mirror_it"]


BROKEN = {
    "import_error": ("import not_installed_anywhere\n", "Mirror", "cannot be imported: ModuleNotFoundError"),
    "missing_attribute": (tool_source(), "Mirrror", "cannot be imported: AttributeError"),
    "not_a_tool": ("TOOL = 42\n", "TOOL", "names a int, not a tool class, factory or instance"),
    "constructor_fails": (
        "def make():\n    raise RuntimeError('no licence key')\n",
        "make",
        "RuntimeError while constructing the tool: no licence key",
    ),
    "bad_device": (
        tool_source(capabilities='ToolCapabilities(device="tpu")'),
        "Mirror",
        "device must be one of cpu, gpu, remote, got 'tpu'",
    ),
    "bad_max_side": (
        tool_source(capabilities="ToolCapabilities(max_side=0)"),
        "Mirror",
        "max_side must be a positive int",
    ),
    "capabilities_dict": (
        tool_source(capabilities='{"device": "cpu"}'),
        "Mirror",
        "capabilities must be a ToolCapabilities, got dict",
    ),
    "no_params": (tool_source().replace("Params: ClassVar", "Parameters: ClassVar"), "Mirror", "Params must be"),
    "undocumented_params": (
        tool_source().replace('"""Mirror the image left to right."""', "pass"),
        "Mirror",
        "Params needs a docstring",
    ),
    "instruction_not_text": (
        tool_source().replace("times: int", "instruction: int = 0\n    times: int"),
        "Mirror",
        "a Params field named 'instruction' must be a string",
    ),
    "returns_a_class": (
        "from tools.colour import Grayscale\n\ndef make():\n    return Grayscale\n",
        "make",
        "got the class Grayscale",
    ),
    "bad_name": (tool_source(name="Mirror It"), "Mirror", "name must be snake_case"),
    "no_name": (tool_source().replace('name: ClassVar[str] = "mirror_it"', ""), "Mirror", "the tool has no name"),
    "reserved_name": (tool_source(name="undo"), "Mirror", "reserved for the dialogue controls"),
    "duplicate_of_builtin": (tool_source(name="blur"), "Mirror", "'blur' is already registered by builtin"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_plugin_is_a_startup_error_naming_it(tmp_path, monkeypatch, case):
    source, entry, problem = BROKEN[case]
    module = f"broken_{case}"
    monkeypatch.syspath_prepend(fake_distribution(tmp_path, module, source, entry))
    with pytest.raises(RegistryError) as error:
        load_registry()
    message = str(error.value)
    assert message.startswith("plug-in 'mirror_it'") and f"from package '{module}'" in message, message
    assert problem in message


def test_two_plugins_with_one_name_are_refused(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(fake_distribution(tmp_path / "a", "mirror_a", tool_source(), "Mirror"))
    monkeypatch.syspath_prepend(fake_distribution(tmp_path / "b", "mirror_b", tool_source(), "Mirror"))
    with pytest.raises(RegistryError, match=r"'mirror_it' is already registered by plug-in 'mirror_it' \(mirror_"):
        load_registry()


def test_a_configured_tool_replaces_the_plugin_of_its_name(tmp_path, monkeypatch):
    from tests.fakes import RecordingTool

    class Served(RecordingTool):  # stands for the same plug-in used through DIALOGPAINT_REMOTE_TOOLS
        name = "mirror_it"

    monkeypatch.syspath_prepend(fake_distribution(tmp_path, "mirror_here", tool_source(), "Mirror"))
    served = Served()
    registry = load_registry(configured=[served])
    assert registry["mirror_it"] is served and registry.origin("mirror_it") == "configured"


def test_cli_reports_a_broken_plugin_in_one_line(tmp_path):
    site = fake_distribution(tmp_path / "site", "broken_cli", "import not_installed_anywhere\n", "Mirror")
    env = {**os.environ, "PYTHONPATH": str(site), "DIALOGPAINT_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "agent.cli", "tools"], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: plug-in 'mirror_it' (broken_cli:Mirror) from package 'broken_cli'")
    assert "No module named 'not_installed_anywhere'" in result.stderr


def test_capabilities_are_checked_when_made():
    with pytest.raises(ValueError, match="cost must be one of low, medium, high"):
        ToolCapabilities(cost="free")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="takes_mask must be true or false"):
        ToolCapabilities(takes_mask="yes")  # type: ignore[arg-type]


def test_model_descriptions_state_the_capabilities_that_matter(tmp_path, monkeypatch):
    caps = "ToolCapabilities(cost='medium', deterministic=False, needs_confirmation=True, max_side=1024)"
    monkeypatch.syspath_prepend(fake_distribution(tmp_path, "mirror_caps", tool_source(capabilities=caps), "Mirror"))
    registry = load_registry()
    schema = edit_tool_schema(registry["mirror_it"])["function"]
    assert schema["description"] == (
        "Mirror the image left to right. Runs on the CPU, cost medium. Results vary with the seed. "
        "The user is asked to confirm before it runs. Accepts images up to 1024 px on the longest side."
    )
    assert schema["parameters"]["properties"]["times"] == {"type": "integer", "minimum": 1, "maximum": 3, "default": 1}
    plain = edit_tool_schema(registry["grayscale"])["function"]["description"]
    assert plain.endswith("removing all colour. Runs on the CPU, cost low.")


def test_confirm_policy_reads_needs_confirmation(tmp_path, monkeypatch, make_session):
    caps = "ToolCapabilities(needs_confirmation=True)"
    monkeypatch.syspath_prepend(fake_distribution(tmp_path, "mirror_confirm", tool_source(capabilities=caps), "Mirror"))
    tools = {"mirror_it": load_registry(enabled=["mirror_it"])["mirror_it"]}
    script = [ai(call("mirror_it", instruction="mirror it")), ai(call("confirm_pending", approve=True))]
    session = make_session(script, confirm="auto", tools=tools)
    assert session.send("mirror it").action == "confirm"
    reply = session.send("yes")
    assert reply.action == "edit" and len(reply.revisions) == 2
