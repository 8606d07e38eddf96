"""The image, entered: its own entrypoint, environment and user, run with `chroot` inside its
unpacked filesystem (no container runs on these machines: crun and runc are refused
`setrlimit`). `deploy/image/build-offline-base.sh DIR` builds and unpacks it (root, podman,
debootstrap; `.ci/run` does, and sets LLMGW_IMAGE_ROOT=DIR); without it this is skipped, or
fails under CI when run as root.

What the container runtime would add is stood in for: a mount namespace of the test's own
with the host's /dev and /proc bound in, and the host's loopback (no network namespace), so
the scripted upstream and the test reach it on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.deploy.tools import REQUIRE_TOOLS, tool
from tests.e2e import gateway_process as gp
from tests.fakes.upstream import Reply, ScriptedUpstream
from tests.ports import free_port

IMAGE_ROOT = os.environ.get("LLMGW_IMAGE_ROOT", "")
TOKEN = secrets.token_urlsafe(32)
WAIT_S = 60.0
IMAGE_UID = 10001


def _image() -> tuple[Path, dict[str, Any]]:
    root = Path(IMAGE_ROOT)
    if not IMAGE_ROOT or not (root / "opt" / "llmgw").is_dir():
        reason = "no unpacked image: deploy/image/build-offline-base.sh DIR, LLMGW_IMAGE_ROOT=DIR"
        if REQUIRE_TOOLS and os.geteuid() == 0:
            pytest.fail(reason + "; CI=true")
        pytest.skip(reason)
    if os.geteuid() != 0:
        pytest.skip("entering the image with chroot needs root")
    (image,) = json.loads(Path(IMAGE_ROOT + ".image.json").read_text())  # podman image inspect
    return root, image["Config"] | {"Healthcheck": image.get("Healthcheck")}


def _entry(root: Path, config: dict[str, Any], env: dict[str, str]) -> list[str]:
    """The image's entrypoint as its runtime would start it: its user, its working dir."""
    user = config["User"]
    assignments = [f"{name}={value}" for name, value in env.items()]
    inside = [
        "env",
        "-i",
        *assignments,
        tool("chroot"),
        f"--userspec={user}",
        str(root),
        "/bin/sh",
        "-c",
        f'cd {config["WorkingDir"]} && exec "$@"',
        "entry",
        *config["Entrypoint"],
    ]
    binds = f"mount --rbind /dev {root}/dev && mount --rbind /proc {root}/proc"
    return [tool("unshare"), "--mount", "--fork", "sh", "-c", f'{binds} && exec "$@"', "-", *inside]


def _child_of(proc: subprocess.Popen[str]) -> int:
    """The process `unshare --fork` started (the gateway, once sh and chroot have exec'd)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the image's entrypoint ended: {proc.communicate()[1][-3000:]}")
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise AssertionError("unshare started nothing")


@contextmanager
def _running(
    root: Path, config: dict[str, Any], env: dict[str, str]
) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        _entry(root, config, env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(_child_of(proc), signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        assert proc.returncode == 0, err[-2000:]


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


@pytest.mark.timeout(180)
async def test_the_image_serves_a_chat_as_its_own_user(tmp_path: Path) -> None:
    root, config = _image()
    port = free_port()
    mounted = root / "run" / "secrets"
    mounted.mkdir(parents=True, exist_ok=True)
    (mounted / "master-key").write_text(secrets.token_hex(32) + "\n")
    (mounted / "auth-token").write_text(TOKEN + "\n")
    async with ScriptedUpstream() as upstream:
        upstream.default = Reply.ok("answered from the image", verbatim=True)
        image_env = dict(item.split("=", 1) for item in config["Env"])
        env = image_env | {
            "LLM_GATEWAY_HTTP_HOST": "127.0.0.1",
            "LLM_GATEWAY_HTTP_PORT": str(port),
            "LLM_GATEWAY_MASTER_KEY_FILE": "/run/secrets/master-key",
            "LLM_GATEWAY_AUTH_TOKEN_FILE": "/run/secrets/auth-token",
            "OPENAI_API_KEY": "sk-image",
            "OPENAI_BASE_URL": upstream.base_url + "/v1",
        }
        with _running(root, config, env) as entry:
            gateway = _child_of(entry)
            deadline = time.monotonic() + WAIT_S
            while (health := gp.health(port)) is None:
                assert entry.poll() is None, entry.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "the image never served /health"
                await asyncio.sleep(0.1)
            assert health["status"] == "ok", health
            assert _uid(gateway) == IMAGE_UID
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                ) as answer,
            ):
                body = await answer.json()
            assert answer.status == 200, body
            assert body["choices"][0]["message"]["content"] == "answered from the image"
            ready = await asyncio.to_thread(
                subprocess.run,
                [
                    *_entry(root, config, env)[: -len(config["Entrypoint"])],
                    "llmgw-desktop",
                    "health",
                ],
                capture_output=True,
                text=True,
                timeout=WAIT_S,
                check=False,
            )
            assert ready.returncode == 0, ready.stdout + ready.stderr
    # What the runtime's own health check runs: kept only in the docker format (the OCI one
    # has no HEALTHCHECK, and podman drops it).
    assert config["Healthcheck"]["Test"] == ["CMD", "llmgw-desktop", "health"], config
