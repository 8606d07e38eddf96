"""A chat written into a coding CLI's prompt (`cli_bridge.conversation_prompt`)."""

from __future__ import annotations

import pytest

from llmgw_desktop.engine.gateway.cli_bridge import conversation_prompt
from llmgw_desktop.engine.gateway.ir import (
    ChatRequest,
    DocumentPart,
    Message,
    TextPart,
    ToolDef,
)


def turn(role: str, *texts: str) -> Message:
    return Message(role, tuple(TextPart(t) for t in texts))  # type: ignore[arg-type]


def test_earlier_turns_are_context_and_the_last_user_message_is_the_task() -> None:
    request = ChatRequest(
        "m",
        (
            turn("user", "hi"),
            turn("assistant", "hello"),
            turn("system", "be terse"),
            turn("user", "go"),
        ),
        system=(TextPart("You help."),),
    )
    parts, notices = conversation_prompt(request)
    assert parts.task == "go"
    assert parts.system == "You help."
    assert parts.context == (
        "Conversation so far:\n\nUser: hi\n\nAssistant: hello\n\nSystem: be terse"
    )
    assert notices == ()


def test_a_system_message_after_the_last_user_message_joins_the_system_prompt() -> None:
    # Claude Code's first request: the user's message, then a system message.
    request = ChatRequest("m", (turn("user", "say hello"), turn("system", "Agents: explore.")))
    parts, _ = conversation_prompt(request)
    assert parts.task == "say hello"
    assert parts.system == "Agents: explore."


def test_what_a_cli_cannot_take_is_said() -> None:
    pdf = DocumentPart(data="JVBE")
    text_doc = DocumentPart(media_type="text/plain", text="the notes")
    request = ChatRequest(
        "m",
        (Message("user", (pdf, text_doc, TextPart("summarise"))),),
        tools=(ToolDef("f"),),
    )
    parts, notices = conversation_prompt(request)
    assert parts.task == "the notes\nsummarise"
    assert notices == (
        "tools in the request are not offered to a CLI provider",
        "documents are not passed to a CLI provider",
    )


def test_a_conversation_ending_with_the_assistant_is_refused() -> None:
    with pytest.raises(ValueError, match="must end with a user message"):
        conversation_prompt(ChatRequest("m", (turn("user", "a"), turn("assistant", "b"))))
