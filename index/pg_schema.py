"""The PostgreSQL store's schema, as numbered migrations applied once each, in order.

`migrate(conn)` brings a database up to `SCHEMA_VERSION` under an advisory lock, so
several workers starting at once apply each migration exactly once. A database migrated
by a newer version of this code is refused with a message, never silently used.

Tables (all prefixed `rag_`):

- `rag_meta`: one row: the manifest (model, dimension, chunking, format version), a
  `generation` bumped by every committed write (workers compare it to notice changes),
  and the passage and token totals BM25 needs (and `avgdl_low`, the smallest average
  passage length a stored impact was computed with).
- `rag_documents`: one row per document (hash, name, source, passage count, and its
  metadata as JSON: title, kind, date, sender, signatories, dossier, edited — null for
  a document stored before schema 3, described from its passages when read), in the
  order documents were first added.
- `rag_passages`: the chunks (as JSON), their BM25 length and their `vector` embedding
  (typed `vector(d)` once the dimension is known; an HNSW index from a size threshold).
- `rag_postings` + `rag_term_stats`: the lexical index, term → (passage, term
  frequency, passage length, impact), and document frequencies, kept in step in each
  write. `impact` is the posting's BM25 term-frequency part at the time it was written;
  postings are indexed by it, best first.
- `rag_term_blocks`: the same postings packed per (document, term) for reading a
  term's postings in few rows, best block (highest impact) first.
- `rag_doc_terms` + `rag_term_vectors`: each document's vocabulary with counts, and the
  embedding of every vocabulary word (for cross-lingual concept alignment).
- `rag_doc_versions` (5): a change counter per document, from one sequence, set by a
  trigger whenever its `rag_documents` row is written or deleted; workers read the rows
  newer than the last they saw before each question.
- `rag_doc_tables` + `rag_doc_lower` (5): each document's retriever tables (footnotes,
  parts, headings, name candidates, acronyms; valid for its passages from `first_id`)
  and its lower-case words (a capitalised word is a name only if no document writes it
  in lower case).
"""

from __future__ import annotations

from typing import Any

from rag.errors import IndexMismatchError

SCHEMA_VERSION = 5
_LOCK_KEY = 0x7261675F7067  # "rag_pg": one advisory lock for migrations

