"""Icons, styles and templates; installed as the package `llmgw_desktop.resources`."""
