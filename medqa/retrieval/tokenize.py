"""BM25 tokenizer for English and Chinese: lowercase words minus stopwords, jieba for Han text."""
from __future__ import annotations

import re
from functools import lru_cache

# Latin/digit words, or runs of CJK ideographs (jieba cuts those into words).
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ZH_STOP = frozenset("的 了 是 在 和 与 及 或 也 就 都 而 之 其 这 那 有 为 以 于 吗 呢 吧 啊 什么 怎么 哪些 如何 是否".split())


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def _stem(word: str) -> str:
    # A light plural/possessive stemmer: "symptoms"/"symptom", "disease's"/"disease".
    # Measured against none on medquad_retrieval_dev (see docs/retrieval.md).
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _cut_han(text: str) -> list[str]:
    import jieba

    jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise
    return [w for w in jieba.lcut_for_search(text) if w.strip() and w not in _ZH_STOP]


def tokenize(text: str) -> list[str]:
    """Search tokens of one text (English and Chinese)."""
    stop = _stopwords()
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower()):
        if _HAN.match(tok):
            out.extend(_cut_han(tok))
        elif tok not in stop:
            out.append(_stem(tok))
    return out
