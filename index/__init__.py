"""From documents to a persistent dense + lexical index: load, clean, chunk, embed, store."""
