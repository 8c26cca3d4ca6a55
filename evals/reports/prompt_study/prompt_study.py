"""Option-scoring prompt variants, measured on mirage_train only (never on mirage_subset_1000).

Why: with the model's chat template, Qwen2.5-Coder-1.5B scored 29% on the subset's first 100
MedQA questions (57% of its answers "B"), against 43% measured with a plain-text prompt for the
issue's orientation numbers. This script scores a few prompt shapes on the same training
questions, one llama.cpp pass per (question, prompt), and appends one JSON line per
(question, variant) to rows.jsonl (resumable: finished pairs are skipped).

    MEDQA_MODELS__N_THREADS=1 nice -n 10 .venv/bin/python evals/reports/prompt_study/prompt_study.py \
        --backbone qwen2.5-coder-1.5b-instruct-q4km --tasks medqa,medmcqa --n 100
    .venv/bin/python evals/reports/prompt_study/prompt_study.py --summary

Variants (letters scored as the next token after the prompt):
  chat        system + user turn through the model's chat template (prompts v1); "A"
  plain       the same system and user text as plain text, then "Answer:"; " A" and "A"
  bare        "Question: ...", lettered options, "Answer:" (no system line, no instruction); " A" and "A"
"""
from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter, defaultdict
from pathlib import Path

ROWS = Path(__file__).with_name("rows.jsonl")


def prompts_for(backend, item) -> dict[str, tuple[str, list[str]]]:
    """Variant name -> (prompt text, continuations in letter order)."""
    from medqa.types import Message

    letters = sorted(item.options)
    system = "You are a medical expert answering multiple-choice exam questions."
    opts = "\n".join(f"{k}. {v}" for k, v in sorted(item.options.items()))
    user = f"Question: {item.question}\n\nOptions:\n{opts}\n\nAnswer with the letter of the correct option only."
    plain = f"{system}\n\n{user}\nAnswer:"
    bare = f"Question: {item.question}\n{opts}\nAnswer:"
    chat = backend.render([Message("system", system), Message("user", user)])
    sp = [" " + x for x in letters]
    return {
        "chat|A": (chat, letters),
        "plain| A": (plain, sp),
        "plain|A": (plain, letters),
        "bare| A": (bare, sp),
        "bare|A": (bare, letters),
    }


def interleaved(items, tasks):
    by = defaultdict(list)
    for it in items:
        by[it.task].append(it)
    for i in range(max(len(v) for v in by.values())):
        for t in tasks:
            if i < len(by[t]):
                yield by[t][i]


def measure(backbone: str, tasks: list[str], n: int) -> None:
    from medqa.config import load_settings
    from medqa.evals.datasets import load_items
    from medqa.models.registry import get_backend

    settings = load_settings()
    items = load_items("mirage_train", tasks, n, settings)
    done = set()
    if ROWS.exists():
        done = {(r["backbone"], r["id"], r["variant"]) for r in map(json.loads, ROWS.open())}
    backend = get_backend(backbone, settings, "llamacpp")
    with ROWS.open("a") as f:
        for it in interleaved(items, tasks):
            for variant, (prompt, conts) in prompts_for(backend, it).items():
                if (backbone, it.id, variant) in done:
                    continue
                t0 = time.perf_counter()
                lps = backend.score_options(prompt, conts)
                letters = sorted(it.options)
                lp = dict(zip(letters, (round(x, 5) for x in lps)))
                choice = max(letters, key=lambda k: (lp[k], -letters.index(k)))
                row = {"backbone": backbone, "id": it.id, "task": it.task, "variant": variant,
                       "answer": it.answer, "choice": choice, "correct": choice == it.answer,
                       "logprobs": lp, "prompt_tokens": len(backend.tokenize(prompt)),
                       "seconds": round(time.perf_counter() - t0, 3)}
                f.write(json.dumps(row) + "\n")
                f.flush()
    backend.close()


def _ci(k: int, n: int) -> str:
    # Wilson 95% interval: enough to show how little 100 questions separate.
    if n == 0:
        return "-"
    p, z = k / n, 1.96
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{100 * p:.0f} [{100 * (mid - half):.0f}, {100 * (mid + half):.0f}]"


def summary() -> str:
    """A Markdown table over the questions every variant has finished."""
    rows = [json.loads(line) for line in ROWS.open()]
    out = []
    for backbone in sorted({r["backbone"] for r in rows}):
        rs = [r for r in rows if r["backbone"] == backbone]
        variants = list(dict.fromkeys(r["variant"] for r in rs))
        per_id = defaultdict(dict)
        for r in rs:
            per_id[r["id"]][r["variant"]] = r
        common = [i for i, v in per_id.items() if len(v) == len(variants)]
        tasks = sorted({per_id[i][variants[0]]["task"] for i in common})
        out.append(f"### {backbone}\n")
        out.append("| variant | " + " | ".join(f"{t} (n={sum(per_id[i][variants[0]]['task'] == t for i in common)})"
                                              for t in tasks) + " | letters chosen (all) | s/q |")
        out.append("|---" * (len(tasks) + 3) + "|")
        for v in variants:
            cells = []
            for t in tasks:
                sel = [per_id[i][v] for i in common if per_id[i][v]["task"] == t]
                cells.append(_ci(sum(r["correct"] for r in sel), len(sel)))
            sel = [per_id[i][v] for i in common]
            letters = Counter(r["choice"] for r in sel)
            share = " ".join(f"{k} {100 * c / len(sel):.0f}%" for k, c in sorted(letters.items()))
            secs = sum(r["seconds"] for r in sel) / max(len(sel), 1)
            out.append(f"| {v} | " + " | ".join(cells) + f" | {share} | {secs:.1f} |")
        gold = Counter(per_id[i][variants[0]]["answer"] for i in common)
        out.append(f"\nGold letters: " + " ".join(f"{k} {100 * c / len(common):.0f}%" for k, c in sorted(gold.items())) + "\n")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbone", default="qwen2.5-coder-1.5b-instruct-q4km")
    ap.add_argument("--tasks", default="medqa,medmcqa")
    ap.add_argument("--n", type=int, default=100, help="first N of each task of mirage_train (a seeded random sample)")
    ap.add_argument("--summary", action="store_true", help="print the table and exit")
    args = ap.parse_args()
    if args.summary:
        print(summary())
        return
    measure(args.backbone, args.tasks.split(","), args.n)


if __name__ == "__main__":
    main()
