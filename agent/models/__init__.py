"""The one pydantic model package: configuration and every wire payload."""

from agent.models.config import GateConfig, load_config, validate_config

__all__ = ["GateConfig", "load_config", "validate_config"]
