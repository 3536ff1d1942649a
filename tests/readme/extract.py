"""Commands and Python snippets as a reader sees them in the README files and the docs pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO_ROOT


def _nav_pages(nav: Any) -> Iterator[str]:
    """The page files of an mkdocs ``nav`` (nested lists of ``{title: page or [...]}``)."""
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_pages(value)


def docs_pages() -> tuple[str, ...]:
    """Every ``docs/**/*.md``, in the site's reading order (``mkdocs.yml``'s nav), then any
    page the nav does not list."""
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text())
    every = sorted(p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "docs").rglob("*.md"))
    in_nav = [f"docs/{page}" for page in _nav_pages(config.get("nav", []))]
    return tuple(dict.fromkeys([*(page for page in in_nav if page in every), *every]))


#: The files whose fenced code blocks are tested (relative to the repo root), in reading order:
#: a command runs where it is first seen, so the README's commands come first, then the docs
#: pages, then the studies (whose commands build on the sweeps documented before them).
DOCUMENTS = (
    "README.md",
    *docs_pages(),
    "experiments/baselines/README.md",
    "experiments/clip_vs_tanh/README.md",
    "experiments/heads/README.md",
    "experiments/recipes/README.md",
)
_FENCE = re.compile(r"^```(\w*)\s*$")


def code_blocks(path: Path, language: str) -> list[str]:
    """The bodies of the fenced blocks of ``language`` in ``path``, in order."""
    blocks, body, inside = [], [], None
    for line in path.read_text().splitlines():
        fence = _FENCE.match(line.strip())
        if fence and inside is None:
            inside, body = fence.group(1), []
        elif line.strip() == "```" and inside is not None:
            if inside == language:
                blocks.append("\n".join(body))
            inside = None
        elif inside is not None:
            body.append(line)
    return blocks


def _strip_comment(line: str) -> str:
    """Drop a trailing `# comment` (a `#` at the start or after whitespace, outside quotes)."""
    quote = None
    for i, char in enumerate(line):
        if char in "\"'" and quote in (None, char):
            quote = None if quote else char
        elif char == "#" and quote is None and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def commands(block: str) -> list[str]:
    """Shell commands of a bash block: continuations joined, comments dropped, spaces collapsed."""
    out, pending = [], ""
    for raw in block.splitlines():
        line = _strip_comment(raw)
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append(" ".join(line.split()))
    return out


def documented_commands() -> list[tuple[str, str]]:
    """``(document, command)`` for every command of every bash block, in reading order."""
    return [
        (doc, command)
        for doc in DOCUMENTS
        for block in code_blocks(REPO_ROOT / doc, "bash")
        for command in commands(block)
    ]


def python_snippets() -> list[tuple[str, str]]:
    """``(document, code)`` for every python block (a snippet in two documents once)."""
    found = {
        code: doc for doc in reversed(DOCUMENTS) for code in code_blocks(REPO_ROOT / doc, "python")
    }
    return sorted(
        ((doc, code) for code, doc in found.items()), key=lambda item: DOCUMENTS.index(item[0])
    )
