"""MIRAGE's published accuracy table, and its per-question predictions scored by medqa's own
parser and scorer (the oracle check that parsing and counting are right)."""
from __future__ import annotations

from medqa.config import Settings
from medqa.evals.datasets import MIRAGE_TASKS, load_items, reference_predictions
from medqa.evals.metrics import Unparsed, is_correct
from medqa.evals.parsing import parse_choice

# MedRAG paper / MIRAGE leaderboard, % (BioASQ left out, as in medqa's copy of MIRAGE).
PUBLISHED: dict[str, dict[str, float]] = {
    "GPT-4, chain-of-thought": {"mmlu": 89.44, "medqa": 83.97, "medmcqa": 69.88, "pubmedqa": 39.60},
    "GPT-4, MedRAG": {"mmlu": 87.24, "medqa": 82.80, "medmcqa": 66.65, "pubmedqa": 70.60},
    "GPT-3.5, chain-of-thought": {"mmlu": 72.91, "medqa": 65.04, "medmcqa": 55.25, "pubmedqa": 36.00},
    "GPT-3.5, MedRAG": {"mmlu": 75.48, "medqa": 66.61, "medmcqa": 58.04, "pubmedqa": 67.40},
    "Llama-3-70B, chain-of-thought": {"mmlu": 85.8, "medqa": 80.9, "medmcqa": 70.9, "pubmedqa": 59.0},
    "Llama-3-70B, MedRAG": {"mmlu": 85.6, "medqa": 76.9, "medmcqa": 68.9, "pubmedqa": 71.6},
}

# The prediction file's setting keys, by the published row they reproduce.
SETTINGS = {
    "GPT-4, chain-of-thought": "cot/OpenAI/gpt-4-32k",
    "GPT-4, MedRAG": "rag_32/OpenAI/gpt-4-32k/medcorp/RRF-4",
    "GPT-3.5, chain-of-thought": "cot/OpenAI/gpt-35-turbo-16k",
    "GPT-3.5, MedRAG": "rag_32/OpenAI/gpt-35-turbo-16k/medcorp/RRF-4",
}


def score_reference(
    settings: Settings | None = None, unparsed: Unparsed = "wrong"
) -> dict[str, dict[str, float]]:
    """Accuracy (%) per task of each published GPT setting, recomputed question by question.

    Every published letter goes through `parse_choice` (the file marks unreadable replies
    "NA"); the denominator is every question of the task, as in MIRAGE's evaluate.py.
    """
    preds = reference_predictions(settings)
    items = load_items("mirage", settings=settings)
    out: dict[str, dict[str, float]] = {}
    for row, key in SETTINGS.items():
        out[row] = {}
        for task in MIRAGE_TASKS:
            task_items = [it for it in items if it.task == task]
            given = preds[task][key]
            right = 0
            for it in task_items:
                qid = it.id.split("/", 1)[1]
                choice = parse_choice(given.get(qid), it.options)
                right += is_correct(choice, it.answer, list(it.options), unparsed)
            out[row][task] = 100.0 * right / len(task_items)
    return out
