"""The briefing tab as plain functions: a cited briefing on a topic, shown and exported.

`make_briefing` asks the pipeline (with the user's `AskOptions`) for a briefing on a
topic, or on the whole letter when the topic is empty, writes its Markdown for
download, and returns the HTML to show: bullets grouped by section with their markers,
then the quotes they cite; a marker is a link that jumps to (and highlights) its
quote. Labels follow the briefing's language (Dutch or English).
All text is escaped. No Gradio in here; `ui.app` wires these to components.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.language.text import guess_language, words
from rag.types import Briefing, Citation
from ui.export import save_markdown
from ui.export_text import footnote_marks
from ui.markup import cited_lines, error_html, escape_text, superscript_footnotes
from ui.options import AskOptions, pipeline_for, user_error

if TYPE_CHECKING:
    from rag.pipeline import Pipeline


def make_briefing(
    pipeline: Pipeline,
    topic: str,
    options: AskOptions,
    lang: str = "en",
    documents: Sequence[str] | None = None,
) -> tuple[str, str | None, str]:
    """(HTML to show, path of the .md download, notice) for a briefing on `topic`, from
    `documents` only when given."""
    topic = (topic or "").strip()
    try:
        briefing: Briefing = pipeline_for(pipeline, options).brief(
            topic or None,
            backend=options.backend or None,
            documents=list(documents) if documents else None,
            prefer=lang,
        )
    except RagError as exc:
        message = user_error(exc, options, lang)
        return error_html(message), None, message
    notes = briefing_footnotes(pipeline, briefing)
    markdown = footnote_marks(briefing.markdown, notes)
    path = save_markdown("briefing", topic or "all", markdown)
    return briefing_html(briefing, notes), path, ""


def briefing_footnotes(pipeline: Pipeline, briefing: Briefing) -> set[int]:
    """Footnote numbers of the passages a briefing cites (shown raised, not glued on)."""
    numbers: set[int] = set()
    for citation in briefing.citations:
        try:
            chunk = pipeline.store.chunk(citation.chunk_id)
        except Exception:  # noqa: BLE001 - a passage removed meanwhile has none
            chunk = None
        numbers.update(chunk.footnotes if chunk else [])
    return numbers


def briefing_html(briefing: Briefing, footnotes: set[int] | None = None) -> str:
    """Bullets grouped by section, each with its markers, then the cited quotes; the
    passages' `footnotes` numbers raised where they are glued to a word."""
    notes = footnotes or set()

    def shown(value: str) -> str:
        return superscript_footnotes(escape_text(value), notes)

    dutch = briefing.language == "nl"
    title = "Briefing" + (f": {briefing.topic}" if briefing.topic else "")
    parts = [f"<h2>{escape_text(title)}</h2>"]
    if not briefing.points:
        none = "Geen passages gevonden." if dutch else "No passages found."
        parts.append(f'<div class="refusal">{none}</div>')
    sections: dict[str, list[str]] = {}
    for point in briefing.points:
        markers = "".join(briefing_marker_html(m) for m in point.markers)
        sections.setdefault(point.section, []).append(
            _point_html(briefing, point.text, shown(point.text), point.facts, markers)
        )
    for section, items in sections.items():
        parts.append(f"<h3>{_heading(section, dutch)}</h3><ul>{''.join(items)}</ul>")
    if briefing.citations:
        sources = "".join(
            f'<li id="brief-src-{c.marker}"><b>[{c.marker}]</b> {escape_text(_where(c))}'
            f'<blockquote lang="{_lang(c.quote)}">{shown(c.quote)}</blockquote></li>'
            for c in briefing.citations
        )
        parts.append(f"<h3>{'Bronnen' if dutch else 'Sources'}</h3>")
        parts.append(f'<ul class="briefing-sources">{sources}</ul>')
    return f'{TARGET_STYLE}<div class="briefing">{"".join(parts)}</div>'


def _lang(text: str) -> str:
    return guess_language(words(text))


def _heading(section: str, dutch: bool) -> str:
    """A section heading; an English briefing quotes the document's Dutch heading."""
    if dutch:
        return escape_text(section or "Algemeen")
    if not section:
        return "General"
    return f'Section “<span lang="nl">{escape_text(section)}</span>”'


def _point_html(briefing: Briefing, text: str, html: str, facts: list[str], markers: str) -> str:
    """A bullet: for an English briefing quoting Dutch, its key facts in English, then
    the Dutch quote marked `lang="nl"` (a browser's page translation can translate it)."""
    quoting = briefing.language == "en" and briefing.backend == "extractive"
    if not quoting:
        return f"<li>{html}{markers}</li>"
    line = "; ".join(escape_text(f) for f in facts) or "no figures, names or listed terms"
    return (
        f'<li><span class="key-facts">Key facts: {line}</span>{markers}'
        f'<blockquote lang="{_lang(text)}">{html}</blockquote></li>'
    )


# The source a marker jumps to is highlighted (an in-page link: no script needed).
TARGET_STYLE = (
    "<style>.briefing-sources li:target{background:var(--color-accent-soft,#fff3c4);"
    "outline:2px solid var(--color-accent,#f59e0b);border-radius:4px}</style>"
)


def briefing_marker_html(marker: int) -> str:
    """A clickable "[N]" that jumps to source N in the briefing's list of sources."""
    return (
        f'<sup class="bmark"><a class="bcite" href="#brief-src-{marker}" '
        f'title="Show source {marker}">[{marker}]</a></sup>'
    )


def _where(citation: Citation) -> str:
    where = f"{citation.document}, {cited_lines(citation)}"
    return where + (f" — {citation.section}" if citation.section else "")
