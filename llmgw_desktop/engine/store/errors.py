"""The one error the store raises to its callers."""


class StoreError(Exception):
    """The database cannot be opened or used; the message says why and what to do."""
