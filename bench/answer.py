"""End to end: time to first answer token and to the whole cited answer, retrieval
included, over MedQuAD questions, with the configured backbone (default Qwen-1.5B on
llama.cpp) and the configured index.

    nice -n 5 .venv/bin/python bench/answer.py [--n 50] [--cold 5] [--context-tokens N]
        [--backbone qwen2.5-coder-1.5b-instruct-q4km]

"answer's document shown": the MedQuAD document the question was written from is among the
passages shown; "answer terms in that document": the share of the answer's content words found in
it (medqa.attribution.support; a rough check that shorter context still answers from the right
source). "cited" counts answers with any citation: markers the model wrote, or passages medqa matched
to unmarked sentences (medqa.attribution); "model wrote [n]" counts the first kind alone.

Without --context-tokens/--top/--max-tokens the Assistant's budget for the engine applies
(medqa.prompts.BUDGETS: "compact" on llama.cpp). --cold N also answers N questions with llama.cpp's KV cache emptied first, to show what
the cached system prefix saves. Targets (issue 3): p50 first token <= 1.5 s, p50 whole
answer <= 6 s.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pct(xs: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of xs."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def small_index(settings, doc_ids: set[str], others: int) -> object:  # noqa: ANN001
    """Settings on a throw-away index of MedQuAD: the questions' documents plus `others`."""
    import gzip
    import tempfile

    from medqa import data
    from medqa.retrieval.ingest import ingest

    home = Path(tempfile.mkdtemp(prefix="medqa-bench-"))
    (home / "models").symlink_to(settings.models_dir)
    picked = home / "medquad_subset.jsonl"
    with gzip.open(data.resolve("medquad", settings), "rt", encoding="utf-8") as f, \
            picked.open("w", encoding="utf-8") as out:
        for line in f:
            doc_id = json.loads(line)["id"]
            if doc_id in doc_ids or others > 0:
                others -= doc_id not in doc_ids
                out.write(line)
    s = settings.model_copy(update={"home": home})
    t = time.perf_counter()
    ingest(picked, s)
    print(f"# built a throw-away index in {home}: {len(doc_ids)} answer documents + others "
          f"({time.perf_counter() - t:.0f} s); not the full corpus")
    return s


