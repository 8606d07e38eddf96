"""Where remote calls may work and under which projects: `[workspaces]` and `[projects]`.

Who may call at all (bearer token, OAuth) is `[http]`'s (`settings_http.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmgw_desktop.config import settings_fields as checks
from llmgw_desktop.config.project_grants import check_project_grants
from llmgw_desktop.config.remote_power import DEFAULT_LEVEL
from llmgw_desktop.config.settings_fields import setting

__all__ = ["DENIED_DIR_NAMES", "ProjectsSettings", "WorkspacesSettings"]

# Directories no workspace may be, or lie inside: credentials live there.
DENIED_DIR_NAMES = [".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".password-store"]


@dataclass(frozen=True)
class WorkspacesSettings:
    """Where remote calls may work and what they may do there (`[workspaces]`)."""

    registry: checks.WorkspaceEntries = setting(
        {},
        env="LLM_GATEWAY_WORKSPACES",
        doc="Named working directories: name = path, or a table with path, remote_level, "
        "remote_allowed_tools and remote_mcp_servers (name=path pairs in the env).",
        check=checks.workspace_paths,
    )
    default: str = setting(
        "",
        env="LLM_GATEWAY_WORKSPACE_DEFAULT",
        doc="Workspace remote calls use when they name none (empty: they must name one).",
    )
    remote_level: str = setting(
        DEFAULT_LEVEL,
        env="LLM_GATEWAY_WORKSPACE_REMOTE_LEVEL",
        doc="What remote callers may make a CLI do where a workspace says nothing: read-only, "
        "edit (in the workspace) or commands (also its allow-listed commands).",
        check=checks.remote_level,
    )
    remote_allowed_tools: list[str] = setting(
        [],
        env="LLM_GATEWAY_WORKSPACE_REMOTE_ALLOWED_TOOLS",
        doc="Tools remote callers may pre-approve (allowedTools) where a workspace lists none.",
        check=checks.tool_names,
    )
    remote_mcp_servers: list[str] = setting(
        [],
        env="LLM_GATEWAY_WORKSPACE_REMOTE_MCP_SERVERS",
        doc="Your MCP servers ([mcp.servers.NAME]) a remote caller may hand a CLI for one call "
        "(mcpServers) where a workspace lists none; empty: none.",
        check=checks.server_names,
    )
    allowed_roots: list[str] = setting(
        [],
        env="LLM_GATEWAY_WORKSPACE_ALLOWED_ROOTS",
        doc="Folders workspace_create and workspace_register_existing_repo may work inside.",
        check=checks.absolute_paths,
    )
    denied_names: list[str] = setting(
        DENIED_DIR_NAMES,
        env="LLM_GATEWAY_WORKSPACE_DENIED_NAMES",
        doc="Directory names no workspace may be or lie inside.",
        check=checks.dir_names,
    )


@dataclass(frozen=True)
class ProjectsSettings:
    """Which remote principals may call under which project (`[projects]`)."""

    grants: dict[str, Any] = setting(
        {},
        env="LLM_GATEWAY_PROJECT_GRANTS",
        doc='Projects remote principals may call under: project = ["oauth:<client id>", '
        '"user:<name>"] (a JSON object in the env); the local user and the bearer token '
        "have every project, anyone else none unless listed.",
        check=check_project_grants,
    )
