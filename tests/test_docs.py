"""The user docs name only repository paths that exist, so they cannot drift from the code."""

import re

from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Paths of the repository itself (outputs such as models/ or metrics/ exist only after a run).
TRACKED_ROOTS = ("src/", "stages/", "tests/", "bench/", "presets/", "docs/", ".ci/")
TRACKED_FILES = {"params.yaml", "dvc.yaml", "dvc.lock", "Makefile", "requirements.txt", "requirements-nodeps.txt", "data.dvc",
                 "pyproject.toml", "README.md"}


def named_paths(text: str) -> set[str]:
    """Backticked tokens and link targets that name a repository path (placeholders and globs left out)."""
    tokens = re.findall(r"`([^`\s]+)`", text) + re.findall(r"\]\(([^)\s#]+)\)", text)
    paths = set()
    for token in tokens:
        token = token.split("::")[0].rstrip(".,:;")
        if any(c in token for c in "<>*{}$") or token.startswith("http"):
            continue
        if token.startswith(TRACKED_ROOTS) or token in TRACKED_FILES or token.endswith(".py"):
            paths.add(token)
    return paths


PY_FILES = [str(p.relative_to(REPO)) for p in REPO.glob("[!.]*/**/*.py") if ".venv" not in p.parts]


def exists(path: str, base) -> bool:
    """A path from the repository root or the doc's folder; a module named by its package path
    (``families/gan/training.py``, ``cli.py``) must be some project file's tail."""
    if (REPO / path).exists() or (base / path).exists():
        return True
    return path.endswith(".py") and any(f == path or f.endswith("/" + path) for f in PY_FILES)


def test_every_repository_path_the_docs_name_exists():
    assert len(DOCS) > 5, "README.md and docs/*.md"
    missing = {}
    for doc in DOCS:
        base = REPO if doc.parent == REPO else doc.parent
        for path in named_paths(doc.read_text()):
            # a link inside docs/ is relative to docs/; a backticked path is relative to the repository
            if not exists(path, base):
                missing.setdefault(doc.name, []).append(path)
    assert not missing, missing


def test_the_path_check_sees_a_missing_path():
    assert named_paths("see `src/genadapt/nothing.py` and [x](docs/none.md), not `models/<x>/` nor `metrics/a.json`") == {
        "src/genadapt/nothing.py", "docs/none.md"}
    assert not exists("src/genadapt/nothing.py", REPO) and not exists("docs/none.md", REPO / "docs")
    assert exists("families/gan/training.py", REPO) and not exists("families/gan/nothing.py", REPO)
