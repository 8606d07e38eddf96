"""Render the main window offscreen to docs/images/main-window.png for the README.

Usage: python scripts/screenshot.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from llmgw_desktop.engine.engine import Engine
from llmgw_desktop.settings import load_settings
from llmgw_desktop.ui.actions import GatewayActions
from llmgw_desktop.ui.bridge import EngineBridge
from llmgw_desktop.ui.main_window import MainWindow, WindowFacts
from llmgw_desktop.ui.qt import QApplication

OUT = Path(__file__).resolve().parent.parent / "docs" / "images" / "main-window.png"


def main() -> None:
    app = QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as home:
        os.environ["LLM_GATEWAY_CONFIG"] = f"{home}/config.toml"
        os.environ["LLM_GATEWAY_DATA_DIR"] = f"{home}/data"
        settings = load_settings().settings
        now = [1_000_000.0]
        engine = Engine(settings, clock=lambda: now[0])
        asyncio.run(engine.start())
        now[0] += 754  # a window that has been up a while reads better than "0s"
        engine.set_provider_enabled("copilot", False)
        bridge = EngineBridge(engine)
        endpoint = "http://127.0.0.1:3333/mcp"
        actions = GatewayActions(
            bridge, endpoint=lambda: endpoint, open_dashboard=lambda: None, quit_app=app.quit
        )
        window = MainWindow(
            bridge,
            actions,
            WindowFacts(
                endpoint=endpoint,
                health_url="http://127.0.0.1:3333/health",
                data_dir=Path("~/.local/share/llmgw-desktop"),
                log_file=Path("~/.local/state/llmgw-desktop/log/llmgw-desktop.log"),
            ),
            close_quits=True,
            on_quit=app.quit,
        )
        window.show()
        app.processEvents()
        OUT.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(OUT))
        asyncio.run(engine.stop())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
