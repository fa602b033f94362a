# Copyright 2026 Krabby parkour maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""The control step's safety state machine, with scripted collaborators."""

from dataclasses import dataclass
import logging

import numpy as np
import pytest

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.control.config import ControlConfig, ControlConfigError
from krabby_parkour_ros.control.step import ControlMode, ControlStep, ShadowModeError
from krabby_parkour_ros.hal.messages import HalObservation
from krabby_parkour_ros.mapping.action import ActionMapper, ActionMapperConfig, MappingRefusal
from krabby_parkour_ros.mapping.joint_map import JointMap
from krabby_parkour_ros.mapping.navigation import NavigationCommand, NavigationLimits

from ..mapping.wire import captured_logs, scrambled_map_dict

MS = 1_000_000
DEFAULT = np.linspace(-0.5, 0.5, 18).astype(np.float32)


class FakeClock:
    """A settable monotonic clock in nanoseconds."""

    def __init__(self) -> None:
        self.now = 1_000 * MS

    def __call__(self) -> int:
        return self.now


class Sink:
    """Records every command sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[np.ndarray, int]] = []

    def put_joint_command(self, joint_positions: np.ndarray, observation_timestamp_ns: int):
        self.sent.append((np.array(joint_positions), observation_timestamp_ns))


class Builder:
    """Counts builds; can be told to fail."""

    def __init__(self) -> None:
        self.builds = 0
        self.resets = 0
        self.recorded: list[np.ndarray] = []
        self.fail: str | None = None
        self.base_velocity_measured = True
        self.substitutions = set()
        self.commands: list[NavigationCommand] = []

    def build(self, observation, command):
        if self.fail:
            raise ValueError(self.fail)
        self.builds += 1
        self.commands.append(command)
        return np.full(753, float(self.builds), dtype=np.float32)

    def record_action(self, action):
        self.recorded.append(np.array(action))

    def reset(self):
        self.resets += 1


@dataclass
class Response:
    action: np.ndarray
    success: bool = True
    error_message: str = ''

    def action_numpy(self):
        return self.action


class Model:
    """Returns a fixed action, or fails on demand."""

    needs_depth = False

    def __init__(self) -> None:
        self.calls = 0
        self.resets = 0
        self.fail = False

    def inference(self, model_io):
        self.calls += 1
        assert model_io.observation.shape == (753,)
        if self.fail:
            return Response(np.zeros(12, np.float32), success=False, error_message='boom')
        return Response(np.full(12, 0.1 * self.calls, dtype=np.float32))

    def reset(self):
        self.resets += 1


@dataclass
class Mapped:
    command: np.ndarray | None
    clipped_action: np.ndarray
    raw_action: np.ndarray
    refusal: MappingRefusal | None = None
    detail: str = ''
    limited: bool = False


def _wide_map() -> JointMap:
    data = scrambled_map_dict()
    data['hardware']['target_lower'] = [-10.0] * 18
    data['hardware']['target_upper'] = [10.0] * 18
    return JointMap.from_dict(data)


#: Wide limits (+-10 rad) so the scripted commands never touch them.
JOINT_MAP = _wide_map()


class Mapper:
    """Command = default + sum(action) so each policy step is recognisable."""

    def __init__(self) -> None:
        self.resets = 0
        #: The previous command the step passed with each map() call.
        self.previous: list[np.ndarray] = []
        self.poison = False
        self.joint_map = JOINT_MAP

    def default_command(self):
        return DEFAULT.copy()

    def map(self, raw, previous_command):  # noqa: A003 - the ActionMapper API
        self.previous.append(np.array(previous_command))
        if self.poison:
            return Mapped(
                None,
                raw,
                raw,
                refusal=MappingRefusal.NON_FINITE_ACTION,
                detail="raw action non-finite at ['FL_hip']",
            )
        return Mapped(DEFAULT + float(np.sum(raw)), np.clip(raw, -0.15, 0.15), raw)

    def reset(self):
        self.resets += 1


def observation(clock: FakeClock, stamp: int, pose: float = 0.0) -> HalObservation:
    z = np.zeros((2, 2), np.float32)
    return HalObservation(
        timestamp_ns=stamp,
        joint_positions=np.full(18, pose, np.float32),
        rgb_camera_1=np.zeros((2, 2, 3), np.uint8),
        rgb_camera_2=np.zeros((2, 2, 3), np.uint8),
        depth_map=z,
        confidence_map=z,
        receive_time_ns=clock.now,
    )


#: The control settings of the rigs: short ramps and timeouts, fast tests.
RIG_CONFIG = ControlConfig(
    control_rate=100.0,
    policy_decimation=2,
    stale_timeout=0.05,
    soft_start_duration=0.1,
    recovery_ramp_duration=0.04,
    max_consecutive_failures=3,
    command_timeout=0.2,
)


@pytest.fixture
def rig():
    clock = FakeClock()
    sink, builder, model, mapper = Sink(), Builder(), Model(), Mapper()
    config = RIG_CONFIG
    step = ControlStep(
        sink,
        builder,
        mapper,
        model,
        config,
        NavigationLimits(vx=(0.0, 1.0), vy=(0.0, 0.0), yaw_rate=(-1.0, 1.0)),
        clock=clock,
    )
    return clock, sink, builder, model, mapper, step


def advance(
    clock: FakeClock, step: ControlStep, ticks: int, pose: float = 0.0, fresh: bool = True
):
    results = []
    for _ in range(ticks):
        clock.now += 10 * MS
        obs = observation(clock, clock.now, pose) if fresh else None
        results.append(step.tick(obs))
    return results


def run_to_policy(clock, step, pose=0.0):
    step.activate()
    advance(clock, step, 11, pose)  # 1 tick to start the ramp + 10 ticks of 0.1 s
    assert step.mode == ControlMode.RUNNING


def test_config_validation_names_the_field():
    with pytest.raises(ControlConfigError, match='policy_decimation'):
        ControlConfig(policy_decimation=0)
    with pytest.raises(ControlConfigError, match='stale_timeout'):
        ControlConfig(control_rate=10.0, stale_timeout=0.05)


def test_nothing_is_sent_before_activation_or_first_observation(rig):
    clock, sink, builder, model, mapper, step = rig
    step.activate()
    advance(clock, step, 3, fresh=False)
    assert sink.sent == [] and step.mode == ControlMode.WAITING
    step.deactivate()
    advance(clock, step, 3)
    assert sink.sent == [] and step.mode == ControlMode.WAITING


def test_soft_start_ramps_from_measured_pose_to_default_with_smoothstep(rig):
    clock, sink, builder, model, mapper, step = rig
    step.activate()
    results = advance(clock, step, 12, pose=1.0)
    # tick 0 starts the ramp at the measured pose (alpha 0), then alpha = k/10.
    for k, result in enumerate(results[:10]):
        alpha = k / 10.0
        smooth = alpha * alpha * (3 - 2 * alpha)
        expected = 1.0 + (DEFAULT - 1.0) * smooth
        np.testing.assert_allclose(sink.sent[k][0], expected, atol=1e-6)
        assert result.mode == ControlMode.SOFT_START
    # alpha reaches 1: the default pose, and the policy state is reset.
    np.testing.assert_allclose(sink.sent[10][0], DEFAULT, atol=1e-7)
    assert step.mode == ControlMode.RUNNING
    assert builder.resets == 1 and model.resets == 1 and mapper.resets == 1
    assert model.calls == 1 and results[11].policy_ran
    # The first policy step is rate limited from the ramp's end (the step's
    # last command), the next from the policy command sent before it.
    np.testing.assert_array_equal(mapper.previous[0], DEFAULT)
    advance(clock, step, 2)
    np.testing.assert_array_equal(mapper.previous[1], results[11].command)


def test_policy_runs_every_decimation_ticks_and_a_command_goes_out_every_tick(rig):
    clock, sink, builder, model, mapper, step = rig
    run_to_policy(clock, step)
    sent_before = len(sink.sent)
    results = advance(clock, step, 8)
    assert [r.policy_ran for r in results] == [True, False] * 4
    assert len(sink.sent) == sent_before + 8
    # Non-policy ticks repeat the last policy command, answering the newest obs.
    for a, b in zip(results[0::2], results[1::2]):
        np.testing.assert_array_equal(a.command, b.command)
    assert sink.sent[-1][1] == clock.now
    # The applied (clipped) action is fed back to the builder.
    assert len(builder.recorded) == model.calls


def test_stale_data_holds_last_target_then_ramps_back(rig):
    clock, sink, builder, model, mapper, step = rig
    run_to_policy(clock, step)
    advance(clock, step, 4)
    calls = model.calls
    results = advance(clock, step, 10, fresh=False)  # 100 ms without data
    stale = [r for r in results if r.mode == ControlMode.HOLD_STALE]
    held = results[results.index(stale[0]) - 1].command.copy()
    assert stale, 'never went stale'
    assert not any(r.policy_ran for r in stale), 'the policy ran on stale data'
    # Without a new observation the policy never runs (it is deferred).
    assert model.calls == calls
    assert step.counters['policy_deferred'] >= 1
    for command, _ in sink.sent[-len(stale) :]:
        np.testing.assert_array_equal(command, held)
    assert step.counters['stale_events'] == 1
    # A short outage (mid-gait): the policy resumes at once with its state.
    resets = builder.resets
    results = advance(clock, step, 2)
    assert [r.mode for r in results] == [ControlMode.RUNNING] * 2
    assert builder.resets == resets and step.counters['stale_resumes'] == 1
    # A long outage (> stale_resume_window): a ramp from the held target
    # (continuous), then the policy with a fresh history.
    results = advance(clock, step, 70, fresh=False)
    held = results[-1].command.copy()
    results = advance(clock, step, 1)
    assert results[0].mode == ControlMode.SOFT_START
    np.testing.assert_allclose(sink.sent[-1][0], held, atol=1e-6)
    advance(clock, step, 6)
    assert step.mode == ControlMode.RUNNING and builder.resets == resets + 1


def test_hold_and_release(rig):
    clock, sink, builder, model, mapper, step = rig
    run_to_policy(clock, step)
    advance(clock, step, 3)
    step.hold()
    held = sink.sent[-1][0].copy()
    calls = model.calls
    results = advance(clock, step, 6)
    assert all(r.mode == ControlMode.HOLD_USER for r in results)
    assert model.calls == calls
    for command, _ in sink.sent[-6:]:
        np.testing.assert_array_equal(command, held)
    step.release()
    advance(clock, step, 1)
    assert step.mode == ControlMode.SOFT_START
    advance(clock, step, 6)
    assert step.mode == ControlMode.RUNNING


def test_shadow_mode_computes_but_sends_nothing(rig):
    clock, sink, builder, model, mapper, step = rig
    step.set_shadow(True)
    run_to_policy(clock, step)
    results = advance(clock, step, 4)
    assert sink.sent == []
    assert any(r.policy_ran and r.command is not None for r in results)
    # Leaving shadow mode restarts from a ramp at the measured pose (no jump).
    step.set_shadow(False)
    advance(clock, step, 1, pose=0.25)
    assert step.mode == ControlMode.SOFT_START
    np.testing.assert_allclose(sink.sent[0][0], np.full(18, 0.25), atol=1e-6)


def test_entering_shadow_mode_while_active_is_refused_mid_gait(rig):
    # Issue #13 finding 10: shadow switched on mid-gait stopped the commands
    # and the robot fell. Now it is refused while active; the policy goes on.
    clock, sink, builder, model, mapper, step = rig
    run_to_policy(clock, step)
    sent = len(sink.sent)
    with pytest.raises(ShadowModeError, match='refused while active'):
        step.set_shadow(True)
    assert not step.shadow
    results = advance(clock, step, 4)
    assert len(sink.sent) == sent + 4 and all(r.sent for r in results)
    assert step.mode == ControlMode.RUNNING
    step.deactivate()
    step.set_shadow(True)  # allowed while inactive
    assert step.shadow


def test_mode_changes_are_logged_once_with_their_cause(rig):
    clock, sink, builder, model, mapper, step = rig
    logger = logging.getLogger('krabby_parkour_ros.control.step')
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with captured_logs('krabby_parkour_ros.control.step') as records:
            run_to_policy(clock, step)
            step.hold(cause='test')
            advance(clock, step, 3)
            step.release(cause='test')
    finally:
        logger.setLevel(level)
    messages = [r.getMessage() for r in records]
    assert 'mode waiting -> soft_start: soft start' in messages
    assert 'mode soft_start -> running: ramp done: the policy takes over' in messages
    assert messages.count('mode running -> hold_user: hold requested (test)') == 1
    assert 'hold requested (test) in mode running' in messages
    assert 'release requested (test) in mode hold_user' in messages
    assert 'mode hold_user -> soft_start: released (test)' in messages


def _stand_rig(rig):
    clock, sink, builder, model, mapper, _ = rig
    config = ControlConfig(
        control_rate=100.0,
        policy_decimation=2,
        stale_timeout=0.05,
        soft_start_duration=0.1,
        recovery_ramp_duration=0.04,
        command_timeout=5.0,
        stand_on_zero_command=True,
        stand_threshold=0.1,
        stand_hysteresis=0.05,
        stand_dwell=0.05,
        stand_ramp_duration=0.1,
    )
    step = ControlStep(
        sink,
        builder,
        mapper,
        model,
        config,
        NavigationLimits(vx=(0.0, 1.0), vy=(0.0, 0.0), yaw_rate=(-1.0, 1.0)),
        clock=clock,
    )
    return clock, sink, model, step


def test_zero_command_ramps_to_the_standing_pose_and_holds_it(rig):
    clock, sink, model, step = _stand_rig(rig)
    step.set_navigation_command(NavigationCommand(vx=0.5))
    run_to_policy(clock, step)
    advance(clock, step, 6)
    gait = sink.sent[-1][0].copy()
    assert not np.allclose(gait, DEFAULT)
    step.set_navigation_command(NavigationCommand(vx=0.05))  # below the threshold
    results = advance(clock, step, 6)  # 50 ms dwell from the first tick that sees it
    assert results[-1].mode == ControlMode.STAND and not results[-1].policy_ran
    before = sink.sent[-2][0]  # the last policy target
    np.testing.assert_allclose(sink.sent[-1][0], before, atol=1e-6)  # the ramp starts there
    calls = model.calls
    results = advance(clock, step, 30)
    assert model.calls == calls and not any(r.policy_ran for r in results)
    sent = [before] + [command for command, _ in sink.sent[-30:]]
    # A smoothstep over 0.1 s (10 ticks): no step above 1.5x the mean slope.
    steps = [np.max(np.abs(b - a)) for a, b in zip(sent[:-1], sent[1:])]
    assert max(steps) <= 1.5 * np.max(np.abs(before - DEFAULT)) / 10 + 1e-6
    np.testing.assert_allclose(sent[-1], DEFAULT, atol=1e-6)
    np.testing.assert_allclose(sent[-15], DEFAULT, atol=1e-6)
    assert step.counters['stand_entries'] == 1


def test_stand_hysteresis_then_resume_through_the_ramp(rig):
    clock, sink, model, step = _stand_rig(rig)
    run_to_policy(clock, step)  # zero command from the start
    advance(clock, step, 6)
    assert step.mode == ControlMode.STAND
    step.set_navigation_command(NavigationCommand(vx=0.12))  # inside the hysteresis band
    advance(clock, step, 5)
    assert step.mode == ControlMode.STAND
    step.set_navigation_command(NavigationCommand(vx=0.5))
    results = advance(clock, step, 1)
    assert results[0].mode == ControlMode.SOFT_START
    advance(clock, step, 5)
    assert step.mode == ControlMode.RUNNING
    calls = model.calls
    advance(clock, step, 4)
    assert model.calls == calls + 2


def test_walk_on_zero_stays_available(rig):
    clock, sink, builder, model, mapper, step = rig  # stand_on_zero_command False
    run_to_policy(clock, step)
    calls = model.calls
    advance(clock, step, 100)
    assert step.mode == ControlMode.RUNNING and model.calls == calls + 50


def test_failures_hold_then_latch(rig):
    clock, sink, builder, model, mapper, step = rig
    run_to_policy(clock, step)
    advance(clock, step, 2)
    good = sink.sent[-1][0].copy()
    model.fail = True
    results = advance(clock, step, 4)  # two policy ticks
    assert [r.error for r in results if r.policy_ran] == ['inference: boom'] * 2
    assert step.mode == ControlMode.HOLD_FAULT and not step.fault_latched
    for command, _ in sink.sent[-4:]:
        np.testing.assert_array_equal(command, good)
    model.fail = False
    advance(clock, step, 2)
    assert step.mode == ControlMode.RUNNING and step.consecutive_failures == 0
    good = sink.sent[-1][0].copy()
    mapper.poison = True
    results = advance(clock, step, 6)
    assert [r.error for r in results if r.policy_ran] == [
        "mapping: raw action non-finite at ['FL_hip']"
    ] * 3
    # Every refused step holds the step's own last command, and passes it on.
    for command, _ in sink.sent[-6:]:
        np.testing.assert_array_equal(command, good)
    for previous in mapper.previous[-3:]:
        np.testing.assert_array_equal(previous, good)
    np.testing.assert_array_equal(step.last_command, good)
    assert step.fault_latched and step.counters['fault_latches'] == 1
    assert step.failures_by_reason == {'inference': 2, 'mapping': 3}
    builder.fail = 'missing imu'
    assert step.tick(observation(clock, clock.now + 1)).command is not None


def test_observation_errors_count_as_failures(rig):
    clock, sink, builder, model, mapper, step = rig
    run_to_policy(clock, step)
    builder.fail = 'height_scan missing'
    results = advance(clock, step, 2)
    assert [r.error for r in results if r.policy_ran] == ['observation: height_scan missing']
    assert step.failures_by_reason == {'observation': 1}


def test_navigation_command_clamped_and_times_out(rig):
    clock, sink, builder, model, mapper, step = rig
    run_to_policy(clock, step)
    used = step.set_navigation_command(NavigationCommand(vx=3.0, vy=0.4, yaw_rate=0.2))
    assert (used.vx, used.vy, used.yaw_rate) == (1.0, 0.0, 0.2)
    assert step.counters['nav_clamped'] == 1
    advance(clock, step, 2)
    assert builder.commands[-1] == used
    advance(clock, step, 30)  # 0.3 s > 0.2 s timeout
    assert builder.commands[-1] == NavigationCommand()
    assert step.counters['nav_timeouts'] == 1


def test_deactivate_returns_hold_target_and_stops_commands(rig):
    clock, sink, builder, model, mapper, step = rig
    run_to_policy(clock, step)
    advance(clock, step, 3)
    last = sink.sent[-1][0]
    hold = step.deactivate()
    np.testing.assert_array_equal(hold, last)
    count = len(sink.sent)
    advance(clock, step, 5)
    assert len(sink.sent) == count


class ScriptedModel(Model):
    """Returns the scripted actions in turn (the last one for ever)."""

    def __init__(self, actions: list[np.ndarray]) -> None:
        super().__init__()
        self.actions = actions

    def inference(self, model_io):
        self.calls += 1
        action = self.actions[min(self.calls, len(self.actions)) - 1]
        return Response(np.asarray(action, dtype=np.float32))


RATE = 0.05
#: +1.0 rad on every policy joint: far more than one rate-limited step.
REACH = np.full(12, 4.0)


def _rate_limited_rig(actions: list[np.ndarray]):
    clock, sink, builder = FakeClock(), Sink(), Builder()
    mapper = ActionMapper(
        GO2_PARKOUR_TEACHER, JOINT_MAP, ActionMapperConfig(max_delta_per_step=RATE)
    )
    model = ScriptedModel(actions)
    config = RIG_CONFIG
    step = ControlStep(sink, builder, mapper, model, config, clock=clock)
    return clock, sink, model, mapper, step


def _reach_target() -> np.ndarray:
    """Return REACH's hardware targets, computed from the joint map alone."""
    policy = np.asarray(GO2_PARKOUR_TEACHER.default_joint_positions) + 0.25 * REACH
    return JOINT_MAP.hardware_from_policy(policy)


