"""The gateway's HTTP client for upstream APIs: why it is ours and what it does on purpose is
`http1`'s docstring.

Open `upstream` first: every call to an upstream API goes through `UpstreamClient`, which hands
back an `answer` (its body whole or its frames, masked of the key it was sent and the gateway's
own secrets: the only way anything reads an answer) or raises a `failure`; over `http1` (a small
HTTP/1.1 client; its responses are `http1_response`) and `pool` (the connections to one origin:
idle ones reused, a cap, a fair line). A connection is opened by `dial` (directly, or through a
proxy `proxies` chooses, or a tunnel), trusting the authorities `tls` names; a compressed body
is read by `body_decoder` a piece at a time; `sse` splits an event stream (or newline-delimited
JSON) into frames, by the engine's one capped line reader, and writes them; `malformed` is a
frame's shape and the error that says an answer is not what its dialect says. `unreachable`
rests a host no connection could be made to (on the engine's one circuit), so each request does
not pay its connect timeout.

It knows no dialect, provider or cloud (import rules of pyproject.toml keep it so): where a call
goes and the headers its key goes in are the dialect's (`dialects/by_name.addressed`), handed
over in the `UpstreamTarget`; a provider that signs its own requests (a cloud) is one of the
`Signers` it is handed, in the shapes `signing` names; what an error status stands for by a
provider's rules (a 400 that means a refused key) is a function it is handed too.
"""
