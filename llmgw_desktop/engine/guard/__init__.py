"""The outbound guard: secrets, and matches of the operator's own rules, found in what leaves the
machine, before it leaves, and what the operator chose to happen to them (`[guard]`), on every
path a request takes to a provider.

Open `service.py` first: `OutboundGuard` gives each gateway request a `RequestGuard`, which the
gateway asks once per target (`decide`) and which scans the request once. The parts, by concept:
`detectors.py` (detect-secrets' plugins and our rules in their style; imported off the loop),
`scanner.py` (one text, within a time budget), `walk.py` (the one walk of what a request
carries: every string and every key, binary payloads marked), `request_scan.py` (a request
body's text, each finding named by its place), `rules.py` (the operator's rules, compiled),
`ladder.py` (the one decision for one target, and why, as typed values), `policy.py` (which
action for which provider and caller), `errors.py` (its three refusals), `redaction.py`
(placeholders), `restore.py` (placeholders put back in whole and streamed answers),
`stream_text.py` (text rewritten in a stream of any dialect, what may be split held back),
`key_matcher.py` (known values found whole or begun at a delta's end: the one matcher the
gateway's own split-secret masking shares), `echoes.py` and `operator_keys.py` (the operator's
own keys masked where an answer repeats them), `kinds.py` (the same for embeddings and text
completions), `desk.py` (the `ask` question to the person at the desk), `stats.py` (what was
found since start, per provider, key and kind).
The MCP tool pins are beside the servers they pin, in `upstream_mcp/`.
"""
