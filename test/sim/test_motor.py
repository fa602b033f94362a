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

"""The DC-motor torque curve of training, checked with exact values."""

import numpy as np
import pytest

from krabby_parkour_ros.sim.go2_model import JOINT_NAMES
from krabby_parkour_ros.sim.motor import DcMotorModel, joint_type


@pytest.fixture
def motor() -> DcMotorModel:
    # One joint of each type: hip, thigh, calf.
    return DcMotorModel.for_joints(['FL_hip_joint', 'FL_thigh_joint', 'FL_calf_joint'])


def test_parameters_per_joint_type() -> None:
    motor = DcMotorModel.for_joints(JOINT_NAMES)
    assert motor.kp == 40.0 and motor.kd == 1.0
    np.testing.assert_array_equal(motor.effort_limit, [35.0, 40.0, 40.0] * 4)
    np.testing.assert_array_equal(motor.saturation_effort, [35.0, 45.0, 45.0] * 4)
    np.testing.assert_array_equal(motor.velocity_limit, [52.4, 30.1, 30.1] * 4)


@pytest.mark.parametrize(
    'qd, lower, upper',
    [
        # At rest the band is the effort limit (saturation above it is clipped).
        ((0.0, 0.0, 0.0), (-35.0, -40.0, -40.0), (35.0, 40.0, 40.0)),
        # Half the velocity limit forward: drive torque halves, braking saturates.
        ((26.2, 15.05, 15.05), (-35.0, -40.0, -40.0), (17.5, 22.5, 22.5)),
        # Half the velocity limit backward: mirror image.
        ((-26.2, -15.05, -15.05), (-17.5, -22.5, -22.5), (35.0, 40.0, 40.0)),
        # At the velocity limit no more drive torque in the direction of motion.
        ((52.4, 30.1, 30.1), (-35.0, -40.0, -40.0), (0.0, 0.0, 0.0)),
        # Beyond it, still no drive (clipped at 0), only braking.
        ((104.8, 60.2, 60.2), (-35.0, -40.0, -40.0), (0.0, 0.0, 0.0)),
        # A quarter of the limit on the thigh: 45 * 0.75 = 33.75 < 40.
        ((13.1, 7.525, -7.525), (-35.0, -40.0, -33.75), (26.25, 33.75, 40.0)),
    ],
)
def test_torque_band(motor: DcMotorModel, qd: tuple, lower: tuple, upper: tuple) -> None:
    low, high = motor.torque_limits(np.array(qd))
    np.testing.assert_allclose(low, lower, rtol=0, atol=1e-12)
    np.testing.assert_allclose(high, upper, rtol=0, atol=1e-12)


def test_pd_torque_inside_and_outside_the_band(motor: DcMotorModel) -> None:
    q = np.array([0.1, 0.8, -1.5])
    # Small errors: plain PD, 40 * 0.1 - 1 * 2 = 2 (hip), 40 * -0.2 - 0 = -8, 40 * 0.05 + 1 = 3.
    tau = motor.torque(q + np.array([0.1, -0.2, 0.05]), q, np.array([2.0, 0.0, -1.0]))
    np.testing.assert_allclose(tau, [2.0, -8.0, 3.0], rtol=0, atol=1e-12)
    # Large errors at rest: clipped to the effort limits.
    tau = motor.torque(q + 2.0, q, np.zeros(3))
    np.testing.assert_allclose(tau, [35.0, 40.0, 40.0], rtol=0, atol=1e-12)
    tau = motor.torque(q - 2.0, q, np.zeros(3))
    np.testing.assert_allclose(tau, [-35.0, -40.0, -40.0], rtol=0, atol=1e-12)
    # Fast forward motion: drive torque limited by the curve, 45 * (1 - 15.05 / 30.1) = 22.5.
    tau = motor.torque(q + 2.0, q, np.array([26.2, 15.05, 15.05]))
    np.testing.assert_allclose(tau, [17.5, 22.5, 22.5], rtol=0, atol=1e-12)


def test_joint_type_and_validation() -> None:
    assert [joint_type(n) for n in JOINT_NAMES[:3]] == ['hip', 'thigh', 'calf']
    with pytest.raises(ValueError, match='knee'):
        joint_type('FL_knee')
    with pytest.raises(ValueError, match='saturation_effort'):
        DcMotorModel(40.0, 1.0, np.ones(2), np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match='velocity_limit'):
        DcMotorModel(40.0, 1.0, np.ones(2), np.ones(2), np.array([1.0, 0.0]))
