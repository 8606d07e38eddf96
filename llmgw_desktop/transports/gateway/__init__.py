"""The HTTP LLM gateway's routes, each a front door to the engine's gateway service.

`chat_routes` serves the four chat dialects (and mounts the rest), `cloud_routes` Bedrock's
InvokeModel and Vertex's rawPredict as doors onto Messages, `embedding_routes`
OpenAI's and Gemini's embeddings, `completion_routes` text completions (fill in the middle),
`ollama_routes` Ollama's own API, `model_routes` the model lists, `native_routes` the native
endpoints and the vault's admin, `openapi` the OpenAPI document of our own endpoints. They
share `exchange` (the body read, the caller named, JSON written), `callers` (who is asking,
under which project), `dialect_errors` (an error in the caller's own envelope) and `fronts`
(which dialect a request speaks).
"""
