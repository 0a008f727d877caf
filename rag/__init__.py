"""Question answering over policy documents with sentence- and line-level citations.

Entry points for other tools (LangChain):

    import rag
    retriever = rag.as_retriever(k=5)          # index defaults to the configured one
    chain = rag.as_chain()                     # {"question", "history"} -> Answer
"""

from __future__ import annotations

from typing import Any

__all__ = ["as_chain", "as_retriever"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import rag.types` stays light (no LangChain import until asked for).
    if name in __all__:
        from rag import langchain_adapter

        return getattr(langchain_adapter, name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
