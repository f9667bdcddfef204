"""The barrier's pure state machine: the arm never comes down on a vehicle, whatever the
order of loops, timers, grants, faults and releases; tailgates are counted."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from agent.core.barrier import (
    Action,
    Barrier,
    Move,
    Notice,
    Phase,
    StartTimer,
    TimerName,
    Timings,
)


class Rig:
    """A barrier with its world: the arm as commanded, the timers it started."""

    def __init__(self) -> None:
        self.b = Barrier(Timings(max_raise_s=30, close_delay_s=1.5, stuck_s=900))
        self.arm_up = False
        self.timers: dict[TimerName, int] = {}  # the newest token started per timer
        self.old_tokens: list[tuple[TimerName, int]] = []
        self.notices: list[Notice] = []

    def do(self, actions: list[Action]) -> list[Action]:
        for action in actions:
            if isinstance(action, Move):
                if not action.up:  # the one safety rule, checked at the moment of the command
                    assert not self.b.present, "arm commanded down on a vehicle"
                    assert not self.b.fault, "arm commanded down on a faulty loop"
                    assert not self.b.held, "arm commanded down during a release"
                self.arm_up = action.up
            elif isinstance(action, StartTimer):
                if action.name in self.timers:
                    self.old_tokens.append((action.name, self.timers[action.name]))
                self.timers[action.name] = action.token
            else:
                self.notices.append(action)
        assert self.arm_up == self.b.up
        return actions

    def fire(self, name: TimerName = TimerName.ARM) -> list[Action]:
        token = self.timers.pop(name, None)
        return [] if token is None else self.do(self.b.timer(name, token))

    def kinds(self) -> list[str]:
        return [n.kind for n in self.notices]


def test_one_vehicle_through() -> None:
    r = Rig()
    assert r.do(r.b.grant())[0] == Move(True)
    r.do(r.b.safety_loop(True))
    assert r.b.phase is Phase.OCCUPIED
    r.do(r.b.safety_loop(False))
    assert r.b.phase is Phase.CLOSING
    assert r.fire() == [Move(False)] and not r.kinds()


def test_no_vehicle_comes_then_it_lowers() -> None:
    r = Rig()
    r.do(r.b.grant())
    assert r.b.phase is Phase.WAITING
    assert r.fire() == [Move(False)]


def test_second_car_on_one_raise_is_a_tailgate() -> None:
    r = Rig()
    r.do(r.b.grant())
    for _ in range(2):
        r.do(r.b.safety_loop(True))
        r.do(r.b.safety_loop(False))
    assert r.kinds() == ["vehicle_tailgate"]
    assert r.notices[0].details == {"vehicles": 2, "allowed": 1}
    assert r.b.tailgates == 1


def test_two_grants_let_two_cars_through_without_a_tailgate() -> None:
    r = Rig()
    r.do(r.b.grant())
    r.do(r.b.safety_loop(True))
    r.do(r.b.grant())  # the second car's read while the first is under the arm
    r.do(r.b.safety_loop(False))
    assert r.b.phase is Phase.WAITING  # waiting for the second, not closing
    r.do(r.b.safety_loop(True))
    r.do(r.b.safety_loop(False))
    assert r.kinds() == [] and r.fire() == [Move(False)]


def test_timer_firing_with_a_vehicle_under_the_arm_does_nothing() -> None:
    r = Rig()
    r.do(r.b.grant())
    token = r.timers[TimerName.ARM]
    r.do(r.b.safety_loop(True))
    assert r.do(r.b.timer(TimerName.ARM, token)) == []  # stale, and a vehicle is there
    assert r.b.up


def test_loop_fault_keeps_the_arm_up_and_alarms() -> None:
    r = Rig()
    r.do(r.b.grant())
    r.do(r.b.detector(True))
    assert r.fire() == [] and r.do(r.b.lower()) == [] and r.b.up
    r.do(r.b.detector(False))
    assert r.kinds() == ["barrier_loop_fault", "barrier_loop_restored"]
    assert r.fire() == [Move(False)]


def test_presence_for_too_long_is_reported_as_a_fault() -> None:
    r = Rig()
    r.do(r.b.grant())
    r.do(r.b.safety_loop(True))
    r.fire(TimerName.STUCK)
    assert r.kinds() == ["barrier_loop_fault"] and r.b.fault and r.b.up
    r.do(r.b.safety_loop(False))
    assert r.kinds()[-1] == "barrier_loop_restored" and not r.b.fault
    assert r.fire() == [Move(False)]


def test_release_raises_and_holds_then_closes_after_the_vehicle() -> None:
    r = Rig()
    assert r.do(r.b.hold(True)) == [Move(True)]
    assert r.do(r.b.grant()) == [] and r.do(r.b.lower()) == []
    r.do(r.b.safety_loop(True))
    r.do(r.b.safety_loop(False))
    r.do(r.b.safety_loop(True))
    r.do(r.b.safety_loop(False))
    assert r.kinds() == []  # everyone leaves in a fire: no tailgates counted
    r.do(r.b.safety_loop(True))
    r.do(r.b.hold(False))
    assert r.fire() == [] and r.b.up  # the vehicle under it keeps it up
    r.do(r.b.safety_loop(False))
    assert r.fire() == [Move(False)]


# every ordering of the events of two vehicles on one raise, the timers and a second grant
EVENTS: dict[str, Callable[[Rig], object]] = {
    "grant": lambda r: r.do(r.b.grant()),
    "on1": lambda r: r.do(r.b.safety_loop(True)),
    "off1": lambda r: r.do(r.b.safety_loop(False)),
    "timer": lambda r: r.fire(),
    "grant2": lambda r: r.do(r.b.grant()),
    "on2": lambda r: r.do(r.b.safety_loop(True)),
    "off2": lambda r: r.do(r.b.safety_loop(False)),
}


@pytest.mark.parametrize("first", list(EVENTS))
def test_every_ordering_of_loop_timer_and_a_second_vehicle(first: str) -> None:
    rest = [e for e in EVENTS if e != first]
    for order in itertools.permutations(rest):
        r = Rig()
        for name in (first, *order):
            EVENTS[name](r)  # Rig.do asserts the safety rule at every command
        # and once the road is clear, the timers bring it down
        r.do(r.b.safety_loop(False))
        r.fire()
        assert not r.b.up or r.b.present


class BarrierMachine(RuleBasedStateMachine):
    """Any interleaving of everything that can happen to a barrier."""

    def __init__(self) -> None:
        super().__init__()
        self.r = Rig()

    @rule()
    def grant(self) -> None:
        self.r.do(self.r.b.grant())

    @rule(present=st.booleans())
    def safety_loop(self, present: bool) -> None:
        self.r.do(self.r.b.safety_loop(present))

    @rule(present=st.booleans())
    def arming_loop(self, present: bool) -> None:
        self.r.do(self.r.b.arming_loop(present))

    @rule(faulty=st.booleans())
    def detector(self, faulty: bool) -> None:
        self.r.do(self.r.b.detector(faulty))

    @rule(on=st.booleans())
    def hold(self, on: bool) -> None:
        self.r.do(self.r.b.hold(on))

    @rule(name=st.sampled_from(TimerName))
    def timer_fires(self, name: TimerName) -> None:
        self.r.fire(name)

    @rule(data=st.data())
    def stale_timer_fires(self, data: st.DataObject) -> None:
        if self.r.old_tokens:
            name, token = data.draw(st.sampled_from(self.r.old_tokens))
            self.r.do(self.r.b.timer(name, token))

    @rule()
    def crash_path_lowers(self) -> None:
        self.r.do(self.r.b.lower())

    @invariant()
    def up_while_a_vehicle_is_under_a_raised_arm(self) -> None:
        b = self.r.b
        assert b.phase is not Phase.DOWN or not b.up
        if b.up and b.present:
            assert b.phase in (Phase.OCCUPIED, Phase.HELD)

    def teardown(self) -> None:
        # clear road, no fault, no release: the arm must come down by its timers
        r = self.r
        for step in (r.b.hold(False), r.b.detector(False), r.b.safety_loop(False)):
            r.do(step)
        r.fire()
        assert not r.b.up


BarrierMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40,
                                            deadline=None)  # fmt: skip
test_barrier_machine = BarrierMachine.TestCase
