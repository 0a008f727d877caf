"""`rag index build | add | remove | info | set-meta`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from assembly.progress import ProgressBars
from index.build import max_file_bytes
from index.load import bundled_corpus, load_paths
from index.metadata import KINDS
from index.pgstore import PgStore, redacted
from index.store import IndexStore, live_version, read_manifest
from index.stores import open_store, set_document_metadata, uses_server, write_documents
from rag.errors import InputError
from rag.retrieval.embeddings import load_embedder
from rag.settings import Settings
from rag.types import RawDocument
from ui.common import friendly_errors, settings_of


@click.group("index")
def index_group() -> None:
    """Build and inspect the index."""


JOBS = click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    help="Processes that chunk, embed and write documents in parallel, each document in "
    "its own transaction (PostgreSQL store; resumable: documents already stored unchanged "
    "are skipped).",
)


@index_group.command("build")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@JOBS
@click.pass_context
@friendly_errors
def build_command(ctx: click.Context, paths: tuple[Path, ...], jobs: int) -> None:
    """Index PATHS (.txt, .md, .pdf files or folders); no PATH: the bundled letter.

    Replaces the index's documents with these; unchanged passages are not re-embedded.
    """
    _write(ctx, paths or (bundled_corpus(),), keep=False, jobs=jobs)


@index_group.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@JOBS
@click.pass_context
@friendly_errors
def add(ctx: click.Context, paths: tuple[Path, ...], jobs: int) -> None:
    """Add documents to the existing index (a document with the same name is replaced)."""
    _write(ctx, paths, keep=True, jobs=jobs)


@index_group.command("remove")
@click.argument("doc_ids", nargs=-1, required=True)
@click.pass_context
@friendly_errors
def remove(ctx: click.Context, doc_ids: tuple[str, ...]) -> None:
    """Remove documents (by id, see `rag index info`) from the index."""
    settings = settings_of(ctx)
    previous = open_store(settings, check=False)
    known = {d.doc_id for d in previous.manifest.documents}
    unknown = [doc_id for doc_id in doc_ids if doc_id not in known]
    if unknown:  # said before a model is loaded; the write checks again under the lock
        raise InputError(
            f"Unknown document id(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))} "
            "(see 'rag index info')."
        )
    embedder = load_embedder(settings.embedding)
    store = write_documents(settings, embedder, [], previous=previous, keep=True, remove=doc_ids)
    click.echo(f"Removed {len(doc_ids)} document(s); {store.manifest.chunk_count} passages remain.")


def _write(ctx: click.Context, paths: tuple[Path, ...], keep: bool, jobs: int) -> None:
    """Load the files (failing fast on bad input), embed and write them into the store."""
    settings = settings_of(ctx)
    documents = _load(settings, paths)
    embedder = load_embedder(settings.embedding)
    with ProgressBars() as bars:
        store = write_documents(settings, embedder, documents, keep=keep, progress=bars, jobs=jobs)
    _report(settings, store)


def _load(settings: Settings, paths: tuple[Path, ...]) -> list[RawDocument]:
    """Load the files (over index.max_file_mb: refused); skipped files get a note."""
    return load_paths(
        list(paths),
        max_bytes=max_file_bytes(settings),
        on_skip=lambda note: click.echo(f"Note: {note}", err=True),
    )


def _report(settings: Settings, store: Any) -> None:
    m = store.manifest
    where = redacted(settings.index.store) if uses_server(settings) else settings.index.path
    click.echo(
        f"Indexed {len(m.documents)} document(s), {m.chunk_count} passages "
        f"({m.embedding_model}, {m.faiss_type}) into {where}"
    )


def describe_line(d: Any) -> str:
    """One line of a document's metadata: kind, title, date, dossier, signatories."""
    parts = [f"{d.kind}: {d.title or d.name}"]
    parts += [d.date] if d.date else []
    parts += [f"Kamerstuk {d.dossier}"] if d.dossier and d.dossier[:1].isdigit() else []
    parts += [d.dossier] if d.dossier and not d.dossier[:1].isdigit() else []
    parts += ["signed: " + "; ".join(d.signatories)] if d.signatories else []
    parts += ["submitted by: " + "; ".join(d.submitters)] if d.submitters else []
    parts += [f"(edited: {', '.join(d.edited)})"] if d.edited else []
    return " · ".join(parts)


