"""REST load test: N concurrent simulated users on loopback for a bounded time.

Starts a real medqa server (uvicorn, REST only) in a subprocess over a MedQuAD subset
indexed into a temporary MEDQA_HOME, then runs 1 user (baseline) and N users against it and
prints requests, errors, p50/p95 latency and throughput for each.

  python bench/serve.py                         # GET /v1/search (retrieval + REST + auth)
  python bench/serve.py --endpoint ask          # POST /v1/ask (answers with SmolLM2-135M)

What it measures: `search` is the full REST path of a retrieval request (auth, hybrid
BM25 + dense search, JSON) without a model; `ask` adds generation by the packaged SmolLM2 on
llama.cpp, which serialises on the CPU, so its latency grows with the number of users.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKBONE = "smollm2-135m-instruct"


def _settings(home: Path):  # noqa: ANN202
    from medqa.config import load_settings

    return load_settings(home=home, models={
        "roles": {r: BACKBONE for r in ("general", "efficient", "reasoning")}, "n_ctx": 2048},
        retrieval={"k": 3})


def serve(home: Path, port: int) -> None:
    """Server mode (run in the subprocess): REST only, no web UI."""
    import uvicorn

    from medqa.server import create_app

    uvicorn.run(create_app(_settings(home), ui=False), host="127.0.0.1", port=port,
                log_level="warning")


def prepare(home: Path, docs: int) -> tuple[str, list[str]]:
    """Index `docs` MedQuAD documents, create a user and key; return the key and queries."""
    from medqa.auth import UserStore
    from medqa.data import resolve
    from medqa.retrieval.ingest import ingest

    settings = _settings(home)
    models = Path(os.environ.get("MEDQA_MODELS_HOME", Path.home() / ".medqa")) / "models"
    if models.is_dir():
        (home / "models").symlink_to(models, target_is_directory=True)
    t = time.perf_counter()
    rep = ingest("medquad", settings, limit=docs)
    print(f"indexed {docs} MedQuAD documents ({rep.added} chunks) in "
          f"{time.perf_counter() - t:.0f} s", flush=True)
    store = UserStore.open(settings)
    store.add_user("bench", "bench-password", "staff")
    with open(resolve("medquad_retrieval_dev", settings), encoding="utf-8") as f:
        queries = [json.loads(line)["question"] for line in f][:500]
    return store.create_key("bench"), queries


async def _user(client, endpoint: str, queries: list[str], stop: float, lat: list[float],
                errors: list[str], rng: random.Random) -> None:  # noqa: ANN001
    while time.perf_counter() < stop:
        q = rng.choice(queries)
        t = time.perf_counter()
        try:
            if endpoint == "search":
                r = await client.get("/v1/search", params={"q": q, "k": 5})
            else:
                r = await client.post("/v1/ask", json={"question": q})
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:120]}")
                continue
        except Exception as e:  # count it; a load test must finish and report
            errors.append(f"{type(e).__name__}: {e}")
            continue
        lat.append(time.perf_counter() - t)


async def load(url: str, key: str, endpoint: str, users: int, seconds: float,
               queries: list[str]) -> dict[str, float]:
    """Run `users` concurrent loops for `seconds`; requests in flight at the end finish."""
    import httpx

    lat: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=users)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=600, limits=limits) as client:
        t0 = time.perf_counter()
        stop = t0 + seconds
        await asyncio.gather(*(_user(client, endpoint, queries, stop, lat, errors,
                                     random.Random(i)) for i in range(users)))
        wall = time.perf_counter() - t0
    lat.sort()
    pct = (lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000) if lat else (lambda p: float("nan"))
    if errors:
        print(f"  first errors: {errors[:3]}")
    return {"users": users, "requests": len(lat), "errors": len(errors), "wall_s": wall,
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "rps": len(lat) / wall,
            "mean_ms": statistics.fmean(lat) * 1000 if lat else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", choices=["search", "ask"], default="search")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--baseline-seconds", type=float, default=10.0)
    ap.add_argument("--docs", type=int, default=300, help="MedQuAD documents to index")
    ap.add_argument("--serve", nargs=2, metavar=("HOME", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return serve(Path(args.serve[0]), int(args.serve[1]))

    with tempfile.TemporaryDirectory(prefix="medqa-bench-") as tmp:
        home = Path(tmp)
        key, queries = prepare(home, args.docs)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(home), str(port)],
                                cwd=ROOT)
        try:
            url = f"http://127.0.0.1:{port}"
            import httpx

            for _ in range(600):
                try:
                    if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            # warm-up: first request loads the embedder (and the model for `ask`)
            asyncio.run(load(url, key, args.endpoint, 1, 0.1, queries[:1]))
            rows = [asyncio.run(load(url, key, args.endpoint, 1, args.baseline_seconds, queries)),
                    asyncio.run(load(url, key, args.endpoint, args.users, args.seconds, queries))]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"\nendpoint /v1/{args.endpoint} on loopback (machine shared; compare rows, not runs)")
    print(f"{'users':>5} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7}")
    for r in rows:
        print(f"{r['users']:>5} {r['requests']:>8} {r['errors']:>6} {r['p50_ms']:>8.1f} "
              f"{r['p95_ms']:>8.1f} {r['rps']:>7.1f}")
    base, full = rows
    print(f"throughput {args.users} users / 1 user: {full['rps'] / base['rps']:.2f}x; "
          f"p50 latency ratio: {full['p50_ms'] / base['p50_ms']:.2f}x")
    sys.exit(1 if full["errors"] or base["errors"] else 0)


if __name__ == "__main__":
    main()
