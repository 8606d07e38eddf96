"""What an editor's ACP prompt carries besides text: files it links (`resource_link`, how Zed
and JetBrains attach an @-mentioned file), files it embeds (`resource`) and images.

Both ACP front doors read a prompt through `read_prompt`: a linked file is read by the gateway
(`engine.read_attached`: only inside the session's folder, the caller's grant, links and `..`
followed; never past `providers.max_attached_bytes`), an embedded one or an image is taken as
sent (held to the same cap). What each door then makes of the attachments is its own: the chat
agent sends them to the model as the chat's content parts (`chat_parts`), the fronted agent
puts text files into its prompt and hands images to an agent that takes them (`as_text`). Both
tell the editor so in one `initialize_response`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import acp
from acp import schema

from llmgw_desktop.engine.api import InvalidRequest, read_attached, refuse_too_large

__all__ = ["Attachment", "EditorPrompt", "initialize_response", "read_prompt"]


def initialize_response(
    protocol_version: int, title: str, version: str
) -> schema.InitializeResponse:
    """What both agents answer `initialize`: sessions load, and a prompt may carry images
    and embedded files besides linked ones (what `read_prompt` reads)."""
    return schema.InitializeResponse(
        protocol_version=min(protocol_version, acp.PROTOCOL_VERSION),
        agent_capabilities=schema.AgentCapabilities(
            load_session=True,
            prompt_capabilities=schema.PromptCapabilities(image=True, embedded_context=True),
        ),
        agent_info=schema.Implementation(name="llmgw-desktop", title=title, version=version),
        auth_methods=[],
    )


@dataclass(frozen=True)
class Attachment:
    """One file or image of a prompt: its name (the editor's URI), media type and bytes."""

    name: str
    mime: str
    data: bytes

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    def text(self) -> str | None:
        """Its contents as text (not an image, and UTF-8), else None."""
        if self.is_image:
            return None
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class EditorPrompt:
    """A prompt as the editor sent it: its typed text and what it attached, in order."""

    text: str
    attachments: tuple[Attachment, ...] = ()

    @property
    def images(self) -> tuple[Attachment, ...]:
        return tuple(a for a in self.attachments if a.is_image)

    def as_text(self) -> str:
        """The typed text, then each text file in a fenced block naming it.

        Raises:
            InvalidRequest: a file that is neither text nor an image (a PDF, an archive ...):
                an agent's prompt carries text and images only.
        """
        pieces = [self.text] if self.text else []
        for attached in self.attachments:
            if attached.is_image:
                continue
            text = attached.text()
            if text is None:
                raise InvalidRequest(
                    f"the attached {attached.name!r} ({attached.mime}) is neither text nor an "
                    "image: an agent is given text files and images only",
                    param="prompt",
                )
            pieces.append(fenced(attached.name, text))
        return "\n\n".join(pieces)

    def chat_parts(self) -> list[dict[str, Any]]:
        """The prompt as OpenAI chat content parts: text, text files fenced, images as image
        parts and other files as file parts (the gateway translates each for the model)."""
        parts: list[dict[str, Any]] = [{"type": "text", "text": self.text}] if self.text else []
        for attached in self.attachments:
            text = attached.text()
            if attached.is_image:
                parts.append({"type": "image_url", "image_url": {"url": attached.data_url()}})
            elif text is not None:
                parts.append({"type": "text", "text": fenced(attached.name, text)})
            else:
                file = {"filename": Path(attached.name).name, "file_data": attached.data_url()}
                parts.append({"type": "file", "file": file})
        return parts


def fenced(name: str, text: str) -> str:
    """`text` in a Markdown fence longer than any run of backticks inside it, under its name."""
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{name}:\n{fence}\n{text}\n{fence}"


async def read_prompt(blocks: Sequence[Any], folder: Path | None, max_bytes: int) -> EditorPrompt:
    """The editor's prompt blocks read: linked files from disk inside `folder` (None: the
    caller may read none), embedded files and images decoded.

    Raises:
        InvalidRequest: a link outside `folder` or unreadable, an attachment past `max_bytes`,
            audio, a block of a kind ACP does not define, or a prompt with nothing in it.
    """
    texts: list[str] = []
    attachments: list[Attachment] = []
    for block in blocks:
        kind = getattr(block, "type", None)
        if kind == "text":
            texts.append(block.text)
        elif kind == "resource_link":
            attachments.append(await _linked(block, folder, max_bytes))
        elif kind == "resource":
            attachments.append(_embedded(block.resource, max_bytes))
        elif kind == "image":
            data = _decoded(block.data, "an attached image", max_bytes)
            attachments.append(Attachment(block.uri or "image", block.mime_type, data))
        else:
            raise InvalidRequest(
                f"a prompt block of type {kind!r} cannot be passed on: text, images and files "
                "(linked or embedded) can",
                param="prompt",
            )
    prompt = EditorPrompt("\n\n".join(texts), tuple(attachments))
    if not prompt.text.strip() and not prompt.attachments:
        raise InvalidRequest("the prompt is empty", param="prompt")
    return prompt


async def _linked(block: Any, folder: Path | None, max_bytes: int) -> Attachment:
    if folder is None:
        raise InvalidRequest(
            f"the linked file {block.uri!r} cannot be read: this caller runs in no folder "
            "the gateway may read",
            param="prompt",
        )
    attached = await asyncio.to_thread(read_attached, block.uri, folder, max_bytes)
    return Attachment(str(attached.path), block.mime_type or attached.mime, attached.data)


def _embedded(resource: Any, max_bytes: int) -> Attachment:
    name = resource.uri or "attachment"
    if getattr(resource, "text", None) is not None:
        data = resource.text.encode("utf-8")
        if len(data) > max_bytes:
            raise refuse_too_large(name, len(data), max_bytes)
        return Attachment(name, resource.mime_type or "text/plain", data)
    data = _decoded(resource.blob, name, max_bytes)
    return Attachment(name, resource.mime_type or "application/octet-stream", data)


def _decoded(data: str, name: str, max_bytes: int) -> bytes:
    """Base64 `data`, decoded, within the cap (checked on its length before decoding).

    Raises:
        InvalidRequest: not base64, or past `max_bytes`.
    """
    if len(data) * 3 // 4 > max_bytes + 3:
        raise refuse_too_large(name, len(data) * 3 // 4, max_bytes)
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{name!r} is not valid base64", param="prompt") from None
    if len(decoded) > max_bytes:
        raise refuse_too_large(name, len(decoded), max_bytes)
    return decoded
