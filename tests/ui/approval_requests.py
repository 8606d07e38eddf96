"""Calls put to the person at the desk, as the approval gate sees them, for the dialog tests."""

from __future__ import annotations

from typing import Any

from llmgw_desktop.engine.calls.approval import ApprovalRequest

__all__ = ["RISKY", "approval_request"]


def approval_request(
    prompt: str,
    *,
    permission_mode: str = "acceptEdits",
    full_auto: bool = False,
    principal: str = "local",
    **more: Any,
) -> ApprovalRequest:
    """A Claude Code call under `mcp_managed` approval, pre-approving no tools."""
    return ApprovalRequest(
        provider="claude",
        prompt=prompt,
        permission_mode=permission_mode,
        full_auto=full_auto,
        allowed_tools=(),
        strategy="mcp_managed",
        principal=principal,
        **more,
    )


# Risky enough to be put to the person at the desk (not denied outright).
RISKY = approval_request("sudo rm -rf /srv/app", full_auto=True)
