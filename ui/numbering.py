"""Citation markers numbered as a reader counts them: [1], [2], … in order of appearance.

The pipeline numbers a marker after the passage it cites ([3] is the third passage
retrieved), so an answer can open with [3]. The chat shows, stores and exports answers
renumbered: the first marker in the text is [1], the next new one [2], and so on; the
citations, sentence verdicts and spans follow. Citations point at their passage by
chunk id, so nothing else changes.
"""

from __future__ import annotations

import re

from rag.types import Answer

_GROUP = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def reading_order(answer: Answer) -> dict[int, int]:
    """Old marker → new marker: first appearance in the text, then unused citations."""
    order: list[int] = []
    for group in _GROUP.finditer(answer.answer):
        for number in re.split(r"\s*[,;]\s*", group.group(1)):
            if int(number) not in order:
                order.append(int(number))
    cited = [c.marker for c in answer.citations]
    order = [n for n in order if n in cited] + [n for n in cited if n not in order]
    return {old: new for new, old in enumerate(order, start=1)}


def renumbered(answer: Answer) -> Answer:
    """`answer` with its markers numbered in reading order (itself when they already are)."""
    mapping = reading_order(answer)
    if all(old == new for old, new in mapping.items()):
        return answer

    def swap(text: str) -> str:
        def group(match: re.Match[str]) -> str:
            parts = re.split(r"(\s*[,;]\s*)", match.group(1))
            return "[" + "".join(_new(p, mapping) for p in parts) + "]"

        return _GROUP.sub(group, text)

    citations = sorted(
        (c.model_copy(update={"marker": mapping[c.marker]}) for c in answer.citations),
        key=lambda c: c.marker,
    )
    sentences = [
        s.model_copy(
            update={"text": swap(s.text), "markers": [mapping.get(m, m) for m in s.markers]}
        )
        for s in answer.sentences
    ]
    spans = [s.model_copy(update={"marker": mapping.get(s.marker, s.marker)}) for s in answer.spans]
    return answer.model_copy(
        update={
            "answer": swap(answer.answer),
            "citations": citations,
            "sentences": sentences,
            "spans": spans,
        }
    )


def _new(part: str, mapping: dict[int, int]) -> str:
    return str(mapping.get(int(part), int(part))) if part.isdigit() else part
