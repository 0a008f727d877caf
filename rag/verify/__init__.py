"""Checks on an answer's sentences, offline and without a language model.

Takes a sentence with the passages it cites (`support`: is it backed by them, and why
not) or a sentence with the question (`relevance`: does it answer what was asked, a small
calibrated model whose weights are `relevance_model.json`); returns scores and verdicts.
The learned judge (`features` measures a claim against its passages, `judge` combines the
measurements with the boosted trees of `judge_model.json`) is what the chat, `rag eval`
and `rag verify` (`check`: other systems' answers in their common shapes) use.
"""
