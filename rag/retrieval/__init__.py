"""From a `Query` to ranked passages.

Takes a `Query` and a `SearchIndex` (`search_index`: the folder store or PostgreSQL);
returns `Hit`s, the passages with their fused scores (`hybrid`: dense FAISS search with
the embedder of `embeddings` plus lexical BM25, fused, diversified by MMR). The bundled
encoder lives here too (`use_module`, `use_unpacked`).
"""
