"""Exact dense search in memory over the collection's unit vectors.

Chroma stays the store of record; each index generation (the `bm25-<generation>/` folder,
swapped in atomically with BM25) also holds `vectors.npy`: the Chroma vector of every
chunk, in BM25 row order. A search scores every row, so the result is exact (Chroma's
HNSW loses ~0.01 MRR against it) and rows need no id lookup.

Big matrices are scored in two steps that together stay exact: an int8 copy (a quarter
of the memory traffic) gives every row a coarse score in onnxruntime; a provable bound on
the int8 error says which rows could still be in the top n; only those are scored in
float32. On 34k x 384 this takes ~2 ms where a float32 matrix-vector product takes 5-10
(it is limited by memory bandwidth, which a machine running an LLM beside it has little of).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

VECTORS = "vectors.npy"
META = "vectors.json"
COARSE_MIN_ROWS = 8192  # below this a float32 product is as fast (the matrix stays in cache)
FETCH = 2000  # ids per Chroma get


class DenseIndex:
    """Top-n rows of a (rows, dim) matrix of unit vectors by cosine (= dot product)."""

    def __init__(self, matrix: np.ndarray, coarse_min_rows: int = COARSE_MIN_ROWS) -> None:
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        if self.matrix.ndim != 2:
            raise ValueError(f"expected a 2-d matrix, got shape {self.matrix.shape}")
        self.coarse = (_Int8Scorer(self.matrix)
                       if len(self.matrix) and len(self.matrix) >= coarse_min_rows else None)

    def __len__(self) -> int:
        return len(self.matrix)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def scores(self, query: np.ndarray) -> np.ndarray:
        """The exact cosine of every row (float32)."""
        return self.matrix @ np.asarray(query, dtype=np.float32)

    def top(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Row indices and cosines of the n best rows, best first (ties: lower row first)."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        n = min(n, len(self.matrix))
        if n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.coarse is None or n >= len(self.matrix):
            rows = np.arange(len(self.matrix))
            exact = self.scores(q)
        else:
            rows = self.coarse.candidates(q, n)
            exact = self.matrix[rows] @ q
        order = np.lexsort((rows, -exact))[:n]
        return rows[order], exact[order]


class _Int8Scorer:
    """Coarse scores from an int8 copy of the matrix, and which rows they cannot rule out.

    Row j is stored as s_j * x8_j (s_j = max|x_j| / 127, x8_j int8); its rounding error
    r_j = |x_j - s_j x8_j| is kept. The query is quantized to 7-bit unsigned with a zero
    point (q^ = qs (q8 - z)), so the coarse score c_j = q^ . s_j x8_j is an integer product
    scaled once. Its distance to the true score obeys
        |q . x_j - c_j| <= |q - q^| |x_j| + |q^| r_j,
    so once the n best coarse candidates are scored exactly, any row whose coarse score
    plus its bound stays below the n-th of those cannot be in the top n; every other row
    is scored exactly too. The answer is the exact top n, whatever the rounding.
    """

    def __init__(self, matrix: np.ndarray) -> None:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper

        self.matrix = matrix
        peak = np.abs(matrix).max(axis=1)
        self.scale = (np.where(peak > 0, peak, 1.0) / 127.0).astype(np.float32)
        x8 = np.clip(np.rint(matrix / self.scale[:, None]), -127, 127).astype(np.int8)
        self.resid = np.linalg.norm(matrix - x8 * self.scale[:, None], axis=1).astype(np.float32)
        self.max_norm = float(np.linalg.norm(matrix, axis=1).max())
        dim, rows = matrix.shape[1], matrix.shape[0]
        graph = helper.make_graph(
            [helper.make_node("MatMulInteger", ["q", "x8", "z"], ["acc"])], "coarse",
            [helper.make_tensor_value_info("q", TensorProto.UINT8, [1, dim]),
             helper.make_tensor_value_info("z", TensorProto.UINT8, [])],
            [helper.make_tensor_value_info("acc", TensorProto.INT32, [1, rows])],
            [numpy_helper.from_array(np.ascontiguousarray(x8.T), "x8")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        so = ort.SessionOptions()
        # one query is a few MB of memory traffic: more threads only wait for each other
        so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model.SerializeToString(), so,
                                            providers=["CPUExecutionProvider"])

    def candidates(self, q: np.ndarray, n: int) -> np.ndarray:
        """Rows that may be among the n best for q (always a superset of the exact top n)."""
        lo, hi = min(float(q.min()), 0.0), max(float(q.max()), 0.0)
        if hi == lo:  # the zero vector: every score is 0
            return np.arange(len(self.scale))
        # 7 bits, not 8: AVX2's u8 x s8 kernel adds pairs of products in saturating int16,
        # which 255 * 127 * 2 overflows (measured: wrong sums); 127 * 127 * 2 does not.
        qs = (hi - lo) / 127.0
        z = int(np.clip(np.rint(-lo / qs), 0, 127))
        q8 = np.clip(np.rint(q / qs) + z, 0, 127).astype(np.uint8)
        q_hat = (q8.astype(np.float32) - z) * np.float32(qs)
        acc = self.session.run(None, {"q": q8[None], "z": np.array(z, dtype=np.uint8)})[0][0]
        coarse = acc * (self.scale * np.float32(qs))
        best = np.argpartition(coarse, len(coarse) - n)[len(coarse) - n:]
        floor = float((self.matrix[best] @ q).min())
        # float32 arithmetic in the coarse scores and the bound adds at most ~1e-6
        slack = float(np.linalg.norm(q - q_hat)) * self.max_norm + 1e-5
        reach = coarse + float(np.linalg.norm(q_hat)) * self.resid
        return np.flatnonzero(reach >= floor - slack)


def save(folder: Path, matrix: np.ndarray, embedder: str, version: str = "") -> None:
    """Write the vectors (rows in `ids.json` order) into a generation folder being built."""
    np.save(folder / VECTORS, np.ascontiguousarray(matrix, dtype=np.float32))
    (folder / META).write_text(json.dumps({"embedder": embedder, "embedder_version": version,
                                           "rows": int(matrix.shape[0]),
                                           "dim": int(matrix.shape[1]) if matrix.ndim == 2 else 0}))


def load(folder: Path) -> tuple[np.ndarray, dict] | None:
    """The folder's vectors and their metadata, or None if it has none."""
    try:
        meta = json.loads((folder / META).read_text())
        matrix = np.load(folder / VECTORS)
    except (OSError, ValueError):
        return None
    return matrix, meta


