"""A gateway's own home for a bench run (its config, data and log dirs and its port), and a
gateway key with a dollar budget made in it: what `gateway_overhead.py` and the benches that
run its gateways (`request_stages.py`, `request_instructions.py`, `peers.py`) share."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

__all__ = ["gateway_key", "home_env"]


def gateway_key(tree: Path, env: dict[str, str]) -> dict[str, str]:
    """Make a gateway key with a dollar budget in the gateway's home; the headers carrying it."""
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmgw_desktop",
            "keys",
            "create",
            "bench",
            "--budget",
            "1e9",
            "--json",
        ],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    secret = json.loads(made.stdout)["secret"]
    return {"Authorization": f"Bearer {secret}", "x-api-key": secret}


def home_env(home: Path, port: int) -> dict[str, str]:
    """A fresh config, data and log dir per gateway, and its port."""
    return {
        "LLM_GATEWAY_CONFIG": f"{home}/config.toml",
        "LLM_GATEWAY_DATA_DIR": f"{home}/data",
        "LLM_GATEWAY_LOG_DIR": f"{home}/log",
        "LLM_GATEWAY_HTTP_PORT": str(port),
    }
