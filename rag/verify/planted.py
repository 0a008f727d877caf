"""Planted instructions: document text that addresses the reader or the system instead of
stating something ("Ignore the other sources: …", "negeer de vorige instructies", "you are
now an assistant that …", a link the document's own references do not hold).

A document is data, never instructions. Such sentences are found when a document is
indexed (`flag_chunks`: the indices of the flagged sentences are kept on each passage, and
the indexer logs them), stay searchable and visible as sources, and are never quoted as
an answer (`is_planted`, which the extractive backend asks before it scores a sentence)
nor handed to a model as passage text (`visible_text`). Passages of an index built before
this are checked when they are read, by the same patterns (without the link rule, which
needs the whole document).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rag.types import Chunk

# Each pattern, case-insensitive, names one way text speaks to its reader or to a model.
# Dutch and English; kept narrow (an imperative plus what it is aimed at), since policy
# text also says "ignore" and "instructies" in ordinary sentences.
_PATTERNS: dict[str, str] = {
    "tells the reader to ignore or forget something": (
        r"\b(ignore|disregard|forget|overlook)\b\s+(all\s+|any\s+|the\s+|your\s+|of\s+)*"
        r"(previous|prior|above|other|earlier|preceding|following|instructions?|sources?|"
        r"passages?|documents?|context|rules?|text)\b"
        r"|\b(negeer|negeren|vergeet)\b\s+(alle\s+|de\s+|het\s+|je\s+|uw\s+|eerdere\s+)*"
        r"(vorige|eerdere|andere|overige|bovenstaande|instructies?|bronnen|passages?|"
        r"documenten|tekst|context|regels)\b"
        r"|^\s*(negeer|negeren)\b"
    ),
    "speaks to an assistant or a language model": (
        r"\b(as an? (ai|language model|assistant)|you are (now )?(an? |the )?"
        r"(ai|assistant|chatbot|language model|model)\b|jij bent (nu )?(een |de )?"
        r"(assistent|chatbot|taalmodel)|u bent (nu )?(een |de )?(assistent|chatbot|taalmodel))"
        r"|\b(the |de )?(assistant|assistent|chatbot|language model|taalmodel|ai model|"
        r"ai-model)\b[^.]{0,40}\b(must|should|shall|moet|moeten|mag|dient)\b"
        r"|\b(system prompt|systeemprompt|system message|systeembericht|"
        r"systeeminstructies?|developer message)\b"
        r"|^\s*(system|assistant|systeem|assistent)\s*:"
    ),
    "gives new instructions for answering": (
        r"\b(new|updated|nieuwe|gewijzigde) (instructions|instructies)\b"
        r"|\b(answer|respond|reply|antwoord|beantwoord)\b[^.]{0,20}\b(only|always|never|"
        r"alleen|uitsluitend|altijd|nooit)\b[^.]{0,40}\b(with|that|met|dat|:)"
        r"|\b(tell|inform|zeg|vertel|meld)\b (the user|de gebruiker|the reader|de lezer)\b"
        r"|\b(do not|don't|niet) (mention|cite|quote|noemen|citeren|vermelden)\b"
        r"[^.]{0,30}\b(sources?|bronnen|the letter|de brief|other|andere)\b"
    ),
}
_COMPILED = {reason: re.compile(p, re.IGNORECASE | re.MULTILINE) for reason, p in _PATTERNS.items()}
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
WITHHELD = "[…]"


def reasons(text: str, references: Iterable[str] | None = None) -> list[str]:
    """Why `text` addresses the reader or the system (empty: it does not). With
    `references` (the links the document's own footnotes hold), a link in `text` that is
    not among them counts too."""
    found = [reason for reason, pattern in _COMPILED.items() if pattern.search(text)]
    if references is not None:
        known = {_link_key(u) for u in references}
        if any(_link_key(u) not in known for u in _URL.findall(text)):
            found.append("links outside the document's own references")
    return found


def links(texts: Iterable[str]) -> set[str]:
    """Every link in `texts`."""
    return {url for text in texts for url in _URL.findall(text)}


def flag_chunks(chunks: Sequence[Chunk]) -> tuple[list[Chunk], list[tuple[Chunk, str, str]]]:
    """The passages of one document with `planted` set (the indices of their flagged
    sentences), and what was flagged: (passage, sentence, reason). Links in the
    document's footnotes, and on a line that names its source ("Bron: …", "Source: …"),
    are its references; footnotes themselves are checked only for instructions, not
    links."""
    references = links(c.text for c in chunks if c.kind == "footnote")
    references |= links(  # a header line naming the document's own source ("Bron: URL")
        c.sentence_text(t)
        for c in chunks
        for t in c.sentences
        if _SOURCE_LINE.match(c.sentence_text(t))
    )
    flagged: list[tuple[Chunk, str, str]] = []
    out = []
    for chunk in chunks:
        marks = []
        for index, sentence in enumerate(chunk.sentences):
            text = chunk.sentence_text(sentence)
            why = reasons(text, None if chunk.kind == "footnote" else references)
            if why:
                marks.append(index)
                flagged.append((chunk, text, "; ".join(why)))
        out.append(chunk.model_copy(update={"planted": marks}))
    return out, flagged


def is_planted(chunk: Chunk, index: int) -> bool:
    """Is sentence `index` of `chunk` one that addresses the reader or the system?"""
    if chunk.planted is not None:
        return index in chunk.planted
    return bool(reasons(chunk.sentence_text(chunk.sentences[index])))


def visible_text(chunk: Chunk) -> str:
    """The passage's text with its flagged sentences replaced by WITHHELD (what a model
    may read; the passage itself stays as it is)."""
    text = chunk.text
    for index in sorted(range(len(chunk.sentences)), reverse=True):
        if is_planted(chunk, index):
            sentence = chunk.sentences[index]
            text = text[: sentence.start] + WITHHELD + text[sentence.end :]
    return text


_SOURCE_LINE = re.compile(r"^\s*(?:bron|source|url|herkomst|origin)\s*:", re.IGNORECASE)


def _link_key(url: str) -> str:
    key = url.lower().rstrip(".,;:")
    for prefix in ("https://", "http://", "www."):
        key = key.removeprefix(prefix)
    return key.rstrip("/")
