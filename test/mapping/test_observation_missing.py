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

"""
Missing and malformed sources: refuse with a specific error and no state change, or substitute.

"No state change" is checked the strong way: a builder that saw a rejected
input between good ones produces exactly the observations of a builder that
never saw it.
"""

from __future__ import annotations

from dataclasses import replace
import logging
import math

import numpy as np
import pytest

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER, ObservationLayout
from krabby_parkour_ros.mapping.joint_map import JointMapError, load_joint_map
from krabby_parkour_ros.mapping.navigation import NavigationCommand
from krabby_parkour_ros.mapping.observation import (
    MissingInputError,
    ObservationBuilder,
    ObservationConfig,
    ObservationConfigError,
    ObservationError,
    ObservationInputError,
)

from .wire import captured_logs, make_observation, quat_from_rpy

GO2_SIM = load_joint_map('go2_sim')
COMMAND = NavigationCommand(vx=0.5, yaw_rate=0.2)
T0 = 5_000_000_000
DT_NS = 20_000_000
LOGGER = 'krabby_parkour_ros.mapping.observation'


def full(k: int, **missing):
    """Return observation k with every source; keyword=None drops a source."""
    rng = np.random.default_rng(k)
    sources = {
        'orientation': quat_from_rpy(0.05 * math.sin(k), -0.03, 0.1 * k),
        'angular_velocity': rng.uniform(-1, 1, 3),
        'joint_velocities': rng.uniform(-3, 3, 18),
        'base_velocity': rng.uniform(-1, 1, 3),
        'foot_contacts': (rng.random(4) < 0.5).astype(float),
        'height_scan': rng.uniform(0.0, 1.0, 132),
    }
    sources.update(missing)
    q = np.array(GO2_SIM.hardware_from_policy(GO2_PARKOUR_TEACHER.default_joint_positions))
    q[:12] += rng.uniform(-0.2, 0.2, 12)
    return make_observation(T0 + k * DT_NS, q, **sources)


def builder(**config) -> ObservationBuilder:
    return ObservationBuilder(GO2_PARKOUR_TEACHER, GO2_SIM, ObservationConfig(**config))


def run(b: ObservationBuilder, ks, bad=None, bad_at: int | None = None, error=ObservationError):
    outputs = []
    for k in ks:
        if bad is not None and k == bad_at:
            before = b._obs.copy()
            state = (b.step_count, b.heading_target, b.substitutions, b.last_action.tolist())
            with pytest.raises(error) as info:
                b.build(bad, COMMAND)
            np.testing.assert_array_equal(b._obs, before)
            assert state == (
                b.step_count,
                b.heading_target,
                b.substitutions,
                b.last_action.tolist(),
            )
            bad = info.value
        outputs.append(b.build(full(k), COMMAND).copy())
        b.record_action(np.full(12, 0.1 * k))
    return outputs, bad


def assert_untouched_by(bad_observation, bad_at: int = 5, error=ObservationError, **config):
    clean, _ = run(builder(**config), range(8))
    seen, raised = run(builder(**config), range(8), bad_observation, bad_at, error)
    for a, b in zip(clean, seen):
        np.testing.assert_array_equal(a, b)
    return raised


REFUSALS = [
    ('imu_orientation_xyzw', {'orientation': None}, 'missing_imu'),
    ('imu_angular_velocity', {'angular_velocity': None}, 'missing_imu'),
    ('joint_velocities', {'joint_velocities': None}, 'missing_joint_velocities'),
    ('foot_contacts', {'foot_contacts': None}, 'missing_foot_contacts'),
    ('height_scan', {'height_scan': None}, 'missing_height_scan'),
    ('base_linear_velocity', {'base_velocity': None}, 'missing_base_velocity'),
]


