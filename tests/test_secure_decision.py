"""Secure credentials in the pure decision engine (issue 20): proofs and policies."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.core.decision import AllowEntry, DecisionContext, GateMode, Reason, decide
from agent.core.kinds import HolderKind
from agent.core.secure import (
    GENUINE,
    AlarmLimiter,
    CredentialPolicy,
    ProofFacts,
    replayed,
    stricter,
)

NOW = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
POLICIES = [p.value for p in CredentialPolicy]
VERDICTS = [GENUINE, "card_not_genuine", "card_torn", "relay_suspected", "something_else"]


def entry(policy: str = "plain", **kw: object) -> AllowEntry:
    return AllowEntry("c" * 64, "R-1", HolderKind.RESIDENT, credential_policy=policy, **kw)  # type: ignore[arg-type]


def ctx(proof: ProofFacts | None = None, door: str = "plain", **kw: object) -> DecisionContext:
    return DecisionContext("main", NOW, NOW, proof=proof, door_policy=door, **kw)  # type: ignore[arg-type]


GOOD = ProofFacts(GENUINE)


@pytest.mark.parametrize(
    ("verdict", "reason"),
    [
        ("card_not_genuine", Reason.CARD_NOT_GENUINE),
        ("card_torn", Reason.CARD_TORN),
        ("relay_suspected", Reason.RELAY_SUSPECTED),
        ("made_up_by_a_reader", Reason.CARD_NOT_GENUINE),  # fails closed
    ],
)
def test_a_failed_proof_is_denied_with_its_verdict(verdict: str, reason: Reason) -> None:
    decision = decide(entry(), ctx(ProofFacts(verdict)))
    assert not decision.granted
    assert decision.reason is reason


def test_a_clone_is_refused_even_when_the_doors_are_released() -> None:
    decision = decide(entry(), ctx(ProofFacts("card_not_genuine"), mode=GateMode.RELEASE))
    assert not decision.granted
    assert decision.reason is Reason.CARD_NOT_GENUINE


def test_plain_card_at_a_secure_door_or_for_a_secure_holder() -> None:
    assert decide(entry(), ctx(door="secure")).reason is Reason.SECURE_CARD_REQUIRED
    assert decide(entry("secure"), ctx()).reason is Reason.SECURE_CARD_REQUIRED
    assert decide(entry("secure"), ctx(GOOD)).granted
    assert decide(entry(), ctx(GOOD, door="secure")).granted


def test_secure_preferred_admits_plain_cards() -> None:
    assert decide(entry(), ctx(door="secure_preferred")).granted
    assert decide(entry("secure_preferred"), ctx()).granted


def test_an_unknown_card_stays_unknown_under_a_secure_door() -> None:
    assert decide(None, ctx(door="secure")).reason is Reason.UNKNOWN


def test_replayed_counter_and_foreign_chip() -> None:
    assert decide(entry(), ctx(ProofFacts(GENUINE, replayed=True))).reason is Reason.REPLAYED_CARD
    not_nxp = ProofFacts(GENUINE, not_nxp=True)
    assert decide(entry(), ctx(not_nxp)).reason is Reason.CARD_NOT_NXP
    assert decide(entry(), ctx(ProofFacts(GENUINE, not_nxp=True, deny_not_nxp=False))).granted


def test_counters_must_move_strictly_forward() -> None:
    assert replayed(5, 5)
    assert replayed(4, 5)
    assert not replayed(6, 5)
    assert not replayed(0, None)  # the first counter seen
    assert not replayed(None, 5)  # DESFire: no counter


def test_the_stricter_policy_applies() -> None:
    assert stricter("plain", "secure") is CredentialPolicy.SECURE
    assert stricter("secure_preferred", "plain") is CredentialPolicy.SECURE_PREFERRED
    assert stricter("secure", "secure_preferred") is CredentialPolicy.SECURE


def test_clone_alarms_are_limited_per_reader_and_counted() -> None:
    limiter = AlarmLimiter(every_s=60)
    assert limiter.allow("r1", 0.0) == 0
    assert limiter.allow("r1", 10.0) is None
    assert limiter.allow("r1", 20.0) is None
    assert limiter.allow("r2", 20.0) == 0  # another reader has its own minute
    assert limiter.allow("r1", 60.0) == 2  # the next says how many were held back
    assert limiter.allow("r1", 61.0) is None


proofs = st.one_of(
    st.none(),
    st.builds(
        ProofFacts,
        verdict=st.sampled_from(VERDICTS),
        replayed=st.booleans(),
        not_nxp=st.booleans(),
        deny_not_nxp=st.booleans(),
    ),
)


@given(
    proof=proofs,
    holder=st.sampled_from(POLICIES),
    door=st.sampled_from(POLICIES),
    mode=st.sampled_from(list(GateMode)),
    known=st.booleans(),
)
def test_policies_times_proofs(
    proof: ProofFacts | None, holder: str, door: str, mode: GateMode, known: bool
) -> None:
    decision = decide(entry(holder) if known else None, ctx(proof, door, mode=mode))
    if proof is not None and not proof.genuine:
        assert not decision.granted  # a non-genuine proof is never granted
    if proof is not None and proof.replayed:
        assert not decision.granted
    if proof is None and "secure" in (holder, door) and mode is not GateMode.RELEASE:
        assert not decision.granted  # plain under secure: never, but in a fire release
    if proof is None and mode is GateMode.NORMAL and known and "secure" not in (holder, door):
        assert decision.granted  # plain and secure_preferred admit a number
    clean = proof is not None and proof.genuine and not proof.replayed and not proof.not_nxp
    if clean and mode is GateMode.NORMAL and known:
        assert decision.granted  # a genuine card passes every policy
