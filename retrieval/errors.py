"""One exception hierarchy for the engine.

Front ends catch :class:`ArticlebotError` and show its message as is, so every message must be
one line a user can act on. ``exit_code`` follows the CLI contract: 2 for the user's input, 1 for
an internal or backend failure.
"""


class ArticlebotError(Exception):
    """Base of every error the engine raises on purpose."""

    exit_code = 1


class BadInputError(ArticlebotError):
    """The user's input (path, file, URL, question, option) cannot be used."""

    exit_code = 2


class UnreachableError(BadInputError):
    """A URL could not be fetched this time (no answer, no connection, a server error): unlike a
    page refused for what it holds, a later try may succeed, so a feed's item is read again."""


class EmptyCollectionError(BadInputError):
    """The question was asked of a collection that holds no articles yet."""


class ModelMismatchError(ArticlebotError):
    """A collection built with one embedding model was queried with another."""

    exit_code = 2


class NotFoundError(BadInputError):
    """A named collection or source does not exist."""


class BackendError(ArticlebotError):
    """The LLM or the vector store failed or could not be reached."""


class StoreError(BackendError):
    """The vector store failed or could not be reached."""


class LLMError(BackendError):
    """The language model failed, timed out or could not be loaded."""


class BusyError(ArticlebotError):
    """Another process holds the ingestion lock."""
