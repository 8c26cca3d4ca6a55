"""The Assistant end to end on a real small index (Chroma + BM25 in tmp) and the real
packaged SmolLM2 on llama.cpp; faults injected through real Backend subclasses."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import pytest

from medqa.config import Settings
from medqa.models.base import Backend
from medqa.models.engines.llamacpp import LlamaCppBackend
from medqa.models.registry import register_engine
from medqa.attribution import cited_numbers
from medqa.pipeline import Assistant
from medqa.types import Answer, Delta, GenParams, Message, Retrieved, Routed, Token, Triaged

SMOL = "smollm2-135m-instruct"
DOCS = {
    "gout.md": "# Gout\n\nGout is a form of arthritis caused by uric acid crystals in a joint. "
               "Attacks often start in the big toe. Colchicine and NSAIDs treat attacks.",
    "anaemia.md": "# Anaemia\n\nAnaemia means too few red blood cells or too little "
                  "haemoglobin. Iron deficiency is the most common cause.",
    "asthma.md": "# Asthma\n\nAsthma is a long-term disease of the airways. Inhaled "
                 "corticosteroids control it; salbutamol relieves attacks.",
}


def smol_path() -> Path:
    from medqa.models.packaged import weights_path

    home = Path(os.environ.get("MEDQA_MODELS_HOME", Path.home() / ".medqa"))
    return weights_path(SMOL, Settings(home=home))


@lru_cache(maxsize=1)
def smol() -> LlamaCppBackend:
    """One real SmolLM2 for the whole module (the pipeline serialises calls on it)."""
    return LlamaCppBackend(smol_path(), name=SMOL, family="smollm", n_ctx=2048, n_threads=1)


class DiesMidAnswer(LlamaCppBackend):
    """The real model, killed after three pieces of its answer."""

    def __init__(self) -> None:
        super().__init__(smol_path(), name=SMOL, family="smollm", n_ctx=2048, n_threads=1)

    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        for i, d in enumerate(super().chat(messages, params)):
            if i == 3:
                raise RuntimeError("engine crashed")
            yield d


class Cites(Backend):
    """Answers with fixed citations, one of them to a document it was not shown."""

    name, family = SMOL, "smollm"

    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        for piece in ["Uric acid crystals [1]", " cause gout [2, 1];", " see also [9]."]:
            yield Delta(text=piece)
        yield Delta(finish_reason="stop", prompt_tokens=10, completion_tokens=3)

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        return [0.0] * len(options)


register_engine("test-smol-shared", lambda name, s: smol())
register_engine("test-dies", lambda name, s: DiesMidAnswer())
register_engine("test-cites", lambda name, s: Cites())


@pytest.fixture(scope="module", autouse=True)
def close_shared_engine() -> Iterator[None]:
    yield
    smol().close()
    smol.cache_clear()


def make_index(tmp_path_factory, docs: dict[str, str]) -> Path:
    """A MEDQA_HOME with `docs` (file name -> text) ingested into a real index."""
    from medqa.retrieval.ingest import ingest

    home = tmp_path_factory.mktemp("home")
    folder = tmp_path_factory.mktemp("docs")
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    ingest(folder, Settings(home=home))
    return home


@pytest.fixture(scope="module")
def index_home(tmp_path_factory) -> Path:
    return make_index(tmp_path_factory, DOCS)


def assistant(home: Path, engine: str) -> Assistant:
    return Assistant.from_settings(Settings(
        home=home, models={"engine": engine, "roles": {"general": SMOL}}))


def test_events_arrive_in_order_with_a_real_model(index_home) -> None:
    events = list(assistant(index_home, "test-smol-shared").stream("What causes gout?"))
    kinds = [type(e).__name__ for e in events]
    assert kinds[:3] == ["Triaged", "Retrieved", "Routed"] and kinds[-1] == "Answer"
    assert set(kinds[3:-1]) == {"Token"}
    retrieved, answer = events[1], events[-1]
    assert isinstance(retrieved, Retrieved) and "gout" in retrieved.passages[0].text.lower()
    assert isinstance(answer, Answer) and not answer.partial and answer.error is None
    assert answer.text == "".join(e.text for e in events if isinstance(e, Token)).strip()
    assert answer.backbone == SMOL and SMOL in events[2].route.explanation
    assert answer.timings["first_token_s"] <= answer.timings["total_s"]
    assert {c.passage for c in answer.citations} <= set(retrieved.passages)


def test_citations_point_at_passages_the_model_was_shown(index_home) -> None:
    events = list(assistant(index_home, "test-cites").stream("What causes gout?"))
    passages = next(e for e in events if isinstance(e, Retrieved)).passages
    answer = events[-1]
    assert [c.n for c in answer.citations] == [1, 2]  # [9] was never shown: not a citation
    assert [c.passage for c in answer.citations] == list(passages[:2])


def test_backend_dying_mid_answer_gives_a_partial_answer(index_home) -> None:
    a = assistant(index_home, "test-dies")
    events = list(a.stream("What is anaemia?"))
    a.close()
    tokens = [e.text for e in events if isinstance(e, Token)]
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.partial and len(tokens) == 3
    assert answer.text == "".join(tokens).strip() and "engine crashed" in answer.error
    assert isinstance(events[0], Triaged) and isinstance(events[2], Routed)


def test_ask_batch_and_search(index_home) -> None:
    a = assistant(index_home, "test-cites")
    answers = a.ask_batch(["What causes gout?", "What treats asthma?"])
    assert [len(x.citations) for x in answers] == [2, 2] and answers[0].request_id != \
        answers[1].request_id
    assert "asthma" in a.search("inhaled corticosteroids", k=1)[0].text.lower()


def test_cited_numbers_reads_groups_in_order() -> None:
    assert cited_numbers("a [2] b [1, 3] c [2]，d [4、5]") == [2, 1, 3, 4, 5]


def test_answer_budget_follows_the_engine_unless_configured(tmp_path) -> None:
    from medqa.config import AnswerSettings, ModelSettings, Settings
    from medqa.prompts import BUDGETS

    def budget(**kw) -> tuple[int, int, int]:  # noqa: ANN003
        a = Assistant(Settings(home=tmp_path, **kw))
        return a.context_tokens, a.top_passages, a.max_tokens

    assert budget(models=ModelSettings(engine="llamacpp")) == BUDGETS["compact"]
    assert budget(models=ModelSettings(engine="vllm")) == BUDGETS["wide"]
    assert budget(models=ModelSettings(engine="llamacpp"),
                  answer=AnswerSettings(context_tokens=300, max_tokens=200)) == (300, 2, 200)
