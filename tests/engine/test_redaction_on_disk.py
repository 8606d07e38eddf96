"""Each kind of secret, sent in a prompt and echoed in an answer, never reaches the database
file in the clear: checked by reading the file (and its WAL) back as bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmgw_desktop.engine.events import EventBus
from llmgw_desktop.engine.jobs.live import JobContext, JobSpec
from llmgw_desktop.engine.jobs.manager import JobLimits, JobManager
from llmgw_desktop.engine.jobs.store import JobStore
from llmgw_desktop.engine.store import Database
from llmgw_desktop.engine.tasks import TaskSupervisor

SECRETS = {
    "openai": "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789",
    "anthropic": "sk-ant-api03-Abcdefghijklmnopqrstuvwxyz0123",
    "openrouter": "sk-or-v1-abcdefghijklmnopqrstuvwxyz012345",
    "groq": "gsk_Abcdefghijklmnopqrstuvwxyz012345",
    "xai": "xai-Abcdefghijklmnopqrstuvwxyz012345",
    "google": "AIzaSyAbcdefghijklmnopqrstuvwxyz0123456",
    "github": "ghp_Abcdefghijklmnopqrstuvwxyz0123456789",
    "huggingface": "hf_Abcdefghijklmnopqrstuvwxyz01234",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "slack": "xoxb-123456789012-abcdefghijklmnop",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "bearer": "Bearer tok.abcdefghijklmnopqrstuvwxyz",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretbody\n"
    "-----END RSA PRIVATE KEY-----",
    "url_password": "postgres://admin:s3cretPassw0rd@db.internal:5432/app",
    "key_value": "DATABASE_PASSWORD=hunter2hunter2",
}
# What must not survive (the secret part of each sample).
SECRET_PARTS = {
    "openai": "Abcdefghijklmnopqrstuvwxyz0123456789",
    "anthropic": "api03-Abcdefghij",
    "openrouter": "v1-abcdefghijklmnop",
    "groq": "Abcdefghijklmnopqrstuvwxyz012345",
    "xai": "Abcdefghijklmnopqrstuvwxyz012345",
    "google": "SyAbcdefghijklmnop",
    "github": "Abcdefghijklmnopqrstuvwxyz0123456789",
    "huggingface": "Abcdefghijklmnopqrstuvwxyz01234",
    "aws": "IOSFODNN7EXAMPLE",
    "slack": "123456789012-abcdefghijklmnop",
    "jwt": "dozjgNryP4J3jVmNHl0w5N",
    "bearer": "tok.abcdefghijklmnopqrstuvwxyz",
    "pem": "MIIEowIBAAKCAQEAsecretbody",
    "url_password": "s3cretPassw0rd",
    "key_value": "hunter2hunter2",
}


@pytest.mark.parametrize("kind", list(SECRETS))
async def test_secret_kind_is_masked_in_the_database_file(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    db = Database(path)
    await db.open()
    tasks = TaskSupervisor()
    manager = JobManager(JobStore(db), tasks=tasks, events=EventBus(), limits=JobLimits())
    await manager.start()
    secret = SECRETS[kind]

    async def echo(ctx: JobContext) -> dict[str, Any]:
        ctx.set_output(f"partial {secret}")
        await manager.flush_now()
        raise_error = kind == "key_value"  # also check the error path
        if raise_error:
            from llmgw_desktop.engine.errors import ProviderFailure

            raise ProviderFailure(f"upstream said: {secret}", code="provider_error")
        return {"text": f"here it is: {secret}"}

    spec = JobSpec(
        principal="local",
        provider="claude",
        request={"prompt": f"use {secret} please"},
        working_dir="/w",
        work=echo,
    )
    submitted = await manager.submit(spec)
    await manager.wait(submitted.job_id, "local", 10)
    await manager.stop()
    await tasks.shutdown()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("store.db"))
    await db.close()
    on_disk += b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("store.db"))
    assert SECRET_PARTS[kind].encode() not in on_disk
