"""Frozen value types shared by every stage of the pipeline and every front end."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, Mapping, Union

Role = Literal["system", "user", "assistant"]
Mode = Literal["staff", "patient"]


@dataclass(frozen=True)
class Message:
    """One chat turn sent to a backbone."""

    role: Role
    content: str


@dataclass(frozen=True)
class GenParams:
    """Generation settings; greedy and seeded by default so answers are reproducible."""

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = 0
    timeout_s: float = 120.0
    reasoning: bool = False  # let reasoning models think (<think>), shown apart from the answer


@dataclass(frozen=True)
class Delta:
    """A piece of a streamed reply: answer text, reasoning text, or the closing usage."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with everything a citation needs; higher score is better."""

    id: str
    text: str
    doc_id: str
    title: str
    source: str
    score: float = 0.0
    url: str | None = None
    heading: str | None = None
    page: int | None = None
    path: str | None = None
    tenant: str = "default"


@dataclass(frozen=True)
class Citation:
    """A numbered reference [n] in an answer to one passage: written by the model, or matched
    by medqa to an unmarked answer sentence whose words the passage contains."""

    n: int
    passage: Passage
    how: Literal["model", "matched"] = "model"
    sentence: str = ""  # for a matched citation, the answer sentence it supports


@dataclass(frozen=True)
class Question:
    """What a user asked, with the context the pipeline needs to route and answer it."""

    text: str
    options: Mapping[str, str] | None = None  # multiple choice: letter -> option text
    lang: str | None = None  # "en" | "zh"; None = detect
    mode: Mode = "staff"
    workflow: str | None = None  # patient-service preset name, if any
    user: str = "anonymous"
    tenant: str = "default"
    history: tuple[Message, ...] = ()


@dataclass(frozen=True)
class Route:
    """The router's decision: who answers, with or without retrieval, and why."""

    backbones: tuple[str, ...]
    retrieve: bool
    strategy: str = "single"  # single | cascade | vote
    reasoning: bool = False
    scores: Mapping[str, float] = field(default_factory=dict)
    explanation: str = ""


# ---- events, in the order a front end receives them ----


@dataclass(frozen=True)
class Triaged:
    """Safety triage ran before any model; emergency=True ends the stream with an escalation."""

    emergency: bool
    category: str | None = None
    message: str | None = None
    lang: str = "en"


@dataclass(frozen=True)
class Retrieved:
    passages: tuple[Passage, ...]
    seconds: float


@dataclass(frozen=True)
class Routed:
    route: Route


@dataclass(frozen=True)
class Token:
    text: str
    backbone: str


@dataclass(frozen=True)
class Reasoning:
    text: str
    backbone: str


@dataclass(frozen=True)
class View:
    """One backbone's answer when several were asked (shown when they disagree)."""

    backbone: str
    text: str
    choice: str | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class Answer:
    """The final event: the answer with its citations and how it was produced."""

    text: str
    citations: tuple[Citation, ...] = ()
    backbone: str = ""
    route: Route | None = None
    agreement: float | None = None  # share of asked backbones that agree with the answer
    views: tuple[View, ...] = ()
    disclaimer: str = ""
    emergency: bool = False
    partial: bool = False  # the stream broke off; text is what arrived before the error
    error: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    request_id: str = ""

    def with_error(self, note: str) -> "Answer":
        """The same answer with `note` added to its error (an answer can carry several)."""
        return replace(self, error=f"{self.error} {note}" if self.error else note)


Event = Union[Triaged, Retrieved, Routed, Token, Reasoning, Answer]
