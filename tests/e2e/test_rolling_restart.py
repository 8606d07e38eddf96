"""Two replicas on one PostgreSQL behind real nginx (deploy/compose/nginx.conf, its replicas
on loopback): a stream through a replica sent SIGTERM finishes its answer, and a rolling
restart of both under steady load fails no request a client would not retry.

The load is bounded: a few clients each sending requests one after another until the restart
is over. Every answer is checked whole; a failure counts only if a client would not retry it
(anything but a connection refused, or a 502/503 with no answer begun).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.deploy.test_deploy_files import loopback_nginx_conf
from tests.deploy.tools import tool
from tests.e2e import gateway_process as gp
from tests.e2e.team_gateways import Team, TeamGateway, team  # noqa: F401 - the fixture
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.ports import free_port

TOKEN = "rolling-restart-token-" + "x" * 20
DRAIN = {"LLM_GATEWAY_DRAIN_S": "20", "LLM_GATEWAY_AUTH_TOKEN": TOKEN}
CLIENTS = 4
LOAD_LIMIT_S = 240.0
RETRYABLE = {502, 503}
WAIT_S = 30.0
# nginx passes over a replica that refused for fail_timeout (2 s): the next one restarts
# only once the proxy has taken the restarted one back, as docs/team.md tells operators.
PROXY_RETRY_S = 3.0


def _members(team: Team, upstream: ScriptedUpstream) -> list[TeamGateway]:  # noqa: F811
    env = DRAIN | {
        "OPENAI_API_KEY": "sk-rolling",
        "OPENAI_BASE_URL": upstream.base_url + "/v1",
        "LLM_GATEWAY_RATE_LIMIT_PER_MINUTE": "0",
    }
    return [team.join(name, **env) for name in ("first", "second")]


class Nginx:
    """nginx with the deployment's configuration, in front of the two members."""

    def __init__(self, where: Path, members: list[TeamGateway]) -> None:
        self.port = free_port()
        where.mkdir()
        self._conf = loopback_nginx_conf(where, self.port, [m.port for m in members])
        self._where = where
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> Nginx:
        binary = tool("nginx")
        self._proc = subprocess.Popen(
            [binary, "-p", str(self._where), "-c", str(self._conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + WAIT_S
        while gp.health(self.port) is None:
            assert self._proc.poll() is None, self._proc.communicate()[1]
            assert time.monotonic() < deadline, "nginx never served"
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        assert self._proc is not None
        self._proc.terminate()
        self._proc.communicate(timeout=WAIT_S)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions"

    def errors(self) -> list[str]:
        """nginx's error log less the refused connects a drain causes: what a 502 came from
        ("reset by peer", "prematurely closed")."""
        log = self._where / "error.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line for line in lines if "(111: Connection refused)" not in line]


def _body(label: str, stream: bool) -> dict[str, object]:
    return {
        "model": "gpt-4o-mini",
        "stream": stream,
        "messages": [{"role": "user", "content": label}],
    }


def _streamed_text(sse: bytes) -> str:
    parts = []
    for line in sse.decode().splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:]).get("choices", []):
                parts.append(choice.get("delta", {}).get("content") or "")
    return "".join(parts)


def _answer_text(raw: bytes, stream: bool) -> str:
    if stream:
        return _streamed_text(raw)
    return str(json.loads(raw)["choices"][0]["message"]["content"])


def _restart(member: TeamGateway) -> str:
    """SIGTERM (it drains, exits 0), then start it again on its port; its stderr."""
    assert member.proc is not None
    code, _, err = gp.stop(member.proc, signal.SIGTERM)
    member.proc = None
    assert code == 0, err
    member.start()
    return err


@pytest.mark.timeout(600)
async def test_a_rolling_restart_under_load_fails_no_request_a_client_would_not_retry(
    team: Team,  # noqa: F811
    tmp_path: Path,
) -> None:
    if shutil.which("nginx") is None:
        tool("nginx")  # skips, or fails under CI
    async with ScriptedUpstream() as upstream:
        upstream.default = Reply.ok("steady answer", verbatim=True)
        first, second = await asyncio.to_thread(_members, team, upstream)
        outcomes: Counter[str] = Counter()
        unretryable: list[str] = []
        restarting = True
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with Nginx(tmp_path / "nginx", [first, second]) as proxy:

            async def client(number: int, http: aiohttp.ClientSession) -> None:
                sent = 0
                while restarting and sent < 2_000:
                    sent += 1
                    stream = sent % 2 == 0
                    try:
                        async with http.post(
                            proxy.url, json=_body(f"c{number}-{sent}", stream), headers=headers
                        ) as answer:
                            raw = await answer.read()
                            if answer.status == 200:
                                if _answer_text(raw, stream) != "steady answer":
                                    unretryable.append(f"cut answer: {raw[-200:]!r}")
                                outcomes["200"] += 1
                            elif answer.status in RETRYABLE:
                                outcomes[str(answer.status)] += 1
                            else:
                                unretryable.append(f"{answer.status}: {raw[:200]!r}")
                    except aiohttp.ClientConnectorError:
                        outcomes["refused"] += 1
                    except (TimeoutError, aiohttp.ClientError) as exc:
                        unretryable.append(f"{type(exc).__name__}: {exc}")

            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True)
            ) as http:
                load = asyncio.gather(*(client(n, http) for n in range(CLIENTS)))
                await asyncio.sleep(1.0)
                drained = []
                for member in (first, second):
                    drained.append(await asyncio.to_thread(_restart, member))
                    await asyncio.sleep(PROXY_RETRY_S)
                restarting = False
                await asyncio.wait_for(load, LOAD_LIMIT_S)
        print(f"rolling restart under load through nginx: {dict(outcomes)}")
        assert unretryable == [], unretryable[:5]
        # nginx handed every refused connection to the other replica: none even needed a retry.
        assert set(outcomes) == {"200"}, (outcomes, proxy.errors())
        assert outcomes["200"] > 20, outcomes
        assert all("drained" in err for err in drained), drained
        await asyncio.gather(*(asyncio.to_thread(m.stop) for m in (first, second)))
    assert team.query("SELECT count(*) FROM requests WHERE state <> 'completed'") == [(0,)]


