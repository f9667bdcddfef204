"""The workplace's number settings from the environment: any text is a number or one line
naming the variable, never a ValueError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import ConfigError
from agent.office.web.command_flags import env_number


@given(text=st.text(max_size=30), whole=st.booleans())
def test_any_text_is_a_number_or_one_line_naming_the_variable(text: str, whole: bool) -> None:
    kind: type[int] | type[float] = int if whole else float
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GATE_OFFICE_WEB_PROBE", text.replace("\0", ""))
        try:
            value = env_number("PROBE", "1", kind)
        except ConfigError as exc:
            said = str(exc)
            assert said.startswith("GATE_OFFICE_WEB_PROBE=") and "\n" not in said
        else:
            assert isinstance(value, kind)
