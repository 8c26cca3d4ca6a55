"""Errors a user can meet. Every message says what happened and how to fix it."""
from __future__ import annotations


class MedQAError(Exception):
    """Base of every user-facing error; `hint` says what to do next."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class ConfigError(MedQAError):
    """A setting is missing or invalid."""


class UnknownName(MedQAError):
    """A registry was asked for a name it does not hold."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]) -> None:
        super().__init__(
            f"Unknown {kind} {name!r}.",
            f"Valid names: {', '.join(sorted(valid)) or '(none registered)'}.",
        )
        self.kind, self.name, self.valid = kind, name, list(valid)


class DataMissing(MedQAError):
    """A data file named in the manifest is not on disk."""


class DataChecksumError(MedQAError):
    """A data or weight file does not match the sha256 in its manifest."""


class IngestError(MedQAError):
    """A document could not be read or indexed."""


class QueryError(MedQAError):
    """A question or search query is empty, too long, or malformed."""


class StorageFull(MedQAError):
    """The disk refused a write (no space left); what was saved before is intact."""


class StoreUnavailable(MedQAError):
    """The vector store (embedded or a Chroma server) cannot be reached or opened."""


class IndexMissing(MedQAError):
    """Nothing has been ingested yet for this tenant."""


class ModelNotFound(MedQAError):
    """A backbone's weights are not installed or assembled."""


class BackendUnavailable(MedQAError):
    """A backbone's engine is not running, died, or timed out."""

    def __init__(self, message: str, hint: str = "", partial_text: str = "") -> None:
        super().__init__(message, hint)
        self.partial_text = partial_text


class AuthError(MedQAError):
    """Wrong password, or a missing or wrong API key."""


class PolicyRefusal(MedQAError):
    """The request is outside what the hospital's policy lets the assistant do."""


class UploadRejected(IngestError):
    """An uploaded file is too large or of a type medqa does not read (HTTP 413 / 415)."""

    def __init__(self, message: str, hint: str = "", status: int = 415) -> None:
        super().__init__(message, hint)
        self.status = status