def _limited_from(previous: np.ndarray, steps: int) -> np.ndarray:
    """Return where ``steps`` rate-limited policy steps from ``previous`` lead."""
    previous = np.asarray(previous, dtype=np.float64)
    return previous + np.clip(_reach_target() - previous, -RATE * steps, RATE * steps)


def _policy_commands(results) -> list[np.ndarray]:
    return [r.command for r in results if r.policy_ran]


def test_rate_limit_is_continuous_across_the_ramp_to_policy_hand_over():
    clock, sink, model, mapper, step = _rate_limited_rig([REACH])
    default = mapper.default_command()
    step.activate()
    ramp = advance(clock, step, 11, pose=1.0)
    assert step.mode == ControlMode.RUNNING
    np.testing.assert_array_equal(ramp[10].command, default)  # the ramp's end
    assert not any(r.policy_ran for r in ramp)
    results = advance(clock, step, 8)
    # Policy steps 1..4 walk from the ramp's end towards the target, 0.05 at a time.
    commands = _policy_commands(results)
    assert len(commands) == 4
    for k, command in enumerate(commands, start=1):
        np.testing.assert_allclose(command, _limited_from(default, k), rtol=0, atol=1e-6)
    # No sent target jumps by more than the limit, ramp end included.
    sent = np.array([command for command, _ in sink.sent[10:]], dtype=np.float64)
    assert np.max(np.abs(np.diff(sent, axis=0))) <= RATE + 1e-6
    # A hold, a release and a ramp: the policy starts again from the ramp's
    # end (the default pose), exactly as at activation.
    step.hold()
    advance(clock, step, 2)
    step.release()
    results = advance(clock, step, 5)  # a 40 ms ramp: 4 ticks, then the policy
    assert [r.mode for r in results[:3]] == [ControlMode.SOFT_START] * 3
    np.testing.assert_array_equal(results[3].command, default)
    assert [r.policy_ran for r in results] == [False] * 4 + [True]
    np.testing.assert_allclose(results[4].command, _limited_from(default, 1), rtol=0, atol=1e-6)
    assert mapper.rate_limit_counts() != {}


