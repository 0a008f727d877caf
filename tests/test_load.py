"""Loading .txt, .md and .pdf files and folders, and a clear InputError for each bad input."""

from __future__ import annotations

import hashlib
import logging
import shlex
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from index.load import bundled_corpus, discover, load_file, load_paths, slugify  # noqa: E402
from rag.errors import InputError  # noqa: E402

PAGES = [
    "Eerste pagina. De EU versterkt haar defensie.\nDe tweede regel staat hieronder.",
    "Tweede pagina over handel.\nHet EU-Mercosur akkoord vergroot de markttoegang.",
    "Third page in English.\nNATO allies agreed on five percent of GDP.",
]


def write_pdf(path: Path, pages: list[str]) -> Path:
    """A real PDF with a text layer, one page per string (matplotlib's PDF backend)."""
    with PdfPages(path) as pdf:
        for text in pages:
            fig = plt.figure(figsize=(8.27, 11.69))
            if text:
                fig.text(0.1, 0.8, text, fontsize=12)
            pdf.savefig(fig)
            plt.close(fig)
    return path


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- good inputs --------------------------------------------------------------------------


def test_bundled_letter_loads_verbatim(letter_path: Path) -> None:
    doc = load_file(letter_path)
    text = letter_path.read_text(encoding="utf-8")
    assert doc.text == text
    assert doc.doc_id == "eu-geopolitiek-kamerbrief"
    assert doc.name == letter_path.name
    assert doc.source == str(letter_path)
    assert doc.page_starts == [] and doc.page_of(100) is None
    assert doc.content_hash == sha256(text)
    offset = text.index("5% \nvan het bbp")
    assert doc.line_of(offset) == 115 and doc.line_of(0) == 1
    assert [d.doc_id for d in load_paths([bundled_corpus()])] == [doc.doc_id]


def test_txt_is_decoded_with_bom_and_newlines_normalised(tmp_path: Path) -> None:
    path = tmp_path / "Notitie Handel 2025.txt"
    path.write_bytes("\ufeffEerste regel.\r\nTweede regel, coördinatie.\rDerde.\r\n".encode())
    doc = load_file(path)
    assert doc.text == "Eerste regel.\nTweede regel, coördinatie.\nDerde.\n"
    assert doc.doc_id == "notitie-handel-2025"
    assert doc.name == "Notitie Handel 2025.txt"
    assert doc.content_hash == sha256(doc.text)
    assert doc.line_of(doc.text.index("Derde")) == 3


def test_markdown_loads_as_text(tmp_path: Path) -> None:
    text = "# Titel\n\nTekst over *defensie*.\n\n## Handel\n\nMeer tekst.\n"
    (tmp_path / "notes.md").write_text(text, encoding="utf-8")
    doc = load_file(tmp_path / "notes.md")
    assert doc.text == text and doc.doc_id == "notes" and doc.page_starts == []


def test_display_name_overrides_file_name(tmp_path: Path) -> None:
    path = tmp_path / "tmp8f3a.txt"
    path.write_text("Een zin.\n", encoding="utf-8")
    doc = load_file(path, name="Mijn Upload.txt")
    assert (doc.name, doc.doc_id, doc.source) == ("Mijn Upload.txt", "mijn-upload", str(path))


def test_pdf_text_and_page_starts(tmp_path: Path) -> None:
    doc = load_file(write_pdf(tmp_path / "brief.pdf", PAGES))
    assert doc.doc_id == "brief"
    assert len(doc.page_starts) == 3 and doc.page_starts[0] == 0
    assert doc.text.count("\f") == 2
    for number, (start, page) in enumerate(zip(doc.page_starts, PAGES, strict=True), 1):
        first_line = page.split("\n")[0]
        assert doc.text[start:].startswith(first_line)
        for line in page.split("\n"):
            offset = doc.text.index(line)
            assert doc.page_of(offset) == number
            assert doc.page_of(offset + len(line) - 1) == number
    assert doc.page_of(doc.text.index("Mercosur")) == 2
    assert doc.content_hash == sha256(doc.text)


