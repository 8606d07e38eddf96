"""The HTTP LLM gateway's core: one request in any dialect, routed to an API provider or a coding
CLI, answered in the client's dialect, recorded and budgeted.

Open `service` first (the route, and nothing else), then follow a request: `incoming` (the
client's request, parsed once, its `facts` read leniently), `router` (which provider answers a
model, and what to try next; a route of several targets is ordered by `balancing/`), then an
API target or a CLI target (`cli_targets`, over `cli_bridge`). Every kind of call to an API
target goes through the one attempt loop, `api_targets` (its gates, a budget hold, its keys
from `keys` in order, one attempt per key), the kind supplying its wire: a chat's is
`chat_targets` (what it is sent in `outgoing`, the output limit a budget paid for in
`output_limit`, answers from and into the response cache in `cached_answers`, close enough to
an earlier one in `semantic_cache`). Same dialect goes through `same_dialect/`; another dialect
is `translation` through the neutral form `ir` and the `dialects/`, with `capabilities` (what a
model accepts). The answer: `answers` and `relay` (whole or streamed; `split_secrets` masks a
secret a stream splits over its events), `held_answers` (a stream
that holds its budget until it ends) and `results` (what a front door gets back); its rows and
report are in `records/`, each attempt's outcome an `outcomes.Outcome`. Errors are `errors`
(with `key_refusal` for a key the provider refused); a call a stop ends before its answer
began is told so (`in_flight`).

The other kinds of call take the same path, each with its wire: `embeddings/`, `completions/`
(fill-in-the-middle) and Ollama's own API (`ollama/`, a chat). The upstream client is
`http_client/` (it knows no dialect); the clouds are `clouds/`.

Around it: `composition` is the gateway's composition root (every part built and wired there,
once, and handed to the route as `parts.GatewayParts`); `provider_directory` says what it can
serve now, with `model_lists` and `stale_references`; `counting` and `request_tokens` count
input tokens; `shown_urls` is how an upstream's URL may be shown; the desk's own features are
`desk/`.
"""
