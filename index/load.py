"""Load .txt, .md and .pdf files (or folders of them) into `RawDocument`s.

Every problem with an input becomes an `InputError` whose message names the file and
says what to do; nothing here prints or exits.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path

from rag.errors import InputError
from rag.types import RawDocument

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf")
PAGE_BREAK = "\f"


def bundled_corpus() -> Path:
    """Folder holding the bundled default corpus (the letter)."""
    return Path(str(resources.files("index") / "corpus"))


def discover(paths: Sequence[Path]) -> list[Path]:
    """Expand folders into the supported files they hold; check every path exists."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(
                f"'{path}' does not exist. Check the path, or run 'rag index build' "
                "without a path to index the bundled letter."
            )
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
            if not found:
                raise InputError(
                    f"Folder '{path}' holds no .txt, .md or .pdf files. Add some, or point "
                    "at the files themselves."
                )
            files.extend(found)
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise InputError(
                f"'{path}' is a {path.suffix or 'suffix-less'} file; only .txt, .md and .pdf "
                "can be indexed. Convert it to one of those first."
            )
        else:
            files.append(path)
    return files


def load_paths(paths: Sequence[Path]) -> list[RawDocument]:
    """Load every supported file under `paths`, with stable, unique document ids."""
    files = discover(paths)
    documents = [load_file(path) for path in files]
    return _unique_ids(documents)


def load_file(path: Path, name: str | None = None) -> RawDocument:
    """Load one file; `name` overrides the display name (e.g. an upload's original name)."""
    name = name or path.name
    if not path.is_file():
        raise InputError(f"'{path}' does not exist or is not a file. Check the path.")
    if path.stat().st_size == 0:
        raise InputError(f"'{name}' is empty: there is nothing to index. Add text or leave it out.")
    if path.suffix.lower() == ".pdf":
        text, page_starts = _read_pdf(path, name)
    else:
        text, page_starts = _read_text(path, name), []
    if not text.strip():
        raise InputError(f"'{name}' holds only whitespace: there is nothing to index.")
    return RawDocument(
        doc_id=slugify(Path(name).stem),
        name=name,
        source=str(path),
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        text=text,
        page_starts=page_starts,
    )


def slugify(stem: str) -> str:
    """A readable, filesystem- and URL-safe id from a file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug or "document"


def _read_text(path: Path, name: str) -> str:
    data = path.read_bytes()
    if _looks_binary(data):
        raise InputError(
            f"'{name}' looks like a binary file, not text. Give a .txt or .md file in UTF-8, "
            "or a .pdf."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"'{name}' is not UTF-8 text (byte {exc.start} cannot be decoded; it is probably "
            f"Latin-1 or Windows-1252). Convert it first, e.g. "
            f"iconv -f latin1 -t utf-8 '{path}' > converted.txt, then index converted.txt."
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return control > len(sample) * 0.05


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs warnings ("invalid pdf header", "EOF marker not found") that would reach
    stderr next to our one-line error; a PDF that cannot be read raises anyway."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _read_pdf(path: Path, name: str) -> tuple[str, list[int]]:
    from pypdf import PdfReader

    try:
        with _quiet_pypdf():
            reader = PdfReader(path)
            pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # noqa: BLE001 - any parser failure means an unreadable PDF
        raise InputError(
            f"'{name}' could not be read as a PDF ({type(exc).__name__}). Check that the file "
            "is a complete PDF, or export the text to a .txt file and index that."
        ) from None
    if not any(page.strip() for page in pages):
        raise InputError(
            f"'{name}' has no text layer (a scanned PDF?). Run OCR on it first, or index a "
            ".txt version."
        )
    return _join_pages(pages)


def _join_pages(pages: Iterable[str]) -> tuple[str, list[int]]:
    parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for page in pages:
        page = page.replace("\r\n", "\n").replace("\r", "\n")
        if parts:
            parts.append("\n" + PAGE_BREAK + "\n")
            offset += 3
        starts.append(offset)
        parts.append(page)
        offset += len(page)
    return "".join(parts), starts


def _unique_ids(documents: list[RawDocument]) -> list[RawDocument]:
    seen: dict[str, str] = {}
    unique: list[RawDocument] = []
    for doc in documents:
        doc_id = doc.doc_id
        if doc_id in seen and seen[doc_id] != doc.source:
            suffix = hashlib.sha1(doc.source.encode()).hexdigest()[:6]
            doc = doc.model_copy(update={"doc_id": f"{doc_id}-{suffix}"})
        seen[doc.doc_id] = doc.source
        unique.append(doc)
    return unique
