"""From a `Query` and its `Hit`s to an `Answer` with cited, checked sentences.

`chain.AnswerChain` runs a turn: retrieve, answer through a backend, resolve the
citations (`citations`), verify each sentence, and add the asked spans (`spans`), the
metadata facts (`facts`), the closest passages of a refusal (`closest`), and whether
the cited sentences hold the asked kind at all (`partial`, `items`). `brief` and
`summary` write cited overviews; `render` turns an `Answer` into the JSON contract and
Markdown.
"""
