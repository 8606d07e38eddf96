"""One adapter per vendor CLI: its argv, environment and output parser (sans-io; the process
runner in `providers/process.py` runs them). `providers/cli_adapters.py` finds one by id."""
