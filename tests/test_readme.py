"""The README is a front page that stays true: at most 250 lines; every `rag` command it
and the docs pages show exists, with its subcommands and flags (checked against the
command's own `--help`); every script and test file a command names exists; every
relative link resolves; every docs page is in the README's one list; and the counts it
states come from the code (the question sets `rag eval --help` lists, the backends)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from eval.dataset import bundled_sets
from rag.backends.registry import backend_names
from ui.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve".split()
FILE_PREFIXES = ("scripts/", "./scripts/", "tests/", ".ci/")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def code_blocks(page: str, language: str = "bash") -> list[str]:
    return [b.split("```", 1)[0] for b in page.split(f"```{language}\n")[1:]]


def command_lines(page: str) -> list[str]:
    """Shell lines of the page's bash blocks and its inline `…` code spans."""
    lines = [line for block in code_blocks(page) for line in block.splitlines()]
    return lines + re.findall(r"`([^`\n]+)`", page)


def rag_commands(page: str) -> list[list[str]]:
    """Each `rag …` / `.venv/bin/rag …` invocation as its argument list (after `rag`)."""
    found = []
    for line in command_lines(page):
        for part in re.split(r"&&|\|\||;|\|", line):
            try:
                words = shlex.split(part.replace("…", "x"), comments=True)
            except ValueError:
                continue
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words = words[1:]  # VAR=value before the command
            if words and words[0] in ("rag", ".venv/bin/rag"):
                found.append([w.strip("[]") for w in words[1:] if w.strip("[]")])
    return found


def help_of(path: list[str]) -> str:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, f"`rag {' '.join(path)} --help` failed: {result.output}"
    return result.output


def check_command(args: list[str]) -> None:
    """The subcommands exist and every --flag is in its command's --help."""
    command: click.Command = main
    path: list[str] = []
    words = list(args)
    while words:
        word = words.pop(0)
        if word in ("--config", "--index") and not path:  # the group's own options
            words = words[1:]
            continue
        if word == "--help":
            continue
        if isinstance(command, click.Group) and not word.startswith("-"):
            sub = command.get_command(click.Context(command), word)
            if sub is None:
                pytest.fail(
                    f"`rag {' '.join(args)}`: no command '{word}' under `rag {' '.join(path)}`"
                )
            command, path = sub, [*path, word]
            continue
        if word.startswith("--"):
            flag = word.split("=", 1)[0]
            assert re.search(rf"{re.escape(flag)}\b", help_of(path)), (
                f"`rag {' '.join(args)}`: `rag {' '.join(path)} --help` has no {flag}"
            )
    help_of(path)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_rag_command_shown_exists(page: Path) -> None:
    commands = rag_commands(text(page))
    if page == README:
        assert len(commands) >= 6
    for args in commands:
        check_command(args)


def test_the_checker_catches_a_wrong_command() -> None:
    with pytest.raises(AssertionError, match="no --nope"):
        check_command(["ask", "x", "--nope"])
    with pytest.raises(pytest.fail.Exception, match="no command 'serf'"):
        check_command(["serf"])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_named_scripts_and_links_exist(page: Path) -> None:
    content = text(page)
    for line in command_lines(content):
        for word in line.split():
            if word.startswith(FILE_PREFIXES):
                name = word.rstrip(".,;:)`'\"")
                assert (ROOT / name).exists(), f"{page.name} names {name}, which does not exist"
    for target in re.findall(r"\]\(([^)\s]+)\)", content):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file = target.split("#", 1)[0]
        if file:
            assert (page.parent / file).exists(), f"{page.name} links to missing {target}"


def test_readme_is_a_front_page() -> None:
    readme = text(README)
    assert len(readme.splitlines()) <= 250
    assert "`.venv/bin/rag`" in readme and ". .venv/bin/activate" in readme
    assert "docs/screenshots/" in readme
    listed = readme.split("## Documentation\n", 1)[1].split("\n## ", 1)[0]
    for page in DOCS:
        assert f"](docs/{page.name})" in listed, (
            f"docs/{page.name} is not in the README's Documentation list: add a line for it"
        )


def test_counts_in_the_readme_come_from_the_code() -> None:
    readme = text(README)
    sets = bundled_sets()
    said = re.search(r"(\w+) question sets ship", readme)
    assert said is not None and said.group(1).lower() == NUMBERS[len(sets)]
    listed = help_of(["eval"])
    assert all(s.path.name in listed for s in sets)
    backends = re.search(r"default `(\w+)` backend .*? the\s+others, (.*?), stream", readme, re.S)
    assert backends is not None
    named = [backends.group(1), *re.findall(r"`(\w+)`", backends.group(2))]
    assert named == list(backend_names())


def test_evaluation_page_lists_every_bundled_set_with_its_counts() -> None:
    page = text(ROOT / "docs" / "evaluation.md")
    said = re.search(r"(\w+) question sets ship", page)
    sets = bundled_sets()
    assert said is not None and said.group(1).lower() == NUMBERS[len(sets)]
    rows = dict(re.findall(r"^\| `eval/data/([\w.]+)` \| (\d+ \([^)]*\)) \|", page, re.M))
    assert sorted(rows) == sorted(s.path.name for s in sets)
    for found in sets:
        total, nl, en, unanswerable = map(
            int,
            re.fullmatch(
                r"(\d+) \((\d+) nl, (\d+) en; (\d+) unanswerable.*\)", rows[found.path.name]
            ).groups(),  # type: ignore[union-attr]
        )
        items = [line for line in found.path.read_text().splitlines() if line.strip()]
        refusals = sum('"unanswerable"' in i or '"answerable": false' in i for i in items)
        assert (total, nl, en, unanswerable) == (
            found.questions,
            found.languages.get("nl", 0),
            found.languages.get("en", 0),
            refusals,
        ), found.path.name
