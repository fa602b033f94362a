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

"""Observation conventions: orientation, body-frame velocities, height scan, depth."""

import math

import mujoco
import numpy as np
import pytest

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.sim.go2_model import TerrainBox
from krabby_parkour_ros.sim.robot import SimulatedRobot
from krabby_parkour_ros.sim.scenarios import Scenario
from krabby_parkour_ros.sim.sensors import CameraConfig


def _quat_from_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Return w, x, y, z of R = Rz(yaw) Ry(pitch) Rx(roll)."""

    def axis(angle: float, index: int) -> np.ndarray:
        q = np.zeros(4)
        q[0] = math.cos(angle / 2.0)
        q[1 + index] = math.sin(angle / 2.0)
        return q

    out = np.zeros(4)
    tmp = np.zeros(4)
    mujoco.mju_mulQuat(tmp, axis(yaw, 2), axis(pitch, 1))
    mujoco.mju_mulQuat(out, tmp, axis(roll, 0))
    return out


def _custom(*boxes: TerrainBox) -> Scenario:
    return Scenario('custom', tuple(boxes))


def test_yaw_orientation_in_xyzw_and_euler() -> None:
    robot = SimulatedRobot('flat', seed=0, camera=None)
    robot.reset(yaw=0.7)
    expected = [0.0, 0.0, math.sin(0.35), math.cos(0.35)]
    np.testing.assert_allclose(robot.orientation_xyzw(), expected, atol=1e-12)
    np.testing.assert_allclose(robot.extensions()['imu_orientation_xyzw'], expected, atol=1e-12)
    np.testing.assert_allclose(robot.roll_pitch_yaw(), [0.0, 0.0, 0.7], atol=1e-12)
    quat = _quat_from_rpy(0.2, -0.1, 0.5)
    robot.set_base_state(quat_wxyz=quat)
    np.testing.assert_allclose(robot.roll_pitch_yaw(), [0.2, -0.1, 0.5], atol=1e-12)
    xyzw = robot.extensions()['imu_orientation_xyzw']
    np.testing.assert_allclose(xyzw, [quat[1], quat[2], quat[3], quat[0]], atol=1e-12)
    # Rolled by 0.2 rad: the body z axis has tilted toward -y (world).
    assert robot.base_rotation()[1, 2] < 0.0


def test_velocities_are_in_the_body_frame() -> None:
    robot = SimulatedRobot('flat', seed=0, camera=None)
    robot.reset(yaw=math.pi / 2.0)
    robot.set_base_state(
        position=[0.0, 0.0, 1.0],
        linear_velocity_world=[1.0, 0.0, 0.2],
        angular_velocity_body=[0.3, -0.2, 0.1],
    )
    extensions = robot.extensions()
    # Facing +y, moving along world +x is moving to the robot's right (-y body).
    np.testing.assert_allclose(extensions['base_linear_velocity'], [0.0, -1.0, 0.2], atol=1e-12)
    np.testing.assert_allclose(extensions['imu_angular_velocity'], [0.3, -0.2, 0.1])
    # MuJoCo's own body-frame velocity of the base frame agrees.
    res = np.zeros(6)
    base = robot.model.body('base').id
    mujoco.mj_objectVelocity(robot.model, robot.data, mujoco.mjtObj.mjOBJ_XBODY, base, res, 1)
    np.testing.assert_allclose(res[:3], [0.3, -0.2, 0.1], atol=1e-12)
    np.testing.assert_allclose(res[3:], [0.0, -1.0, 0.2], atol=1e-12)
    # In the world frame a body roll rate about x is a rate about world y when yawed 90 deg.
    mujoco.mj_objectVelocity(robot.model, robot.data, mujoco.mjtObj.mjOBJ_XBODY, base, res, 0)
    np.testing.assert_allclose(res[:3], [0.2, 0.3, 0.1], atol=1e-12)


def test_scan_grid_order_is_x_fastest_right_to_left() -> None:
    points = GO2_PARKOUR_TEACHER.scan_grid.points_xy()
    assert len(points) == 132
    assert points[0] == pytest.approx((-0.45, -0.75))
    assert points[11] == pytest.approx((1.2, -0.75))  # front right
    assert points[12] == pytest.approx((-0.45, -0.6))
    assert points[120] == pytest.approx((-0.45, 0.75))  # back left
    assert points[131] == pytest.approx((1.2, 0.75))  # front left


def test_height_scan_on_flat_ground_equals_base_height() -> None:
    robot = SimulatedRobot('flat', seed=0, camera=None)
    robot.step(20)
    scan = np.array(robot.extensions()['height_scan'])
    assert scan.shape == (132,)
    np.testing.assert_allclose(scan, robot.base_position()[2], atol=1e-9)
    assert robot.base_height_above_ground() == pytest.approx(robot.base_position()[2])


def _box_mask(scan_over: np.ndarray) -> np.ndarray:
    return scan_over.reshape(11, 12)


def test_height_scan_in_front_of_a_box() -> None:
    # Box 0.3 m high whose front face is 1.0 m ahead: scan x = 1.05 and 1.2 (ix 10, 11) over it.
    robot = SimulatedRobot(
        _custom(TerrainBox('b', (2.0, 0.0, 0.15), (1.0, 3.0, 0.15))), seed=0, camera=None
    )
    z = robot.base_position()[2]
    scan = robot.height_scan()
    grid = scan.reshape(11, 12)  # [iy, ix]
    np.testing.assert_allclose(grid[:, 10:], z - 0.3, atol=1e-9)
    np.testing.assert_allclose(grid[:, :10], z, atol=1e-9)
    assert scan[11] == pytest.approx(z - 0.3)  # front right
    assert scan[9] == pytest.approx(z)  # x = 0.9: short of the box
    assert scan[120] == pytest.approx(z)  # back left


def test_height_scan_rows_go_from_right_to_left() -> None:
    # Box on the robot's left only (y >= 0.4): rows iy >= 8 (y >= 0.45) over it.
    robot = SimulatedRobot(
        _custom(TerrainBox('b', (0.0, 1.7, 0.15), (3.0, 1.3, 0.15))), seed=0, camera=None
    )
    z = robot.base_position()[2]
    grid = robot.height_scan().reshape(11, 12)
    np.testing.assert_allclose(grid[8:, :], z - 0.3, atol=1e-9)
    np.testing.assert_allclose(grid[:8, :], z, atol=1e-9)


def test_height_scan_follows_the_base_yaw() -> None:
    # Facing +y with the box 1.0 m ahead along world y.
    robot = SimulatedRobot(
        _custom(TerrainBox('b', (0.0, 2.0, 0.15), (3.0, 1.0, 0.15))), seed=0, camera=None
    )
    robot.reset(yaw=math.pi / 2.0)
    z = robot.base_position()[2]
    grid = robot.height_scan().reshape(11, 12)
    np.testing.assert_allclose(grid[:, 10:], z - 0.3, atol=1e-9)
    np.testing.assert_allclose(grid[:, :10], z, atol=1e-9)


def test_depth_image_of_flat_ground_is_depth_along_the_optical_axis() -> None:
    config = CameraConfig(
        height=31,
        width=41,
        horizontal_fov_deg=87.0,
        position=(0.33, 0.0, 0.03),
        pitch_down_deg=30.0,
        max_range=3.0,
    )
    robot = SimulatedRobot('flat', seed=0, camera=config)
    depth, hit = robot.depth_image()
    assert depth.shape == (31, 41) and depth.dtype == np.float32
    h = robot.base_position()[2] + 0.03
    focal = 20.5 / math.tan(math.radians(43.5))
    s, c = math.sin(math.radians(30.0)), math.cos(math.radians(30.0))
    v = np.arange(31)[:, None] - 15.0
    expected = h / (s + c * v / focal)  # depth of the floor plane per row
    expected = np.broadcast_to(expected, (31, 41))
    visible = (expected > 0) & (expected <= 3.0)
    np.testing.assert_array_equal(hit, visible)
    np.testing.assert_allclose(depth[hit], expected[hit], rtol=1e-5)
    np.testing.assert_array_equal(depth[~hit], 0.0)
    assert depth[15, 20] == pytest.approx(2.0 * h, rel=1e-5)  # centre pixel: h / sin(30)
    assert not hit[0].any() and hit[-1].all()
    observation = robot.observe()
    np.testing.assert_array_equal(observation.confidence, hit.astype(np.float32))
    assert observation.rgb.shape == (31, 41, 3) and observation.rgb.dtype == np.uint8
    assert (observation.rgb[~hit] == 0).all()
    # Nearer is brighter.
    assert observation.rgb[-1, 20, 0] > observation.rgb[20, 20, 0] > 0


def test_depth_camera_sees_a_box_nearer_than_the_floor() -> None:
    config = CameraConfig(height=31, width=41)
    flat = SimulatedRobot('flat', seed=0, camera=config)
    boxed = SimulatedRobot(
        _custom(TerrainBox('b', (1.5, 0.0, 0.15), (0.5, 3.0, 0.15))), seed=0, camera=config
    )
    far, far_hit = flat.depth_image()
    near, hit = boxed.depth_image()
    both = hit & far_hit
    assert (near[both] <= far[both] + 1e-6).all()
    assert (near[both] < far[both] - 0.05).sum() > 50
    # The box face rises above the horizon line of the floor: new hits there.
    assert (hit & ~far_hit).any() and not (far_hit & ~hit).any()
