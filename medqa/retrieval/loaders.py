"""Loaders: the shared corpora and a hospital's folder of files, as Documents with sections.

Each loader keeps what a citation needs (title, source, URL, heading, page, path). A file
that cannot be read becomes a LoadFailure naming it and the reason, never an exception, so
one bad file does not stop an ingest.
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Union

from medqa.config import Settings

SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx", ".jsonl")


@dataclass(frozen=True)
class Section:
    """A headed run of text inside a document (page is 1-based, PDFs only)."""

    text: str
    heading: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class Document:
    """One citable document: a corpus record, a file, or one JSONL line."""

    doc_id: str
    title: str
    source: str
    sections: tuple[Section, ...]
    url: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class LoadFailure:
    """A file (or JSONL line) that could not be loaded, and why."""

    name: str
    reason: str


Loaded = Union[Document, LoadFailure]


class BadFile(Exception):
    """Raised inside a file loader; becomes a LoadFailure with this message."""


# ---- the shared corpora ----


def load_medquad(path: Path) -> Iterator[Loaded]:
    """MedQuAD documents: `id, title, source, url, sections[{heading, text}]`."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            sections = tuple(Section(s["text"], s.get("heading") or None)
                             for s in d["sections"] if s.get("text", "").strip())
            yield Document(d["id"], d["title"], d["source"], sections, url=d.get("url"))


def load_pubmedqa(path: Path) -> Iterator[Loaded]:
    """PubMed abstracts: `id ("PMID:n"), title, text`."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            pmid = d["id"].split(":", 1)[-1]
            yield Document(d["id"], d["title"], "PubMed", (Section(d["text"], "Abstract"),),
                           url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/")


CORPUS_LOADERS: dict[str, Callable[[Path], Iterator[Loaded]]] = {
    "medquad": load_medquad,
    "pubmedqa": load_pubmedqa,
}


# ---- a hospital's own files ----


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise BadFile("binary content (NUL bytes), not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BadFile(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    return text


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def load_markdown(path: Path) -> tuple[str, list[Section]]:
    """Sections split at Markdown headings; the first H1 is the title."""
    title, heading, buf, sections = None, None, [], []
    for line in _read_text(path).splitlines():
        m = _MD_HEADING.match(line)
        if m:
            sections.append(Section("\n".join(buf), heading))
            buf, heading = [], m.group(2)
            if title is None and len(m.group(1)) == 1:
                title = heading
        else:
            buf.append(line)
    sections.append(Section("\n".join(buf), heading))
    return title or path.stem, sections


def load_txt(path: Path) -> tuple[str, list[Section]]:
    return path.stem, [Section(_read_text(path))]


def load_html(path: Path) -> tuple[str, list[Section]]:
    """Visible text split at h1-h4; <title> (or the first h1) is the title."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    marker = "\x1e"  # a separator no HTML text contains, to split at headings
    for h in soup.find_all(["h1", "h2", "h3", "h4"]):
        text = h.get_text(" ", strip=True)
        title = title or (text if h.name == "h1" else "")
        h.replace_with(f"\n{marker}{text}\n")
    parts = soup.get_text("\n").split(marker)
    sections = [Section(parts[0])]
    for part in parts[1:]:
        head, _, body = part.partition("\n")
        sections.append(Section(body, head.strip() or None))
    return title or path.stem, sections


def load_pdf(path: Path) -> tuple[str, list[Section]]:
    """The text layer, one section per page (scanned PDFs have none: a failure)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise BadFile("encrypted PDF; save an unencrypted copy")
        pages = [Section(p.extract_text() or "", page=i + 1) for i, p in enumerate(reader.pages)]
        meta_title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except (PdfReadError, ValueError, KeyError, OSError) as e:
        raise BadFile(f"not a readable PDF ({e})") from None
    if not any(s.text.strip() for s in pages):
        raise BadFile("PDF has no text layer (scanned?); run OCR on it first")
    return str(meta_title or path.stem), pages


def load_docx(path: Path) -> tuple[str, list[Section]]:
    """Paragraphs split at Heading styles; core title or the first heading is the title."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        d = docx.Document(str(path))
    except (PackageNotFoundError, ValueError, KeyError, OSError) as e:
        raise BadFile(f"not a readable .docx ({e})") from None
    except Exception as e:  # zipfile.BadZipFile and friends: a corrupt file, not a bug
        raise BadFile(f"not a readable .docx ({type(e).__name__}: {e})") from None
    title = d.core_properties.title or ""
    heading, buf, sections = None, [], []
    for p in d.paragraphs:
        style = (p.style.name if p.style is not None else "") or ""
        if style.startswith("Heading") or style == "Title":
            sections.append(Section("\n".join(buf), heading))
            buf, heading = [], p.text.strip() or None
            title = title or (heading or "")
        else:
            buf.append(p.text)
    for table in d.tables:  # tables after the body text: their cells are still searchable
        buf.extend(" | ".join(c.text for c in row.cells) for row in table.rows)
    sections.append(Section("\n".join(buf), heading))
    return title or path.stem, sections


