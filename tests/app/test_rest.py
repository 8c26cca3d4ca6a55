"""The REST API on a real server: keys, isolation, uploads, /healthz, the OpenAI client."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow
Live = Any  # the `live` fixture of conftest.py: url, settings, services, keys


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_healthz_reports_index_and_backends(live: Live) -> None:
    r = httpx.get(f"{live.url}/healthz", timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and "index" in body and "backends" in body
    assert "openapi" in httpx.get(f"{live.url}/openapi.json", timeout=30).json()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer mq_wrong"},
                                     {"Authorization": "Basic YWxpY2U6eA=="}])
def test_missing_or_wrong_key_refused(live: Live, headers: dict[str, str]) -> None:
    for method, path in (("POST", "/v1/ask"), ("GET", "/v1/history"), ("GET", "/v1/search?q=x"),
                         ("POST", "/v1/chat/completions"), ("POST", "/v1/ingest")):
        r = httpx.request(method, f"{live.url}{path}", headers=headers, json={"question": "x"},
                          timeout=30)
        assert r.status_code == 401, (path, r.text)
        assert "API key" in r.json()["error"]["message"]
        assert r.headers["www-authenticate"] == "Bearer"


def test_staff_cannot_ingest(live: Live) -> None:
    r = httpx.post(f"{live.url}/v1/ingest", headers=auth(live.keys["alice"]),
                   files={"file": ("a.md", b"# A\n\ntext")}, timeout=30)
    assert r.status_code == 403


def test_bad_uploads_rejected_with_clear_message(live: Live) -> None:
    h = auth(live.keys["root"])
    big = httpx.post(f"{live.url}/v1/ingest", headers=h, timeout=60,
                     files={"file": ("big.md", b"# big\n" + b"x" * (1024 * 1024 + 10))})
    assert big.status_code == 413 and "1 MB limit" in big.json()["error"]["message"]
    exe = httpx.post(f"{live.url}/v1/ingest", headers=h, timeout=30,
                     files={"file": ("tool.exe", b"MZ\x90\x00")})
    assert exe.status_code == 415
    err = exe.json()["error"]
    assert "'.exe' are not accepted" in err["message"] and ".pdf" in err["hint"]
    fake = httpx.post(f"{live.url}/v1/ingest", headers=h, timeout=30,
                      files={"file": ("scan.pdf", b"not a pdf at all")})
    assert fake.status_code == 415 and "not a real .pdf" in fake.json()["error"]["message"]


def test_user_cannot_read_anothers_history(live: Live) -> None:
    alice, bob = auth(live.keys["alice"]), auth(live.keys["bob"])
    r = httpx.post(f"{live.url}/v1/ask", headers=alice, timeout=300,
                   json={"question": "When should metformin be stopped?"})
    assert r.status_code == 200, r.text
    body = r.json()
    conv = body["conversation"]
    assert body["request_id"] and body["route"]["backbones"] == ["smollm2-135m-instruct"]
    mine = httpx.get(f"{live.url}/v1/history/{conv}", headers=alice, timeout=30)
    assert mine.status_code == 200
    assert mine.json()["turns"][0]["question"] == "When should metformin be stopped?"
    assert httpx.get(f"{live.url}/v1/history/{conv}", headers=bob, timeout=30).status_code == 404
    listed = httpx.get(f"{live.url}/v1/history", headers=bob, timeout=30).json()
    assert listed["user"] == "bob" and conv not in {c["id"] for c in listed["conversations"]}
    assert conv in {c["id"] for c in httpx.get(f"{live.url}/v1/history", headers=alice,
                                                timeout=30).json()["conversations"]}


def test_search_returns_passages_with_citation_fields(live: Live) -> None:
    r = httpx.get(f"{live.url}/v1/search", params={"q": "hand hygiene gloves", "k": 2},
                  headers=auth(live.keys["bob"]), timeout=60)
    assert r.status_code == 200
    top = r.json()["passages"][0]
    assert top["title"] == "Hand hygiene" and "gloves" in top["text"] and top["source"]


def test_openai_client_gets_a_streamed_answer(live: Live) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{live.url}/v1", api_key=live.keys["alice"], max_retries=0,
                    timeout=300)
    assert [m.id for m in client.models.list().data] == ["medqa"]
    stream = client.chat.completions.create(
        model="medqa", stream=True,
        messages=[{"role": "user", "content": "How is metformin dosed at the start?"}])
    pieces, last = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        last = chunk
    assert len(pieces) > 1 and "".join(pieces).strip()  # streamed: several content deltas
    assert last.choices[0].finish_reason == "stop"
    extra = last.model_extra
    assert extra["route"]["backbones"] == ["smollm2-135m-instruct"] and extra["route"]["retrieve"]
    assert "citations" in extra and extra["medqa"]["request_id"]
    with pytest.raises(Exception, match="Unknown model"):
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])


def test_admin_upload_is_searchable(live: Live) -> None:
    doc = b"# Zorblax protocol\n\n## Dose\n\nThe Zorblax protocol gives 3 drops of saline hourly.\n"
    r = httpx.post(f"{live.url}/v1/ingest", params={"wait": "true"}, timeout=300,
                   headers=auth(live.keys["root"]), files={"file": ("zorblax.md", doc)})
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    assert r.json()["report"]["added"] >= 1
    hits = httpx.get(f"{live.url}/v1/search", params={"q": "Zorblax protocol", "k": 1},
                     headers=auth(live.keys["alice"]), timeout=60).json()["passages"]
    assert hits[0]["title"] == "Zorblax protocol"
