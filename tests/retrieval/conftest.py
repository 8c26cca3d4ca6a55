"""Fixtures of the retrieval tests: small real corpora, real Chroma, the plain MiniLM."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from retrieval_helpers import HashingEmbedder  # noqa: E402  (registers it)


def make_settings(home: Path, model: str = "minilm-st", **retrieval):
    from medqa.config import load_settings

    return load_settings(home=home, retrieval={"embedding_model": model, **retrieval})


@pytest.fixture
def rsettings(medqa_home: Path):
    """Settings on a fresh MEDQA_HOME with the plain MiniLM (no ONNX export per test)."""
    return make_settings(medqa_home)


@pytest.fixture
def hsettings(medqa_home: Path):
    """Settings on a fresh MEDQA_HOME with the hashing embedder."""
    return make_settings(medqa_home, HashingEmbedder.name)


def pdf_bytes(pages: list[str | None]) -> bytes:
    """A minimal valid PDF; a page with None text has no text layer at all."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        n = len(objs) + 1
        kids.append(f"{n} 0 R")
        if text is None:
            objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>")
            continue
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    f"/Contents {n + 1} 0 R /Resources << /Font << /F1 {n + 2} 0 R >> >> >>")
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objs.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


@pytest.fixture
def hospital_folder(tmp_path: Path) -> Path:
    """A hospital folder: one good file of each type plus every kind of bad input."""
    import docx

    root = tmp_path / "hospital"
    (root / "wards").mkdir(parents=True)
    (root / "hand_hygiene.md").write_text(
        "# Hand hygiene\n\n## Procedure\nRub hands with alcohol gel for 20 seconds.\n\n"
        "## When\nBefore and after every patient contact.\n")
    (root / "visiting.txt").write_text("Visiting hours on the wards are 9am to 8pm daily.")
    (root / "wards" / "sepsis.html").write_text(
        "<html><head><title>Sepsis bundle</title><style>p{}</style></head><body>"
        "<h2>Recognition</h2><p>Check lactate within one hour of suspected sepsis.</p>"
        "<h2>Antibiotics</h2><p>Give broad-spectrum antibiotics within the first hour.</p>"
        "</body></html>")
    (root / "wards" / "falls.pdf").write_bytes(
        pdf_bytes(["Falls prevention: bed rails and hourly rounding.", "Page two: footwear."]))
    d = docx.Document()
    d.add_heading("Insulin protocol", level=1)
    d.add_paragraph("Check capillary glucose before meals and at bedtime.")
    d.save(root / "insulin.docx")
    (root / "formulary.jsonl").write_text(
        '{"id": "form-1", "title": "Paracetamol", "text": "Maximum 4 g per day in adults."}\n'
        '{"id": "form-2", "title": "Ibuprofen", "text": "Take with food.", "url": "http://x/ibu"}\n'
        '{"id": "form-3", "title": "Broken", "text": \n')
    # bad inputs, each must be reported by name with a reason
    (root / "empty.txt").write_text("")
    (root / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (root / "scanned.pdf").write_bytes(pdf_bytes([None, None]))
    (root / "unreadable.txt").mkdir()  # a directory where a file is expected
    (root / "gone.md").symlink_to(root / "does-not-exist.md")  # a broken link
    return root
