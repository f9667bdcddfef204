"""``build_app``: a gate from its config, stores and devices opened in the safe order."""

from __future__ import annotations

from agent.core.clock import Clock, SystemClock
from agent.gate.app import App
from agent.gate.build import build_hardware, open_stores
from agent.gate.systemd import Notifier
from agent.models.config import GateConfig
from agent.store.credentials import CredentialHasher
from agent.store.keyfiles import check_secret_files, secure_site
from drivers.base import DriverContext


def build_app(
    config: GateConfig,
    *,
    clock: Clock | None = None,
    pin_factory: object | None = None,
    notifier: Notifier | None = None,
    base_config: GateConfig | None = None,
    config_revision: int = 0,
) -> App:
    """Open a gate's stores (under its instance lock) and devices (relays locked first)."""
    clock = clock or SystemClock(config.clock.sync_marker or None)
    check_secret_files(config)  # the same checks as check-config: missing, exposed, demo
    hasher = CredentialHasher.from_file(
        config.security.credential_key_file, config.security.prox_bits
    )
    stores = open_stores(config, clock)
    try:
        context = DriverContext(clock, pin_factory, secure_site(config))
        hardware = build_hardware(config, context)
    except BaseException:
        stores.close()
        raise
    return App(
        config,
        stores=stores,
        hardware=hardware,
        hasher=hasher,
        clock=clock,
        notifier=notifier,
        base_config=base_config,
        config_revision=config_revision,
    )
