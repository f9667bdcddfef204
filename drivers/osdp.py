"""OSDP readers on RS-485, driven through libosdp's control panel (CP).

The agent is the bus's CP and the reader a peripheral device (PD) at an address. With
``scbk_file`` every exchange runs in OSDP's secure channel (AES-128, keyed per reader):
a PD that does not hold that key never comes online and nothing it sends is read.
libosdp polls the PD and gives up on one silent for about 5-10 seconds; then the
StreamingReader base reports the fault once, restarts the CP after its doubling pause,
and reports the reader restored when the PD is back online.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

import osdp_sys
import serial
from osdp import Capability, Command, Event, LibFlag, LogLevel, PDInfo
from osdp import CommandLEDColor as Led
from osdp import EventNotification as Notice
from osdp import StatusReportType as Report
from pydantic import Field, StrictBool, model_validator

from agent.errors import CardFormatError
from drivers.base import Condition, DriverContext, DriverOptions, Feedback
from drivers.osdp_cards import OsdpSignals, card_from_event, keys_from_event, read_scbk
from drivers.osdp_cards import ticks as osdp_ticks
from drivers.streaming import ReaderOptions, StreamingReader
from drivers.wiegand_format import DEFAULT_FORMATS, STANDARD_FORMATS, FormatSet
from drivers.wiegand_format import WiegandFormat as WiegandLayout

log = logging.getLogger(__name__)

REFRESH_S = 0.02  # libosdp asks for a refresh at least every 50 ms


class OsdpOptions(ReaderOptions):
    """``{ driver = "osdp", port = "/dev/ttyUSB0", address = 0, scbk_file = "/etc/..." }``."""

    port: str = Field(min_length=1)
    baud: Literal[9600, 19200, 38400, 57600, 115200, 230400] = 9600
    address: int = Field(0, ge=0, le=126)
    scbk_file: Path | None = None  # 32 hex digits; secure channel on when given
    # accept a factory-fresh PD once: open the channel with the default key, hand it
    # the key from scbk_file, reconnect with that. Turn it off when the reader is keyed.
    install_mode: StrictBool = False
    online_timeout_s: float = Field(5.0, gt=0, le=60)  # for the PD to come online
    formats: tuple[str, ...] = DEFAULT_FORMATS  # Wiegand layouts, as for driver "wiegand"
    custom_formats: tuple[WiegandLayout, ...] = ()
    reverse_uid: StrictBool = False  # for readers that send a UID least significant byte first
    signals: OsdpSignals = OsdpSignals()
    # libosdp's own log, on stderr; one setting for all OSDP readers of the process
    library_log: Literal["error", "warning", "info", "debug"] = "error"

    @model_validator(mode="after")
    def _check(self) -> OsdpOptions:
        if self.install_mode and self.scbk_file is None:
            raise ValueError("install_mode needs scbk_file: the key to give the reader")
        if self.scbk_file is not None and not self.scbk_file.is_absolute():
            raise ValueError("scbk_file must be an absolute path")
        unknown = [name for name in self.formats if name.upper() not in STANDARD_FORMATS]
        if unknown:
            raise ValueError(f"unknown formats {unknown}; choose from {sorted(STANDARD_FORMATS)}")
        self.format_set()
        return self

    def format_set(self) -> FormatSet:
        standard = [STANDARD_FORMATS[name.upper()] for name in self.formats]
        return FormatSet([*standard, *self.custom_formats])


class _SerialLink:
    """libosdp's channel over a serial port that can be swapped; failures never reach C."""

    def __init__(self) -> None:
        self.port: serial.Serial | None = None
        self.failure: Exception | None = None
        self.received = 0  # bytes read since the port was opened: did the PD say anything?

    def open(self, port: serial.Serial) -> None:
        self.port, self.failure, self.received = port, None, 0

    def close(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            with contextlib.suppress(Exception):  # the adapter may be gone already
                port.close()

    def read(self, max_bytes: int) -> bytes:
        data = bytes(self._guard("read", max_bytes) or b"")
        self.received += len(data)
        return data

    def write(self, data: bytes) -> int:
        return int(self._guard("write", data) or 0)

    def flush(self) -> None:
        self._guard("reset_input_buffer")

    def _guard(self, method: str, *args: Any) -> Any:
        # an exception left behind here would surface later inside libosdp's C code;
        # a gone adapter raises SerialException, OSError or termios.error
        try:
            return getattr(self.port, method)(*args)
        except Exception as exc:
            self.failure = self.failure or exc
            return None


class OsdpReader(StreamingReader):
    """One OSDP PD on its own serial port; cards, keypad, tamper, power, LED and buzzer."""

    Options: ClassVar[type[ReaderOptions]] = OsdpOptions

    def __init__(self, name: str, options: DriverOptions, context: DriverContext) -> None:
        assert isinstance(options, OsdpOptions)
        super().__init__(name, options, context)
        self.osdp_options = options
        self.secure = options.scbk_file is not None
        self._formats = options.format_set()
        self._cp: Any = None  # one libosdp CP for the reader's life, restarted to reconnect
        self._cp_key: bytes | None = None
        self._link = _SerialLink()
        self._shows: queue.SimpleQueue[Feedback] = queue.SimpleQueue()
        self._can = {"led": False, "buzzer": False}
        self._active = {Condition.TAMPER: False, Condition.POWER: False}
        self._gave_up = False  # libosdp took the PD offline during a connect
        self._who = f"PD {options.address} on {options.port}"

    def feedback(self, result: Feedback) -> None:
        super().feedback(result)  # GPIO lines, if any are configured as well
        if self.connected:
            self._shows.put(result)  # sent by the reader's thread: never waits here

    # -- the reader's thread -------------------------------------------------------
    def _connect(self) -> None:
        opts = self.osdp_options
        key = read_scbk(opts.scbk_file) if opts.scbk_file else None
        osdp_sys.set_loglevel(getattr(LogLevel, opts.library_log.capitalize()))
        # a write that cannot finish (adapter hung) fails the link instead of blocking
        port = serial.Serial(opts.port, opts.baud, timeout=0, write_timeout=1, exclusive=True)
        self._link.open(port)
        try:
            self._start_cp(key)
            self._await_online()
        except BaseException:
            self._disconnect()  # the base calls _disconnect only after a connect succeeded
            raise
        self._can = {
            "led": self._cp.check_capability(0, Capability.LEDControl)[0] > 0,
            "buzzer": self._cp.check_capability(0, Capability.AudibleControl)[0] > 0,
        }
        while not self._shows.empty():  # what was shown while it was away is stale
            self._shows.get_nowait()
        if not self.secure:
            log.warning("reader %s: OSDP without secure channel (no scbk_file)", self.name)
        elif opts.install_mode:  # a PD without a key is given ours, over a key anyone knows
            log.warning("reader %s: set install_mode = false now that it is keyed", self.name)

    def _start_cp(self, key: bytes | None) -> None:
        # libosdp's binding leaks ~120 bytes per ControlPanel built, and a dead reader is
        # retried for as long as the agent runs: build one, then restart it
        if self._cp is not None and key == self._cp_key:
            self._cp.flush_commands(0)  # LED commands from before the loss are stale
            self._cp.disable_pd(0)  # libosdp's hot-plug pair: back to its first state
            deadline = time.monotonic() + self.osdp_options.online_timeout_s
            while self._cp.is_pd_enabled(0) and time.monotonic() < deadline:
                self._refresh()
                time.sleep(REFRESH_S)
            self._cp.enable_pd(0)
        else:
            opts = self.osdp_options
            flags = [LibFlag.EnableNotification]
            if key is not None:
                # install mode must let libosdp fall back to the default key; otherwise a
                # PD without our key is refused outright (ENFORCE_SECURE)
                flags.append(LibFlag.InstallMode if opts.install_mode else LibFlag.EnforceSecure)
            info = PDInfo(opts.address, self._link, scbk=key, name=self.name[:15], flags=flags)
            self._cp = osdp_sys.ControlPanel([{**info.get(), "baud_rate": opts.baud}])
            self._cp.set_event_callback(self._on_event)
            self._cp_key = key
        self._gave_up = False

    def _await_online(self) -> None:
        assert self._threads is not None
        stopping = self._threads.stopping
        deadline = time.monotonic() + self.osdp_options.online_timeout_s
        while not stopping.is_set():
            self._refresh()
            if self._cp.status() & 1:
                if self.secure and not self._cp.sc_status() & 1:
                    raise ConnectionError(f"{self._who} refused the secure channel (wrong key)")
                return
            if self._gave_up and self.secure:  # it got as far as the secure channel
                raise ConnectionError(f"{self._who} refused the secure channel (wrong key?)")
            if self._gave_up or time.monotonic() >= deadline:
                heard = "did not come online" if self._link.received else "did not answer"
                raise ConnectionError(f"{self._who} {heard} (wiring, address, baud?)")
            stopping.wait(REFRESH_S)
        # returning would report the reader connected; while it retries (already faulted)
        # the base reports nothing for this
        raise ConnectionError(f"{self._who}: stopped before it came online")

    def _serve(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            self._refresh()
            self._send_shows()
            if not self._cp.status() & 1:
                raise ConnectionError(f"{self._who} stopped answering")
            if self.secure and not self._cp.sc_status() & 1:
                raise ConnectionError(f"{self._who}: secure channel lost")
            stopping.wait(REFRESH_S)

    def _disconnect(self) -> None:
        self._link.close()

    def _refresh(self) -> None:
        self._cp.refresh()
        if self._link.failure is not None:
            raise ConnectionError(f"serial port failed: {self._link.failure}")

    # -- what the PD reports (called inside refresh, on the reader's thread) -------
    def _on_event(self, _pd: int, event: dict[str, Any]) -> int:
        try:
            self._handle(event.get("event"), event)
        except Exception:  # an exception must not unwind through libosdp's C code
            log.exception("reader %s: OSDP event handling failed", self.name)
        return 0

    def _handle(self, kind: object, event: dict[str, Any]) -> None:
        if kind == Event.Notification:  # libosdp's own news; "PD offline" ends a connect
            offline = event.get("type") == Notice.PeripheralDeviceStatus and not event.get("arg0")
            self._gave_up = self._gave_up or offline
        elif self.secure and not self._cp.sc_status() & 1:
            log.warning("reader %s: dropped an event sent outside the secure channel", self.name)
        elif kind == Event.CardRead:
            try:
                card = card_from_event(event, self._formats, self.osdp_options.reverse_uid)
            except CardFormatError as exc:
                self._frame_error(str(exc))
            else:
                self._seen(card)
        elif kind == Event.KeyPress:
            keys = keys_from_event(bytes(event.get("data", b"")))
            if keys and self._hooks is not None and self._hooks.keypad is not None:
                self._hooks.keypad(keys)
        elif kind == Event.Status:
            self._status(event.get("type"), bytes(event.get("report", b"")))

    def _status(self, kind: object, report: bytes) -> None:
        if kind != Report.Local or len(report) < 2:
            return  # input, output and remote-reader reports are not the gate's business
        for condition, active in zip(self._active, (report[0] != 0, report[1] != 0), strict=True):
            if active != self._active[condition]:
                self._active[condition] = active
                detail = f"reader reports {condition.value} {'fault' if active else 'normal'}"
                self._condition(condition, active, detail)

    # -- LED and buzzer -------------------------------------------------------------
    def _send_shows(self) -> None:
        while not self._shows.empty():
            for command in self._commands(self._shows.get_nowait()):
                if not self._cp.submit_command(0, command):
                    log.warning("reader %s: libosdp refused an LED/buzzer command", self.name)

    def _commands(self, result: Feedback) -> list[dict[str, Any]]:
        # a PD NAKs a command it has no hardware for, and libosdp then takes it offline:
        # send only what the PD said it can do
        s, grant = self.osdp_options.signals, result is Feedback.GRANT
        colour = getattr(Led, (s.grant_colour if grant else s.deny_colour).capitalize())
        ticks = osdp_ticks(s.grant_s if grant else s.deny_s)
        beep = osdp_ticks(s.grant_beep_s if grant else s.deny_beep_s)
        # fmt: off
        led = dict(command=Command.LED, reader=0, led_number=0, temporary=True, control_code=2,
                   on_count=ticks, off_count=0, on_color=colour, off_color=colour,
                   timer_count=ticks)
        buzzer = dict(command=Command.Buzzer, reader=0, control_code=2,  # 2: default tone
                      on_count=beep, off_count=0, rep_count=1)
        # fmt: on
        return ([led] if self._can["led"] else []) + (
            [buzzer] if self._can["buzzer"] and beep else []
        )
