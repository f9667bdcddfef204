"""The App's parts around the read path that know who is inside and who typed what.

Built once the reads, the reader monitor and the passes exist: card plus PIN (keys from
the readers' keypads, checked off the loop), occupancy (counts, capacity, forgiving)
and the merge of the moves other gates made, relayed by the office.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from agent.core.clock import Clock
from agent.core.loop import CoreLoop
from agent.gate.journal import Journal
from agent.gate.occupancy import OccupancyDesk
from agent.gate.passes import PassDesk
from agent.gate.pin_entry import PinDesk, PinVerifier
from agent.gate.presence_merge import PresenceMerge
from agent.gate.readers import ReaderMonitor
from agent.gate.reads import ReadHandler
from agent.models.config import GateConfig


class Attachments:
    """A mixin of the App: builds and holds the parts named in the module's docstring."""

    loop: CoreLoop
    clock: Clock
    journal: Journal
    reads: ReadHandler
    monitor: ReaderMonitor
    passes: PassDesk
    pins: PinDesk
    occupancy: OccupancyDesk
    presence_merge: PresenceMerge
    # the plate receiver's counts by reason (``agent.console.anpr`` sets it when serving)
    plate_counts: Callable[[], dict[str, dict[str, int]]] | None

    def _attach(self, config: GateConfig, reader_door: Mapping[str, str]) -> None:
        doors = dict(reader_door)
        self.plate_counts = None
        self.pins = PinDesk(config, loop=self.loop, clock=self.clock, emit=self.journal.emit,
                            reader_door=doors, verifier=PinVerifier(self.loop))  # fmt: skip
        self.reads.pins, self.pins.decide = self.pins, self.reads.handle_all
        self.monitor.on_keys = self.pins.keys
        keeper = self.reads.presence
        self.occupancy = OccupancyDesk(config, clock=self.clock, loop=self.loop,
                                       journal=self.journal, keeper=keeper,
                                       reader_door=doors)  # fmt: skip
        self.passes.area_full = self.occupancy.refuses_pass  # visitors' passes, when full
        self.reads.plates.passes = self.passes  # a pass carrying a car plate
        self.presence_merge = PresenceMerge(self.loop, self.journal, keeper)

    def _reconfigure_attached(self, config: GateConfig) -> None:
        self.pins.reconfigure(config)
        self.occupancy.reconfigure(config)
