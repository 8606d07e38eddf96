"""Windows: which account owns the client end of a loopback TCP connection.

`GetExtendedTcpTable` lists every TCP connection with the process that owns it; the process's
access token names its account, compared with ours by SID. A process whose token we may not
read belongs to another account (or is protected): either way it is not proven to be ours.
Written against the documented Win32 structures; the Linux lookup is what CI exercises.
"""

from __future__ import annotations

import ipaddress
import os
import sys

__all__ = ["windows_owner"]

# As `peer_owner.IpAddress`; not imported from there, which imports this module.
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_AF_INET, _AF_INET6 = 2, 23
_TCP_TABLE_OWNER_PID_CONNECTIONS = 4
_ERROR_INSUFFICIENT_BUFFER = 122
# MIB_TCP_STATE: ESTABLISHED, and FIN_WAIT1/2 for a client that shut its sending side.
_LIVE_STATES = frozenset({5, 6, 7})
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_TOKEN_QUERY = 0x0008
_TOKEN_USER = 1
_TABLE_TRIES = 3  # the table can grow between asking its size and reading it


def _port(value: int) -> int:
    """A port as the table stores it: network byte order in the low 16 bits of a DWORD."""
    return ((value & 0xFF) << 8) | ((value >> 8) & 0xFF)


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    _iphlpapi = ctypes.WinDLL("iphlpapi")
    _advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    # Handles are pointer-sized: declared types keep ctypes from passing them as 32-bit ints.
    _iphlpapi.GetExtendedTcpTable.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(wintypes.DWORD),
        wintypes.BOOL,
        wintypes.ULONG,
        ctypes.c_int,
        wintypes.ULONG,
    ]
    _iphlpapi.GetExtendedTcpTable.restype = wintypes.DWORD
    _kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    _kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    _kernel32.OpenProcess.restype = wintypes.HANDLE
    _kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    _advapi32.OpenProcessToken.argtypes = [
        wintypes.HANDLE,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.HANDLE),
    ]
    _advapi32.OpenProcessToken.restype = wintypes.BOOL
    _advapi32.GetTokenInformation.argtypes = [
        wintypes.HANDLE,
        ctypes.c_int,
        ctypes.c_void_p,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.DWORD),
    ]
    _advapi32.GetTokenInformation.restype = wintypes.BOOL
    _advapi32.GetLengthSid.argtypes = [ctypes.c_void_p]
    _advapi32.GetLengthSid.restype = wintypes.DWORD

    class _Row4(ctypes.Structure):  # MIB_TCPROW_OWNER_PID
        _fields_ = [
            ("state", wintypes.DWORD),
            ("local_addr", ctypes.c_ubyte * 4),
            ("local_port", wintypes.DWORD),
            ("remote_addr", ctypes.c_ubyte * 4),
            ("remote_port", wintypes.DWORD),
            ("pid", wintypes.DWORD),
        ]

    class _Row6(ctypes.Structure):  # MIB_TCP6ROW_OWNER_PID
        _fields_ = [
            ("local_addr", ctypes.c_ubyte * 16),
            ("local_scope", wintypes.DWORD),
            ("local_port", wintypes.DWORD),
            ("remote_addr", ctypes.c_ubyte * 16),
            ("remote_scope", wintypes.DWORD),
            ("remote_port", wintypes.DWORD),
            ("state", wintypes.DWORD),
            ("pid", wintypes.DWORD),
        ]

    def _table(family: int) -> bytes:
        size = wintypes.DWORD(0)
        for _ in range(_TABLE_TRIES):
            buffer = ctypes.create_string_buffer(size.value or 1)
            status = _iphlpapi.GetExtendedTcpTable(
                buffer, ctypes.byref(size), False, family, _TCP_TABLE_OWNER_PID_CONNECTIONS, 0
            )
            if status == 0:
                return buffer.raw[: size.value]
            if status != _ERROR_INSUFFICIENT_BUFFER:
                break
        raise OSError(f"GetExtendedTcpTable failed ({status})")

    def _owning_pid(
        peer_ip: IpAddress, peer_port: int, local_ip: IpAddress, local_port: int
    ) -> int | None:
        row_type: type[_Row4] | type[_Row6] = _Row4 if peer_ip.version == 4 else _Row6
        raw = _table(_AF_INET if peer_ip.version == 4 else _AF_INET6)
        count = int.from_bytes(raw[:4], "little")
        # The rows follow the DWORD count, aligned as the structure (4 bytes).
        rows = (row_type * count).from_buffer_copy(raw, 4)
        for row in rows:
            if (
                row.state in _LIVE_STATES
                and ipaddress.ip_address(bytes(row.local_addr)) == peer_ip
                and _port(row.local_port) == peer_port
                and ipaddress.ip_address(bytes(row.remote_addr)) == local_ip
                and _port(row.remote_port) == local_port
            ):
                return int(row.pid)
        return None

    def _token_user(process: int | None) -> bytes | None:
        """The SID of the account a process runs as, or None if its token cannot be read."""
        token = wintypes.HANDLE()
        if not _advapi32.OpenProcessToken(process, _TOKEN_QUERY, ctypes.byref(token)):
            return None
        try:
            size = wintypes.DWORD(0)
            _advapi32.GetTokenInformation(token, _TOKEN_USER, None, 0, ctypes.byref(size))
            buffer = ctypes.create_string_buffer(size.value)
            if not _advapi32.GetTokenInformation(
                token, _TOKEN_USER, buffer, size, ctypes.byref(size)
            ):
                return None
            sid = ctypes.c_void_p.from_buffer(buffer).value  # TOKEN_USER.User.Sid
            if not sid:
                return None
            return ctypes.string_at(sid, _advapi32.GetLengthSid(sid))
        finally:
            _kernel32.CloseHandle(token)

    def _process_user(pid: int) -> bytes | None:
        process = _kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not process:
            return None
        try:
            return _token_user(process)
        finally:
            _kernel32.CloseHandle(process)

    def windows_owner(
        peer_ip: IpAddress, peer_port: int, local_ip: IpAddress, local_port: int
    ) -> bool | None:
        """Whether the client socket's owning process runs as our account (None: unknown)."""
        pid = _owning_pid(peer_ip, peer_port, local_ip, local_port)
        if pid is None:
            return None
        if pid == os.getpid():
            return True
        ours = _token_user(_kernel32.GetCurrentProcess())
        theirs = _process_user(pid)
        if ours is None or theirs is None:
            return None
        return ours == theirs

else:

    def windows_owner(
        peer_ip: IpAddress, peer_port: int, local_ip: IpAddress, local_port: int
    ) -> bool | None:
        """Not on Windows: nothing to ask."""
        return None