MIGRATIONS: dict[int, str] = {
    1: """
    create extension if not exists vector;
    create table rag_meta (
        id int primary key check (id = 1),
        manifest jsonb not null,
        generation bigint not null default 0,
        passages bigint not null default 0,
        tokens bigint not null default 0
    );
    create table rag_documents (
        doc_id text primary key,
        seq bigserial not null,
        name text not null,
        source text not null,
        content_hash text not null,
        chunks int not null
    );
    create table rag_passages (
        id bigint primary key,
        doc_id text not null references rag_documents on delete cascade,
        ord int not null,
        chunk_id text not null unique,
        chunk jsonb not null,
        n_tokens int not null,
        embedding vector not null
    );
    create index rag_passages_doc on rag_passages (doc_id, ord);
    create sequence rag_passage_ids;
    create table rag_postings (
        term text not null,
        passage_id bigint not null,
        tf int not null,
        dl int not null,
        primary key (term, passage_id) include (tf, dl)
    );
    create index rag_postings_passage on rag_postings (passage_id);
    create table rag_term_stats (term text primary key, df bigint not null);
    create table rag_doc_terms (
        doc_id text not null references rag_documents on delete cascade,
        term text not null,
        count int not null,
        primary key (doc_id, term)
    );
    create table rag_term_vectors (term text primary key, embedding vector not null);
    """,
    # 2: impact-ordered postings, so lexical search can read each term's best postings
    # first (a common word's full list at a million passages is most of the table).
    2: """
    alter table rag_postings add column impact real;
    update rag_postings set impact = tf / (tf + 1.5 * (0.25 + 0.75 * dl / coalesce(
        (select nullif(tokens, 0)::float8 / nullif(passages, 0) from rag_meta), 1)));
    alter table rag_postings alter column impact set not null;
    alter table rag_postings drop constraint rag_postings_pkey;
    create index rag_postings_impact on rag_postings (term, impact desc)
        include (passage_id, tf, dl);
    """,
    # 3: document metadata (index.metadata); rows stored before it stay null until rewritten.
    3: """
    alter table rag_documents add column meta jsonb;
    """,
    # 4: lexical search that stops early (index.pg_topk): each term's postings also packed
    # per document as one block row (passage ids ascending, with the block's best impact),
    # read best block first; and the smallest average passage length a stored impact was
    # computed with, which bounds an unread posting's weight today. Before it, documents
    # were written with the average of those then stored: the smallest document average
    # is the start.
    4: """
    alter table rag_meta add column avgdl_low float8;
    update rag_meta set avgdl_low = (select min(mean) from (select avg(n_tokens) as mean
        from rag_passages group by doc_id) d);
    create table rag_term_blocks (
        doc_id text not null references rag_documents on delete cascade,
        term text not null,
        postings int not null,
        max_impact real not null,
        ids bytea not null,
        tfs bytea not null,
        dls bytea not null,
        primary key (doc_id, term)
    );
    alter table rag_term_blocks alter column ids set storage external,
        alter column tfs set storage external, alter column dls set storage external;
    insert into rag_term_blocks
    select s.doc_id, p.term, count(*), max(p.impact),
           string_agg(int8send(p.passage_id), '' order by p.passage_id),
           string_agg(int4send(p.tf), '' order by p.passage_id),
           string_agg(int4send(p.dl), '' order by p.passage_id)
    from rag_postings p join rag_passages s on s.id = p.passage_id group by s.doc_id, p.term;
    create index rag_term_blocks_impact on rag_term_blocks (term, max_impact desc)
        include (postings);
    """,
    # 5: workers that hold no corpus (index.pg_corpus): a change counter per document,
    # bumped by a trigger on every write of its row, and per-document retriever tables.
    5: """
    create sequence rag_doc_version_seq;
    create table rag_doc_versions (doc_id text primary key, version bigint not null);
    create index rag_doc_versions_version on rag_doc_versions (version) include (doc_id);
    insert into rag_doc_versions select doc_id, nextval('rag_doc_version_seq') from rag_documents;
    -- Deferred to commit and taken under the rag_meta row lock, so versions follow
    -- commit order: a reader that sees version v has seen every smaller one.
    create function rag_bump_doc_version() returns trigger language plpgsql as $$
    begin
        perform 1 from rag_meta where id = 1 for update;
        if tg_op = 'TRUNCATE' then
            update rag_doc_versions set version = nextval('rag_doc_version_seq');
            return null;
        end if;
        insert into rag_doc_versions values (
            case when tg_op = 'DELETE' then old.doc_id else new.doc_id end,
            nextval('rag_doc_version_seq'))
        on conflict (doc_id) do update set version = excluded.version;
        if tg_op = 'UPDATE' and old.doc_id <> new.doc_id then
            update rag_doc_versions set version = nextval('rag_doc_version_seq')
            where doc_id = old.doc_id;
        end if;
        return null;
    end $$;
    create constraint trigger rag_documents_version after insert or update or delete
        on rag_documents deferrable initially deferred
        for each row execute function rag_bump_doc_version();
    create trigger rag_documents_truncate after truncate on rag_documents
        for each statement execute function rag_bump_doc_version();
    create table rag_doc_tables (
        doc_id text primary key references rag_documents on delete cascade,
        first_id bigint not null,
        tables jsonb not null
    );
    create table rag_doc_lower (
        word text not null,
        doc_id text not null references rag_documents on delete cascade,
        primary key (word, doc_id)
    );
    create index rag_doc_lower_doc on rag_doc_lower (doc_id);
    """,
}


def migrate(conn: Any) -> int:
    """Apply the migrations this database lacks; return its schema version."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute("create table if not exists rag_schema (version int primary key)")
        row = conn.execute("select max(version) from rag_schema").fetchone()
        current = row[0] or 0
        if current > SCHEMA_VERSION:
            raise IndexMismatchError(
                f"The database's index schema is version {current}; this version of the "
                f"assistant reads up to {SCHEMA_VERSION}. Upgrade the assistant, or point "
                "RAG_INDEX__STORE at another database."
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            conn.execute(MIGRATIONS[version])
            conn.execute("insert into rag_schema values (%s)", (version,))
    return SCHEMA_VERSION
