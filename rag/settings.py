"""One settings object for the whole project.

Precedence: explicit overrides (CLI flags) > environment (``RAG_`` prefix, ``__`` for
nesting, e.g. ``RAG_GENERATION__BACKEND=openai``) > a TOML file (``rag.toml`` in the
working directory, or the path in ``RAG_CONFIG``) > defaults. Only the composition root
(the CLI) builds it; everything else receives it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

BUNDLED_EMBEDDER = "bundled:use-multilingual-v3"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(Section):
    model: str = Field(
        default=BUNDLED_EMBEDDER,
        description="Sentence-transformers model name or path, or the bundled multilingual "
        "Universal Sentence Encoder ('bundled:use-multilingual-v3', offline).",
    )
    query_prefix: str | None = Field(
        default=None,
        description="Text put before queries (e.g. 'query: ' for e5). None: known models' "
        "prefix or nothing.",
    )
    passage_prefix: str | None = Field(
        default=None, description="Text put before passages (e.g. 'passage: ' for e5)."
    )
    batch_size: int = Field(default=32, ge=1, description="Texts encoded per batch.")
    device: str = Field(default="cpu", description="Torch device for sentence-transformers.")


class ChunkingSettings(Section):
    max_tokens: int = Field(default=160, ge=16, description="Upper bound on tokens per chunk.")
    overlap_tokens: int = Field(
        default=40, ge=0, description="Tokens of whole sentences repeated from the previous chunk."
    )
    encoding: str = Field(default="cl100k_base", description="tiktoken encoding to count tokens.")


class IndexSettings(Section):
    path: Path = Field(default=Path(".rag/index"), description="Folder holding the index.")
    faiss_type: Literal["auto", "flat", "hnsw"] = Field(
        default="auto",
        description="'flat' is exact inner product; 'hnsw' approximate; 'auto' switches to "
        "hnsw at approximate_above chunks.",
    )
    approximate_above: int = Field(
        default=50_000, ge=1, description="Chunk count from which 'auto' uses HNSW."
    )
    store: str = Field(
        default="folder",
        description="'folder': the index folder at `path` (embedded, one process). A "
        "postgresql://user:pass@host/db URL: a shared index in PostgreSQL + pgvector that "
        "many workers read and write (install the 'postgres' extra).",
    )
    pg_lexical_depth: int = Field(
        default=2_000,
        ge=1,
        description="PostgreSQL store: postings read per query term, best impact first "
        "(exact for terms in fewer passages; bounds a common word's cost at scale; "
        "scripts/bench_store.py reports BM25 top-30 agreement with the full lists).",
    )
    pool_size: int = Field(
        default=8, ge=1, description="Most connections one process opens to the PostgreSQL store."
    )


class RetrievalSettings(Section):
    k: int = Field(default=5, ge=1, le=50, description="Passages given to the answer step.")
    fetch_k: int = Field(default=30, ge=1, description="Candidates per retriever before fusion.")
    mmr_lambda: float = Field(
        default=0.9, ge=0, le=1, description="MMR trade-off: 1 = relevance only."
    )
    reranker: str | None = Field(
        default=None, description="Optional cross-encoder model name or path for reranking."
    )


class GenerationSettings(Section):
    backend: Literal["extractive", "openai", "ollama", "llamacpp"] = Field(
        default="extractive", description="Answer backend; 'extractive' needs no model."
    )
    base_url: str = Field(
        default="http://127.0.0.1:8080/v1",
        description="Endpoint of an OpenAI-compatible server or Ollama (http://127.0.0.1:11434).",
    )
    model: str = Field(default="", description="Model name for the server, or GGUF path.")
    api_key: SecretStr | None = Field(
        default=None, description="API key (environment only: RAG_GENERATION__API_KEY)."
    )
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=512, ge=16)
    timeout_s: float = Field(default=120.0, gt=0)
    min_support: float = Field(
        default=0.2, ge=0, le=1, description="Below this the extractive backend refuses."
    )


class UISettings(Section):
    host: str = Field(default="127.0.0.1", description="Interface the app binds to.")
    port: int = Field(default=7860, ge=1, le=65535)
    username: str | None = Field(default=None, description="Optional login (environment).")
    password: SecretStr | None = Field(default=None, description="Optional password.")
    max_upload_mb: float = Field(default=10.0, gt=0, description="Largest accepted upload.")


class Settings(BaseSettings):
    """Every setting of the assistant, grouped by the part that uses it."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file="rag.toml",
    )

    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    ui: UISettings = Field(default_factory=UISettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, a TOML file, the environment and explicit overrides."""
    if config is not None:

        class _FromFile(Settings):
            model_config = SettingsConfigDict(toml_file=str(config))

        return Settings.model_validate(_FromFile(**overrides).model_dump())
    return Settings(**overrides)
