"""The CLI end to end: ingest, search, eval retrieval; clean errors for bad queries."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medqa.errors import QueryError
from medqa.retrieval.evaluate import doc_ranking, score
from medqa.types import Passage


def test_score_hand_computed():
    s = score([["a", "b"], ["x", "y", "b"], ["z"]], ["a", "b", "q"])
    assert (s.recall_1, s.recall_5, s.recall_10) == pytest.approx((1 / 3, 2 / 3, 2 / 3))
    assert s.mrr_10 == pytest.approx((1 + 1 / 3) / 3)
    ps = [Passage(id=str(i), text="", doc_id=d, title="", source="") for i, d in
          enumerate(["b", "a", "b", "c"])]
    assert doc_ranking(ps) == ["b", "a", "c"]


@pytest.fixture
def cli(medqa_home, monkeypatch):
    from medqa.cli import app

    monkeypatch.setenv("MEDQA_RETRIEVAL__EMBEDDING_MODEL", "test-hashing")
    return lambda *args: CliRunner().invoke(app, list(args), catch_exceptions=False)


def _dev_documents(tmp_path: Path, n: int) -> Path:
    """The corpus documents that answer the first n dev questions, as a JSONL file."""
    dev = [json.loads(line) for line in
           (Path(__import__("os").environ["MEDQA_DATA_DIR"]) / "eval" /
            "medquad_retrieval_dev.jsonl").read_text().splitlines()[:n]]
    want = {d["doc_id"] for d in dev}
    corpus = Path(__import__("os").environ["MEDQA_DATA_DIR"]) / "corpus/medquad_corpus.jsonl.gz"
    folder = tmp_path / "dev_docs"
    folder.mkdir()
    with gzip.open(corpus, "rt") as f, open(folder / "docs.jsonl", "w") as out:
        for line in f:
            if json.loads(line)["id"] in want:
                out.write(line)
    return folder


def test_ingest_search_eval(cli, tmp_path):
    folder = _dev_documents(tmp_path, 8)
    res = cli("ingest", str(folder))
    assert res.exit_code == 0 and "added" in res.output
    assert "added 0 chunks" in cli("ingest", str(folder)).output
    res = cli("search", "What are the symptoms of Syndactyly-polydactyly-earlobe syndrome ?",
              "-k", "2")
    assert res.exit_code == 0 and "Syndactyly" in res.output and "Symptoms" in res.output
    res = cli("eval", "retrieval", "--set", "medquad_retrieval_dev", "--limit", "8")
    assert res.exit_code == 0
    rows = {line.split("│")[1].strip(): line for line in res.output.splitlines()
            if line.count("│") > 5}
    assert {"bm25", "dense", "hybrid"} <= set(rows)
    assert "1.000" in rows["hybrid"].split("│")[4]  # all 8 answering documents in the top 10
    with pytest.raises(QueryError):  # the CLI's main() turns this into one clean line
        cli("search", "")

