"""Ollama's own API on the gateway's address, for tools that speak only Ollama's (Open WebUI,
Continue's `ollama` provider, the `ollama` Python and JavaScript libraries).

`chat.py` turns `/api/chat` (and `/api/generate` without a `suffix`) into an OpenAI Chat
request that takes the chat's whole path (routing, translation, keys, budgets, the recorder),
and its answer, whole or streamed, back into Ollama's shape (newline-delimited JSON when
streamed). `/api/generate` with a `suffix` is a fill-in-the-middle completion
(`gateway/completions/`), `/api/embed` and `/api/embeddings` are embeddings
(`gateway/embeddings/`). `models.py` answers `/api/tags`, `/api/show`, `/api/ps` and
`/api/version` from the models the caller may use.
"""
