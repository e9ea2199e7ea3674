"""The web UI's static files: everything index.html (and each module and stylesheet) names exists, and
nothing is fetched from another origin, nor written inline where the content security policy forbids it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from clearsight.api.app import DEFAULT_STATIC_DIR

STATIC = DEFAULT_STATIC_DIR
TEXT_SUFFIXES = {".html", ".js", ".css", ".svg", ".json", ".txt"}
# XML namespace names identify a vocabulary and are never fetched; they are the only URLs allowed.
NAMESPACE_NAMES = ("http://www.w3.org/2000/svg",)
IMPORT = re.compile(
    r"""(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)""", re.MULTILINE)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
CSS_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)['"]""")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes: list[str] = []
        self.event_attributes: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.references.append(str(values[name]))
        if "style" in values:
            self.style_attributes.append(tag)
        self.event_attributes += [f"{tag}.{name}" for name, _ in attrs if name.startswith("on")]
        if tag == "style":
            self.style_elements += 1
        if tag == "script" and not values.get("src"):
            self._in_script = True

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def _index() -> _References:
    parser = _References()
    parser.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    return parser


def _local(reference: str, base: Path) -> Path:
    assert "://" not in reference and not reference.startswith("//"), f"{reference} is not a local file"
    path = reference.split("?", 1)[0].split("#", 1)[0]
    resolved = (STATIC / path.lstrip("/")) if path.startswith("/") else (base.parent / path)
    return resolved.resolve()


def _static_files() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*") if p.is_file())


def test_the_static_directory_is_where_the_app_mounts_it() -> None:
    assert (STATIC / "index.html").is_file()


def test_every_file_index_html_references_exists() -> None:
    references = _index().references
    assert any(r.endswith("main.js") for r in references)
    for reference in references:
        path = _local(reference, STATIC / "index.html")
        assert path.is_file(), f"index.html references {reference}, which does not exist"
        assert STATIC.resolve() in path.parents


def test_every_module_import_and_stylesheet_reference_exists() -> None:
    for script in STATIC.rglob("*.js"):
        for match in IMPORT.finditer(script.read_text(encoding="utf-8")):
            reference = match.group(1) or match.group(2)
            assert reference.startswith("."), f"{script.name} imports {reference}: only relative module paths"
            assert _local(reference, script).is_file(), f"{script.name} imports missing {reference}"
    for sheet in STATIC.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8")
        for reference in [*CSS_URL.findall(text), *CSS_IMPORT.findall(text)]:
            if reference.startswith("data:"):
                continue
            assert _local(reference, sheet).is_file(), f"{sheet.name} references missing {reference}"


def test_every_module_is_reachable_from_main() -> None:
    seen: set[Path] = set()
    pending = [(STATIC / "js" / "main.js").resolve()]
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        for match in IMPORT.finditer(module.read_text(encoding="utf-8")):
            pending.append(_local(match.group(1) or match.group(2), module))
    unused = {p.name for p in STATIC.rglob("*.js")} - {p.name for p in seen}
    assert not unused, f"modules nothing imports: {sorted(unused)}"


@pytest.mark.parametrize("path", [p for p in _static_files() if p.suffix in TEXT_SUFFIXES],
                         ids=lambda p: str(p.relative_to(STATIC)))
def test_no_file_references_another_origin(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for name in NAMESPACE_NAMES:
        text = text.replace(name, "")
    urls = re.findall(r"(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s'\"]*", text)
    assert "http://" not in text.lower() and "https://" not in text.lower(), f"{path.name} names a URL: {urls}"
    assert not [u for u in urls if u.startswith("//")], f"{path.name} names a protocol-relative URL: {urls}"


def test_index_html_has_nothing_inline_that_the_csp_refuses() -> None:
    index = _index()
    assert index.inline_scripts == 0
    assert index.style_elements == 0
    assert index.style_attributes == []
    assert index.event_attributes == []
