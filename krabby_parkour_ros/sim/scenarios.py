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
Simulation scenarios (terrain layouts) and the seeded reset pose.

The robot always starts at the world origin facing +x; obstacles lie ahead
of it. Scenarios, selectable by name with :func:`make_scenario`:

- ``flat``: the floor only.
- ``box``: one box of ``height`` (default 0.2 m) whose front face is
  ``distance`` (1.5 m) ahead, ``depth`` (1.0 m) deep and ``width`` (6 m)
  wide, so that drifting sideways cannot avoid it; flat floor behind it.
- ``box_course``: boxes of increasing ``heights`` (0.1 ... 0.4 m), each
  ``depth`` deep, separated by ``gap`` metres of floor.
- ``stairs``: ``steps`` steps up of ``step_height`` and ``step_depth``,
  then a landing of ``landing`` metres.
- ``stairs_down``: the robot starts on a platform ``steps * step_height``
  high and walks down ``steps`` steps to the floor.
- ``gaps``: a raised course ``depth`` high with gaps down to the floor
  between its platforms (the floor is the bottom of every gap).
- ``hurdles``: thin walls of given heights and thicknesses across the path.
- ``step_course``: contiguous blocks of given lengths and heights (up, then
  down), training's ``parkour_step`` layout.
- ``stepping_stones``: a pit ``pit_depth`` deep crossed on stones offset
  sideways, possibly inclined across their width (approximated by strips).

The terrain-generator parameters of training (difficulty formulas) live in
:mod:`krabby_parkour_ros.gate.terrains`; these builders take the resulting
geometry.

The reset pose is the training one (``reset_joints_by_scale``): the default
joint pose scaled per joint by U(0.95, 1.05) from a seeded
:class:`numpy.random.Generator`, zero velocities, upright.

Length: about 480 lines, beyond the usual ~450. One small builder per training terrain, kept
together as the one registry behind :func:`make_scenario`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.sim.go2_model import JOINT_NAMES, TerrainBox

#: Half of the lateral extent of obstacles (m): 3 m each side of the path.
DEFAULT_HALF_WIDTH = 3.0
#: Per-joint scale range of the reset pose (training ``position_range``).
RESET_SCALE_RANGE = (0.95, 1.05)


def _default_pose_mujoco_order() -> np.ndarray:
    by_name = dict(
        zip(GO2_PARKOUR_TEACHER.joint_names, GO2_PARKOUR_TEACHER.default_joint_positions)
    )
    return np.array([by_name[name.replace('_joint', '')] for name in JOINT_NAMES])


#: Default joint pose (rad) in MuJoCo joint order (FL, FR, RL, RR legs).
DEFAULT_JOINT_POSITIONS: np.ndarray = _default_pose_mujoco_order()
DEFAULT_JOINT_POSITIONS.setflags(write=False)


def reset_joint_positions(rng: np.random.Generator) -> np.ndarray:
    """Return the default pose scaled per joint by U(0.95, 1.05) (MuJoCo order)."""
    low, high = RESET_SCALE_RANGE
    return DEFAULT_JOINT_POSITIONS * rng.uniform(low, high, size=len(DEFAULT_JOINT_POSITIONS))


