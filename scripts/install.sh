#!/usr/bin/env bash
# Install into .venv (idempotent).
#   ./scripts/install.sh          what running needs: the project and its runtime dependencies
#                                 (bundled encoder, FAISS, BM25, LangChain core, Gradio,
#                                 python-docx for Word exports); no
#                                 torch, no compiler, no browser. The README's first command.
#   ./scripts/install.sh --test   also the test extras: CPU torch and sentence-transformers
#                                 (the other-model path and its tests), pytest/ruff/mypy, a
#                                 llama.cpp server built from source (~5 min) and Debian's
#                                 Chromium for the browser tests. The README's second command; CI.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "") tests=0 ;;
  --test) tests=1 ;;
  *) echo "Usage: $0 [--test]   (--test: also what the tests need)" >&2; exit 2 ;;
esac
if [ ! -f /usr/share/dictd/freedict-nld-eng.index ] && [ "$(id -u)" = 0 ]; then
  # FreeDict Dutch-English: the word glossary under English answers (optional).
  (apt-get update -qq && apt-get install -y -qq dict-freedict-nld-eng) >/dev/null 2>&1 \
    || echo "note: could not install dict-freedict-nld-eng; answers will have no glossary" >&2
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "$tests" = 0 ]; then
  .venv/bin/pip install -q -e .
  exit 0
fi
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # Headless Chromium for the UI's browser tests (Debian package).
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "note: could not install chromium; the browser test will be skipped" >&2
fi
# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/pip install -q "torch==2.13.0"
# test (with the models extra) + serve-test: a real llama.cpp server (builds from source)
.venv/bin/pip install -q -e ".[test,serve-test]"
