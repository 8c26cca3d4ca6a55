"""Test helpers importable from a subprocess: a hashing embedder registered like any other."""
from __future__ import annotations

import hashlib
import re

import numpy as np

from medqa.retrieval.embeddings import Embedder, register_embedder


class HashingEmbedder(Embedder):
    """A real Embedder (bag of hashed words) for tests where the model does not matter."""

    name = "test-hashing"
    version = "md5-bag-of-words"
    dim = 64

    def embed_documents(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        out[:, 0] += 1e-3  # no zero rows: cosine needs a length
        return out / np.linalg.norm(out, axis=1, keepdims=True)


register_embedder(HashingEmbedder.name, HashingEmbedder)
