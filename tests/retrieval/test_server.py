"""A real `chroma run` server process on loopback serves what the embedded store serves."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from medqa.retrieval.hybrid import HybridRetriever
from medqa.retrieval.ingest import ingest

from conftest import make_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path: Path):
    """`chroma run` on 127.0.0.1, stopped (by its own pid) after the test."""
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = open(tmp_path / "chroma.log", "w")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server-data"),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "chroma.log").read_text()[-2000:])
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_server_serves_the_same_results_as_embedded(chroma_server, tmp_path):
    embedded = make_settings(tmp_path / "embedded", "test-hashing")
    served = make_settings(tmp_path / "served", "test-hashing", chroma_url=chroma_server)
    for s in (embedded, served):
        report = ingest("medquad", s, limit=30)
        assert report.added > 100 and not report.failed
    assert not (served.index_dir / "chroma").exists()  # vectors live in the server
    a, b = HybridRetriever(embedded), HybridRetriever(served)
    assert b._index.store.count() == a._index.store.count()
    for q in ("What are the symptoms of leukemia?", "treatment of breast cancer",
              "Who is at risk for lung cancer?"):
        for ra, rb in ((a.dense, b.dense), (a, b)):
            pa, pb = ra.search(q, k=8), rb.search(q, k=8)
            assert [p.id for p in pa] == [p.id for p in pb]
            assert [p.score for p in pa] == pytest.approx([p.score for p in pb], abs=1e-5)
    again = ingest("medquad", served, limit=30)
    assert again.added == 0
