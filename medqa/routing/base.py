"""The routing seam: every router reduces a question to scores per backbone in [0, 1]."""
from __future__ import annotations

from abc import ABC, abstractmethod

from medqa.types import Question, Route


class Router(ABC):
    """Scores backbones for a question; `route` turns the scores into a decision."""

    retrieve_default: bool = True

    @abstractmethod
    def scores(self, q: Question) -> dict[str, float]:
        """Backend name -> [0, 1], higher = better suited to answer q."""

    def route(self, q: Question) -> Route:
        s = self.scores(q)
        if not s:
            raise ValueError("router returned no candidate backbones")
        best = max(s, key=lambda name: s[name])
        return Route(
            backbones=(best,),
            retrieve=self.retrieve_default,
            scores=s,
            explanation=f"{best} scored highest ({s[best]:.2f})",
        )
