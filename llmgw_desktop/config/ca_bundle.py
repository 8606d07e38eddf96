"""The check of `gateway.ca_bundle`: a PEM file of extra CA certificates upstream TLS trusts.

The engine loads it (`engine/gateway/http_client/tls.py`); this only says whether the file
will load.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["check_ca_bundle"]


def check_ca_bundle(value: str) -> str | None:
    """A setting check: empty, or a readable PEM file holding at least one certificate."""
    if not value:
        return None
    import ssl  # only for a bundle to check: loading every setting must not load OpenSSL

    path = Path(value).expanduser()
    if not path.is_file():
        return f"{value!r} is not a file (give the path of a PEM file of CA certificates)"
    try:
        # A bare context: parsing the file needs no system store.
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except PermissionError:
        return f"{value!r} cannot be read by this user"
    except (OSError, ssl.SSLError) as exc:
        return f"{value!r} holds no usable PEM certificate ({exc})"
    return None