def gather(ids: list[str], embedder: str, fetch: Callable[[list[str]], dict[str, Any]],
           *sources: tuple[Iterable[str], np.ndarray]) -> np.ndarray:
    """The vector of each id: from `sources` (ids, matrix) pairs, first match wins, else
    from `fetch` (the store of record). Raises KeyError naming an id nobody has."""
    where: dict[str, tuple[np.ndarray, int]] = {}
    for src_ids, matrix in reversed(sources):  # earlier sources overwrite later ones
        for i, cid in enumerate(src_ids):
            where[cid] = (matrix, i)
    missing = [cid for cid in ids if cid not in where]
    fetched: dict[str, np.ndarray] = {}
    for start in range(0, len(missing), FETCH):
        got = fetch(missing[start:start + FETCH])
        fetched.update({cid: np.asarray(v, dtype=np.float32) for cid, v in got.items()})
    dim = next((m.shape[1] for m, _ in where.values()), None)
    if dim is None and fetched:
        dim = len(next(iter(fetched.values())))
    out = np.zeros((len(ids), dim or 0), dtype=np.float32)
    for row, cid in enumerate(ids):
        if cid in where:
            matrix, i = where[cid]
            out[row] = matrix[i]
        elif cid in fetched:
            out[row] = fetched[cid]
        else:
            raise KeyError(f"chunk {cid} has no vector in the store ({embedder})")
    return out


def write_into(folder: Path, ids: list[str], embedder: str,
               fetch: Callable[[list[str]], dict[str, Any]], version: str = "") -> np.ndarray:
    """Add vectors to an existing generation folder that lacks them (atomically)."""
    matrix = gather(ids, embedder, fetch)
    tmp = folder / f".vectors.tmp{os.getpid()}.npy"
    np.save(tmp, matrix)
    os.replace(tmp, folder / VECTORS)
    (folder / f".{META}.tmp{os.getpid()}").write_text(json.dumps(
        {"embedder": embedder, "embedder_version": version, "rows": len(ids),
         "dim": int(matrix.shape[1])}))
    os.replace(folder / f".{META}.tmp{os.getpid()}", folder / META)
    return matrix
