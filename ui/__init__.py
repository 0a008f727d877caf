"""User interfaces: the `rag` command line and the Gradio chat app."""
