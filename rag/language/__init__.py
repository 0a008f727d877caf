"""What a word and a sentence are, in Dutch and English.

Takes raw text; returns tokens, stems, content words and stop words (`text`), sentences
with their offsets (`sentences`), the language of a question (`identify`), the compiled
question patterns of `lexicon/<language>.toml` (`patterns`) and the word glossary for
English readers (`glossary`). Every other stage reads words through this one.
"""
