"""Embeddings through the gateway: any front door's request, any provider that embeds.

A request comes in through OpenAI's `/v1/embeddings`, Gemini's `embedContent` and
`batchEmbedContents`, Ollama's `/api/embed` and `/api/embeddings`, or the engine's own
`GatewayService.embed`, and is read into one `EmbedRequest` (`request.py`). It is routed as a
chat is (`GatewayService._route`: aliases, routes, fallbacks, the key's scope, unpriced
targets under a hard dollar budget), and each API target is asked by `targets.py` through the
same gates, key pools, budget hold, response cache and recorder rows as a chat's target. What
a provider is sent and what its answer says is its wire's (`wires.py`: OpenAI, the Gemini API,
Vertex, Bedrock's Titan and Cohere, Ollama); the answer goes back in the front door's shape
(`answers.py`). Open `targets.py` first.
"""
