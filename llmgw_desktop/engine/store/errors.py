"""The errors the store raises to its callers."""

from llmgw_desktop.engine.errors import EngineError, ErrorCode

__all__ = ["STORE_RETRY_AFTER_S", "StoreError", "StoreUnavailable"]

# What a client refused because the database cannot be reached is told to wait: about one
# back-off of the recorder's flush, so a retry lands after the gateway has tried again itself.
STORE_RETRY_AFTER_S = 5


class StoreError(Exception):
    """The database cannot be opened or used; the message says why and what to do."""


class StoreUnavailable(EngineError):
    """The database cannot be reached now (the server is down or the connection was lost).

    Retryable: a front door answers 503 `store_unavailable` with `Retry-After`; what can wait
    (recorder rows, job endings) is kept and written when it is back.
    """

    code = ErrorCode.STORE_UNAVAILABLE
    http_status = 503
    retryable = True

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(
            f"the database {where} cannot be reached now ({reason}); try again shortly",
            retry_after_s=STORE_RETRY_AFTER_S,
        )
        self.reason = reason
