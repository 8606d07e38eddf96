"""Secrets at rest and in comparison: tokens stored as SHA-256, passwords as scrypt.

Tokens are 256-bit random values, so a fast hash is enough for lookup and a leaked database
gives nothing usable; passwords are human-chosen and get a slow, salted hash. Comparisons of
presented secrets are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = [
    "constant_time_equal",
    "hash_password",
    "new_token",
    "secret_bytes",
    "token_digest",
    "verify_password",
]

TOKEN_BYTES = 32
# scrypt cost: ~50 ms and 16 MiB per check here; a consent form is submitted rarely.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def secret_bytes(secret: str) -> bytes:
    """`secret` as the bytes it arrived as. A header's or a variable's bytes that are not UTF-8
    reach us as surrogates (aiohttp and `os.environ` decode with `surrogateescape`), which a plain
    encode refuses: a request presenting such a key failed with a 500 where any other wrong key
    is a 401. Every presented secret is hashed or compared through this."""
    return secret.encode("utf-8", "surrogateescape")


def token_digest(token: str) -> str:
    return hashlib.sha256(secret_bytes(token)).hexdigest()


def constant_time_equal(presented: str, expected: str) -> bool:
    """Compare secrets without leaking where they differ through timing."""
    return hmac.compare_digest(secret_bytes(presented), secret_bytes(expected))


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash` for config.toml (`llmgw-desktop hash-password`)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        secret_bytes(password),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=64 * 1024 * 1024,
    )
    parts = (str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest))
    return "scrypt$" + "$".join(parts)


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches a `hash_password` value; False for any malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest + "==")
        actual = hashlib.scrypt(
            secret_bytes(password),
            salt=base64.urlsafe_b64decode(salt + "=="),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