def gold_texts(doc_ids: set[str], settings) -> dict[str, str]:  # noqa: ANN001
    """The full MedQuAD document each question was written from, by id."""
    import gzip

    from medqa import data

    out = {}
    with gzip.open(data.resolve("medquad", settings), "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["id"] in doc_ids:
                out[d["id"]] = d["title"] + "\n" + "\n".join(s["text"] for s in d["sections"])
    return out


def engine_of(backend: object) -> object:
    """The llama.cpp engine under a ReplicaSet, to empty its cache for --cold."""
    reps = getattr(backend, "replicas", [backend])
    return getattr(reps[0], "_llm", None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--cold", type=int, default=5)
    ap.add_argument("--questions", default=None, help="jsonl with a 'question' field")
    ap.add_argument("--context-tokens", type=int, default=None,
                    help="budget for the retrieved passages (default: the Assistant's)")
    ap.add_argument("--max-tokens", type=int, default=None, help="answer length cap")
    ap.add_argument("--top", type=int, default=None, help="passages shown (default: the Assistant's)")
    ap.add_argument("--backbone", default=None,
                    help="answer every question with this backbone (the fixed router), "
                         "e.g. qwen2.5-coder-1.5b-instruct-q4km; default: the configured router")
    ap.add_argument("--small-index", type=int, default=None, metavar="OTHERS",
                    help="answer from a throw-away index of the questions' documents plus "
                         "OTHERS MedQuAD documents (when no full index is built yet)")
    args = ap.parse_args()

    from medqa.config import load_settings
    from medqa.attribution import support
    from medqa.pipeline import Assistant
    from medqa.types import Answer, Retrieved, Token

    settings = load_settings()
    if args.backbone:  # the measurement names its backbone: no router in between
        roles = settings.models.roles | {settings.models.default_role: args.backbone}
        settings = settings.model_copy(update={
            "models": settings.models.model_copy(update={"roles": roles}),
            "routing": settings.routing.model_copy(update={"router": "fixed"})})
    qfile = Path(args.questions or settings.data_dir / "eval" / "medquad_retrieval_dev.jsonl")
    rows = [json.loads(line) for line in qfile.open(encoding="utf-8")]
    step = max(1, len(rows) // args.n)
    picked = rows[::step][: args.n]
    questions = [r["question"] for r in picked]
    if args.small_index is not None:
        settings = small_index(settings, {r["doc_id"] for r in picked}, args.small_index)

    a = Assistant.from_settings(settings)
    a.context_tokens = args.context_tokens or a.context_tokens
    a.max_tokens = args.max_tokens or a.max_tokens
    a.top_passages = args.top or a.top_passages
    gold = gold_texts({r["doc_id"] for r in picked}, settings)
    name = a._route(a._question(questions[0])).backbones[0]
    t = time.perf_counter()
    backend = a.backend(name)
    load_s = time.perf_counter() - t
    a.search(questions[0], k=1)  # open the index before timing

    print(f"# {name} on {settings.models.engine}; {len(questions)} questions from {qfile.name};"
          f" load average {os.getloadavg()[0]:.1f} at start (machine shared by ~8 engineers),"
          f" niceness {os.nice(0)}; model load {load_s:.1f} s (not counted); context budget "
          f"{a.context_tokens} tokens in {a.top_passages} passages, answer cap {a.max_tokens} tokens, "
          f"{getattr(engine_of(backend), 'n_threads', '?')} engine threads"
          f" (set MEDQA_MODELS__N_THREADS to fix it; the default follows the load average)")

    def run(q: str, cold: bool, doc_id: str = "") -> dict[str, float]:
        if cold and engine_of(backend) is not None:
            engine_of(backend).reset()  # next prefill starts from an empty KV cache
        t0, c0 = time.perf_counter(), time.process_time()
        first = first_cpu = None
        out: dict[str, float] = {}
        for ev in a.stream(q):
            if isinstance(ev, Retrieved):
                out["retrieve_s"] = ev.seconds
                out["gold_shown"] = float(doc_id in {p.doc_id for p in ev.passages[:a.top_passages]})
            elif isinstance(ev, Token) and first is None:
                first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
            elif isinstance(ev, Answer):
                out.update(total_s=time.perf_counter() - t0, ttft_s=first or float("nan"),
                           total_cpu_s=time.process_time() - c0,
                           ttft_cpu_s=first_cpu or float("nan"),
                           model_cited=float(any(c.how == "model" for c in ev.citations)),
                           cited=float(bool(ev.citations)), partial=float(ev.partial),
                           prompt_tokens=ev.timings.get("prompt_tokens", 0.0),
                           completion_tokens=ev.timings.get("completion_tokens", 0.0),
                           gold_support=support(ev.text, gold.get(doc_id, "")))
        return out

    warm = []
    for i, (q, row) in enumerate(zip(questions, picked), 1):
        warm.append(run(q, cold=False, doc_id=row["doc_id"]))
        r = warm[-1]
        print(f"  {i:2d} ttft {r['ttft_s']:.2f} s  total {r['total_s']:.2f} s  (CPU "
              f"{r['ttft_cpu_s']:.2f} / {r['total_cpu_s']:.2f} s)  "
              f"prompt {r['prompt_tokens']:.0f} tok  answer {r['completion_tokens']:.0f} tok",
              flush=True)
    # The first warm answer had nothing cached yet: compare on the questions after it.
    cold = [run(q, cold=True, doc_id=r["doc_id"]) for q, r in
            zip(questions[1: 1 + args.cold], picked[1: 1 + args.cold])]

    def row(label: str, rs: list[dict[str, float]]) -> None:
        if not rs:
            return
        col = {k: [r[k] for r in rs] for k in rs[0]}
        print(f"| {label} | {len(rs)} | {pct(col['retrieve_s'], .5):.2f} "
              f"| {pct(col['ttft_s'], .5):.2f} | {pct(col['ttft_s'], .95):.2f} "
              f"| {pct(col['total_s'], .5):.2f} | {pct(col['total_s'], .95):.2f} "
              f"| {statistics.mean(col['prompt_tokens']):.0f} "
              f"| {statistics.mean(col['completion_tokens']):.0f} "
              f"| {pct(col['ttft_cpu_s'], .5):.2f} | {pct(col['total_cpu_s'], .5):.2f} "
              f"| {statistics.mean(col['model_cited']):.0%} | {statistics.mean(col['cited']):.0%} "
              f"| {statistics.mean(col['gold_shown']):.0%} | {statistics.mean(col['gold_support']):.2f} "
              f"| {sum(col['partial']):.0f} |")

    # CPU seconds: what this process really got; with one engine thread, about what an
    # otherwise idle core would take (the machine is shared, so wall times are inflated).
    print("\n| run | n | retrieve p50 s | first token p50 s | p95 | whole answer p50 s | p95 "
          "| prompt tok | answer tok | first token p50 CPU-s | whole answer p50 CPU-s "
          "| model wrote [n] | cited (model or matched) | answer's document shown "
          "| answer terms in that document | partial |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    row("system prefix cached", warm)
    row("cache emptied first", cold)
    if cold:
        same = warm[1: 1 + len(cold)]
        print(f"\nprefix cache: first token {statistics.mean(r['ttft_s'] for r in cold):.2f} s "
              f"cold vs {statistics.mean(r['ttft_s'] for r in same):.2f} s cached "
              f"(same {len(cold)} questions, same run)")
    print(f"# load average at end {os.getloadavg()[0]:.1f}")
    a.close()


if __name__ == "__main__":
    main()
