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

    agent.service is the FastAPI app itself and agent.mcp_server the MCP server: importing them means
    wanting FastAPI or mcp, so they are left out (the CLI imports them only inside `serve` and `mcp`).
    """
    modules = sorted(
        name
        for package in FORBIDDEN
        for path in (ROOT / package).rglob("*.py")
        if not (name := ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")).startswith(
            ("agent.service", "agent.mcp_server")
        )
    )
    code = (
        f"import sys\nfor m in {modules!r}: __import__(m)\n"
        "heavy = {'torch', 'diffusers', 'transformers', 'langchain_openai', 'fastapi', 'uvicorn', 'mcp',"
        " 'boto3', 'botocore', 'ray', 'trl', 'peft', 'datasets', 'rouge_score', 'nltk', 'accelerate',"
        " 'sklearn', 'scipy', 'c2pa'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def project_modules() -> dict[str, Path]:
    """Every module of the three packages by dotted name (a package by its own name)."""
    modules = {}
    for package in FORBIDDEN:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    return modules


def import_edges(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports, at the top or inside functions alike."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                targets.add(submodule if submodule in modules else node.module)
    return targets & modules.keys()


def test_no_import_cycles():
    """No module imports, directly or through others, a module that imports it back (function-level imports too)."""
    modules = project_modules()
    graph = {name: import_edges(path, modules) for name, path in modules.items()}
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            name, trail = stack.pop()
            for target in graph[name]:
                if target == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles)[:10])
