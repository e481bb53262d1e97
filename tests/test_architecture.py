"""Imports point one way: tools <- graphs <- agent."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"tools": {"graphs", "agent"}, "graphs": {"agent"}, "agent": set()}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_direction(package):
    for path in (ROOT / package).rglob("*.py"):
        bad = imported_packages(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_graphs_never_import_a_concrete_model_or_torch():
    for path in (ROOT / "graphs").rglob("*.py"):
        assert not imported_packages(path) & {"torch", "diffusers", "langchain_openai", "openai"}, path


def test_importing_every_module_loads_no_heavy_library():
    """diffusers alone costs ~5 s to import: tools load it when first used, never at import.

    agent.service is the FastAPI app itself: importing it means wanting FastAPI, so it is left out
    (the CLI imports it only inside `dialogpaint serve`).
    """
    modules = sorted(
        name
        for package in FORBIDDEN
        for path in (ROOT / package).rglob("*.py")
        if not (name := ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")).startswith(
            "agent.service"
        )
    )
    code = (
        f"import sys\nfor m in {modules!r}: __import__(m)\n"
        "heavy = {'torch', 'diffusers', 'transformers', 'langchain_openai', 'fastapi', 'uvicorn'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]", result.stdout