async def test_a_stream_through_a_replica_sent_sigterm_finishes_its_answer(
    team: Team,  # noqa: F811
) -> None:
    async with ScriptedUpstream() as upstream:
        upstream.stream_gate = asyncio.Event()
        upstream.default = Reply.ok("a long answer, finished after the signal", verbatim=True)
        first, second = await asyncio.to_thread(_members, team, upstream)
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Caller": "drained-stream"}
        url = first.base_url + "/v1/chat/completions"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json=_body("stream", True), headers=headers) as streaming,
        ):
            head = await streaming.content.readline()
            assert first.proc is not None
            first.proc.send_signal(signal.SIGTERM)
            # Not ready at once: it listens no more, and the other replica serves meanwhile.
            deadline = time.monotonic() + WAIT_S
            while gp.health(first.port) is not None:
                assert time.monotonic() < deadline, "the draining replica still takes connections"
                await asyncio.sleep(0.02)
            other = _body("other", False)
            async with http.post(
                second.base_url + "/v1/chat/completions",
                json=other,
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as answer:
                assert answer.status == 200
            upstream.stream_gate.set()
            rest = await streaming.read()
        assert _streamed_text(head + rest) == "a long answer, finished after the signal"
        assert b"data: [DONE]" in rest
        code = await asyncio.to_thread(first.proc.wait, WAIT_S)
        _, err = first.proc.communicate()
        first.proc = None
        assert code == 0, err
        assert "drained" in err
        await asyncio.to_thread(second.stop)
    rows = team.query("SELECT state FROM requests WHERE caller = 'drained-stream'")
    assert rows == [("completed",)], rows