def test_folders_are_searched_recursively_for_supported_files(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a.txt").write_text("Tekst A.\n", encoding="utf-8")
    (tmp_path / "sub" / "b.md").write_text("# B\n\nTekst B.\n", encoding="utf-8")
    write_pdf(tmp_path / "sub" / "deeper" / "C.PDF", ["Tekst C op een pagina."])
    (tmp_path / "plaatje.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "sub" / "oud.docx").write_bytes(b"PK\x03\x04")
    found = discover([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.txt",
        "sub/b.md",
        "sub/deeper/C.PDF",
    ]
    docs = load_paths([tmp_path])
    assert [d.doc_id for d in docs] == ["a", "b", "c"]
    assert "Tekst C" in docs[2].text and docs[2].page_starts == [0]


def test_folder_and_file_together_and_clashing_names_get_unique_ids(tmp_path: Path) -> None:
    for folder in ("2024", "2025"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "Brief.txt").write_text(f"Brief uit {folder}.\n", encoding="utf-8")
    single = tmp_path / "los.md"
    single.write_text("Los document.\n", encoding="utf-8")
    docs = load_paths([tmp_path / "2024", tmp_path / "2025", single])
    ids = [d.doc_id for d in docs]
    assert len(set(ids)) == 3
    assert ids[0] == "brief" and ids[1].startswith("brief-") and ids[2] == "los"
    # the same clash resolves to the same ids next time (ids must be stable)
    assert [d.doc_id for d in load_paths([tmp_path / "2024", tmp_path / "2025", single])] == ids


def test_content_hash_depends_on_text_only(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_bytes(b"Zelfde tekst.\nTweede regel.\n")
    (tmp_path / "two.md").write_bytes(b"Zelfde tekst.\r\nTweede regel.\r\n")
    (tmp_path / "three.txt").write_bytes(b"Zelfde tekst.\nTweede regel!\n")
    one, two, three = (load_file(tmp_path / n) for n in ("one.txt", "two.md", "three.txt"))
    assert one.content_hash == two.content_hash == sha256("Zelfde tekst.\nTweede regel.\n")
    assert three.content_hash != one.content_hash
    assert load_file(tmp_path / "one.txt").content_hash == one.content_hash


def test_slugify() -> None:
    assert slugify("EU Geopolitiek — Kamerbrief (def.)") == "eu-geopolitiek-kamerbrief-def"
    assert slugify("???") == "document"


# ---- bad inputs: one InputError each, saying what to do -------------------------------------


def error_of(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_paths([path])
    message = str(info.value)
    assert "\n" not in message
    return message


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "leeg.txt").write_bytes(b"")
    message = error_of(tmp_path / "leeg.txt")
    assert "'leeg.txt' is empty" in message and "nothing to index" in message


def test_whitespace_only_file(tmp_path: Path) -> None:
    (tmp_path / "spaties.md").write_text(" \n\t\n  \n", encoding="utf-8")
    assert "only whitespace" in error_of(tmp_path / "spaties.md")


def test_binary_file_with_text_suffix(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_bytes(bytes(range(256)) * 20)
    message = error_of(tmp_path / "data.txt")
    assert "binary" in message and "UTF-8" in message


def test_latin1_text_says_how_to_convert(tmp_path: Path) -> None:
    path = tmp_path / "oud.txt"
    path.write_bytes("De coördinatie van het beleid: één café.\n".encode("latin-1"))
    message = error_of(path)
    assert "not UTF-8" in message and "Latin-1" in message
    assert f"iconv -f latin1 -t utf-8 {shlex.quote(str(path))} > converted.txt" in message
    # ... and the advice works
    path.with_name("converted.txt").write_bytes(path.read_bytes().decode("latin-1").encode())
    assert "coördinatie" in load_file(path.with_name("converted.txt")).text


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(bytes(range(256)) * 40, id="garbage"),
        pytest.param(b"%PDF-1.7\n" + b"dit is geen pdf " * 200, id="header-only"),
    ],
)
def test_unparseable_pdf(tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "kapot.pdf").write_bytes(content)
    with caplog.at_level(logging.DEBUG):
        message = error_of(tmp_path / "kapot.pdf")
    assert "'kapot.pdf' could not be read as a PDF" in message
    assert ".txt" in message  # says what to do instead
    # pypdf's own warnings ("invalid pdf header", ...) must not reach the user's terminal
    assert [r.getMessage() for r in caplog.records if r.name.startswith("pypdf")] == []


def test_truncated_pdf(tmp_path: Path) -> None:
    data = write_pdf(tmp_path / "heel.pdf", PAGES).read_bytes()
    (tmp_path / "half.pdf").write_bytes(data[: len(data) // 2])
    assert "could not be read as a PDF" in error_of(tmp_path / "half.pdf")


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    write_pdf(tmp_path / "scan.pdf", ["", ""])
    message = error_of(tmp_path / "scan.pdf")
    assert "no text layer" in message and "OCR" in message


def test_missing_path(tmp_path: Path) -> None:
    message = error_of(tmp_path / "bestaat-niet.txt")
    assert "does not exist" in message and "bestaat-niet.txt" in message
    with pytest.raises(InputError, match="does not exist"):
        load_file(tmp_path / "bestaat-niet.txt")


@pytest.mark.parametrize("name", ["verslag.docx", "tabel.csv", "README"])
def test_unsupported_suffix(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("Tekst.\n", encoding="utf-8")
    message = error_of(tmp_path / name)
    assert "only .txt, .md and .pdf" in message and name in message


def test_folder_without_supported_files(tmp_path: Path) -> None:
    (tmp_path / "plaatje.png").write_bytes(b"\x89PNG")
    message = error_of(tmp_path)
    assert "holds no .txt, .md or .pdf files" in message


def test_one_bad_file_in_a_folder_fails_the_whole_load(tmp_path: Path) -> None:
    (tmp_path / "goed.txt").write_text("Goede tekst.\n", encoding="utf-8")
    (tmp_path / "slecht.txt").write_bytes("Caf\u00e9\n".encode("latin-1"))
    assert "'slecht.txt' is not UTF-8" in error_of(tmp_path)


# ---- input edges (issue 11) -------------------------------------------------------------------


def test_suggested_iconv_command_quotes_a_hostile_file_name(tmp_path: Path) -> None:
    """Pasting the advice for `x'; touch PWNED; echo '.txt` must not run `touch`."""
    path = tmp_path / "x'; touch PWNED; echo '.txt"
    path.write_bytes("één café\n".encode("latin-1"))
    message = error_of(path)
    command = message.split("e.g. ", 1)[1].split(", then", 1)[0]
    subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, timeout=30)
    assert not (tmp_path / "PWNED").exists()
    assert "één café" in (tmp_path / "converted.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_bom_are_read(tmp_path: Path, codec: str) -> None:
    text = "De coördinatie van het beleid.\r\nTweede regel: één café.\n"
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    (tmp_path / "brief.txt").write_bytes(data)
    doc = load_file(tmp_path / "brief.txt")
    assert doc.text == "De coördinatie van het beleid.\nTweede regel: één café.\n"


def test_broken_utf16_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "kapot.txt").write_bytes(b"\xff\xfe" + "ok".encode("utf-16-le") + b"\x00\xd8")
    assert "UTF-16" in error_of(tmp_path / "kapot.txt")


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "groot.txt"
    path.write_bytes(b"tekst " * 400_000)  # 2.4 MB
    with pytest.raises(InputError) as info:
        load_paths([path], max_bytes=2**20)
    message = str(info.value)
    assert "groot.txt" in message and "2.3 MB" in message and "limit is 1 MB" in message
    assert "RAG_INDEX__MAX_FILE_MB" in message and "\n" not in message
    assert load_paths([path], max_bytes=3 * 2**20)[0].text.startswith("tekst")


def test_links_out_of_an_indexed_folder_are_skipped_with_a_note(tmp_path: Path) -> None:
    outside = tmp_path / "geheim"
    outside.mkdir()
    (outside / "wachtwoorden.txt").write_text("root:x:0:0\n", encoding="utf-8")
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "brief.txt").write_text("Een brief.\n", encoding="utf-8")
    (folder / "passwd.txt").symlink_to(outside / "wachtwoorden.txt")
    (folder / "sub" / "link").symlink_to(outside, target_is_directory=True)
    (folder / "kopie.txt").symlink_to(folder / "brief.txt")  # inside the folder: kept
    notes: list[str] = []
    docs = load_paths([folder], on_skip=notes.append)
    assert sorted(d.name for d in docs) == ["brief.txt", "kopie.txt"]
    assert len(notes) == 1 and "passwd.txt" in notes[0] and "outside" in notes[0]
    # a file named on the command line is the user's explicit choice
    assert load_paths([folder / "passwd.txt"])[0].text == "root:x:0:0\n"
