"""The dashboard's pages. Each is a `Page`; `ui/main_window.py` lists them in its navigation."""
