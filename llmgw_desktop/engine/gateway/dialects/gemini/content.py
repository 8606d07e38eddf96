"""Gemini `parts` (text, inline and file data, function calls and responses, thought signatures) to
and from neutral parts, with the made-up ids that pair calls and results.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from typing import Any

from llmgw_desktop.engine.errors import InvalidRequest
from llmgw_desktop.engine.gateway.dialects.body import (
    expect_dict,
    expect_list,
    expect_str,
)
from llmgw_desktop.engine.gateway.dialects.gemini.keys import field
from llmgw_desktop.engine.gateway.dialects.thought_signatures import SKIP_SIGNATURE
from llmgw_desktop.engine.gateway.ir import (
    DocumentPart,
    ImagePart,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from llmgw_desktop.engine.gateway.translation import Untranslatable

__all__ = ["CallIds", "args_object", "parse_parts", "render_parts", "sign_first_call"]


class CallIds:
    """Tool call ids for one conversation or answer.

    Gemini may omit ids and matches results to calls by function name, in order, so a missing
    id is made up deterministically (`call_<name>_<n>`) and a result without an id takes the
    oldest unanswered call of its name.
    """

    def __init__(self) -> None:
        self._count = 0
        self._unanswered: defaultdict[str, deque[str]] = defaultdict(deque)

    def _next(self, name: str) -> str:
        call_id = f"call_{name}_{self._count}"
        self._count += 1
        return call_id

    def call(self, name: str, given: Any) -> str:
        call_id = given if isinstance(given, str) and given else self._next(name)
        self._unanswered[name].append(call_id)
        return call_id

    def result(self, name: str, given: Any) -> str:
        unanswered = self._unanswered[name]
        if isinstance(given, str) and given:
            if given in unanswered:
                unanswered.remove(given)
            return given
        return unanswered.popleft() if unanswered else self._next(name)


def parse_parts(raw: Any, path: str, ids: CallIds, left_out: list[str] | None = None) -> list[Part]:
    """Gemini `parts` as neutral parts.

    A thought signature on a non-thought part (Gemini puts them on function calls and text)
    travels as an empty, signed ThinkingPart just before that part; `render_parts` puts it back.

    Raises:
        InvalidRequest: naming the malformed part.
    """
    parts: list[Part] = []
    for j, item in enumerate(expect_list(raw, path)):
        where = f"{path}[{j}]"
        item = expect_dict(item, where)
        signature = field(item, "thoughtSignature")
        signature = signature if isinstance(signature, str) and signature else None
        if field(item, "thought") is True:
            text = field(item, "text")
            text = "" if text is None else expect_str(text, f"{where}.text")
            if text or signature:
                parts.append(ThinkingPart(text=text, signature=signature))
            continue
        if signature:
            parts.append(ThinkingPart(text="", signature=signature))
        if (
            field(item, "executableCode") is not None
            or field(item, "codeExecutionResult") is not None
        ):
            # Gemini's own code execution: another provider cannot take its record.
            if left_out is not None:
                left_out.append("code execution parts (Gemini's)")
            continue
        part = _parse_part(item, where, ids, signed=signature is not None)
        if part is not None:
            parts.append(part)
    return parts


def _parse_part(item: dict[str, Any], path: str, ids: CallIds, *, signed: bool) -> Part | None:
    if (text := field(item, "text")) is not None:
        text = expect_str(text, f"{path}.text")
        return TextPart(text) if text else None
    if (inline := field(item, "inlineData")) is not None:
        inline = expect_dict(inline, f"{path}.inlineData")
        media_type = expect_str(field(inline, "mimeType"), f"{path}.inlineData.mimeType")
        data = expect_str(field(inline, "data"), f"{path}.inlineData.data")
        return _media_part(media_type, path, data=data)
    if (file := field(item, "fileData")) is not None:
        file = expect_dict(file, f"{path}.fileData")
        media_type = expect_str(field(file, "mimeType") or "", f"{path}.fileData.mimeType")
        url = expect_str(field(file, "fileUri"), f"{path}.fileData.fileUri")
        return _media_part(media_type, path, url=url)
    if (call := field(item, "functionCall")) is not None:
        call = expect_dict(call, f"{path}.functionCall")
        name = expect_str(field(call, "name"), f"{path}.functionCall.name")
        args = field(call, "args")
        args = {} if args is None else expect_dict(args, f"{path}.functionCall.args")
        call_id = ids.call(name, field(call, "id"))
        return ToolCallPart(id=call_id, name=name, arguments=json.dumps(args, ensure_ascii=False))
    if (result := field(item, "functionResponse")) is not None:
        result = expect_dict(result, f"{path}.functionResponse")
        name = expect_str(field(result, "name"), f"{path}.functionResponse.name")
        response = expect_dict(field(result, "response"), f"{path}.functionResponse.response")
        content, is_error = _result_content(response)
        call_id = ids.result(name, field(result, "id"))
        return ToolResultPart(call_id, content, is_error=is_error, name=name)
    if signed:
        return None
    raise InvalidRequest(
        f"{path}: unsupported part; expected text, inlineData, fileData, functionCall"
        " or functionResponse"
    )


def _media_part(
    media_type: str, path: str, *, data: str | None = None, url: str | None = None
) -> Part:
    """Inline or linked media: images and documents travel, audio and video do not."""
    if not media_type or media_type.startswith("image/"):
        return ImagePart(media_type=media_type, data=data, url=url)
    if media_type == "application/pdf" or media_type.startswith("text/"):
        return DocumentPart(media_type=media_type, data=data, url=url)
    raise Untranslatable(
        f"{media_type} media", "other dialects take images and documents only", param=path
    )


def _result_content(response: dict[str, Any]) -> tuple[str, bool]:
    """A functionResponse object as neutral text: unwrap the usual one-key envelopes."""
    if len(response) == 1:
        ((key, value),) = response.items()
        if key == "error":
            return (value if isinstance(value, str) else json.dumps(value)), True
        if key in ("result", "output") and isinstance(value, str):
            return value, False
    return json.dumps(response, ensure_ascii=False), False


def render_parts(
    parts: Sequence[Part], names: Mapping[str, str], path: str, *, with_ids: bool
) -> list[dict[str, Any]]:
    """Neutral parts as Gemini `parts`; `names` maps tool call ids to function names.

    Raises:
        ValueError: naming the part that cannot be rendered.
    """
    out: list[dict[str, Any]] = []
    signature: str | None = None  # from an empty signed ThinkingPart, for the next part
    for j, part in enumerate(parts):
        if isinstance(part, ThinkingPart) and not part.text:
            if _readable(part.signature):
                if signature:
                    out.append({"text": "", "thoughtSignature": signature})
                signature = part.signature
            continue
        rendered = _render_part(part, names, f"{path}[{j}]", with_ids=with_ids)
        if signature and "thoughtSignature" in rendered:
            out.append({"text": "", "thoughtSignature": signature})
        elif signature:
            rendered["thoughtSignature"] = signature
        signature = None
        out.append(rendered)
    if signature:
        out.append({"text": "", "thoughtSignature": signature})
    return out


def _render_part(
    part: Part, names: Mapping[str, str], path: str, *, with_ids: bool
) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"text": part.text}
    if isinstance(part, ThinkingPart):
        out: dict[str, Any] = {"text": part.text, "thought": True}
        if _readable(part.signature):
            out["thoughtSignature"] = part.signature
        return out
    if isinstance(part, ImagePart):
        return _render_image(part, path)
    if isinstance(part, DocumentPart):
        return _render_document(part)
    if isinstance(part, ToolCallPart):
        call: dict[str, Any] = {"name": part.name, "args": args_object(part.arguments, path)}
        if with_ids and part.id:
            call["id"] = part.id
        return {"functionCall": call}
    name = part.name or names.get(part.tool_call_id)
    if not name:
        raise ValueError(f"{path}: tool result {part.tool_call_id!r} answers no earlier tool call")
    result: dict[str, Any] = {
        "name": name,
        "response": _result_response(part.content, part.is_error),
    }
    if with_ids and part.tool_call_id:
        result["id"] = part.tool_call_id
    return {"functionResponse": result}


def _readable(signature: str | None) -> bool:
    """Whether Gemini can read a signature: its API and SDK take base64 bytes only, so other
    vendors' signatures (and made-up ones) are left out rather than failing the whole call."""
    if not signature:
        return False
    try:
        base64.b64decode(signature.replace("-", "+").replace("_", "/"), validate=True)
    except binascii.Error:
        return False
    return True


