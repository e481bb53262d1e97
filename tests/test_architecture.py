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


def find_cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every path that leads from a node back to itself, as 'a -> b -> a'."""
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            name, trail = stack.pop()
            for target in graph.get(name, ()):
                if target == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
    return cycles


def test_no_import_cycles():
    """No module imports, directly or through others, a module that imports it back (function-level imports too)."""
    modules = project_modules()
    cycles = find_cycles({name: import_edges(path, modules) for name, path in modules.items()})
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles)[:10])


RUNTIME = ("agent.session", "agent.models", "agent.policy")
SURFACES_AND_TOOLING = (
    "agent.eval", "agent.train", "agent.cli", "agent.service", "agent.client", "agent.mcp_server", "agent.integrations",
)  # fmt: skip


def folder(module: str) -> str:
    """The folder a module belongs to: agent.X / graphs.X / agent.train.X; a root module is its own."""
    parts = module.split(".")
    depth = 3 if parts[:2] == ["agent", "train"] and len(parts) >= 3 else 2
    return ".".join(parts[:depth]) if len(parts) > depth else module


def module_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: import_edges(path, modules) for name, path in modules.items()}


def under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_runtime_never_imports_a_surface_eval_or_training():
    bad = [
        f"{name} -> {target}"
        for name, targets in module_graph().items()
        if under(name, RUNTIME)
        for target in targets
        if under(target, SURFACES_AND_TOOLING)
    ]
    assert not bad, bad


def test_eval_never_imports_training():
    bad = [f"{n} -> {t}" for n, ts in module_graph().items() if under(n, ("agent.eval",)) for t in ts]
    assert not [edge for edge in bad if under(edge.split(" -> ")[1], ("agent.train",))]


def test_only_the_graph_wires_the_nodes():
    bad = [
        f"{name} -> {target}"
        for name, targets in module_graph().items()
        if name != "graphs.graph" and not under(name, ("graphs.nodes",))
        for target in targets
        if under(target, ("graphs.nodes",))
    ]
    assert not bad, bad


def test_no_folder_level_cycles():
    """Folders (agent.session, graphs.nodes, agent.train.pairs, ...) import each other one way only."""
    folders: dict[str, set[str]] = {}
    for name, targets in module_graph().items():
        edges = folders.setdefault(folder(name), set())
        edges |= {folder(t) for t in targets} - {folder(name)}
    cycles = find_cycles(folders)
    assert not cycles, "folder cycles:\n" + "\n".join(sorted(cycles)[:10])


def test_the_agent_root_holds_only_configuration_and_the_composition_root():
    roots = sorted(p.name for p in (ROOT / "agent").glob("*.py") if p.name != "__init__.py")
    assert roots == ["samples.py", "settings.py", "wiring.py"]
