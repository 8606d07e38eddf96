"""`python -m llmgw_desktop` is the same as the `llmgw-desktop` command."""

import sys

from llmgw_desktop.shell.cli.main import main

sys.exit(main())
