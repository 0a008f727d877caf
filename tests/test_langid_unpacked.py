"""The unpacked py3langid model: the same identifier as the package's, or the package's."""

from __future__ import annotations

from pathlib import Path

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from rag.language.langid_unpacked import identifier

TEXTS = [
    "Hoeveel procent van het bbp gaan NAVO-bondgenoten in 2035 aan veiligheid besteden?",
    "Norway and Turkey aren't EU members. In what way does the letter involve them?",
    "Bonjour tout le monde, comment allez-vous aujourd'hui ?",
    "Wie geht es Ihnen heute, meine Damen und Herren?",
    "Что говорит письмо о НАТО?",
    "",
]


def test_unpacked_copy_classifies_as_the_package_does(tmp_path: Path) -> None:
    folder = tmp_path / "py3langid"
    package = LanguageIdentifier.from_model_file(MODEL_FILE)
    first = identifier(folder)  # unpacks
    assert (folder / "done").is_file()
    again = identifier(folder)  # reads the copy
    for text in TEXTS:
        assert first.classify(text) == package.classify(text)
        assert again.rank(text) == package.rank(text)


def test_unreadable_copy_falls_back_to_the_package(tmp_path: Path) -> None:
    folder = tmp_path / "py3langid"
    identifier(folder)
    (folder / "ptc.npy").write_bytes(b"not an array")
    fallback = identifier(folder)
    assert fallback.classify(TEXTS[2])[0] == "fr"
