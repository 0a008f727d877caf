"""bm25s, imported without scipy.

bm25s imports scipy (about 0.1 s of imports here) only for its optional scipy
score-matrix builder (`BM25(csc_backend="scipy")`), which this project does not use: its
default builder, its stop word lists, loading a saved index and searching it are plain
numpy. `bm25s()` imports the package as if scipy were missing.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from types import ModuleType


@lru_cache(maxsize=1)
def bm25s() -> ModuleType:
    """The bm25s package; scipy is not imported for it."""
    if "scipy.sparse" in sys.modules:
        import bm25s as module
    else:
        sys.modules["scipy.sparse"] = None  # type: ignore[assignment]  # reads as "no scipy"
        try:
            import bm25s as module
        finally:
            del sys.modules["scipy.sparse"]
    return module
