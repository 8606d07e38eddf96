"""Configuration: the settings (declared once, with their checks), the config file and its
encoding, the platform directories, and the pure definitions the checks read (gateway tables,
budgets, project grants, remote-power levels, the provider catalogs, prices, the CA bundle).

The bottom layer: it imports nothing else of ours, so the engine, the front doors, the desk and
the shell all read it, and checking a config file needs no engine.
"""
