"""Tell systemd how the service is doing (`Type=notify`): ready once the front door serves,
stopping once a stop or a drain begins, and a status line between.

The protocol is one datagram of `KEY=value` lines to the socket `NOTIFY_SOCKET` names (a path,
or an abstract name written with a leading `@`). Without that variable (not run by systemd,
or not as `Type=notify`) nothing is sent.
"""

from __future__ import annotations

import logging
import os
import socket

__all__ = ["NOTIFY_SOCKET_ENV", "notify"]

log = logging.getLogger(__name__)

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"


def notify(*lines: str) -> bool:
    """Send `lines` (`READY=1`, `STOPPING=1`, `STATUS=...`) to the service manager; False when
    there is none to tell, or it could not be told (never raised: a service manager that went
    away is no reason to stop serving)."""
    address = os.environ.get(NOTIFY_SOCKET_ENV, "")
    if not address or not hasattr(socket, "AF_UNIX"):
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall("\n".join(lines).encode())
    except OSError as exc:
        log.warning("could not tell the service manager %s: %s", lines, exc)
        return False
    return True
