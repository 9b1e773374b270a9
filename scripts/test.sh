#!/usr/bin/env bash
# Sets up .venv with everything the tests need, then runs them. Offline after the install; no GPU needed.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is pinned to the CPU build (2.13.0); everything else the tests use comes with the "test" extra.
.venv/bin/python -m pip install --quiet -e ".[test]"
# unsloth's CPU path installs without its GPU dependencies.
UNSLOTH_PKGS="unsloth==2026.10.9 unsloth_zoo==2026.10.9"
.venv/bin/python -m pip install --quiet --no-deps $UNSLOTH_PKGS
export UNSLOTH_SKIP_TORCHVISION_CHECK=1
.venv/bin/python -m pytest -q "$@"
