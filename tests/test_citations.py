"""What the code and the docs cite is in the repository: the designers' notes outside it are never named, and
every docs/… file a comment points to exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# written in pieces so that this file does not name them itself
OUTSIDE = re.compile("|".join(["DES" + "IGN\\.md", "SEMAN" + "TICS\\.md", "design" + " notes?"]), re.IGNORECASE)
SEARCHED = ("cnnviz", "docs", "tests", "benchmarks", "resources")
TEXT = {".py", ".md", ".json", ".toml", ".txt", ".cfg", ".ini"}


def text_files():
    for top in SEARCHED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in TEXT and path.stat().st_size < 2_000_000:
                yield path
    yield ROOT / "README.md"
    yield ROOT / "pyproject.toml"


def test_no_file_cites_the_notes_outside_the_repository():
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in text_files()
             for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1)
             if OUTSIDE.search(line)]
    assert not found, "cite docs/… instead:\n" + "\n".join(found)


def test_every_cited_doc_exists():
    cited = {m.group(0) for path in text_files() if path.suffix == ".py"
             for m in re.finditer(r"docs/[\w.-]+?\.md", path.read_text(encoding="utf-8", errors="replace"))}
    assert cited, "the code cites its docs"
    assert [c for c in sorted(cited) if not (ROOT / c).is_file()] == []


def test_the_check_sees_a_citation():
    assert OUTSIDE.search("see " + "DES" + "IGN.md, pitfalls") and OUTSIDE.search("the design" + " notes say")
    assert not OUTSIDE.search("docs/layers.md, the design of the layer description")
