"""Gateway keys' tests run a real gateway whose providers point at the scripted upstream."""

from tests.transports.gateway.conftest import (  # noqa: F401 - fixtures
    provider_env,
    start_gateway,
)
