"""Which account on this machine opened a loopback TCP connection.

Loopback is not a user boundary: any account can connect to 127.0.0.1. Without authentication
configured, the gateway serves only the account that runs it, so for each connection it asks
the operating system who owns the client's end of the socket:

- Linux: the kernel's socket table holds each socket's owner uid. The client's socket is the
  one whose local address is the peer address we see and whose remote address is our own. One
  exact `sock_diag` netlink query finds it in tens of microseconds; where netlink is not
  available (some sandboxes), `/proc/net/tcp` and `/proc/net/tcp6` list the same table, slowly
  (milliseconds: the kernel prints every socket).
- Windows: `GetExtendedTcpTable` names the owning process, and its token names the account
  (`peer_owner_windows.py`).
- Elsewhere (macOS): no lookup that is both cheap and reliable, so the owner is unknown and the
  caller must present the instance token.

`quick_peer_owner` is the netlink query, cheap enough for the event loop; `lookup_peer_owner`
adds the slow ways and is for a worker thread. Either runs once per connection. Anything
unexpected gives UNKNOWN, which the caller treats as "not the owner".
"""

from __future__ import annotations

import enum
import ipaddress
import os
import socket
import struct
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

__all__ = ["OWNER_KNOWABLE", "Peer", "PeerOwner", "lookup_peer_owner", "quick_peer_owner"]

# Whether this OS can tell which account opened a loopback connection (Linux, Windows).
OWNER_KNOWABLE = sys.platform.startswith("linux") or sys.platform == "win32"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# TCP states in which the client still holds its end: ESTABLISHED, and FIN_WAIT1/2 for a
# client that shut its sending side after the request (the numbering of the kernel's tcp_states.h).
_LIVE_STATES = frozenset({1, 4, 5})
_PROC_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
# linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h: an exact lookup of one TCP socket.
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_NLMSG_HEADER = struct.Struct("=IHHII")
_DIAG_REQUEST = struct.Struct("=BBBxI")  # family, protocol, extensions, pad, state mask
_DIAG_NO_COOKIE = 0xFFFFFFFF
# inet_diag_msg: family, state, timer, retrans, then the 48-byte socket id, expires, rqueue,
# wqueue, uid, inode.
_DIAG_UID_OFFSET = _NLMSG_HEADER.size + 4 + 48 + 12
_NETLINK_TIMEOUT_S = 0.5


class PeerOwner(enum.Enum):
    """Who owns the client end of a connection, as far as the OS can tell."""

    OWNER = "owner"  # the account that runs this gateway
    OTHER = "other"  # another account on this machine
    UNKNOWN = "unknown"  # the lookup failed or is not available on this OS


class Peer(Protocol):
    """A connection's client, as the edge knows it: asked at most once per connection."""

    async def owner(self) -> PeerOwner: ...


