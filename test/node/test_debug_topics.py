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

"""Debug-topic message builders: point cloud, scan, contact and command markers."""

import math

from builtin_interfaces.msg import Time
import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import PointCloud2
from visualization_msgs.msg import Marker, MarkerArray

from krabby_parkour_ros.contract import ScanGrid
from krabby_parkour_ros.node import debug_topics as dt

GRID = ScanGrid()


def test_cloud_points_are_the_terrain_below_the_scan_points() -> None:
    heights = np.linspace(0.2, 0.5, GRID.size)
    cloud = dt.height_scan_cloud(GRID, heights, 'base', 1_500_000_123)
    assert cloud.header.frame_id == 'base'
    assert cloud.header.stamp == Time(sec=1, nanosec=500_000_123)
    assert (cloud.height, cloud.width, cloud.point_step, cloud.row_step) == (1, 132, 12, 1584)
    assert [f.name for f in cloud.fields] == ['x', 'y', 'z']
    assert [f.offset for f in cloud.fields] == [0, 4, 8]
    points = np.frombuffer(bytes(cloud.data), dtype=np.float32).reshape(-1, 3)
    # Observation order: x fastest, back to front; y from right to left.
    assert points[0].tolist() == pytest.approx([-0.45, -0.75, -0.2], abs=1e-6)
    assert points[11].tolist() == pytest.approx([1.2, -0.75, -heights[11]], abs=1e-6)
    assert points[12].tolist() == pytest.approx([-0.45, -0.6, -heights[12]], abs=1e-6)
    assert points[-1].tolist() == pytest.approx([1.2, 0.75, -0.5], abs=1e-6)
    assert cloud.is_dense
    again = deserialize_message(serialize_message(cloud), PointCloud2)
    assert bytes(again.data) == bytes(cloud.data)


def test_non_finite_heights_make_a_sparse_cloud() -> None:
    heights = np.full(GRID.size, 0.3)
    heights[5] = math.nan
    assert not dt.height_scan_cloud(GRID, heights, 'base', 0).is_dense
    markers = dt.scan_markers(GRID, heights, 'base', 0)
    assert len(markers.markers[0].points) == GRID.size - 1


def test_wrong_scan_length_is_refused() -> None:
    with pytest.raises(dt.DebugTopicError, match='expected 132 values'):
        dt.height_scan_cloud(GRID, np.zeros(131), 'base', 0)


def test_scan_markers_colour_low_blue_high_red() -> None:
    heights = np.full(GRID.size, 0.3)
    heights[0] = 0.1  # terrain 0.2 m higher here
    marker = dt.scan_markers(GRID, heights, 'base', Time(sec=3)).markers[0]
    assert marker.type == Marker.SPHERE_LIST and marker.header.frame_id == 'base'
    assert marker.points[0].z == pytest.approx(-0.1)
    assert (marker.colors[0].r, marker.colors[0].b) == (1.0, 0.0)
    assert (marker.colors[1].r, marker.colors[1].b) == (0.0, 1.0)
    assert marker.lifetime.nanosec == 500_000_000


def test_foot_contacts_use_the_urdf_foot_frames() -> None:
    frames = ['FR_foot', 'FL_foot', 'RR_foot', 'RL_foot']
    array = dt.foot_contact_markers([1, 0, 1, 1], frames, 0)
    assert [m.header.frame_id for m in array.markers] == frames
    assert [m.id for m in array.markers] == [0, 1, 2, 3]
    assert [m.color.g > 0.7 for m in array.markers] == [True, False, True, True]
    with pytest.raises(dt.DebugTopicError, match='expected 4 values'):
        dt.foot_contact_markers([1, 0], frames, 0)


def test_command_arrow_follows_the_arc() -> None:
    straight = dt.command_arrow_marker(0.5, 0.0, 'base', 0).markers
    assert straight[0].type == Marker.ARROW
    assert (straight[0].points[1].x, straight[0].points[1].y) == pytest.approx((0.5, 0.0))
    assert straight[1].text == 'vx 0.50 m/s  yaw 0.00 rad/s'
    turning = dt.command_arrow_marker(0.5, math.pi / 2, 'base', 0).markers[0]
    radius = 0.5 / (math.pi / 2)
    assert (turning.points[1].x, turning.points[1].y) == pytest.approx((radius, radius))
    left = dt.command_path(1.0, 0.5)[-1]
    assert left[1] > 0.0  # positive yaw rate turns left


def test_merge_keeps_every_marker() -> None:
    merged = dt.merge(
        [
            dt.scan_markers(GRID, np.full(GRID.size, 0.3), 'base', 0),
            dt.command_arrow_marker(0.2, 0.1, 'base', 0),
        ]
    )
    assert isinstance(merged, MarkerArray)
    assert [(m.ns, m.id) for m in merged.markers] == [
        ('height_scan', 0),
        ('command', 0),
        ('command', 1),
    ]
