"""What the desk (the window) does with the gateway, beside the requests clients send.

`playground` sends one chat (or an embedding) through the gateway as the local user; `probe`
is a provider's Test (one tiny request to exactly that provider); `provider_editor` adds and
edits API providers, checked before they are saved; `live_keys` lists every key the gateway
would use now, masked, with where each comes from.
"""
