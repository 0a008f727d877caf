"""The conventions of official papers (`index/metadata.toml`), read once: shared by
`index.metadata` (title, kind, date, signatures) and `index.motion` (a motion's parts)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=1)
def conventions() -> dict[str, Any]:
    """index/metadata.toml, read once."""
    with open(Path(__file__).with_name("metadata.toml"), "rb") as handle:
        return tomllib.load(handle)
