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

The reset pose is the training one (``reset_joints_by_scale``): the default
joint pose scaled per joint by U(0.95, 1.05) from a seeded
:class:`numpy.random.Generator`, zero velocities, upright.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Sequence, Tuple

import numpy as np

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.sim.go2_model import JOINT_NAMES, TerrainBox

#: Half of the lateral extent of obstacles (m): 3 m each side of the path.
DEFAULT_HALF_WIDTH = 3.0
#: Per-joint scale range of the reset pose (training ``position_range``).
RESET_SCALE_RANGE = (0.95, 1.05)


def _default_pose_mujoco_order() -> np.ndarray:
    by_name = dict(zip(GO2_PARKOUR_TEACHER.joint_names,
                       GO2_PARKOUR_TEACHER.default_joint_positions))
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
    terrain: Tuple[TerrainBox, ...] = ()
    parameters: Dict[str, Any] = field(default_factory=dict)
    description: str = ''

    @property
    def end_x(self) -> float:
        """Return the x of the back face of the farthest obstacle (0 on flat)."""
        return max((b.center[0] + b.half_size[0] for b in self.terrain), default=0.0)


def _check_positive(name: str, value: float) -> None:
    if not value > 0.0:
        raise ValueError(f'{name}: expected a positive value, got {value!r}')


def flat() -> Scenario:
    """Return the empty floor."""
    return Scenario('flat', (), {}, 'flat floor')


def box(height: float = 0.2, distance: float = 1.5, depth: float = 1.0,
        width: float = 2 * DEFAULT_HALF_WIDTH) -> Scenario:
    """Return one box of ``height`` whose front face is ``distance`` ahead."""
    for name, value in (('height', height), ('distance', distance), ('depth', depth),
                        ('width', width)):
        _check_positive(name, value)
    obstacle = TerrainBox('box_0', (distance + depth / 2.0, 0.0, height / 2.0),
                          (depth / 2.0, width / 2.0, height / 2.0))
    return Scenario('box', (obstacle,),
                    {'height': height, 'distance': distance, 'depth': depth, 'width': width},
                    f'box {height:.2f} m high, front face {distance:.2f} m ahead, '
                    f'{depth:.2f} m deep')


def box_course(heights: Sequence[float] = (0.1, 0.2, 0.3, 0.4), distance: float = 1.5,
               depth: float = 1.0, gap: float = 1.5,
               width: float = 2 * DEFAULT_HALF_WIDTH) -> Scenario:
    """Return boxes of the given heights, ``gap`` metres of floor apart."""
    if len(heights) == 0:
        raise ValueError('heights: expected at least one box height, got none')
    for name, value in (('distance', distance), ('depth', depth), ('gap', gap),
                        ('width', width)):
        _check_positive(name, value)
    boxes = []
    front = distance
    for i, height in enumerate(heights):
        _check_positive(f'heights[{i}]', height)
        boxes.append(TerrainBox(f'box_{i}', (front + depth / 2.0, 0.0, height / 2.0),
                                (depth / 2.0, width / 2.0, height / 2.0)))
        front += depth + gap
    return Scenario('box_course', tuple(boxes),
                    {'heights': list(heights), 'distance': distance, 'depth': depth,
                     'gap': gap, 'width': width},
                    'boxes ' + ', '.join(f'{h:.2f}' for h in heights) + ' m high')


def stairs(step_height: float = 0.1, step_depth: float = 0.3, steps: int = 5,
           distance: float = 1.5, landing: float = 2.0,
           width: float = 2 * DEFAULT_HALF_WIDTH) -> Scenario:
    """Return ``steps`` steps up from ``distance`` ahead, then a landing."""
    for name, value in (('step_height', step_height), ('step_depth', step_depth),
                        ('distance', distance), ('landing', landing), ('width', width)):
        _check_positive(name, value)
    if steps < 1:
        raise ValueError(f'steps: expected at least 1, got {steps}')
    boxes = []
    for i in range(steps):
        length = step_depth if i < steps - 1 else step_depth + landing
        top = (i + 1) * step_height
        x0 = distance + i * step_depth
        boxes.append(TerrainBox(f'step_{i}', (x0 + length / 2.0, 0.0, top / 2.0),
                                (length / 2.0, width / 2.0, top / 2.0)))
    return Scenario('stairs', tuple(boxes),
                    {'step_height': step_height, 'step_depth': step_depth, 'steps': steps,
                     'distance': distance, 'landing': landing, 'width': width},
                    f'{steps} steps of {step_height:.2f} m x {step_depth:.2f} m')


#: Scenario builders by name.
SCENARIOS: Dict[str, Callable[..., Scenario]] = {
    'flat': flat, 'box': box, 'box_course': box_course, 'boxes': box_course,
    'stairs': stairs,
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
