#!/usr/bin/env bash
# Install everything into .venv (idempotent). Used by the README's commands and by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # Headless Chromium for the UI's browser tests (Debian package; optional for users).
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "note: could not install chromium; the browser test will be skipped" >&2
fi
if [ ! -f /usr/share/dictd/freedict-nld-eng.index ] && [ "$(id -u)" = 0 ]; then
  # FreeDict Dutch-English: the word glossary under English answers (optional for users).
  (apt-get update -qq && apt-get install -y -qq dict-freedict-nld-eng) >/dev/null 2>&1 \
    || echo "note: could not install dict-freedict-nld-eng; answers will have no glossary" >&2
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/pip install -q "torch==2.13.0"
# test + serve-test: the browser test and a real llama.cpp server (builds from source, ~5 min)
.venv/bin/pip install -q -e ".[test,serve-test]"
