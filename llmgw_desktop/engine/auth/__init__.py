"""Who is calling: principals, the credentials that prove them, consent, rate limits, and the
start-up policy that refuses unsafe setups.

Open `service` first: the front door's gatekeeper, which turns a request's credentials into a
principal (`principals`) by way of `presented` (where each dialect's clients put their key).
What a principal may then do is one table, `access`; what a gateway key may reach is
`key_scope`; which projects a principal may name is `projects`.

The credentials:
- Gateway keys: `gateway_keys` (a secret per tool or person, scoped and capped), what a new one
  is (`key_spec`), their rows (`gateway_keys_store`) and the verifications remembered until a
  key changes (`key_changes`). `connection_keys` are the keys an agent the gateway runs calls
  back with, and `agent_callbacks` where it calls back (the gateway's own door) with one.
- The OAuth 2.0 server: `oauth` is its face; `oauth_config` its settings, `oauth_rules` the
  stateless rules, `oauth_clients` registration, `oauth_code_grant` the authorization code with
  PKCE, `oauth_tokens` tokens and refresh rotation, `oauth_resource` resource indicators,
  `oauth_store` its records, `verify_cache` verified tokens kept briefly, and `oauth_desk` what
  the operator does from the window.
- A person's approval: `consent` (an authorization waiting for a person) and `consent_web`
  (what the web consent page accepts).
- Secrets at rest and guessing: `hashing`, `guessing` (throttles), `token_strength`.

The connection itself: `client_address` (the client behind trusted proxies), `peer_owner` and
`peer_owner_windows` (which local account opened a loopback connection), `rate_limit` (a token
bucket per key), and `policy` (start-up refuses a setup that would open the gateway by accident).
"""
