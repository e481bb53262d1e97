"""Which new release breaks which part: the unlocked CI run, read against the lock.

`.ci/run` installs today's newest releases (no lock) into a second venv and runs there the suites that
touch outside libraries; this script lists those suites and then reads that run's JUnit report against
constraints.txt, naming for each part whose tests failed the packages of that part that moved:

    FAIL a new release of openai (3.51.0 -> 3.63.0) or httpx2 (2.16.2 -> 2.17.0) breaks the dialogue-model
         wire path: 73 of 75 tests failed, first tests/test_llm_dialogue.py::test_clarify_confirm_edit_undo...

Usage:
    python scripts/drift.py tests                       the test files of the unlocked run, one a line
    python scripts/drift.py report JUNIT --lock constraints.txt --python .venv-latest/bin/python

`report` exits 1 when a test failed (or the report is missing), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree


@dataclass(frozen=True)
class Part:
    """A part of the project that leans on outside libraries: its fast tests and the packages it uses."""

    name: str
    tests: tuple[str, ...]
    packages: tuple[str, ...]


PARTS = (
    Part(
        "the dialogue-model wire path (client, retries, fleet, doctor, synth)",
        ("tests/test_llm_dialogue.py", "tests/test_llm_faults.py", "tests/test_llm_fleet.py",
         "tests/test_llm_retry.py", "tests/test_llm_cli.py", "tests/test_llm_prompts.py", "tests/test_synth.py"),
        ("openai", "langchain-openai", "httpx", "httpx2", "httpcore", "langchain-core", "tiktoken", "pydantic"),
    ),
    Part(
        "the CLIP scorer (eval metrics, self-check)",
        ("tests/test_eval_clip.py", "tests/test_selfcheck.py"),
        ("transformers", "torch", "tokenizers", "safetensors", "huggingface-hub", "pillow", "numpy"),
    ),
    Part(
        "the diffusers InstructPix2Pix pipeline",
        ("tests/test_instruct_pix2pix.py",),
        ("diffusers", "transformers", "torch", "accelerate", "safetensors", "huggingface-hub", "numpy"),
    ),
    Part(
        "the LangGraph state machine and checkpoints",
        ("tests/test_graph.py", "tests/test_checkpoints.py", "tests/test_durability.py",
         "tests/test_policy_reads_data.py", "tests/test_eval_set.py"),
        ("langgraph", "langgraph-checkpoint", "langgraph-checkpoint-sqlite", "langgraph-checkpoint-postgres",
         "langchain-core", "ormsgpack", "aiosqlite", "sqlite-vec", "psycopg", "psycopg-pool", "pydantic", "numpy"),
    ),
    Part(
        "the HTTP service and its client",
        ("tests/test_service.py", "tests/test_client.py"),
        ("fastapi", "starlette", "uvicorn", "python-multipart", "httpx", "httpx-sse", "pydantic", "anyio"),
    ),
    Part(
        "the MCP server",
        ("tests/test_mcp.py",),
        ("mcp", "starlette", "uvicorn", "httpx", "httpx2", "httpx-sse", "pydantic", "anyio", "sse-starlette"),
    ),
)  # fmt: skip


TOOLING = {"dialogpaint", "pip"}  # the project itself and the venv's own pip: never in the lock


@dataclass(frozen=True)
class Case:
    """One test of the unlocked run."""

    file: str
    test: str
    failed: bool
    message: str = ""  # the first line of pytest's failure or error message


def normalise(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """The pins, name -> version, from constraints.txt's ``name==version`` lines."""
    pins = {}
    for line in path.read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            pins[normalise(name)] = version.strip()
    return pins


def installed(python: str) -> dict[str, str]:
    """The versions, name -> version, that interpreter's environment holds (local labels such as +cpu dropped)."""
    listing = subprocess.run(
        [python, "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    return {normalise(p["name"]): p["version"].split("+")[0] for p in json.loads(listing)}


def read_cases(junit: Path) -> list[Case]:
    """Every test in pytest's --junitxml report, with its file and whether it failed or errored."""
    cases = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")
        # classname is "tests.test_x" or "tests.test_x.TestClass": the file is the first test_ module.
        stem = next((i for i, p in enumerate(parts) if p.startswith("test_")), len(parts) - 1)
        fault = case.find("failure")
        fault = case.find("error") if fault is None else fault
        message = "" if fault is None else (fault.get("message") or "").split("\n", 1)[0][:160]
        cases.append(Case("/".join(parts[: stem + 1]) + ".py", case.get("name", "?"), fault is not None, message))
    return cases


def moved(packages: Iterable[str], lock: dict[str, str], now: dict[str, str]) -> list[str]:
    """'name (locked -> now)' for each package whose installed version is not the locked one."""
    out = []
    for name in packages:
        if name in now and lock.get(name) != now[name]:
            out.append(f"{name} ({lock.get(name, 'not in the lock')} -> {now[name]})")
    return out


def summarise(junit: Path, lock: dict[str, str], now: dict[str, str]) -> tuple[bool, list[str]]:
    """(all passed, the lines to print): one verdict line per part, failures first."""
    everything = moved(sorted(set(now) - TOOLING), lock, now)
    lines = [f"unlocked run: {len(now)} packages installed, {len(everything)} differ from constraints.txt"]
    if everything:
        lines.append("  " + ", ".join(everything))
    if not junit.is_file():
        return False, [*lines, f"FAIL the unlocked test run left no report at {junit}: see its log above"]
    cases = read_cases(junit)
    failures = [case for case in cases if case.failed]
    verdicts: list[str] = []
    known = {test for part in PARTS for test in part.tests}
    for part in PARTS:
        failed = [f for f in failures if f.file in part.tests]
        total = sum(case.file in part.tests for case in cases)
        if not failed:
            verdicts.append(f"ok   {part.name}: {total} tests passed")
            continue
        suspects = moved(part.packages, lock, now)
        who = " or ".join(suspects) if suspects else "a package none of its listed dependencies name"
        first = f"{failed[0].file}::{failed[0].test} ({failed[0].message or 'no message'})"
        verdicts.insert(0, f"FAIL a new release of {who} breaks {part.name}: {len(failed)} of {total} failed, {first}")
    strays = [f for f in failures if f.file not in known]
    for stray in strays:
        verdicts.insert(0, f"FAIL {stray.file}::{stray.test} (a test outside the listed parts)")
    lines += [f"{len(cases)} tests ran, {len(failures)} failed", *verdicts]
    return not failures, lines


def main(argv: list[str] | None = None) -> int:
    """The command line: `tests` or `report`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("tests", help="the test files of the unlocked run")
    report = sub.add_parser("report", help="read an unlocked run's JUnit report against the lock")
    report.add_argument("junit", type=Path)
    report.add_argument("--lock", type=Path, default=Path("constraints.txt"))
    report.add_argument("--python", default=sys.executable, help="the unlocked venv's interpreter")
    args = parser.parse_args(argv)
    if args.command == "tests":
        print("\n".join(test for part in PARTS for test in part.tests))
        return 0
    passed, lines = summarise(args.junit, read_lock(args.lock), installed(args.python))
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