@index_group.command("set-meta")
@click.argument("doc_id")
@click.option("--title", default=None, help="Title of the document.")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="What kind of paper it is.")
@click.option("--date", default=None, metavar="YYYY-MM-DD", help="Date of the paper.")
@click.option("--sender", default=None, help='Who sends it ("De minister van …").')
@click.option(
    "--signatory",
    "signatories",
    multiple=True,
    help='"office, name" as signed (repeatable; replaces the list).',
)
@click.option("--dossier", default=None, help='Dossier number ("21 501-02, nr. 3123").')
@click.option(
    "--submitter",
    "submitters",
    multiple=True,
    help="A motion's submitter as named (repeatable; replaces the list).",
)
@click.option("--request", default=None, help='A motion\'s request ("verzoekt de regering …").')
@click.pass_context
@friendly_errors
def set_meta(
    ctx: click.Context,
    doc_id: str,
    signatories: tuple[str, ...],
    submitters: tuple[str, ...],
    **fields: str | None,
) -> None:
    """Correct a document's metadata (what `rag index info` lists); a rebuild of the
    same, unchanged document keeps the correction.

    \b
    rag index set-meta eu-geopolitiek-kamerbrief --date 2025-12-12 \\
        --title "Kamerbrief over de EU als geopolitieke speler"
    """
    changes: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if signatories:
        changes["signatories"] = list(signatories)
    if submitters:
        changes["submitters"] = list(submitters)
    if not changes:
        raise click.UsageError(
            "Give at least one of --title, --kind, --date, --sender, --signatory, --dossier, "
            "--submitter, --request."
        )
    entry = set_document_metadata(settings_of(ctx), doc_id, changes)
    click.echo(f"{entry.doc_id}: {describe_line(entry)}")


@index_group.command("info")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@friendly_errors
def info(ctx: click.Context, as_json: bool) -> None:
    """Documents, passages, sections, model and sizes of the index."""
    settings = settings_of(ctx)
    if uses_server(settings):
        store: Any = PgStore.open(settings.index.store)
        manifest, size, where = store.manifest, store.disk_bytes(), redacted(store.url)
    else:
        manifest = read_manifest(settings.index.path)
        version = live_version(settings.index.path)
        store = IndexStore.load(settings.index.path)
        size = sum(p.stat().st_size for p in version.rglob("*") if p.is_file())
        where = str(settings.index.path)
    sections = sorted({c.section for c in store.chunks if c.section})
    data = {
        "path": where,
        "documents": [d.model_dump() for d in manifest.documents],
        "chunks": manifest.chunk_count,
        "footnote_chunks": sum(c.kind == "footnote" for c in store.chunks),
        "sections": sections,
        "embedding_model": manifest.embedding_model,
        "dimension": manifest.dimension,
        "faiss_type": manifest.faiss_type,
        "chunking": manifest.chunking,
        "built_at": manifest.built_at,
        "size_bytes": size,
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"Index {data['path']} (built {data['built_at']}, {size / 1024:.0f} KiB)")
    click.echo(
        f"Model {data['embedding_model']} ({data['dimension']}-d, FAISS {data['faiss_type']})"
    )
    click.echo(f"Chunking {data['chunking']}")
    click.echo(
        f"{data['chunks']} passages ({data['footnote_chunks']} footnotes) "
        f"in {len(manifest.documents)} document(s):"
    )
    for d in manifest.documents:
        click.echo(f"  {d.doc_id:<40} {d.chunks:>5} passages  {d.name}")
        click.echo(f"      {describe_line(d)}")
        if d.request:  # a motion: what it asks, after how many considerations
            request = d.request if len(d.request) <= 160 else d.request[:159] + "…"
            click.echo(f"      request ({len(d.considerations)} considerations): {request}")
    click.echo(f"{len(sections)} sections:")
    for s in sections:
        click.echo(f"  - {s}")
