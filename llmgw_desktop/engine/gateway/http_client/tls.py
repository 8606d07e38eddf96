"""Which certificate authorities upstream TLS trusts: the system's, the environment's, ours.

`ssl.create_default_context()` loads the system store, and OpenSSL's default paths already
follow `SSL_CERT_FILE`/`SSL_CERT_DIR` of this process's environment (each *replacing* the
system file or directory). The engine hands its own environment mapping around, so the two
variables are read from that mapping too and loaded explicitly: the same result for the real
environment, and the only way for an injected one. `gateway.ca_bundle` (a corporate root that
intercepting proxies re-sign with, say) is loaded in addition to all of that.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TrustStore"]


@dataclass(frozen=True)
class TrustStore:
    """The extra CA locations to trust on top of the system store."""

    ca_bundle: str = ""
    cert_file: str = ""
    cert_dir: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, ca_bundle: str = "") -> TrustStore:
        """The trust `ca_bundle` and the environment's `SSL_CERT_FILE`/`SSL_CERT_DIR` ask for."""
        return cls(
            ca_bundle=ca_bundle,
            cert_file=environ.get("SSL_CERT_FILE", ""),
            cert_dir=environ.get("SSL_CERT_DIR", ""),
        )

    def context(self) -> ssl.SSLContext:
        """A client context verifying upstreams against the system store and these CAs.

        Raises:
            OSError, ssl.SSLError: `ca_bundle` cannot be read or holds no certificate (it was
                checked when the settings were loaded; this is a file that changed since).
        """
        context = ssl.create_default_context()
        # Like OpenSSL's own reading of the two variables, a missing path is skipped, not fatal.
        cert_file = _expanded(self.cert_file)
        if cert_file and Path(cert_file).is_file():
            context.load_verify_locations(cafile=cert_file)
        for cert_dir in self.cert_dir.split(os.pathsep):  # OpenSSL takes a list, as PATH
            if cert_dir and Path(cert_dir).expanduser().is_dir():
                context.load_verify_locations(capath=_expanded(cert_dir))
        if self.ca_bundle:
            context.load_verify_locations(cafile=_expanded(self.ca_bundle))
        return context


def _expanded(path: str) -> str:
    return str(Path(path).expanduser()) if path else ""
