"""Router-driven runs and retrieval: the router picks per question, `gated` follows its
retrieve decision, and retrieval is asked the question alone, never the options."""
from __future__ import annotations

from medqa.config import load_settings
from medqa.evals.datasets import load_items
from medqa.evals.runner import Answerer, RunConfig, run
from medqa.evals.suite import BackendPool
from medqa.routing.base import Router
from medqa.routing.registry import get_router, register_router
from medqa.types import Passage, Question, Route


class TaskRouter(Router):
    """Yes/no/maybe questions to fake-b with retrieval; the rest to fake-a without."""

    def scores(self, q: Question) -> dict[str, float]:
        ynm = set((q.options or {}).values()) == {"yes", "no", "maybe"}
        return {"fake-a": 0.0 if ynm else 1.0, "fake-b": 1.0 if ynm else 0.0}

    def route(self, q: Question) -> Route:
        r = super().route(q)
        return Route(backbones=r.backbones, retrieve=r.backbones[0] == "fake-b", scores=r.scores)


class RecordingRetriever:
    """Returns the question's own PubMed abstract id, and records every query."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def search(self, query: str, k: int = 8) -> list[Passage]:
        self.queries.append(query)
        return [Passage(id=f"p{i}", text=f"passage {i} about {query[:20]}", doc_id="PMID:10158597",
                        title="t", source="pubmedqa") for i in range(k)]


def test_gated_rag_follows_the_router_and_queries_the_question_only(medqa_home, fake_engine, tmp_path):
    register_router("evals-test-task", lambda settings: TaskRouter())
    settings = load_settings()
    router = get_router("evals-test-task", settings)
    items = load_items("mirage_subset_1000", limit=3)
    cfg = RunConfig(dataset="mirage_subset_1000", backbone="route:evals-test-task", engine=fake_engine,
                    rag="gated", k=2, corpora=("medquad", "pubmedqa"), router="evals-test-task")
    retriever = RecordingRetriever()
    stats = run(cfg, items, Answerer(cfg, BackendPool(settings, fake_engine), retriever, router),
                tmp_path, progress=False)
    pub = [r for r in stats.rows if r.task == "pubmedqa"]
    rest = [r for r in stats.rows if r.task != "pubmedqa"]
    assert all(r.backbone == "fake-b" and r.retrieved and r.oracle_in_corpus for r in pub)
    assert all(r.backbone == "fake-a" and not r.retrieved and not r.oracle_in_corpus for r in rest)
    assert [r.gold_retrieved for r in pub] == [True, False, False]  # only 10158597's own abstract
    assert retriever.queries == [it.question for it in items if it.task == "pubmedqa"]


def test_rag_on_changes_the_prompt_and_the_config(medqa_home, fake_engine, tmp_path):
    settings = load_settings()
    items = load_items("mirage_subset_1000", tasks=["medqa"], limit=4)
    pool = BackendPool(settings, fake_engine)
    off = RunConfig(dataset="mirage_subset_1000", backbone="fake-a", engine=fake_engine)
    on = RunConfig(dataset="mirage_subset_1000", backbone="fake-a", engine=fake_engine, rag="on", k=2,
                   corpora=("medquad",))
    assert off.hash() != on.hash()
    a = run(off, items, Answerer(off, pool), tmp_path, progress=False).rows
    b = run(on, items, Answerer(on, pool, RecordingRetriever()), tmp_path, progress=False).rows
    assert all(r.k == 0 and not r.retrieved for r in a) and all(r.k == 2 and r.retrieved for r in b)
    assert [r.option_logprobs for r in a] != [r.option_logprobs for r in b]  # passages reached the model
    assert not any(r.oracle_in_corpus for r in b)  # medquad alone holds no PubMedQA* abstract
