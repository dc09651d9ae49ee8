"""The documentation keeps pointing at what exists: links, pictures, anchors and the pinned packages."""

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target), with an optional "title"; the text may hold one level of brackets.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def prose(text):
    """What a reader sees as Markdown: code blocks and inline code hold examples, not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(path):
    seen, result = {}, set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def relative_links(text):
    """Targets without a scheme (http:, mailto:): files of this repository, or anchors."""
    return [t for t in LINK.findall(prose(text)) if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]


def broken(path, target):
    """Why `target`, written in `path`, leads nowhere; None when it leads somewhere."""
    file_part, _, anchor = target.partition("#")
    destination = (path.parent / file_part).resolve() if file_part else path
    if not destination.exists():
        return f"{destination.relative_to(ROOT) if destination.is_relative_to(ROOT) else destination} is missing"
    if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
        return f"{destination.name} has no heading #{anchor}"
    return None


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_picture_points_at_an_existing_file_and_heading(path):
    problems = [
        f"{target}: {why}"
        for target in relative_links(path.read_text(encoding="utf-8"))
        if (why := broken(path, target))
    ]
    assert problems == [], f"{path.relative_to(ROOT)}: " + "; ".join(problems)


def test_the_link_check_sees_links_pictures_and_anchors():
    page = "[a](docs/api.md) ![b](docs/screenshots/2-preview.png) [c](#lifecycle) `[no](x.md)` [w](https://x.y)"
    assert relative_links(page) == ["docs/api.md", "docs/screenshots/2-preview.png", "#lifecycle"]
    assert slug("Revoke or restore one member's coupon") == "revoke-or-restore-one-members-coupon"
    assert slug("Dependencies, and why each is there") == "dependencies-and-why-each-is-there"
    assert broken(ROOT / "README.md", "docs/nothing.md") is not None
    assert broken(ROOT / "README.md", "#no-such-heading") is not None


def pinned_packages():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            if "==" in line and not line.lstrip().startswith("#"):
                yield line.split("==")[0].strip().lower()


def test_the_readme_says_why_each_pinned_package_is_there():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Dependencies, and why each is there", 1)[1].split("\n## ", 1)[0]
    named = {
        name.strip().lower()
        for row in section.splitlines()
        if row.startswith("| ") and not row.startswith("| package")
        for name in re.split(r",| ", row.split("|")[1])
        if name.strip()
    }
    assert sorted(set(pinned_packages()) - named) == []


# Paths the documentation names in `code`, from the repository's top-level folders.
NAMED_PATH = re.compile(
    r"`((?:distribution|api|notifications|couponops|campaigns|common|tests|bench|templates|locale|docs|\.ci)/[^`\s:,<]*)"
)


def test_every_path_the_docs_name_exists():
    missing = [
        f"{path.relative_to(ROOT)}: {named}"
        for path in DOCUMENTS
        for named in sorted(set(NAMED_PATH.findall(FENCE.sub("", path.read_text(encoding="utf-8")))))
        if not (ROOT / named).exists()
    ]
    assert missing == []


def readme_moves():
    """The README's lifecycle block as (from statuses, move, to status) triples."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Lifecycle", 1)[1].split("\n## ", 1)[0]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    moves = []
    for line in block.splitlines():
        found = re.fullmatch(r"([a-z_]+(?:, [a-z_]+)*) --([a-z_]+)--> ([a-z_]+|\(no change\))", line.strip())
        assert found, f"not a move: {line!r}"
        sources, move, target = found.groups()
        moves.append((frozenset(sources.split(", ")), move, None if target == "(no change)" else target))
    return moves


def test_the_readme_lifecycle_is_the_declared_table_of_moves():
    from distribution.lifecycle import MOVES

    declared = [
        (rule.sources, move.value, outcome.status)
        for move, rule in MOVES.items()
        if rule.sources  # a new draft and support's moves on one coupon start from no status
        for outcome in rule.outcomes
    ]
    assert sorted(readme_moves(), key=repr) == sorted(declared, key=repr)


def named_tests(text):
    """(file, name) for each `test_x.py::test_name` a table cell names; `…::name` is in the file named before it,
    and a name cut short with `…` is a prefix."""
    current = None
    for cell in re.findall(r"`([^`]*)`", text):
        found = re.fullmatch(r"(test_\w+\.py|…)((?:::[^`]*)?)", cell)
        if not found:
            continue
        current = found.group(1) if found.group(1) != "…" else current
        names = [part.split("[")[0].replace("…", "").rstrip("_") for part in found.group(2).split("::")[1:]]
        yield current, names[-1] if names else ""


def test_every_test_the_guarantees_name_exists():
    missing = [
        f"{file}::{name}"
        for file, name in named_tests((ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8"))
        if not (ROOT / "tests" / file).exists() or name not in (ROOT / "tests" / file).read_text(encoding="utf-8")
    ]
    assert missing == []