def _render_image(part: ImagePart, path: str) -> dict[str, Any]:
    if part.data is not None:
        return {"inlineData": {"mimeType": part.media_type, "data": part.data}}
    if part.url and part.url.startswith("data:"):
        head, _, data = part.url[5:].partition(",")
        media_type = head.split(";")[0] or part.media_type
        return {"inlineData": {"mimeType": media_type, "data": data}}
    if part.url:
        file: dict[str, Any] = {"fileUri": part.url}
        if part.media_type:
            file["mimeType"] = part.media_type
        return {"fileData": file}
    raise ValueError(f"{path}: image has neither data nor url")


def _render_document(part: DocumentPart) -> dict[str, Any]:
    if part.text is not None:
        title = f"{part.title}\n\n" if part.title else ""
        return {"text": f"{title}{part.text}"}
    if part.data is not None:
        return {"inlineData": {"mimeType": part.media_type, "data": part.data}}
    return {"fileData": {"fileUri": part.url or "", "mimeType": part.media_type}}


def _result_response(content: str, is_error: bool) -> dict[str, Any]:
    """Neutral tool output as the object Gemini wants; JSON objects go through as they are."""
    try:
        value = json.loads(content)
    except ValueError:
        value = None
    if isinstance(value, dict) and not is_error:
        return value
    return {"error" if is_error else "result": value if isinstance(value, dict) else content}


def args_object(arguments: str, path: str) -> dict[str, Any]:
    """Tool call arguments (JSON text) as the object Gemini carries.

    Raises:
        ValueError: the text is not a JSON object.
    """
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: tool call arguments are not a JSON object")
    return value


def sign_first_call(parts: list[dict[str, Any]]) -> None:
    """Give a model turn's first functionCall the skip signature if no call carries one."""
    calls = [p for p in parts if "functionCall" in p]
    if calls and not any("thoughtSignature" in p for p in calls):
        calls[0]["thoughtSignature"] = SKIP_SIGNATURE
