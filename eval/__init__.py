"""Offline evaluation of retrieval, answers and faithfulness."""
