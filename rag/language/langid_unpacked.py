"""py3langid's model unpacked once, so that later processes load it in milliseconds.

py3langid keeps its model as an LZMA-compressed .npz (4.5 MB; 68 MB unpacked) and
decompresses it on first use: about 0.3 s, the largest single load a question can meet
(`rag.language.identify` asks it about longer questions with few Dutch or English stop words).
The first process writes the six arrays as plain .npy files beside the installed
environment; later processes memory-map them (the class-probability table is read only
at the rows a text's features select) and build the same `LanguageIdentifier` that
`py3langid.langid.LanguageIdentifier.from_model_file` builds. The copy is used only
after its arrays were found equal to the package's; anything unreadable falls back to
the package's own loader. The folder is named after the package version.
"""

from __future__ import annotations

import lzma
import os
import shutil
import sys
import tempfile
from array import array
from pathlib import Path
from typing import Any

import numpy as np

NAMES = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


def default_folder() -> Path:
    """Where the unpacked copy goes: beside the installed environment, per version."""
    import py3langid

    return Path(sys.prefix) / "share" / "kamerbrief-rag" / f"py3langid-{py3langid.__version__}"


def identifier(folder: Path | None = None) -> Any:
    """py3langid's default `LanguageIdentifier`, from the unpacked copy when there is one
    (made on first use)."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    folder = folder or default_folder()
    arrays = _read(folder)
    if arrays is None:
        _unpack(MODEL_DIR / MODEL_FILE, folder)
        arrays = _read(folder)
    if arrays is None:
        return LanguageIdentifier.from_model_file(MODEL_FILE)
    return LanguageIdentifier(
        np.asarray(arrays["ptc"]),
        np.asarray(arrays["pc"]),
        arrays["classes"].tolist(),
        _to_array(arrays["nextmove"]),
        arrays["out_feat"].tolist(),
        tk_row=_to_array(arrays["nextmove_row"]),
    )


def _read(folder: Path) -> dict[str, np.ndarray] | None:
    if not (folder / "done").is_file():
        return None
    try:
        return {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in NAMES}
    except (OSError, ValueError):
        return None


def _unpack(model: Path, folder: Path) -> None:
    """Write the model's arrays to `folder`, checked against the package's; a copy that
    cannot be written is no error (the package's loader serves)."""
    partial = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        with tempfile.TemporaryFile(suffix=".npz") as unpacked:
            with lzma.open(model) as source:
                shutil.copyfileobj(source, unpacked, length=1 << 20)
            unpacked.seek(0)
            with np.load(unpacked, allow_pickle=False) as data:
                arrays = {name: data[name] for name in NAMES}
        for name, value in arrays.items():
            np.save(partial / f"{name}.npy", value, allow_pickle=False)
        for name, value in arrays.items():
            if not np.array_equal(np.load(partial / f"{name}.npy"), value):
                return
        (partial / "done").write_text("")
        os.rename(partial, folder)  # another process may have been first: theirs will do
    except Exception:  # noqa: BLE001 - a cache that cannot be written is no error
        return
    finally:
        shutil.rmtree(partial, ignore_errors=True)


_TYPECODES = {2: "H", 4: "I", 8: "L"}


def _to_array(values: np.ndarray) -> array[int]:
    """An unsigned NumPy array as the stdlib array py3langid walks (its `_to_array`)."""
    out = array(_TYPECODES[values.dtype.itemsize])
    out.frombytes(np.ascontiguousarray(values).data.cast("B"))
    return out
