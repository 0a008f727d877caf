"""Question answering over policy documents with sentence- and line-level citations."""
