"""The question sets ship with the repository: the default dataset, `rag eval --help`'s
list of bundled sets (read from the files in eval/data/), and clear errors for bad paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from eval.dataset import DATA_DIR, DEFAULT_DATASET, REPO_ROOT, bundled_sets, load_dataset
from rag.errors import InputError
from ui.cli import main


def test_default_dataset_ships_inside_the_repository() -> None:
    assert DEFAULT_DATASET.resolve().is_relative_to(REPO_ROOT)
    items = load_dataset()
    assert len(items) >= 20 and {item.lang for item in items} == {"nl", "en"}
    assert any(item.unanswerable for item in items)
    assert all(item.evidence for item in items if not item.unanswerable)


def test_every_bundled_set_has_a_provenance_note() -> None:
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    for found in bundled_sets():
        assert f"`{found.path.name}`" in readme and found.purpose, found.path.name
        assert found.questions == len(load_dataset(found.path))


def test_bundled_sets_are_read_from_the_folder(tmp_path: Path) -> None:
    rows = [{"lang": "nl", "question": "Wat?"}, {"lang": "en", "question": "What?"}]
    (tmp_path / "mine.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    (tmp_path / "bare.jsonl").write_text(json.dumps(rows[0]) + "\n")
    (tmp_path / "README.md").write_text("| file | for |\n|---|---|\n| `mine.jsonl` | testing |\n")
    found = {s.path.name: s for s in bundled_sets(tmp_path)}
    assert set(found) == {"mine.jsonl", "bare.jsonl"}
    assert (found["mine.jsonl"].questions, found["mine.jsonl"].purpose) == (2, "testing")
    assert found["mine.jsonl"].languages == {"nl": 1, "en": 1}
    assert (found["bare.jsonl"].questions, found["bare.jsonl"].purpose) == (1, "")


def test_eval_help_lists_the_bundled_sets() -> None:
    result = CliRunner().invoke(main, ["eval", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    shipped = sorted(DATA_DIR.glob("*.jsonl"))
    assert len(shipped) >= 2
    for path in shipped:
        count = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        assert f"eval/data/{path.name} {count} questions" in words, path.name
    assert "default: eval/data/dev.jsonl" in words


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("missing.jsonl", None, "does not exist"),
        ("latin1.jsonl", b'{"question": "caf\xe9"}\n', "not UTF-8"),
        ("rows.jsonl", b'{"question": "ok"}\n[1, 2]\n', "rows.jsonl:2: not a dataset row"),
        ("empty.jsonl", b"\n\n", "holds no questions"),
    ],
)
def test_a_bad_dataset_is_one_clear_line(
    tmp_path: Path, name: str, content: bytes | None, says: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=says):
        load_dataset(path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["eval", "--dataset", str(path), "--out", str(out)])
    assert result.exit_code == 1
    assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
