"""Load .txt, .md and .pdf files (or folders of them) into `RawDocument`s.

Every problem with an input becomes an `InputError` whose message names the file and
says what to do; nothing here prints or exits (files skipped inside a folder are reported
through an `on_skip` callback). A file over the size limit is refused before it is read,
so memory stays bounded by the limit; text files are UTF-8 (a BOM is fine) or UTF-16/32
with a BOM.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import logging
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path

from rag.errors import InputError
from rag.types import RawDocument

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf")
PAGE_BREAK = "\f"
# Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # pypdf can yield them; nothing after can
Skip = Callable[[str], None]
"""on_skip(note): told about each file inside a folder that is left out, and why."""


def bundled_corpus() -> Path:
    """Folder holding the bundled default corpus (the letter)."""
    return Path(str(resources.files("index") / "corpus"))


def discover(paths: Sequence[Path], on_skip: Skip | None = None) -> list[Path]:
    """Expand folders into the supported files they hold; check every path exists.

    Inside a folder, a link that leads out of it (``passwd.txt -> /etc/passwd``) is
    skipped and reported to `on_skip`; a path given by name is used as given."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(
                f"'{path}' does not exist. Check the path, or run 'rag index build' "
                "without a path to index the bundled letter."
            )
        if path.is_dir():
            found = _folder_files(path, on_skip or (lambda note: None))
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


def _folder_files(folder: Path, on_skip: Skip) -> list[Path]:
    root = folder.resolve()
    found = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() not in SUPPORTED_SUFFIXES or not p.is_file():
            continue
        if not p.resolve().is_relative_to(root):
            on_skip(f"Skipped '{p}': it links to '{p.resolve()}', outside '{folder}'.")
            continue
        found.append(p)
    return found


def load_paths(
    paths: Sequence[Path], *, max_bytes: int | None = None, on_skip: Skip | None = None
) -> list[RawDocument]:
    """Load every supported file under `paths`, with stable, unique document ids."""
    files = discover(paths, on_skip)
    documents = [load_file(path, max_bytes=max_bytes) for path in files]
    return _unique_ids(documents)


def load_file(path: Path, name: str | None = None, max_bytes: int | None = None) -> RawDocument:
    """Load one file; `name` overrides the display name (e.g. an upload's original name);
    a file over `max_bytes` is refused before it is read."""
    name = name or path.name
    if not path.is_file():
        raise InputError(f"'{path}' does not exist or is not a file. Check the path.")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"'{name}' is empty: there is nothing to index. Add text or leave it out.")
    if max_bytes is not None and size > max_bytes:
        raise InputError(
            f"'{name}' is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:g} MB. Split "
            "it into smaller files, or raise the limit (RAG_INDEX__MAX_FILE_MB)."
        )
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
        content_hash=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
        text=text,
        page_starts=page_starts,
    )


def slugify(stem: str) -> str:
    """A readable, filesystem- and URL-safe id from a file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug or "document"


def _read_text(path: Path, name: str) -> str:
    data = path.read_bytes()
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _normalise_newlines(data.decode(codec))
            except UnicodeDecodeError:
                raise InputError(
                    f"'{name}' starts like {codec.upper()} text but cannot be decoded as it. "
                    "Save it as UTF-8 and index it again."
                ) from None
    if _looks_binary(data):
        raise InputError(
            f"'{name}' looks like a binary file, not text. Give a .txt or .md file in UTF-8 "
            "(or UTF-16 with a byte-order mark), or a .pdf."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"'{name}' is not UTF-8 text (byte {exc.start} cannot be decoded; it is probably "
            f"Latin-1 or Windows-1252). Convert it first, e.g. "
            f"iconv -f latin1 -t utf-8 {shlex.quote(str(path))} > converted.txt, "
            "then index converted.txt."
        ) from None
    return _normalise_newlines(text)


def _normalise_newlines(text: str) -> str:
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
        page = _LONE_SURROGATE.sub("\ufffd", _normalise_newlines(page))
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
