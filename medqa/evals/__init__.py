"""Batch evaluation on medical QA sets: datasets, answer parsing, metrics, runner, reports."""
