"""Text completions through the gateway, fill-in-the-middle above all (editor autocomplete).

OpenAI's `/v1/completions` (`prompt` and `suffix`, or the legacy prompt alone) and Ollama's
`/api/generate` are read into one `FimRequest` (`request.py`), routed as a chat is
(`GatewayService._route`), and asked of a target that completes natively through the chat's
gates, key pools, budget hold and recorder rows (`targets.py`): Codestral's
`/v1/fim/completions`, DeepSeek's and compatible servers' `/completions`, Ollama's
`/api/generate` (`wires.py`). The answer goes back whole or streamed in the front door's shape
(`answers.py`). A client that hangs up ends its upstream call at once.
"""
