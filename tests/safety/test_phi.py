"""PHI redaction: each identifier type, the CN ID checksum, and the synthetic-note metrics."""
from __future__ import annotations

import json

import pytest

from medqa.safety.evaluate import load_triage_set, phi_eval
from medqa.safety.phi import cn_id_valid, redact

CASES = [
    ("Patient: Ryan Gallagher was seen today", "PERSON", "Ryan Gallagher"),
    ("Spoke with Mrs. Rachel Davis about the plan", "PERSON", "Mrs. Rachel Davis"),
    ("患者张伟，男，45岁，因胸闷入院", "PERSON", "张伟"),
    ("姓名：欧阳娜娜", "PERSON", "欧阳娜娜"),
    ("患者王明突发胸痛", "PERSON", "王明"),
    ("MRN: A1234567", "MRN", "A1234567"),
    ("病历号：ZY20240001", "MRN", "ZY20240001"),
    ("call (415) 555-0132 ext 12", "PHONE", "(415) 555-0132 ext 12"),
    ("电话13812345678", "PHONE", "13812345678"),
    ("座机010-87654321", "PHONE", "010-87654321"),
    ("邮箱zhang.wei@example.cn", "EMAIL", "zhang.wei@example.cn"),
    ("DOB: 03/14/1962", "DOB", "03/14/1962"),
    ("出生日期：1962年3月14日", "DOB", "1962年3月14日"),
    ("lives at 1600 Pennsylvania Avenue, Washington, DC 20500", "ADDRESS", "1600 Pennsylvania Avenue, Washington, DC 20500"),
    ("住址：北京市朝阳区建国路88号", "ADDRESS", "北京市朝阳区建国路88号"),
    ("SSN 123-45-6789", "US_SSN", "123-45-6789"),
    ("身份证11010519491231002X", "CN_ID", "11010519491231002X"),
    ("Insurance ID: XKM123456789", "INSURANCE_ID", "XKM123456789"),
    ("医保卡号：YB1234567890", "INSURANCE_ID", "YB1234567890"),
]


@pytest.mark.parametrize("text,etype,value", CASES)
def test_each_identifier_type_is_redacted(text: str, etype: str, value: str) -> None:
    r = redact(text)
    assert value not in r.text, r.text
    assert etype in r.types, r.entities
    start = text.index(value)
    assert any(s <= start and e >= start + len(value) for _, s, e in r.entities)


def test_cn_id_checksum() -> None:
    assert cn_id_valid("11010519491231002X")
    assert not cn_id_valid("110105194912310021")  # wrong check digit
    assert "CN_ID" not in redact("编号110105194912310021").types


def test_no_redaction_in_phi_free_medical_questions() -> None:
    flagged = {r["id"] for r in load_triage_set() if redact(r["text"]).entities}
    # The triage set's only identifiers: "Mr D's" and "Mrs T's" (initials), "Mr Okafor", "Mr Lee", "地址在XX小区";
    # blind9 to blind14: Mr Pike, Mr Banks, Mr Hale, Mrs Dunn, Mrs Okafor, Mr Patel, Mrs Ahmed, Mrs Hale, Mr Okafor, 王先生.
    assert flagged <= {"b5-073", "b8-089", "b8-154", "d7-009", "d7-127", "d8-117", "b9-023", "b9-052", "b9-106",
                       "b9-131", "b9-153", "b10-158", "b11-025", "b11-110", "b11-121", "b14-109"}, flagged
    assert redact("家属问住在哪个病区").entities == ()  # a question, not an address
    assert redact("车上有医生吗？").entities == ()  # 车 is a surname, 车上有 no name
    assert redact("病房里家属问起来，该怎么说？").entities == ()  # asking, not a name (blind16)
    assert redact("How do I change my address on file, and can a nurse check my ear?").entities == ()  # (blind15)
    assert redact("What is the usual adult dose of amoxicillin?").entities == ()
    # after a person word, a symptom, an age or a ward phrase is not a name
    for text in ("女儿高烧，腿上出现紫色的疹子", "儿子两岁，吃了药", "本次透析顺利，患者安返。"):
        assert redact(text).entities == (), text


def test_redaction_holds_types_and_spans_never_values() -> None:
    r = redact("Patient: Ryan Gallagher, phone 415-555-0132")
    assert r.text == "Patient: <NAME>, phone <PHONE>"
    assert all(isinstance(x, int) for _, s, e in r.entities for x in (s, e))
    assert "Gallagher" not in json.dumps(r.entities)


def test_synthetic_notes_recall_per_type() -> None:
    report = phi_eval(n=200, seed=7)
    assert report.notes == 200
    for etype, (found, total) in report.recall.items():
        floor = 0.85 if etype == "PERSON" else 0.95
        assert total and found / total >= floor, (etype, found, total)
    hit, pred = report.precision
    assert hit / pred >= 0.95
