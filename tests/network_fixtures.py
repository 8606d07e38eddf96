"""Real network parts for upstream tests: a test CA (trustme) and a tinyproxy on loopback.

tinyproxy is the Debian package (`.ci/run` installs it). Where it is missing its tests skip,
except in CI (`LLMGW_REQUIRE_CLIS=1`), where they fail: a proxy path nobody ran is untested.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme

from tests.ports import free_port

REQUIRE_TOOLS = os.environ.get("LLMGW_REQUIRE_CLIS") == "1"
# Where Debian puts it; a developer's PATH may not include sbin.
TOOL_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
LOG_TIMEOUT_S = 5.0
READY_LINE = "Accepting connections"
PORT_TAKEN = "Could not create listening sockets"
# tinyproxy refuses to keep root; it drops to this user when started as root.
PROXY_USERS = (("tinyproxy", "tinyproxy"), ("nobody", "nogroup"))
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it


def find_tinyproxy() -> str:
    """tinyproxy's path; skips the test where it is not installed (fails instead in CI)."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *TOOL_DIRS])
    found = shutil.which("tinyproxy", path=search)
    if found is None:
        message = "tinyproxy is not installed (apt-get install tinyproxy; CI does in .ci/run)"
        if REQUIRE_TOOLS:
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class CertAuthority:
    """A throwaway certificate authority and a server certificate for loopback names."""

    ca: trustme.CA
    ca_file: Path
    hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    _server: trustme.LeafCert | None = field(default=None, repr=False)

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting a certificate this CA signed."""
        if self._server is None:
            self._server = self.ca.issue_cert(*self.hosts)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server.configure_cert(context)
        return context


def make_test_ca(directory: Path) -> CertAuthority:
    """A new CA whose certificate is written to `directory/ca.pem`."""
    ca = trustme.CA()
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return CertAuthority(ca, ca_file)


@dataclass
class Tinyproxy:
    """A running tinyproxy: its URL and everything it has logged so far."""

    port: int
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    ended: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def logged(self, pattern: str) -> list[str]:
        """The log lines so far that match `pattern` (a regex)."""
        with self.changed:
            return [line for line in self.lines if re.search(pattern, line)]

    def wait_for_log(self, pattern: str, timeout_s: float = LOG_TIMEOUT_S) -> str:
        """The first log line matching `pattern`, waiting for it if need be.

        Raises:
            AssertionError: none within `timeout_s` (the log is in the message).
        """
        with self.changed:
            found = self.changed.wait_for(
                lambda: self.ended or any(re.search(pattern, x) for x in self.lines), timeout_s
            )
            matches = [line for line in self.lines if re.search(pattern, line)]
            if not found or not matches:
                raise AssertionError(f"tinyproxy never logged {pattern!r}:\n" + self.log_text())
            return matches[0]

    def log_text(self) -> str:
        return "".join(self.lines[-40:])

    def _drain(self) -> None:
        # Reading all output keeps tinyproxy from blocking on a full pipe.
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()


@contextmanager
def running_tinyproxy(
    directory: Path, *, basic_auth: tuple[str, str] | None = None
) -> Iterator[Tinyproxy]:
    """tinyproxy in the foreground on a free loopback port, allowing only loopback clients.

    Raises:
        AssertionError: it did not start (its output is in the message).
    """
    binary = find_tinyproxy()
    for attempt in range(START_ATTEMPTS):
        proxy = _start(binary, directory, basic_auth)
        if proxy is not None:
            break
        if attempt == START_ATTEMPTS - 1:
            raise AssertionError("tinyproxy did not start")
    try:
        yield proxy
    finally:
        proxy.process.terminate()
        try:
            proxy.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proxy.process.kill()
            proxy.process.wait(timeout=STOP_TIMEOUT_S)


def _start(binary: str, directory: Path, basic_auth: tuple[str, str] | None) -> Tinyproxy | None:
    port = free_port()
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Allow 127.0.0.1",
        "Timeout 30",
        "LogLevel Info",
        "MaxClients 200",
        # No ConnectPort line: CONNECT is allowed to any port (test origins use random ones).
    ]
    if os.geteuid() == 0:
        lines += _unprivileged_user()
    if basic_auth is not None:
        lines.append(f"BasicAuth {basic_auth[0]} {basic_auth[1]}")
    config = directory / f"tinyproxy-{port}.conf"
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(
        [binary, "-d", "-c", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    proxy = Tinyproxy(port, process)
    threading.Thread(target=proxy._drain, name=f"tinyproxy-{port}", daemon=True).start()
    with proxy.changed:
        proxy.changed.wait_for(
            lambda: proxy.ended or any(READY_LINE in x for x in proxy.lines), START_TIMEOUT_S
        )
        ready = not proxy.ended and any(READY_LINE in x for x in proxy.lines)
    if ready:
        return proxy
    process.kill()
    process.wait(timeout=STOP_TIMEOUT_S)
    if PORT_TAKEN not in proxy.log_text():
        raise AssertionError("tinyproxy did not start:\n" + proxy.log_text())
    return None  # the port was taken between choosing and binding it: try another


def _unprivileged_user() -> list[str]:
    import grp
    import pwd

    for user, group in PROXY_USERS:
        try:
            pwd.getpwnam(user)
            grp.getgrnam(group)
        except KeyError:
            continue
        return [f"User {user}", f"Group {group}"]
    pytest.skip("running as root, and no unprivileged user for tinyproxy to switch to")
