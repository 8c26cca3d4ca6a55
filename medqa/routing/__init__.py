"""Routing: which backbone answers, with or without retrieval, and how several answers combine.

Public pieces: registry.get_router(name, settings) -> Router (`signal`, `learned`,
`learned:<dir>`); execute.execute(route, backends, question, ...) -> Answer;
health.Health (breakers, retries, fallback); strategies (single, cascade, vote, abstain).
"""