def quick_peer_owner(peer: tuple[str, int], local: tuple[str, int]) -> PeerOwner | None:
    """The owner by a lookup quick enough for the event loop, or None when this OS has none
    (then call `lookup_peer_owner` in a worker thread). Never raises."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return _netlink_owner(_address(peer[0]), peer[1], _address(local[0]), local[1])
    except ValueError:
        return PeerOwner.UNKNOWN
    except OSError:
        return None  # no netlink here: the /proc tables may still answer


def lookup_peer_owner(peer: tuple[str, int], local: tuple[str, int]) -> PeerOwner:
    """Who owns the client socket at `peer` that is connected to our socket at `local`.

    Blocking (it may read the kernel's whole socket table); never raises.
    """
    quick = quick_peer_owner(peer, local)
    if quick is not None:
        return quick
    try:
        peer_ip, local_ip = _address(peer[0]), _address(local[0])
        if sys.platform.startswith("linux"):
            return _proc_owner(peer_ip, peer[1], local_ip, local[1], _PROC_TABLES)
        if sys.platform == "win32":
            from llmgw_desktop.engine.auth.peer_owner_windows import windows_owner

            ours = windows_owner(peer_ip, peer[1], local_ip, local[1])
            if ours is None:
                return PeerOwner.UNKNOWN
            return PeerOwner.OWNER if ours else PeerOwner.OTHER
    except (OSError, ValueError, IndexError):
        return PeerOwner.UNKNOWN
    return PeerOwner.UNKNOWN


def _address(host: str) -> IpAddress:
    """The address, with an IPv4-mapped IPv6 address (dual-stack sockets) made plain IPv4."""
    address = ipaddress.ip_address(host.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _spellings(peer: IpAddress, local: IpAddress) -> list[tuple[IpAddress, IpAddress]]:
    """The address pairs under which the client socket may be listed: an IPv4 client may sit
    on an IPv4 socket, or on an IPv6 one with IPv4-mapped addresses."""
    pairs: list[tuple[IpAddress, IpAddress]] = [(peer, local)]
    if isinstance(peer, ipaddress.IPv4Address) and isinstance(local, ipaddress.IPv4Address):
        mapped = ipaddress.IPv6Address(f"::ffff:{peer}"), ipaddress.IPv6Address(f"::ffff:{local}")
        pairs.append(mapped)
    return pairs


def _owner_of(uid: int, own_uid: int | None) -> PeerOwner:
    own = os.getuid() if own_uid is None else own_uid
    return PeerOwner.OWNER if uid == own else PeerOwner.OTHER


def _netlink_owner(
    peer_ip: IpAddress, peer_port: int, local_ip: IpAddress, local_port: int
) -> PeerOwner:
    """The owner by exact `sock_diag` queries for the client socket.

    Raises:
        OSError: netlink is not available here.
    """
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as link:
        link.settimeout(_NETLINK_TIMEOUT_S)
        for client, server in _spellings(peer_ip, local_ip):
            family = socket.AF_INET if client.version == 4 else socket.AF_INET6
            socket_id = (
                struct.pack("!HH", peer_port, local_port)
                + client.packed.ljust(16, b"\0")
                + server.packed.ljust(16, b"\0")
                + struct.pack("=III", 0, _DIAG_NO_COOKIE, _DIAG_NO_COOKIE)
            )
            request = _DIAG_REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0xFFFFFFFF) + socket_id
            header = _NLMSG_HEADER.pack(
                _NLMSG_HEADER.size + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0
            )
            link.sendto(header + request, (0, 0))
            answer = link.recv(8192)
            kind = _NLMSG_HEADER.unpack_from(answer)[1]
            if kind == _NLMSG_ERROR or len(answer) < _DIAG_UID_OFFSET + 4:
                continue  # ENOENT: not listed under this spelling
            state = answer[_NLMSG_HEADER.size + 1]
            if state in _LIVE_STATES:
                return _owner_of(struct.unpack_from("=I", answer, _DIAG_UID_OFFSET)[0], None)
    return PeerOwner.UNKNOWN


def _proc_owner(
    peer_ip: IpAddress,
    peer_port: int,
    local_ip: IpAddress,
    local_port: int,
    tables: Iterable[str],
    own_uid: int | None = None,
) -> PeerOwner:
    """The owner of the client socket, from `/proc/net/tcp{,6}`-format `tables`."""
    wanted = {
        (_proc_hex(client, peer_port), _proc_hex(server, local_port))
        for client, server in _spellings(peer_ip, local_ip)
    }
    needles = {client for client, _ in wanted}
    for table in tables:
        with Path(table).open(encoding="ascii") as lines:
            for line in lines:
                if not any(needle in line for needle in needles):
                    continue
                fields = line.split()
                # sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
                if (fields[1], fields[2]) in wanted and int(fields[3], 16) in _LIVE_STATES:
                    return _owner_of(int(fields[7]), own_uid)
    return PeerOwner.UNKNOWN


def _proc_hex(address: IpAddress, port: int) -> str:
    """An address as /proc/net/tcp prints it: each 32-bit word in host byte order, in hex."""
    packed = address.packed
    words = (
        f"{int.from_bytes(packed[i : i + 4], sys.byteorder):08X}" for i in range(0, len(packed), 4)
    )
    return f"{''.join(words)}:{port:04X}"