def test_a_refused_action_holds_the_steps_last_command_and_the_limit_resumes_from_it():
    nan = np.full(12, np.nan)
    clock, sink, model, mapper, step = _rate_limited_rig([REACH, REACH, nan, REACH])
    default = mapper.default_command()
    step.activate()
    results = advance(clock, step, 11) + advance(clock, step, 7)
    policy = [r for r in results if r.policy_ran]
    assert len(policy) == 4
    second = _limited_from(default, 2)
    np.testing.assert_allclose(policy[1].command, second, rtol=0, atol=1e-6)
    # The NaN step: refused by the mapper, the step holds its own last command.
    assert policy[2].error == (
        "mapping: raw action non-finite at ['FL_hip', 'FR_hip', 'RL_hip', 'RR_hip', "
        "'FL_thigh', 'FR_thigh', 'RL_thigh', 'RR_thigh', 'FL_calf', 'FR_calf', 'RL_calf', "
        "'RR_calf']"
    )
    assert policy[2].mode == ControlMode.HOLD_FAULT and policy[2].action is None
    np.testing.assert_array_equal(policy[2].command, policy[1].command)
    assert step.failures_by_reason == {'mapping': 1}
    # The next good action moves one limited step from the held command.
    assert policy[3].mode == ControlMode.RUNNING
    np.testing.assert_allclose(policy[3].command, _limited_from(second, 1), atol=1e-6)
    for command in (r.command for r in results[10:]):
        assert np.all(np.isfinite(command))
