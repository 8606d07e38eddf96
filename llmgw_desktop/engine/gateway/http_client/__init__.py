"""The gateway's HTTP client for upstream APIs: why it is ours and what it does on purpose is
`http1`'s docstring.

Open `upstream` first: every call to an upstream API goes through `UpstreamClient`, over `http1`
(a small HTTP/1.1 client; its responses are `http1_response`) and `pool` (the connections to one
origin: idle ones reused, a cap, a fair line). A connection is opened by `dial` (directly, or
through a proxy `proxies` chooses, or a tunnel), trusting the authorities `tls` names; a
compressed body is read by `body_decoder` a piece at a time; `sse` splits an event stream into
frames (and writes them). `unreachable` rests a host no connection could be made to, so each
request does not pay its connect timeout.
"""
