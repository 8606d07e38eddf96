"""One model on several providers: which target a request tries first, and which go last.

A route may list `targets` (the same model at OpenAI, on Azure, through OpenRouter) and a
`strategy` that chooses among them per request; every target that fails cools down. Open
`balancer.py` first: it keeps what is known of each target and orders a plan
(`gateway/router.py`) for one principal's request. Its parts: `strategies.py` (the strategies,
pure, with the reason each choice gives the recorder), `health.py` (whose failures cool a
target for whom: each principal's own circuit, and the shared one that counts only failures
that are not one caller's doing), the engine's one circuit (`engine/circuit.py`, timed by
`engine/backoff.py`), `liveness.py` (a target that stops answering at all: found by a probe
when calls wait long for their first byte or a stream goes silent, passed over until a
probe is answered),
`decaying.py` (the latency figure that forgets, and shares), `quota.py` (the rate-limit headers
read), `views.py` (what `/v1/providers` and the Providers page show).
"""
