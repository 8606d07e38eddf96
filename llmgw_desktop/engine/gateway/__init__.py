"""The HTTP LLM gateway's core: one request in any dialect, routed to an API provider or a coding
CLI, answered in the client's dialect, recorded and budgeted.

Open `service` first, then follow a request: `incoming` (the client's request, parsed once, its
`facts` read leniently), `router` (which provider answers a model, and what to try next), then
an API target (`api_targets`: its keys from `keys`, a budget hold, what it is sent in
`outgoing`, the output limit a budget paid for in `output_limit`, answers from and into the
response cache in `cached_answers`) or a CLI target (`cli_targets`, over `cli_bridge`). Same
dialect is `passthrough` (the same bytes, with `vendor_features` and `remote_passthrough` saying
what of the vendor's own account a caller may use, and `taps` reading the stream on the side);
another dialect is `translation` through the neutral form `ir` and the `dialects/`, with
`capabilities` (what a model accepts). The answer: `answers` and `relay` (whole or streamed),
`held_answers` (a stream that holds its budget until it ends), `results` (what a front door
gets back), `report` (the route taken, for headers and the recorder) and `recording` (its
recorder rows, with `capture` for kept bodies and `server_tool_use` for billed server tools).

The upstream client: `upstream` over `http1` (a small HTTP/1.1 client, with `http1_response`),
`pool` (connections per origin), `dial` (direct, proxy or tunnel), `proxies`, `tls`,
`body_decoder` (compressed bodies a piece at a time), `sse` (server-sent events), `unreachable`
(hosts rested after a failed connect), `key_refusal` (a provider refusing the gateway's key:
the client's 401 naming the key and the fix), and `errors`, `tracing` and `shown_urls` (what an
error may show). The clouds are `clouds/`.

The other kinds of call take the same path from `service` on: `embeddings/` (vectors, for any
front door), `completions/` (text completions, fill-in-the-middle above all) and `ollama/`
(Ollama's own API, turned into the chat's and those two).

Around it: `composition` builds the gateway from the settings; `provider_directory` says what it
can serve now, with `model_lists` and `stale_references`; `counting` and `request_tokens` count
input tokens; the desk's own: `playground`, `probe` (one tiny request to one provider),
`provider_editor` and `live_keys` (every key in use now, masked).
"""
