"""The question, analysed once per turn.

Takes the question text and the conversation's earlier turns; returns a `Query`
(`analysis.analyse`): its language, content words, what kind of thing it asks for
(`kinds`: a count, an amount, a date, a person, countries, …), the parts of a question of
several parts (`parts`), the part of the document it names (`structure`) and the
document it points at ("the letter", `focus`). Retrieval, the answer strategies and the
verdicts read the `Query`, never the raw string again.
"""
