"""What users read when something goes wrong: short, actionable, never a traceback or a secret."""

from __future__ import annotations

from retrieval.errors import ArticlebotError, BadInputError, EmptyCollectionError, LLMError, StoreError


def error_message(exc: BaseException) -> str:
    if isinstance(exc, EmptyCollectionError):
        return "This server has no articles yet: a member with Manage Server can add some with /ingest."
    if isinstance(exc, LLMError):
        return "⚠️ The language model is not answering right now. Please try again in a moment."
    if isinstance(exc, StoreError):
        return "⚠️ The article store is not reachable right now. Please try again in a moment."
    if isinstance(exc, BadInputError):
        return f"⚠️ {exc}"
    if isinstance(exc, ArticlebotError):
        return f"⚠️ {exc}"
    return "⚠️ Something went wrong on my side; the error has been logged."
