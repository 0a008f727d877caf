"""Checks on an answer's sentences, offline and without a language model.

Takes a sentence with the passages it cites (`support`: is it backed by them, and why
not) or a sentence with the question (`relevance`: does it answer what was asked, a small
calibrated model whose weights are `relevance_model.json`); returns scores and verdicts.
"""
