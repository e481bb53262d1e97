"""The unlocked CI run's verdict (scripts/drift.py): it names the release that breaks a part.

The JUnit report in tests/data/drift was made by running the unlocked suites of 5566914 (before the
openai 3 fix) with openai 3.63.0 installed: the break users met, read as CI would have read it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_THE_FIX = ROOT / "tests" / "data" / "drift" / "junit-openai3-before-the-fix.xml"

spec = importlib.util.spec_from_file_location("drift", ROOT / "scripts" / "drift.py")
assert spec is not None and spec.loader is not None
drift = importlib.util.module_from_spec(spec)
sys.modules["drift"] = drift  # dataclasses look their module up by name
spec.loader.exec_module(drift)

LOCK_BEFORE = {"openai": "2.54.0", "langchain-openai": "1.8.1", "httpx": "0.29.0", "fastapi": "0.165.0"}
TODAY = {**LOCK_BEFORE, "openai": "3.63.0", "httpx2": "2.17.0", "dialogpaint": "0.1.0", "pip": "23.2.1"}


def test_the_httpx2_break_is_named_with_the_release_and_the_part_it_broke():
    passed, lines = drift.summarise(BEFORE_THE_FIX, LOCK_BEFORE, TODAY)
    assert not passed
    assert lines[0] == "unlocked run: 7 packages installed, 2 differ from constraints.txt"
    assert lines[1] == "  httpx2 (not in the lock -> 2.17.0), openai (2.54.0 -> 3.63.0)"
    assert lines[2] == "207 tests ran, 68 failed"
    verdict = lines[3]
    assert verdict.startswith(
        "FAIL a new release of openai (2.54.0 -> 3.63.0) or httpx2 (not in the lock -> 2.17.0) "
        "breaks the dialogue-model wire path"
    )
    assert ": 68 of 85 failed, tests/test_llm_dialogue.py::" in verdict and "Invalid timeout" in verdict
    assert [line.split(":")[0] for line in lines[4:]] == [
        "ok   the CLIP scorer (eval metrics, self-check)",
        "ok   the diffusers InstructPix2Pix pipeline",
        "ok   the LangGraph state machine and checkpoints",
        "ok   the HTTP service and its client",
        "ok   the MCP server",
    ]


def test_a_clean_run_passes_and_a_missing_report_fails(tmp_path):
    clean = tmp_path / "clean.xml"
    clean.write_text(
        '<testsuites><testsuite><testcase classname="tests.test_mcp" name="test_a"/></testsuite></testsuites>'
    )
    passed, lines = drift.summarise(clean, LOCK_BEFORE, LOCK_BEFORE)
    assert passed and "ok   the MCP server: 1 tests passed" in lines
    passed, lines = drift.summarise(tmp_path / "absent.xml", LOCK_BEFORE, LOCK_BEFORE)
    assert not passed and lines[-1].startswith("FAIL the unlocked test run left no report")


def test_every_listed_suite_exists_and_the_lock_reads_as_pins():
    for part in drift.PARTS:
        assert all((ROOT / test).is_file() for test in part.tests), part.name
    pins = drift.read_lock(ROOT / "constraints.txt")
    assert pins["torch"] == "2.13.0" and "dialogpaint" not in pins
    assert all(name == drift.normalise(name) for name in pins)
