"""Assembly: what the command line, the app and the evaluation share.

Opening the pipeline over an index (and changing its documents) and progress bars sit
here, below `ui/` and `eval/` and above `rag/` and `index/`, so every import arrow
points down.
"""
