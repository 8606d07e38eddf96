"""Each way to deploy, checked by its own tools: the compose file by podman-compose, the
Kubernetes manifests against the Kubernetes schemas (kubernetes-validate, strict), the
systemd unit by `systemd-analyze verify`, nginx's configuration by `nginx -t`; every grace
period an orchestrator gives is matched to the gateway's drain; and docs/team.md shows each
file as it is here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.deploy.tools import DEPLOY, ROOT, tool

COMPOSE = DEPLOY / "compose" / "compose.yaml"
NGINX = DEPLOY / "compose" / "nginx.conf"
KUBERNETES = DEPLOY / "kubernetes"
UNIT = DEPLOY / "systemd" / "llmgw-desktop.service"
CONTAINERFILE = DEPLOY / "image" / "Containerfile"
TEAM_DOC = ROOT / "docs" / "team.md"
# Room an orchestrator's grace period must leave after the drain for the stop itself.
STOP_ROOM_S = 5
TOOL_TIMEOUT_S = 120


def _run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, cwd=cwd, check=False
    )


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_the_compose_file_is_what_podman_compose_reads(tmp_path: Path) -> None:
    compose = tool("podman-compose")
    # The secrets it names are the operator's to make: stand-ins, in a copy of the folder.
    for name in ("compose.yaml", "nginx.conf"):
        (tmp_path / name).write_text((DEPLOY / "compose" / name).read_text())
    (tmp_path / "secrets").mkdir()
    for secret in ("master-key", "db-password", "auth-token"):
        (tmp_path / "secrets" / secret).write_text("stand-in\n")
    done = _run(compose, "-f", str(tmp_path / "compose.yaml"), "config", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    read = yaml.safe_load(done.stdout)
    services = read["services"]
    assert set(services) == {"gateway-1", "gateway-2", "db", "proxy"}
    for name in ("gateway-1", "gateway-2"):
        env = services[name]["environment"]
        assert env["LLM_GATEWAY_MASTER_KEY_FILE"].startswith("/run/secrets/")
        assert env["LLM_GATEWAY_DB_PASSWORD_FILE"].startswith("/run/secrets/")
        assert "@" in env["LLM_GATEWAY_DB_URL"] and ":" not in env["LLM_GATEWAY_DB_URL"].split("@")[
            0
        ].removeprefix("postgresql://"), "no password in the URL"
        assert env["LLM_GATEWAY_MCP_STATELESS"] == "true"


def test_the_kubernetes_manifests_pass_the_kubernetes_schemas_strictly() -> None:
    validate = tool("kubernetes-validate")
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    listed = sorted(kustomization["resources"])
    assert listed == sorted(
        p.name for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml"
    )
    done = _run(validate, "--strict", *(str(KUBERNETES / name) for name in listed))
    assert done.returncode == 0, done.stdout + done.stderr
    kinds = {doc["kind"] for name in listed for doc in _documents(KUBERNETES / name)}
    assert kinds == {"ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget"}


def test_readiness_and_liveness_ask_the_two_probes() -> None:
    (deployment,) = _documents(KUBERNETES / "deployment.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert (
        container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    )
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001


def test_the_systemd_unit_verifies_without_a_word(tmp_path: Path) -> None:
    analyze = tool("systemd-analyze")
    # Verified as installed: ExecStart names the llmgw-desktop this checkout installed.
    installed = Path(sys.executable).parent / "llmgw-desktop"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/llmgw/bin/llmgw-desktop", str(installed)))
    done = _run(analyze, "verify", str(unit))
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr
    text = UNIT.read_text()
    for hardening in (
        "Type=notify",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=",
        "NoNewPrivileges=yes",
        "KillMode=mixed",
    ):
        assert hardening in text


def test_nginx_takes_the_proxy_configuration(tmp_path: Path) -> None:
    nginx = tool("nginx")
    conf = loopback_nginx_conf(tmp_path, 18080, [18081, 18082])
    done = _run(nginx, "-t", "-p", str(tmp_path), "-c", str(conf))
    assert done.returncode == 0, done.stderr


def loopback_nginx_conf(where: Path, port: int, backends: list[int]) -> Path:
    """deploy/compose/nginx.conf as it runs on loopback: its replicas at `backends`, itself on
    `port`, its pid and logs under `where` (the rolling-restart test's proxy)."""
    text = NGINX.read_text()
    replicas = iter(backends)
    text = re.sub(r"gateway-\d:8080", lambda _: f"127.0.0.1:{next(replicas)}", text)
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    text = text.replace(
        "pid /tmp/nginx.pid;", f"pid {where}/nginx.pid;\nerror_log {where}/error.log;"
    )
    text = text.replace(
        "http {", f"http {{\n    access_log off;\n    client_body_temp_path {where}/body;"
    )
    conf = where / "nginx.conf"
    conf.write_text(text)
    return conf


def _seconds(text: str) -> int:
    return int(text.removesuffix("s"))


def test_every_grace_period_is_matched_to_the_drain() -> None:
    """An orchestrator that kills before the drain ends would cut what the drain lets finish."""
    compose = yaml.safe_load(COMPOSE.read_text())
    for name in ("gateway-1", "gateway-2"):
        service = compose["services"][name]
        drain = int(service["environment"]["LLM_GATEWAY_DRAIN_S"])
        assert _seconds(service["stop_grace_period"]) >= drain + STOP_ROOM_S

    config = yaml.safe_load((KUBERNETES / "configmap.yaml").read_text())["data"]["config.toml"]
    drain = tomllib.loads(config)["http"]["drain_s"]
    (deployment,) = _documents(KUBERNETES / "deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    pause = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] >= pause + drain + STOP_ROOM_S

    unit = UNIT.read_text()
    drain = int(re.search(r"LLM_GATEWAY_DRAIN_S=(\d+)", unit)[1])  # type: ignore[index]
    assert int(re.search(r"TimeoutStopSec=(\d+)", unit)[1]) >= drain + STOP_ROOM_S  # type: ignore[index]

    image = re.search(r"LLM_GATEWAY_DRAIN_S=(\d+)", CONTAINERFILE.read_text())
    assert image is not None and int(image[1]) > 0


@pytest.mark.parametrize(
    "path",
    [
        COMPOSE,
        NGINX,
        KUBERNETES / "deployment.yaml",
        KUBERNETES / "configmap.yaml",
        UNIT,
        CONTAINERFILE,
    ],
    ids=lambda path: path.name,
)
def test_the_team_page_shows_each_file_as_it_is(path: Path) -> None:
    """docs/team.md includes each deployment file whole (`--8<--` of pymdownx.snippets),
    so what a reader copies is what these tests check."""
    relative = path.relative_to(ROOT).as_posix()
    assert f'--8<-- "{relative}"' in TEAM_DOC.read_text(), (
        f"docs/team.md does not include {relative}"
    )
