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
Messages of the node's debugging topics, as pure functions (no node needed).

- :func:`height_scan_cloud`: the policy's height scan as a
  ``sensor_msgs/PointCloud2`` in the base frame: one point per scan point
  at its (x, y) on the policy's grid and ``z = -height``, i.e. the terrain
  surface below the base (the scan grid is yaw-aligned; roll and pitch are
  ignored, as the policy's scan is).
- :func:`scan_markers`: the same points as coloured spheres (blue low,
  red high terrain).
- :func:`foot_contact_markers`: one sphere per foot at its URDF foot
  frame (``FR_foot`` ...), green in contact, grey in the air.
- :func:`command_arrow_marker`: the navigation command as an arrow in the
  base frame (where the command leads in one second) and a text label.

Every marker has a short lifetime so that a stopped node leaves no stale
picture in rviz. Stamps are ``builtin_interfaces/Time`` or integer
nanoseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import math
from typing import TypeAlias

from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point
import numpy as np
import numpy.typing as npt
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from krabby_parkour_ros.contract import ScanGrid

#: A message stamp: ``builtin_interfaces/Time`` or integer nanoseconds.
Stamp: TypeAlias = Time | int
#: Default lifetime of every marker (s).
MARKER_LIFETIME_S = 0.5
CONTACT_COLOUR = (0.1, 0.8, 0.2, 0.9)
AIR_COLOUR = (0.6, 0.6, 0.6, 0.6)
ARROW_COLOUR = (1.0, 0.55, 0.0, 0.9)


class DebugTopicError(ValueError):
    """Inputs of a debug message do not fit together (lengths)."""


def to_time(stamp: Stamp) -> Time:
    """Return a ``builtin_interfaces/Time`` for a Time or integer nanoseconds."""
    if isinstance(stamp, Time):
        return stamp
    nanoseconds = int(stamp)
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def _header(frame_id: str, stamp: Stamp) -> Header:
    return Header(stamp=to_time(stamp), frame_id=frame_id)


def _lifetime(seconds: float) -> Duration:
    whole = int(math.floor(seconds))
    return Duration(sec=whole, nanosec=int(round((seconds - whole) * 1e9)))


def _colour(rgba: Sequence[float]) -> ColorRGBA:
    return ColorRGBA(r=float(rgba[0]), g=float(rgba[1]), b=float(rgba[2]), a=float(rgba[3]))


def scan_points(scan_grid: ScanGrid, heights: npt.ArrayLike) -> np.ndarray:
    """
    Return the (N, 3) terrain points of a height scan in the base frame.

    :param scan_grid: the policy's grid (observation order).
    :param heights: base height above the terrain at each point (metres,
        the ``height_scan`` extension key), observation order.
    :raises DebugTopicError: if the counts differ.
    """
    values = np.asarray(heights, dtype=np.float64).reshape(-1)
    if values.size != scan_grid.size:
        raise DebugTopicError(
            f'heights: expected {int(scan_grid.size)} values'
            f' ({int(scan_grid.nx)}x{int(scan_grid.ny)} grid), got {int(values.size)}'
        )
    xy = np.asarray(scan_grid.points_xy(), dtype=np.float64)
    return np.column_stack([xy, -values])


def height_scan_cloud(
    scan_grid: ScanGrid, heights: npt.ArrayLike, frame_id: str, stamp: Stamp
) -> PointCloud2:
    """
    Return the height scan as a PointCloud2 (fields x, y, z float32).

    Points are in observation order (x fastest), ``height`` = 1 row,
    ``width`` = number of points; ``is_dense`` is False when a height is
    not finite.
    """
    points = scan_points(scan_grid, heights).astype(np.float32)
    fields = [
        PointField(name=name, offset=4 * i, datatype=PointField.FLOAT32, count=1)
        for i, name in enumerate(('x', 'y', 'z'))
    ]
    return PointCloud2(
        header=_header(frame_id, stamp),
        height=1,
        width=points.shape[0],
        fields=fields,
        is_bigendian=False,
        point_step=12,
        row_step=12 * points.shape[0],
        data=points.tobytes(),
        is_dense=bool(np.isfinite(points).all()),
    )


def _height_colours(z: np.ndarray) -> list[ColorRGBA]:
    finite = z[np.isfinite(z)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    span = max(high - low, 1e-6)
    colours = []
    for value in z:
        level = (float(value) - low) / span if math.isfinite(value) else 0.0
        colours.append(_colour((level, 0.2, 1.0 - level, 0.9)))
    return colours


def scan_markers(
    scan_grid: ScanGrid,
    heights: npt.ArrayLike,
    frame_id: str,
    stamp: Stamp,
    diameter: float = 0.03,
    ns: str = 'height_scan',
    lifetime_s: float = MARKER_LIFETIME_S,
) -> MarkerArray:
    """Return the scan points as one SPHERE_LIST marker coloured by terrain height."""
    points = scan_points(scan_grid, heights)
    finite = np.isfinite(points).all(axis=1)
    marker = Marker(
        header=_header(frame_id, stamp),
        ns=ns,
        id=0,
        type=Marker.SPHERE_LIST,
        action=Marker.ADD,
        lifetime=_lifetime(lifetime_s),
    )
    marker.pose.orientation.w = 1.0
    marker.scale.x = marker.scale.y = marker.scale.z = float(diameter)
    marker.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in points[finite]]
    marker.colors = _height_colours(points[finite, 2])
    return MarkerArray(markers=[marker])


def foot_contact_markers(
    contacts: Sequence[float] | np.ndarray,
    foot_frames: Sequence[str],
    stamp: Stamp,
    diameter: float = 0.06,
    ns: str = 'foot_contacts',
    lifetime_s: float = MARKER_LIFETIME_S,
) -> MarkerArray:
    """
    Return one sphere per foot, centred on its frame, green when in contact.

    :param contacts: per foot, 1 (contact) or 0, in the order of ``foot_frames``.
    :param foot_frames: TF frames of the feet (``FR_foot`` ... of the URDF).
    :raises DebugTopicError: if the counts differ.
    """
    if len(contacts) != len(foot_frames):
        raise DebugTopicError(
            f'contacts: expected {len(foot_frames)} values (one per foot frame), got'
            f' {len(contacts)}'
        )
    markers = []
    for index, (contact, frame) in enumerate(zip(contacts, foot_frames)):
        marker = Marker(
            header=_header(frame, stamp),
            ns=ns,
            id=index,
            type=Marker.SPHERE,
            action=Marker.ADD,
            lifetime=_lifetime(lifetime_s),
        )
        marker.pose.orientation.w = 1.0
        marker.scale.x = marker.scale.y = marker.scale.z = float(diameter)
        marker.color = _colour(CONTACT_COLOUR if float(contact) >= 0.5 else AIR_COLOUR)
        markers.append(marker)
    return MarkerArray(markers=markers)


def command_path(
    vx: float, yaw_rate: float, horizon_s: float = 1.0, steps: int = 10
) -> list[tuple[float, float]]:
    """Return the (x, y) points the command (vx, yaw rate) reaches within the horizon."""
    points = [(0.0, 0.0)]
    for step in range(1, steps + 1):
        t = horizon_s * step / steps
        if abs(yaw_rate) < 1e-9:
            points.append((vx * t, 0.0))
        else:
            radius = vx / yaw_rate
            points.append(
                (radius * math.sin(yaw_rate * t), radius * (1.0 - math.cos(yaw_rate * t)))
            )
    return points


def command_arrow_marker(
    vx: float,
    yaw_rate: float,
    frame_id: str,
    stamp: Stamp,
    height: float = 0.15,
    horizon_s: float = 1.0,
    ns: str = 'command',
    lifetime_s: float = MARKER_LIFETIME_S,
) -> MarkerArray:
    """
    Return the navigation command as an arrow and a text label.

    The arrow goes from the base origin (raised by ``height``) to where the
    command leads in ``horizon_s`` (constant vx and yaw rate); the label
    gives the numbers.
    """
    end = command_path(vx, yaw_rate, horizon_s)[-1]
    arrow = Marker(
        header=_header(frame_id, stamp),
        ns=ns,
        id=0,
        type=Marker.ARROW,
        action=Marker.ADD,
        lifetime=_lifetime(lifetime_s),
    )
    arrow.pose.orientation.w = 1.0
    arrow.points = [Point(x=0.0, y=0.0, z=height), Point(x=end[0], y=end[1], z=height)]
    arrow.scale.x, arrow.scale.y, arrow.scale.z = 0.02, 0.05, 0.06
    arrow.color = _colour(ARROW_COLOUR)
    label = Marker(
        header=_header(frame_id, stamp),
        ns=ns,
        id=1,
        type=Marker.TEXT_VIEW_FACING,
        action=Marker.ADD,
        lifetime=_lifetime(lifetime_s),
        text=f'vx {vx:.2f} m/s  yaw {yaw_rate:.2f} rad/s',
    )
    label.pose.orientation.w = 1.0
    label.pose.position.z = height + 0.15
    label.scale.z = 0.06
    label.color = _colour((1.0, 1.0, 1.0, 0.9))
    return MarkerArray(markers=[arrow, label])


def merge(arrays: Iterable[MarkerArray]) -> MarkerArray:
    """Return one MarkerArray with the markers of several (to publish on one topic)."""
    return MarkerArray(markers=[m for array in arrays for m in array.markers])