@pytest.mark.parametrize('source, drop, setting', REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refuse_raises_naming_the_source_and_changes_nothing(source, drop, setting) -> None:
    error = assert_untouched_by(full(5, **drop), error=MissingInputError, **{setting: 'refuse'})
    assert error.source == source
    assert str(error).startswith(f'{source}: required but absent')
    assert f"{setting} is 'refuse'" in str(error)


MALFORMED = [
    ('joint_positions', lambda k: make_observation(T0 + k * DT_NS, np.zeros(17))),
    ('imu_orientation_xyzw', lambda k: full(k, orientation=(0.0, 0.0, 1.0))),
    ('imu_orientation_xyzw', lambda k: full(k, orientation=(0.0, 0.0, 0.0, 0.5))),
    ('imu_angular_velocity', lambda k: full(k, angular_velocity=(0.0, math.nan, 0.0))),
    ('joint_velocities', lambda k: full(k, joint_velocities=np.zeros(12))),
    ('base_linear_velocity', lambda k: full(k, base_velocity=(0.0, 0.0, math.inf))),
    ('foot_contacts', lambda k: full(k, foot_contacts=(1.0, 0.0, 1.0))),
    ('height_scan', lambda k: full(k, height_scan=np.zeros(131))),
    ('height_scan', lambda k: full(k, height_scan=np.r_[np.zeros(131), math.nan])),
]


@pytest.mark.parametrize(
    'field, make', MALFORMED, ids=[f'{m[0]}-{i}' for i, m in enumerate(MALFORMED)]
)
def test_malformed_input_raises_naming_the_field_and_changes_nothing(field, make) -> None:
    error = assert_untouched_by(make(3), bad_at=3, error=ObservationInputError)
    assert error.field == field
    assert str(error).startswith(f'{field}: expected ')


def test_non_finite_message_names_the_index() -> None:
    error = assert_untouched_by(
        full(3, height_scan=np.r_[np.zeros(131), math.nan]), bad_at=3, error=ObservationInputError
    )
    assert 'non-finite values at indices [131]' in str(error)


def test_timestamp_going_backwards_is_refused_for_finite_differences() -> None:
    bad = full(4, joint_velocities=None)
    bad = replace(bad, timestamp_ns=T0 + 2 * DT_NS)
    error = assert_untouched_by(bad, bad_at=4, error=ObservationInputError)
    assert error.field == 'timestamp_ns'


def test_scan_missing_between_refreshes_is_not_needed() -> None:
    b = builder()
    first = b.build(full(0), COMMAND).copy()
    second = b.build(full(1, height_scan=None), COMMAND)
    np.testing.assert_array_equal(second[53:185], first[53:185])
    assert 'height_scan' not in b.substitutions


def test_assume_level() -> None:
    b = builder(missing_imu='assume_level')
    with captured_logs(LOGGER) as records:
        out = b.build(full(0, orientation=None, angular_velocity=None), COMMAND)
    assert out[0:8].tolist() == [0.0] * 8
    assert b.substitutions == {'imu_orientation_xyzw', 'imu_angular_velocity'}
    assert b.heading_target is None
    assert sorted(r.getMessage().split(' ')[0] for r in records) == [
        'imu_angular_velocity',
        'imu_orientation_xyzw',
    ]
    assert all(r.levelno == logging.WARNING for r in records)
    # Orientation back: the heading target starts at the measured yaw.
    b.build(full(1), COMMAND)
    yaw = 0.1
    assert b.heading_target == pytest.approx(yaw + 0.2 * 0.02)
    assert b.substitutions == set()


def test_assume_level_keeps_the_heading_once_known() -> None:
    b = builder(missing_imu='assume_level')
    for k in range(5):
        b.build(full(k), COMMAND)
    target = b.heading_target
    out = b.build(full(5, orientation=None), COMMAND)  # refresh step, yaw unknown
    assert out[6] == 0.0 and out[7] == 0.0
    assert out[3] == 0.0 and out[4] == 0.0
    assert b.heading_target == pytest.approx(target + 0.2 * 0.02)


def test_assume_stance() -> None:
    b = builder(missing_foot_contacts='assume_stance')
    out = b.build(full(0, foot_contacts=None), COMMAND)
    assert out[49:53].tolist() == [0.5] * 4
    assert b.substitutions == {'foot_contacts'}
    # Feet that lift next step still read "contact" once (previous sample).
    out = b.build(full(1, foot_contacts=np.zeros(4)), COMMAND)
    assert out[49:53].tolist() == [0.5] * 4
    out = b.build(full(2, foot_contacts=np.zeros(4)), COMMAND)
    assert out[49:53].tolist() == [-0.5] * 4


@pytest.mark.parametrize('height, value', [(0.33, 0.03), (1.6, 1.0), (0.05, -0.25)])
def test_flat_ground(height: float, value: float) -> None:
    b = builder(missing_height_scan='flat_ground', flat_ground_height=height)
    out = b.build(full(0, height_scan=None), COMMAND)
    np.testing.assert_allclose(out[53:185], value, atol=1e-7)
    assert b.substitutions == {'height_scan'}
    # Held until the next refresh, and still reported as substituted.
    b.build(full(1), COMMAND)
    assert b.substitutions == {'height_scan'}
    np.testing.assert_allclose(b.scan, value, atol=1e-7)
    for k in range(2, 6):
        b.build(full(k), COMMAND)
    assert b.substitutions == set()
    np.testing.assert_allclose(
        b.scan, np.clip(full(5).extensions.height_scan - 0.3, -1, 1), atol=1e-6
    )


def test_estimator_mode() -> None:
    b = builder()
    out = b.build(full(0), COMMAND)
    np.testing.assert_allclose(
        out[185:188], 2.0 * full(0).extensions.base_linear_velocity, atol=1e-6
    )
    assert out[188:223].tolist() == [0.0] * 35
    assert b.base_velocity_measured
    out = b.build(full(1, base_velocity=None), COMMAND)
    assert out[185:194].tolist() == [0.0] * 9
    assert not b.base_velocity_measured
    assert b.substitutions == {'base_linear_velocity'}


def test_finite_differences() -> None:
    b = builder()
    first = full(0, joint_velocities=None)
    out = b.build(first, COMMAND)
    assert out[25:37].tolist() == [0.0] * 12
    assert b.substitutions == {'joint_velocities'}
    second = full(1, joint_velocities=None)
    out = b.build(second, COMMAND).copy()
    dq = GO2_SIM.policy_from_hardware(second.joint_positions) - GO2_SIM.policy_from_hardware(
        first.joint_positions
    )
    np.testing.assert_allclose(out[25:37], 0.05 * dq / 0.02, rtol=1e-6, atol=1e-6)
    # The same observation again (no new sample): the estimate is kept.
    again = b.build(second, COMMAND)
    np.testing.assert_array_equal(again[25:37], out[25:37])


def test_measured_joint_velocities_use_sign_and_order() -> None:
    b = builder()
    obs = full(0)
    out = b.build(obs, COMMAND)
    expected = 0.05 * obs.extensions.joint_velocities[GO2_SIM.hardware_index]
    np.testing.assert_allclose(out[25:37], expected, atol=1e-7)


def test_warning_once_per_source_per_reset() -> None:
    b = builder(missing_foot_contacts='assume_stance')
    with captured_logs(LOGGER) as records:
        for k in range(3):
            b.build(full(k, foot_contacts=None), COMMAND)
        b.reset()
        b.build(full(3, foot_contacts=None), COMMAND)
    messages = [r.getMessage() for r in records]
    assert len(messages) == 2 and all(m.startswith('foot_contacts absent') for m in messages)


def test_terrain_flags_and_buffer_identity() -> None:
    b = builder(terrain_flags=(0.0, 1.0))
    out = b.build(full(0), COMMAND)
    assert out[10] == pytest.approx(0.5) and out[11] == 0.0 and out[12] == 1.0
    assert b.build(full(1), COMMAND) is out
    with pytest.raises(ValueError):
        b.proprio[0] = 1.0
    with pytest.raises(ValueError):
        b.scan[0] = 1.0


def test_max_heading_lead() -> None:
    b = builder(max_heading_lead=0.3)
    spin = NavigationCommand(vx=0.3, yaw_rate=1.0)
    for k in range(40):
        b.build(full(k, orientation=quat_from_rpy(0.0, 0.0, 0.0)), spin)
    assert b.heading_target == pytest.approx(0.3)
    assert b.proprio[6] == pytest.approx(0.3, abs=1e-6)
    unlimited = builder()
    for k in range(40):
        unlimited.build(full(k, orientation=quat_from_rpy(0.0, 0.0, 0.0)), spin)
    assert unlimited.heading_target == pytest.approx(40 * 0.02)


def test_record_action_checks() -> None:
    b = builder()
    with pytest.raises(ObservationInputError, match=r'action: expected shape \(12,\)'):
        b.record_action(np.zeros(11))
    with pytest.raises(ObservationInputError, match='non-finite values at indices \\[3\\]'):
        b.record_action([0.0, 0.0, 0.0, math.nan] + [0.0] * 8)
    b.record_action(np.arange(12.0))
    out = b.build(full(0), COMMAND)
    assert out[37:49].tolist() == list(range(12))
    b.reset()
    assert b.build(full(1), COMMAND)[37:49].tolist() == [0.0] * 12


@pytest.mark.parametrize(
    'config, field',
    [
        ({'missing_imu': 'ignore'}, 'missing_imu'),
        ({'missing_joint_velocities': 'zero'}, 'missing_joint_velocities'),
        ({'missing_foot_contacts': 'zero'}, 'missing_foot_contacts'),
        ({'missing_height_scan': 'zero'}, 'missing_height_scan'),
        ({'missing_base_velocity': 'zero'}, 'missing_base_velocity'),
        ({'yaw_frame': 'body'}, 'yaw_frame'),
        ({'terrain_flags': (1.0,)}, 'terrain_flags'),
        ({'terrain_flags': (1.0, math.nan)}, 'terrain_flags'),
        ({'terrain_flags': 'parkour'}, 'terrain_flags'),
        ({'flat_ground_height': 0.0}, 'flat_ground_height'),
        ({'flat_ground_height': math.inf}, 'flat_ground_height'),
        ({'max_heading_lead': 0.0}, 'max_heading_lead'),
        ({'max_heading_lead': 4.0}, 'max_heading_lead'),
    ],
)
def test_config_validation(config: dict, field: str) -> None:
    with pytest.raises(ObservationConfigError, match=field):
        ObservationConfig(**config)


def test_contract_that_does_not_fit_is_refused() -> None:
    wrong = replace(GO2_PARKOUR_TEACHER, layout=ObservationLayout(proprio=48))
    with pytest.raises(ObservationConfigError, match='layout.proprio: expected 13'):
        ObservationBuilder(wrong, GO2_SIM)
    other_joints = replace(
        GO2_PARKOUR_TEACHER, joint_names=tuple(reversed(GO2_PARKOUR_TEACHER.joint_names))
    )
    with pytest.raises(JointMapError):
        ObservationBuilder(other_joints, GO2_SIM)


def test_slightly_non_unit_quaternion_is_normalised() -> None:
    unit = builder().build(full(0), COMMAND).copy()
    scaled = full(
        0, orientation=tuple(1.05 * v for v in quat_from_rpy(0.05 * math.sin(0), -0.03, 0.0))
    )
    np.testing.assert_allclose(builder().build(scaled, COMMAND)[3:5], unit[3:5], atol=1e-7)
