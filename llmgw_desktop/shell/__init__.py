"""The app shell: the process and its place in the OS. The command line (`cli/`), the desktop
and headless composition roots (`app`, `headless`), stdio MCP (`stdio_mode`), the gateway's
start and stop order (`runtime`), one instance per data dir (`instance`), start at login and
the Linux menu entry (`autostart`, `linux_install`), the log file (`logging_setup`), and the
exit codes (`exit_codes`).

The top layer: it may import the desk (`ui/`), the front doors (`transports/`), the engine's
public surface and `config/`; nothing below imports it.
"""
