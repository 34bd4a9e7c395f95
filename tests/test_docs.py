"""The README and docs/ hold together: every relative link (and its #anchor) resolves,
and the README stays short enough for a newcomer to read in five minutes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

#: The clone's top directory (the one holding pyproject.toml), wherever this file sits.
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

#: The README's length limit, in lines (issue 15: about 200 lines, five minutes).
README_MAX_LINES = 250

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def doc_files(root: Path = ROOT) -> list[Path]:
    """The README and every Markdown page under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def _prose(text: str) -> str:
    """Markdown with code blocks and code spans removed: links inside them are examples."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    """Every link target in Markdown ``text`` (inline, image and reference style)."""
    prose = _prose(text)
    return _INLINE_LINK.findall(prose) + _REF_LINK.findall(prose)


def anchor(heading: str) -> str:
    """The #fragment GitHub gives a heading: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(text: str) -> set[str]:
    """The #fragments of every heading of Markdown ``text`` (repeats numbered as GitHub does)."""
    seen: dict[str, int] = {}
    out = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        slug = anchor(heading)
        out.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return out


def broken_links(page: Path) -> list[str]:
    """The relative links of ``page`` that name no existing file, or no heading in it."""
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if _SCHEME.match(target):
            continue  # http:, https:, mailto: - not this test's business
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif (fragment and dest.suffix == ".md"
              and fragment not in anchors(dest.read_text(encoding="utf-8"))):
            broken.append(f"{target} (no heading #{fragment})")
    return broken


def too_long(readme: Path, limit: int = README_MAX_LINES) -> str | None:
    """Why ``readme`` is too long for a newcomer, or None when it is short enough."""
    n = len(readme.read_text(encoding="utf-8").splitlines())
    if n <= limit:
        return None
    return f"{readme.name} has {n} lines, more than {limit}: move detail into docs/"


@pytest.mark.parametrize("page", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == [], f"{page.relative_to(ROOT)}: broken links"


def test_docs_pages_exist() -> None:
    names = {str(p.relative_to(ROOT)) for p in doc_files()}
    assert {"docs/isa.md", "docs/architecture.md", "docs/results/aras.md"} <= names


def test_readme_is_short() -> None:
    assert too_long(ROOT / "README.md") is None


def test_broken_links_are_caught(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "there.md").write_text("# A page\n\n## Two words\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/there.md) [ok anchor](docs/there.md#two-words) [self](#top-title)\n"
        "[gone](docs/missing.md) [bad anchor](docs/there.md#three-words)\n"
        "![gone picture](docs/missing.png) [web](https://example.org/missing.md)\n"
        "`[in code](docs/nowhere.md)`\n\n```\n[in a block](docs/nowhere.md)\n```\n"
        "[ref]: docs/missing-ref.md\n\n# Top title\n",
        encoding="utf-8")
    assert broken_links(page) == [
        "docs/missing.md (no such file)",
        "docs/there.md#three-words (no heading #three-words)",
        "docs/missing.png (no such file)",
        "docs/missing-ref.md (no such file)",
    ]


def test_anchor_follows_github() -> None:
    assert anchor("Full chip: `make report`") == "full-chip-make-report"
    assert anchor("Benchmarks (`make bench`)") == "benchmarks-make-bench"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


def test_long_readme_is_caught(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("line\n" * README_MAX_LINES, encoding="utf-8")
    assert too_long(readme) is None
    readme.write_text("line\n" * (README_MAX_LINES + 1), encoding="utf-8")
    assert too_long(readme) == (f"README.md has {README_MAX_LINES + 1} lines, "
                                f"more than {README_MAX_LINES}: move detail into docs/")
