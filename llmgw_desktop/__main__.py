"""`python -m llmgw_desktop` is the same as the `llmgw-desktop` command."""

import sys

from llmgw_desktop.cli import main

sys.exit(main())
