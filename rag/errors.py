"""Errors meant for users. Their messages are shown verbatim, so each says what to do next."""


class RagError(Exception):
    """Base class: a problem the user can fix; the CLI prints the message, no traceback."""


class InputError(RagError):
    """A file, folder or question that cannot be used as given."""


class UnknownDocumentError(InputError):
    """A document id (a scope, an edit) that the index does not hold."""


class IndexMissingError(RagError):
    """No index where one was expected."""


class IndexMismatchError(RagError):
    """The index on disk was built with other settings than the current ones."""


class BackendError(RagError):
    """An answer backend (model server, local model) is unavailable or failed."""


class ConfigError(RagError):
    """Settings that cannot work together, or an unknown name."""


class StoreUnavailableError(RagError):
    """The index database cannot be reached, or the connection to it was lost."""
