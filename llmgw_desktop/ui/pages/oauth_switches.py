"""The Clients page's switches for OAuth sign-in: on or off, and whether each new sign-in waits
for your consent at the desk.

Both are written to config.toml (`http.oauth.enabled`, `http.oauth.require_consent`) through
the engine's `live_settings`; the OAuth server is built when the gateway starts, so the line
under them says a change takes effect at the next start. Switched on from here, sign-ins wait
for your consent too: nothing on this computer gets a token without a person saying yes
(switch consent off here if you want otherwise). The bind address is never changed here: the
gateway stays on loopback unless config.toml says otherwise.
"""

from __future__ import annotations

import logging

from llmgw_desktop.engine.api import LOCAL_CALLER, Engine
from llmgw_desktop.ui.kit.switch import Switch
from llmgw_desktop.ui.kit.text import caption
from llmgw_desktop.ui.qt import QGroupBox, QVBoxLayout, QWidget
from llmgw_desktop.ui.tasks import UiTasks
from llmgw_desktop.ui.theme import set_tone

__all__ = ["OAuthSwitches"]

log = logging.getLogger(__name__)

ENABLED = "http.oauth.enabled"
CONSENT = "http.oauth.require_consent"
RESTART = (
    "Saved to config.toml: takes effect when llmgw-desktop next starts (Gateway → Quit, then "
    "start it again)."
)


class OAuthSwitches(QGroupBox):
    """OAuth on or off, and consent before each sign-in; each saved as it is switched."""

    def __init__(self, engine: Engine, tasks: UiTasks, parent: QWidget | None = None) -> None:
        super().__init__("Sign-in with OAuth", parent)
        self.setObjectName("oauthSwitches")
        self._engine = engine
        self._tasks = tasks
        settings = engine.settings
        self.enabled = Switch("Let apps on this computer sign in with OAuth")
        self.enabled.setObjectName("oauthEnabled")
        self.enabled.setChecked(bool(settings.value(ENABLED)))
        self.enabled.setToolTip(
            "Apps (MCP clients, editors) register and sign in through the browser instead of "
            "being given a key. The gateway stays reachable from this computer only."
        )
        self.consent = Switch("Ask me before each new sign-in")
        self.consent.setObjectName("oauthConsent")
        self.consent.setChecked(bool(settings.value(CONSENT)))
        self.consent.setToolTip("A dialog at the desk asks you to approve each app's sign-in")
        self.note = caption()
        self.note.setObjectName("oauthNote")
        self.note.setVisible(False)
        can_save = engine.settings_saver.can_save
        for switch in (self.enabled, self.consent):
            switch.setEnabled(can_save)
        self.enabled.clicked.connect(self._switch_oauth)
        self.consent.clicked.connect(lambda on: self._save([(CONSENT, on)]))
        column = QVBoxLayout(self)
        column.addWidget(self.enabled)
        column.addWidget(self.consent)
        column.addWidget(self.note)

    def _switch_oauth(self, on: bool) -> None:
        changes = [(ENABLED, on)]
        if on and not self.consent.isChecked():
            self.consent.setChecked(True)
            changes.insert(0, (CONSENT, True))
        self._save(changes)

    def _save(self, changes: list[tuple[str, bool]]) -> None:
        self._say("Saving…")
        self._tasks.spawn(self._write(changes), what="save the OAuth settings")

    async def _write(self, changes: list[tuple[str, bool]]) -> None:
        try:
            for key, value in changes:
                await self._engine.live_settings.save(LOCAL_CALLER, key, value)
        except (OSError, RuntimeError) as exc:
            log.warning("could not save the OAuth settings: %s", exc)
            self._say(f"Not saved: {exc}", error=True)
            return
        running = self._engine.settings  # as it started: neither setting is taken on live
        waiting = self.enabled.isChecked() != bool(running.value(ENABLED)) or (
            self.consent.isChecked() != bool(running.value(CONSENT))
        )
        self._say(RESTART if waiting else "Saved to config.toml: as the gateway runs now.")

    def _say(self, text: str, *, error: bool = False) -> None:
        set_tone(self.note, "error" if error else "muted")
        self.note.setText(text)
        self.note.setVisible(bool(text))
