"""EngineBridge: engine events in, Qt signals out; the only way widgets hear from the engine.

Engine events are published on the loop thread, which under qasync is the Qt thread, so the
bridge emits directly; widgets connect to these signals and never subscribe to the bus.

One signal is read rather than published: `restsChanged`, an API host rested or well again
(`engine.providers.resting()`). A rest begins or ends by a connect attempt, whose recorder
row's `RequestFinished` follows it, so the rests are read again on such a row (a failed one,
or any while some host rests), and once more when the soonest rest is over.
"""

from __future__ import annotations

from collections.abc import Callable

from llmgw_desktop.engine.api import (
    AnsweringChanged,
    AttemptFailedOver,
    BreakerChanged,
    Engine,
    EngineStarted,
    EngineStopped,
    JobStateChanged,
    JobStuckChanged,
    Notice,
    PauseChanged,
    ProviderHealthChanged,
    ProviderToggled,
    RecordState,
    RequestFinished,
    StoreHealthChanged,
)
from llmgw_desktop.ui.qt import QObject, QTimer, Signal

__all__ = ["REST_OVER_MARGIN_MS", "EngineBridge"]

# Read the rests this long after the soonest should be over, so it is seen over.
REST_OVER_MARGIN_MS = 50


class EngineBridge(QObject):
    """Re-emits engine events as signals for the widgets."""

    providerToggled = Signal(str, bool)
    pauseChanged = Signal(bool)
    engineStateChanged = Signal(str)
    notice = Signal(str, str)  # level, message
    # level, message, topic ("budget", or ""), and which one of the topic (a budget's key)
    noticeAbout = Signal(str, str, str, str)
    storeHealthChanged = Signal(str)  # what is wrong with the store, or "" when all is well
    jobStateChanged = Signal(str, str, str, str)  # job id, provider, state, principal
    # A running job became stuck (True) or no longer is (False); carries the JobStuckChanged
    # (idle time and limit). `engine.jobs.stuck_jobs()` lists the stuck ones at any time.
    jobStuckChanged = Signal(object)
    breakerChanged = Signal(str, str)  # provider, closed / open / half_open
    # A provider's health from its recent calls changed (provider, failing / degraded / ok /
    # unknown), the rebuild at start included: rare, a state's change, never one per call.
    providerHealthChanged = Signal(str, str)
    # One per finished request, carrying the RequestFinished event. Under load this fires
    # hundreds of times a second: connect only cheap slots, and redraw on a timer.
    requestFinished = Signal(object)
    # An attempt that failed had its request go on to another (carries the AttemptFailedOver):
    # what counted it as a request takes it out.
    attemptFailedOver = Signal(object)
    # An API host began, lengthened or ended a rest (no connection could be made to it): its
    # provider reads "Unreachable" while it lasts (`engine.providers.resting()`).
    restsChanged = Signal()
    # What can answer a call changed (`engine.answering.now()`); carries the Answering.
    answeringChanged = Signal(object)

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        # The rests last read: (provider, origin, failures in a row) of each host rested.
        self._rests: frozenset[tuple[str, str, int]] = frozenset()
        self._rest_over = QTimer(self)
        self._rest_over.setSingleShot(True)
        self._rest_over.timeout.connect(self.read_rests)
        bus = engine.events
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(
                ProviderToggled, lambda e: self.providerToggled.emit(e.provider, e.enabled)
            ),
            bus.subscribe(PauseChanged, lambda e: self.pauseChanged.emit(e.paused)),
            bus.subscribe(EngineStarted, lambda e: self.engineStateChanged.emit("running")),
            bus.subscribe(EngineStopped, lambda e: self.engineStateChanged.emit("stopped")),
            bus.subscribe(Notice, self._on_notice),
            bus.subscribe(
                StoreHealthChanged, lambda e: self.storeHealthChanged.emit(e.reason or "")
            ),
            bus.subscribe(
                JobStateChanged,
                lambda e: self.jobStateChanged.emit(e.job_id, e.provider, e.state, e.principal),
            ),
            bus.subscribe(JobStuckChanged, self.jobStuckChanged.emit),
            bus.subscribe(BreakerChanged, lambda e: self.breakerChanged.emit(e.provider, e.state)),
            bus.subscribe(
                ProviderHealthChanged,
                lambda e: self.providerHealthChanged.emit(e.provider, e.state),
            ),
            bus.subscribe(RequestFinished, self._on_finished, after=True),
            bus.subscribe(AttemptFailedOver, self.attemptFailedOver.emit, after=True),
            bus.subscribe(AnsweringChanged, lambda e: self.answeringChanged.emit(e.answering)),
        ]
        # Told while the engine started, before this listened: the desk tells them once its
        # widgets listen (`tell_unheard`). Taken as this subscribed, so none is told twice.
        self._unheard = engine.unheard_notices.take()

    def _on_finished(self, event: RequestFinished) -> None:
        self.requestFinished.emit(event)
        # Cheap whatever the flood: a completed row reads nothing while no host rests.
        if self._rests or event.state != RecordState.COMPLETED:
            self.read_rests()

    def read_rests(self) -> None:
        """Read which API hosts rest now; `restsChanged` when that changed, and a read again
        when the soonest rest is over."""
        hosts = self.engine.providers.resting()
        rests = frozenset((h.provider, h.origin, h.failures) for h in hosts)
        if hosts:
            soonest = min(h.seconds_left for h in hosts)
            self._rest_over.start(int(soonest * 1000) + REST_OVER_MARGIN_MS)
        else:
            self._rest_over.stop()
        if rests != self._rests:
            self._rests = rests
            self.restsChanged.emit()

    def tell_unheard(self) -> None:
        """Tell the notices the engine published before this listened (a hard budget found
        used up at start), now that the window and the tray listen."""
        unheard, self._unheard = self._unheard, []
        for notice in unheard:
            self._on_notice(notice)

    def _on_notice(self, event: Notice) -> None:
        # With its topic first: the notification history keeps the first of the two.
        self.noticeAbout.emit(event.level, event.message, event.topic, event.detail)
        self.notice.emit(event.level, event.message)

    def detach(self) -> None:
        """Stop listening to the engine (before the widgets go away)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._rest_over.stop()
