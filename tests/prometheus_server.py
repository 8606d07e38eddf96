"""A real Prometheus server (Debian's `prometheus` package) on loopback, for scrape tests.

Started with a generated configuration (one job scraping the given target every second) and a
temporary storage directory; ready once its log says so; stopped at the end of the context.
Its HTTP API answers the queries. With CI=true a missing binary fails rather than skips
(`.ci/run` installs it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.ports import free_port

__all__ = ["PrometheusServer", "prometheus_server"]

READY_S = 30.0


@dataclass
class PrometheusServer:
    base_url: str

    async def query(self, expression: str) -> list[dict[str, Any]]:
        """The instant vector `expression` evaluates to now (Prometheus' /api/v1/query)."""
        url = f"{self.base_url}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            body = await answer.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def value(self, expression: str) -> float | None:
        """The single number `expression` gives, or None while it gives nothing."""
        result = await self.query(expression)
        return float(result[0]["value"][1]) if result else None

    async def until(self, expression: str, expected: float, timeout_s: float = 30.0) -> float:
        """Wait until `expression` reads `expected` (Prometheus scrapes each second and says
        nothing when it has; so its API is asked, 5 times a second, within `timeout_s`)."""
        deadline = time.monotonic() + timeout_s
        seen: float | None = None
        while time.monotonic() < deadline:
            seen = await self.value(expression)
            if seen == expected:
                return seen
            await asyncio.sleep(0.2)
        raise AssertionError(f"{expression} read {seen}, not {expected}, for {timeout_s} s")

    async def target_health(self) -> list[dict[str, Any]]:
        url = f"{self.base_url}/api/v1/targets"
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            body = await answer.json()
        active: list[dict[str, Any]] = body["data"]["activeTargets"]
        return active


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is not installed (apt-get install prometheus)")
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    return found


@asynccontextmanager
async def prometheus_server(
    workdir: Path, target: str, *, bearer: str = "", metrics_path: str = "/metrics"
) -> AsyncIterator[PrometheusServer]:
    """Prometheus scraping `target` (host:port) every second, `bearer` as its credential."""
    binary = prometheus_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    job: dict[str, Any] = {
        "job_name": "llmgw",
        "metrics_path": metrics_path,
        "scrape_interval": "1s",
        "static_configs": [{"targets": [target]}],
    }
    if bearer:
        job["authorization"] = {"type": "Bearer", "credentials": bearer}
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}}
    config["scrape_configs"] = [job]  # type: ignore[assignment]
    config_file = workdir / "prometheus.yml"
    config_file.write_text(json.dumps(config))  # YAML reads JSON as it is
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=info",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    log: list[str] = []

    async def ready() -> None:
        assert process.stderr is not None
        while line := (await process.stderr.readline()).decode(errors="replace"):
            log.append(line)
            if "Server is ready to receive web requests" in line:
                return
        raise AssertionError("prometheus exited before it was ready:\n" + "".join(log))

    try:
        await asyncio.wait_for(ready(), READY_S)
        # Its log is drained from here on, so a chatty server never blocks on a full pipe.
        try:
            async with asyncio.TaskGroup() as group:
                drain = group.create_task(_drain(process.stderr))
                try:
                    yield PrometheusServer(f"http://127.0.0.1:{port}")
                finally:
                    drain.cancel()
        except BaseExceptionGroup as failed:  # the test's own failure, as it was raised
            if len(failed.exceptions) == 1:
                raise failed.exceptions[0] from None
            raise
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass
