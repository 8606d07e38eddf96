"""One translator per wire dialect, to and from the neutral form in `gateway/ir.py`.

Each client dialect is a package: `openai_chat/`, `openai_responses/`, `anthropic/` and
`gemini/`; `bedrock_converse/` is spoken only to Bedrock. `by_name` finds a translator by name
(loading Bedrock's when first asked for), and `addressed` an upstream call's URL and credential
by the dialect it is spoken in; `base` says what every translator offers (pure: bytes and dicts
in and out; where an upstream of the dialect is called, with which credential, and what its
answer used). Shared by all: `body` (checks of a client's body that name the field that is
wrong), `freeform` (freeform tools for dialects that have only function tools) and
`thought_signatures` (the stand-in for a signature a vendor never issued).
"""