FILE_LOADERS: dict[str, Callable[[Path], tuple[str, list[Section]]]] = {
    ".md": load_markdown, ".markdown": load_markdown, ".txt": load_txt,
    ".html": load_html, ".htm": load_html, ".pdf": load_pdf, ".docx": load_docx,
}


def load_jsonl(path: Path, source: str) -> Iterator[Loaded]:
    """One document per line: `id?, title?, text | sections[{heading, text}], url?, source?`."""
    lines = _read_text(path).splitlines()
    if not any(line.strip() for line in lines):
        yield LoadFailure(str(path), "empty file")
        return
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        name = f"{path}:{n}"
        try:
            d = json.loads(line)
            if not isinstance(d, dict):
                raise BadFile("line is not a JSON object")
            if "sections" in d:
                sections = tuple(Section(str(s.get("text", "")), s.get("heading") or None)
                                 for s in d["sections"])
            else:
                sections = (Section(str(d.get("text", "")), d.get("heading") or None),)
            if not any(s.text.strip() for s in sections):
                raise BadFile("no text")
            yield Document(str(d.get("id") or f"{path}#L{n}"), str(d.get("title") or path.stem),
                           str(d.get("source") or source), sections, url=d.get("url"),
                           path=str(path))
        except json.JSONDecodeError as e:
            yield LoadFailure(name, f"malformed JSON ({e.msg} at column {e.colno})")
        except (BadFile, AttributeError, TypeError) as e:
            yield LoadFailure(name, str(e) or type(e).__name__)


def load_file(path: Path, source: str) -> Iterator[Loaded]:
    """A file as Documents (one, or one per JSONL line), or LoadFailures saying why not."""
    try:
        if not path.is_file():
            path.open("rb").close()  # raises the OS's own reason (missing, a directory...)
            raise BadFile("not a regular file")
        if path.stat().st_size == 0:
            raise BadFile("empty file")
        if path.suffix.lower() == ".jsonl":
            yield from load_jsonl(path, source)
            return
        title, sections = FILE_LOADERS[path.suffix.lower()](path)
    except BadFile as e:
        yield LoadFailure(str(path), str(e))
        return
    except OSError as e:
        yield LoadFailure(str(path), f"cannot read ({e.strerror or e})")
        return
    sections = [Section(s.text.strip(), s.heading, s.page) for s in sections if s.text.strip()]
    if not sections:
        yield LoadFailure(str(path), "no text (empty or only markup)")
        return
    yield Document(str(path), title.strip() or path.stem, source, tuple(sections), path=str(path))


def iter_files(root: Path) -> Iterator[Path]:
    """Supported files under root, sorted, hidden ones skipped; root itself if a file."""
    if not root.is_dir():
        yield root
        return
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel) or p.suffix.lower() not in SUFFIXES:
            continue
        if p.is_dir() and not p.is_symlink():
            # a folder named like a file is reported (the files inside it still load)
            yield p
            continue
        yield p


def origin_of(source: str | Path, settings: Settings) -> tuple[str, str]:
    """(origin key, display source) for a corpus name or a path."""
    if isinstance(source, str) and source in CORPUS_LOADERS:
        return source, source
    p = Path(source).expanduser().resolve()
    return str(p), p.name


def load_source(source: str | Path, settings: Settings) -> Iterator[Loaded]:
    """Every Document (or LoadFailure) of a corpus name or a file/folder path."""
    from medqa import data
    from medqa.errors import IngestError

    if isinstance(source, str) and source in CORPUS_LOADERS:
        yield from CORPUS_LOADERS[source](data.resolve(source, settings))
        return
    root = Path(source).expanduser()
    if not root.exists() and not root.is_symlink():
        raise IngestError(
            f"{source!r} is neither a corpus name nor an existing file or folder.",
            f"Corpora: {', '.join(CORPUS_LOADERS)}; or give a path to .md/.txt/.html/.pdf/"
            ".docx/.jsonl files.",
        )
    root = root.resolve() if root.exists() else root.absolute()
    if root.is_file() and root.suffix.lower() not in SUFFIXES:
        raise IngestError(f"{root} is not a supported file type.",
                          f"Supported: {', '.join(SUFFIXES)}.")
    display = root.name
    for path in iter_files(root):
        yield from load_file(path, display)
