"""Same dialect, same bytes: a request whose upstream speaks the client's own dialect is
forwarded as it came, and only what the recorder needs is read back.

Open `passthrough` first: the forwarding, and what it reads of the answer. `taps` reads a
forwarded stream on the side (usage, the end, an error); `vendor_features` says what a request
asks of the vendor's own account beyond an answer (betas, server tools, stored state), and
`remote_passthrough` which of those a remote caller may use on the operator's account.
"""
