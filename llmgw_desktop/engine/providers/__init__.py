"""Providers: the vendor CLIs (their catalog, adapters, discovery, the process runner and its
lifeline), the user's switches, and every provider's state for the front doors (`service.py`).
The API providers' wire work is the HTTP gateway's (`engine/gateway/`)."""