@dataclass(frozen=True)
class Scenario:
    """
    A terrain layout: obstacles on the floor and a short description.

    :param name: scenario name as selected on the command line.
    :param terrain: box obstacles (the floor at z = 0 is always there).
    :param parameters: the parameters the scenario was built with.
    :param description: one line for logs and summaries.
    """

    name: str
    terrain: tuple[TerrainBox, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ''

    @property
    def end_x(self) -> float:
        """Return the x of the back face of the farthest obstacle (0 on flat)."""
        return max((b.center[0] + b.half_size[0] for b in self.terrain), default=0.0)


def _check_positive(name: str, value: float) -> None:
    if not value > 0.0:
        raise ValueError(f'{name}: expected a positive value, got {value!r}')


def _check_all_positive(**values: float) -> None:
    for name, value in values.items():
        _check_positive(name, value)


def flat() -> Scenario:
    """Return the empty floor."""
    return Scenario('flat', (), {}, 'flat floor')


def box(
    height: float = 0.2,
    distance: float = 1.5,
    depth: float = 1.0,
    width: float = 2 * DEFAULT_HALF_WIDTH,
) -> Scenario:
    """Return one box of ``height`` whose front face is ``distance`` ahead."""
    _check_all_positive(height=height, distance=distance, depth=depth, width=width)
    obstacle = TerrainBox(
        'box_0',
        (distance + depth / 2.0, 0.0, height / 2.0),
        (depth / 2.0, width / 2.0, height / 2.0),
    )
    return Scenario(
        'box',
        (obstacle,),
        {'height': height, 'distance': distance, 'depth': depth, 'width': width},
        f'box {height:.2f} m high, front face {distance:.2f} m ahead, {depth:.2f} m deep',
    )


def box_course(
    heights: Sequence[float] = (0.1, 0.2, 0.3, 0.4),
    distance: float = 1.5,
    depth: float = 1.0,
    gap: float = 1.5,
    width: float = 2 * DEFAULT_HALF_WIDTH,
) -> Scenario:
    """Return boxes of the given heights, ``gap`` metres of floor apart."""
    if len(heights) == 0:
        raise ValueError('heights: expected at least one box height, got none')
    for name, value in (('distance', distance), ('depth', depth), ('gap', gap), ('width', width)):
        _check_positive(name, value)
    boxes = []
    front = distance
    for i, height in enumerate(heights):
        _check_positive(f'heights[{i}]', height)
        boxes.append(
            TerrainBox(
                f'box_{i}',
                (front + depth / 2.0, 0.0, height / 2.0),
                (depth / 2.0, width / 2.0, height / 2.0),
            )
        )
        front += depth + gap
    return Scenario(
        'box_course',
        tuple(boxes),
        {
            'heights': list(heights),
            'distance': distance,
            'depth': depth,
            'gap': gap,
            'width': width,
        },
        'boxes ' + ', '.join(f'{h:.2f}' for h in heights) + ' m high',
    )


def stairs(
    step_height: float = 0.1,
    step_depth: float = 0.3,
    steps: int = 5,
    distance: float = 1.5,
    landing: float = 2.0,
    width: float = 2 * DEFAULT_HALF_WIDTH,
) -> Scenario:
    """Return ``steps`` steps up from ``distance`` ahead, then a landing."""
    _check_all_positive(
        step_height=step_height,
        step_depth=step_depth,
        distance=distance,
        landing=landing,
        width=width,
    )
    if steps < 1:
        raise ValueError(f'steps: expected at least 1, got {steps}')
    boxes = []
    for i in range(steps):
        length = step_depth if i < steps - 1 else step_depth + landing
        top = (i + 1) * step_height
        x0 = distance + i * step_depth
        boxes.append(
            TerrainBox(
                f'step_{i}',
                (x0 + length / 2.0, 0.0, top / 2.0),
                (length / 2.0, width / 2.0, top / 2.0),
            )
        )
    return Scenario(
        'stairs',
        tuple(boxes),
        {
            'step_height': step_height,
            'step_depth': step_depth,
            'steps': steps,
            'distance': distance,
            'landing': landing,
            'width': width,
        },
        f'{steps} steps of {step_height:.2f} m x {step_depth:.2f} m',
    )


#: Length of the start platform behind the robot on raised courses (m).
START_PLATFORM_BACK = 1.5
#: Length of the platform after the last obstacle of a raised course (m).
FINAL_PLATFORM = 3.0
#: Strips across a stone's width that approximate its incline.
INCLINE_STRIPS = 5


def _slab(
    name: str,
    x0: float,
    x1: float,
    top: float,
    y0: float = -DEFAULT_HALF_WIDTH,
    y1: float = DEFAULT_HALF_WIDTH,
) -> TerrainBox:
    """Return a box from the floor up to ``top`` over [x0, x1] x [y0, y1]."""
    return TerrainBox(
        name,
        ((x0 + x1) / 2.0, (y0 + y1) / 2.0, top / 2.0),
        ((x1 - x0) / 2.0, (y1 - y0) / 2.0, top / 2.0),
    )


def stairs_down(
    step_height: float = 0.1,
    step_depth: float = 0.3,
    steps: int = 5,
    distance: float = 1.5,
    width: float = 2 * DEFAULT_HALF_WIDTH,
) -> Scenario:
    """Return a platform ``steps * step_height`` high with ``steps`` steps down ahead."""
    _check_all_positive(
        step_height=step_height,
        step_depth=step_depth,
        distance=distance,
        width=width,
    )
    if steps < 1:
        raise ValueError(f'steps: expected at least 1, got {steps}')
    half = width / 2.0
    boxes = [_slab('platform', -START_PLATFORM_BACK, distance, steps * step_height, -half, half)]
    for i in range(steps - 1):
        x0 = distance + i * step_depth
        boxes.append(
            _slab(f'step_{i}', x0, x0 + step_depth, (steps - 1 - i) * step_height, -half, half)
        )
    return Scenario(
        'stairs_down',
        tuple(boxes),
        {
            'step_height': step_height,
            'step_depth': step_depth,
            'steps': steps,
            'distance': distance,
            'width': width,
        },
        f'{steps} steps down of {step_height:.2f} m x {step_depth:.2f} m',
    )


def gaps(
    gap_sizes: Sequence[float] = (0.3,),
    platforms: Sequence[float] = (1.0,),
    depth: float = 0.5,
    distance: float = 1.5,
    width: float = 2 * DEFAULT_HALF_WIDTH,
) -> Scenario:
    """
    Return a course ``depth`` high with gaps down to the floor.

    The robot starts on a platform reaching ``distance`` ahead; then gap
    ``i`` (``gap_sizes[i]`` wide) and platform ``i`` (``platforms[i]`` long;
    after the last gap a final platform of :data:`FINAL_PLATFORM`). The
    floor (z = 0) is the bottom of every gap, so the height scan reads the
    gap ``depth`` below the platforms, as training's negative heights do.
    """
    if len(gap_sizes) == 0 or len(platforms) != len(gap_sizes):
        raise ValueError(
            f'gap_sizes/platforms: expected equal, non-empty lengths, got '
            f'{len(gap_sizes)} and {len(platforms)}'
        )
    for name, value in (('depth', depth), ('distance', distance), ('width', width)):
        _check_positive(name, value)
    half = width / 2.0
    boxes = [_slab('platform_start', -START_PLATFORM_BACK, distance, depth, -half, half)]
    front = distance
    for i, (gap, length) in enumerate(zip(gap_sizes, platforms)):
        _check_positive(f'gap_sizes[{i}]', gap)
        _check_positive(f'platforms[{i}]', length)
        front += gap
        last = i == len(gap_sizes) - 1
        end = front + (FINAL_PLATFORM if last else length)
        boxes.append(_slab(f'platform_{i}', front, end, depth, -half, half))
        front = end
    return Scenario(
        'gaps',
        tuple(boxes),
        {
            'gap_sizes': list(gap_sizes),
            'platforms': list(platforms),
            'depth': depth,
            'distance': distance,
            'width': width,
        },
        'gaps ' + ', '.join(f'{g:.2f}' for g in gap_sizes) + f' m wide, {depth:.2f} m deep',
    )


def hurdles(
    heights: Sequence[float] = (0.2,),
    thicknesses: Sequence[float] = (0.1,),
    positions: Sequence[float] = (1.5,),
    width: float = 2 * DEFAULT_HALF_WIDTH,
) -> Scenario:
    """Return walls ``heights[i]`` high and ``thicknesses[i]`` thick, front at ``positions[i]``."""
    if not len(heights) == len(thicknesses) == len(positions) or len(heights) == 0:
        raise ValueError(
            f'heights/thicknesses/positions: expected equal, non-empty lengths, '
            f'got {len(heights)}, {len(thicknesses)}, {len(positions)}'
        )
    _check_positive('width', width)
    half = width / 2.0
    boxes = []
    for i, (height, thick, front) in enumerate(zip(heights, thicknesses, positions)):
        _check_positive(f'heights[{i}]', height)
        _check_positive(f'thicknesses[{i}]', thick)
        boxes.append(_slab(f'hurdle_{i}', front, front + thick, height, -half, half))
    return Scenario(
        'hurdles',
        tuple(boxes),
        {
            'heights': list(heights),
            'thicknesses': list(thicknesses),
            'positions': list(positions),
            'width': width,
        },
        'hurdles ' + ', '.join(f'{h:.2f}' for h in heights) + ' m high',
    )


def step_course(
    lengths: Sequence[float] = (0.6,),
    heights: Sequence[float] = (0.1,),
    distance: float = 1.5,
    width: float = 2 * DEFAULT_HALF_WIDTH,
) -> Scenario:
    """Return contiguous blocks from ``distance`` on, ``lengths[i]`` long, ``heights[i]`` high."""
    if len(lengths) == 0 or len(lengths) != len(heights):
        raise ValueError(
            f'lengths/heights: expected equal, non-empty lengths, got '
            f'{len(lengths)} and {len(heights)}'
        )
    for name, value in (('distance', distance), ('width', width)):
        _check_positive(name, value)
    half = width / 2.0
    boxes = []
    front = distance
    for i, (length, height) in enumerate(zip(lengths, heights)):
        _check_positive(f'lengths[{i}]', length)
        if height > 0.0:
            boxes.append(_slab(f'block_{i}', front, front + length, height, -half, half))
        front += length
    return Scenario(
        'step_course',
        tuple(boxes),
        {'lengths': list(lengths), 'heights': list(heights), 'distance': distance, 'width': width},
        'steps ' + ', '.join(f'{h:.2f}' for h in heights) + ' m high',
    )


def stepping_stones(
    stones: Sequence[Sequence[float]] = ((1.5, 0.8, 0.0, 0.0),),
    pit_depth: float = 0.5,
    stone_width: float = 1.0,
    width: float = 2 * DEFAULT_HALF_WIDTH,
) -> Scenario:
    """
    Return a pit ``pit_depth`` deep crossed on stones (training's ``parkour`` terrain).

    :param stones: per stone ``(front_x, length, center_y, incline)``; the
        stone's top is ``pit_depth`` at its centre line and rises linearly by
        ``incline`` towards +y (falls towards -y), approximated by
        :data:`INCLINE_STRIPS` strips. The start platform reaches the first
        stone's front; a final platform follows the last stone.
    """
    if len(stones) == 0:
        raise ValueError('stones: expected at least one stone, got none')
    for name, value in (('pit_depth', pit_depth), ('stone_width', stone_width), ('width', width)):
        _check_positive(name, value)
    half = width / 2.0
    first_front = float(stones[0][0])
    boxes = [_slab('platform_start', -START_PLATFORM_BACK, first_front, pit_depth, -half, half)]
    strip = stone_width / INCLINE_STRIPS
    end = first_front
    for i, stone in enumerate(stones):
        if len(stone) != 4:
            raise ValueError(
                f'stones[{i}]: expected (front_x, length, center_y, incline), got {stone!r}'
            )
        front, length, center_y, incline = (float(v) for v in stone)
        _check_positive(f'stones[{i}] length', length)
        for k in range(INCLINE_STRIPS):
            offset = (k + 0.5) / INCLINE_STRIPS - 0.5  # -0.5 ... 0.5 across the width
            top = pit_depth + 2.0 * offset * incline
            y0 = center_y - stone_width / 2.0 + k * strip
            if top > 0.0:
                boxes.append(_slab(f'stone_{i}_{k}', front, front + length, top, y0, y0 + strip))
        end = max(end, front + length)
    boxes.append(_slab('platform_final', end, end + FINAL_PLATFORM, pit_depth, -half, half))
    return Scenario(
        'stepping_stones',
        tuple(boxes),
        {
            'stones': [list(map(float, s)) for s in stones],
            'pit_depth': pit_depth,
            'stone_width': stone_width,
            'width': width,
        },
        f'{len(stones)} stepping stones over a {pit_depth:.2f} m pit',
    )


#: Scenario builders by name.
SCENARIOS: dict[str, Callable[..., Scenario]] = {
    'flat': flat,
    'box': box,
    'box_course': box_course,
    'boxes': box_course,
    'stairs': stairs,
    'stairs_down': stairs_down,
    'gaps': gaps,
    'hurdles': hurdles,
    'step_course': step_course,
    'stepping_stones': stepping_stones,
}


def make_scenario(name: str, **parameters: Any) -> Scenario:
    """
    Return the scenario ``name`` built with ``parameters``.

    :raises ValueError: for an unknown name or a bad parameter value.
    :raises TypeError: for a parameter the scenario does not take.
    """
    try:
        builder = SCENARIOS[name]
    except KeyError:
        raise ValueError(f'scenario: expected one of {sorted(SCENARIOS)}, got {name!r}') from None
    return builder(**parameters)
