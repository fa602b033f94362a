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
Terrains of the acceptance gate: training's terrain families at a difficulty.

Training (``env.yaml``, ``scene.terrain.terrain_generator.sub_terrains``)
builds each sub-terrain from a difficulty in [0, 1] with formulas and
seeded random draws; :func:`build_course` does the same with a
:class:`numpy.random.Generator`, then lays the result out as MuJoCo boxes
(:mod:`krabby_parkour_ros.sim.scenarios`). Training terrains:

- ``flat`` (``parkour_flat``): no obstacle.
- ``gap`` (``parkour_gap``): gaps ``0.1 + 0.7 d`` wide, ``U(0.2, 1.0)`` deep,
  platforms ``U(0.8, 1.5)`` long between them.
- ``hurdle`` (``parkour_hurdle``): walls ``U(0.1 + 0.1 d, 0.15 + 0.25 d)``
  high, ``0.1 + 0.3 d`` thick, ``U(1.2, 2.2)`` apart.
- ``step`` (``parkour_step``): blocks ``0.1 + 0.35 d`` higher each, ``U(0.3, 1.5)
  + step height`` long (four up, one level, then down).
- ``stones`` (``parkour``): a pit ``U(0.2, 1.0)`` deep crossed on stones 1 m
  wide, ``U(0.9 - 0.3 d, 1 - 0.2 d)`` long (rounded to 0.2 m), ``U(-0.1,
  0.1 + 0.3 d)`` apart, offset sideways by ``U(0.2, 0.3 + 0.1 d)``
  alternately left and right, inclined by ``0.25 d`` across their width.

Project terrains (not training formulas; difficulty scales one size):
``box`` (one box ``0.1 + 0.4 d`` high), ``box_course`` (two boxes, the second
``0.1 + 0.4 d`` high, the first half that), ``stairs_up`` and ``stairs_down``
(five steps ``0.05 + 0.15 d`` high, 0.3 m deep).

Differences from training, on purpose: obstacles span the full 6 m width
(training keeps a corridor with pits or floor beside it), and a course
holds the two or three obstacles an episode of about 10 s reaches instead
of eight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from krabby_parkour_ros.sim.scenarios import make_scenario, Scenario

#: Where the first obstacle starts ahead of the robot (m), as in every scenario.
FIRST_OBSTACLE_X = 1.5
#: How far past the last obstacle the base must get for a success (m).
GOAL_MARGIN = 0.5


class TerrainError(ValueError):
    """An unknown terrain or a difficulty outside [0, 1]."""


@dataclass(frozen=True)
class Course:
    """
    One terrain instance: the simulator scenario and what counts as crossing it.

    :param terrain: terrain family name.
    :param difficulty: difficulty in [0, 1].
    :param scenario_name: simulator scenario name.
    :param scenario_parameters: its parameters (JSON-ready).
    :param goal_x: the base must reach this x (m) without a fall.
    :param waypoints: (x, y) points the pilot steers through, in order.
    :param obstacle_x: front x of each obstacle (obstacles passed are counted).
    :param summary: the sampled training parameters, for the scorecard.
    """

    terrain: str
    difficulty: float
    scenario_name: str
    scenario_parameters: dict[str, Any]
    goal_x: float
    waypoints: tuple[tuple[float, float], ...]
    obstacle_x: tuple[float, ...] = ()
    summary: dict[str, Any] = field(default_factory=dict)

    def scenario(self) -> Scenario:
        """Return the simulator scenario."""
        return make_scenario(self.scenario_name, **self.scenario_parameters)


def _round(value: float) -> float:
    return float(round(float(value), 4))


def _straight(goal_x: float) -> tuple[tuple[float, float], ...]:
    return ((goal_x + 5.0, 0.0),)


def flat_terrain(d: float, rng: np.random.Generator) -> Course:
    """Return the flat floor; the goal is 4 m ahead."""
    return Course('flat', d, 'flat', {}, 4.0, _straight(4.0), (), {})


def gap_terrain(d: float, rng: np.random.Generator) -> Course:
    """Return two gaps of training's ``parkour_gap`` at difficulty ``d``."""
    size = _round(0.1 + 0.7 * d)
    depth = _round(rng.uniform(0.2, 1.0))
    platforms = [_round(rng.uniform(0.8, 1.5)) for _ in range(2)]
    params = {
        'gap_sizes': [size, size],
        'platforms': platforms,
        'depth': depth,
        'distance': FIRST_OBSTACLE_X,
    }
    fronts = (FIRST_OBSTACLE_X, FIRST_OBSTACLE_X + size + platforms[0])
    goal = fronts[1] + size + GOAL_MARGIN
    return Course(
        'gap',
        d,
        'gaps',
        params,
        _round(goal),
        _straight(goal),
        fronts,
        {'gap_m': size, 'depth_m': depth},
    )


def hurdle_terrain(d: float, rng: np.random.Generator) -> Course:
    """Return two hurdles of training's ``parkour_hurdle`` at difficulty ``d``."""
    low, high = 0.1 + 0.1 * d, 0.15 + 0.25 * d
    heights = [_round(rng.uniform(low, high)) for _ in range(2)]
    thick = _round(0.1 + 0.3 * d)
    positions = [FIRST_OBSTACLE_X, _round(FIRST_OBSTACLE_X + rng.uniform(1.2, 2.2))]
    params = {'heights': heights, 'thicknesses': [thick, thick], 'positions': positions}
    goal = positions[1] + thick + GOAL_MARGIN
    return Course(
        'hurdle',
        d,
        'hurdles',
        params,
        _round(goal),
        _straight(goal),
        tuple(positions),
        {'heights_m': heights, 'thickness_m': thick},
    )


def step_terrain(d: float, rng: np.random.Generator) -> Course:
    """Return training's ``parkour_step`` blocks; the goal is onto the third one."""
    height = _round(0.1 + 0.35 * d)
    lengths = [_round(rng.uniform(0.3 + height, 1.5 + height)) for _ in range(8)]
    heights, level = [], 0.0
    for i in range(8):
        if i < 4:
            level += height
        elif i > 4:
            level -= height
        heights.append(_round(level))
    params = {'lengths': lengths, 'heights': heights, 'distance': FIRST_OBSTACLE_X}
    fronts = tuple(_round(FIRST_OBSTACLE_X + sum(lengths[:i])) for i in range(3))
    goal = fronts[2] + 0.3
    return Course(
        'step', d, 'step_course', params, _round(goal), _straight(goal), fronts, {'step_m': height}
    )


def stones_terrain(d: float, rng: np.random.Generator) -> Course:
    """Return three stepping stones of training's ``parkour`` terrain at difficulty ``d``."""
    pit = _round(rng.uniform(0.2, 1.0))
    length = 2.0 * round(float(rng.uniform(0.9 - 0.3 * d, 1.0 - 0.2 * d)) / 2.0, 1)
    length = max(length, 0.2)
    incline = 0.25 * d
    side = 1.0 if rng.integers(0, 2) else -1.0
    stones: list[list[float]] = []
    front = FIRST_OBSTACLE_X
    for i in range(3):
        if i > 0:
            front += length + float(rng.uniform(-0.1, 0.1 + 0.3 * d))
        offset = side * float(rng.uniform(0.2, 0.3 + 0.1 * d))
        stones.append([_round(front), _round(length), _round(offset), _round(side * incline)])
        side = -side
    params = {'stones': stones, 'pit_depth': pit, 'stone_width': 1.0}
    end = max(s[0] + s[1] for s in stones)
    goal = end + GOAL_MARGIN
    waypoints = tuple((s[0] + s[1] / 2.0, s[2]) for s in stones) + ((goal + 5.0, 0.0),)
    return Course(
        'stones',
        d,
        'stepping_stones',
        params,
        _round(goal),
        waypoints,
        tuple(s[0] for s in stones),
        {'pit_m': pit, 'stone_m': _round(length), 'incline_m': _round(incline)},
    )


def box_terrain(d: float, rng: np.random.Generator) -> Course:
    """Return one box ``0.1 + 0.4 d`` high (project terrain)."""
    height = _round(0.1 + 0.4 * d)
    params = {'height': height, 'distance': FIRST_OBSTACLE_X, 'depth': 1.0}
    goal = FIRST_OBSTACLE_X + 1.0 + GOAL_MARGIN
    return Course(
        'box', d, 'box', params, goal, _straight(goal), (FIRST_OBSTACLE_X,), {'height_m': height}
    )


def box_course_terrain(d: float, rng: np.random.Generator) -> Course:
    """Return two boxes, the second ``0.1 + 0.4 d`` high, the first half that."""
    top = 0.1 + 0.4 * d
    heights = [_round(top / 2.0), _round(top)]
    params = {'heights': heights, 'distance': FIRST_OBSTACLE_X, 'depth': 0.8, 'gap': 0.8}
    fronts = (FIRST_OBSTACLE_X, FIRST_OBSTACLE_X + 1.6)
    goal = fronts[1] + 0.8 + GOAL_MARGIN
    return Course(
        'box_course',
        d,
        'box_course',
        params,
        goal,
        _straight(goal),
        fronts,
        {'heights_m': heights},
    )


def stairs_up_terrain(d: float, rng: np.random.Generator) -> Course:
    """Return five steps up ``0.05 + 0.15 d`` high, 0.3 m deep, then a landing."""
    height = _round(0.05 + 0.15 * d)
    params = {
        'step_height': height,
        'step_depth': 0.3,
        'steps': 5,
        'distance': FIRST_OBSTACLE_X,
        'landing': 2.0,
    }
    goal = FIRST_OBSTACLE_X + 1.2 + GOAL_MARGIN
    return Course(
        'stairs_up',
        d,
        'stairs',
        params,
        goal,
        _straight(goal),
        (FIRST_OBSTACLE_X,),
        {'step_m': height},
    )


def stairs_down_terrain(d: float, rng: np.random.Generator) -> Course:
    """Return five steps down ``0.05 + 0.15 d`` high, 0.3 m deep, to the floor."""
    height = _round(0.05 + 0.15 * d)
    params = {'step_height': height, 'step_depth': 0.3, 'steps': 5, 'distance': FIRST_OBSTACLE_X}
    goal = FIRST_OBSTACLE_X + 1.2 + GOAL_MARGIN + 0.5
    return Course(
        'stairs_down',
        d,
        'stairs_down',
        params,
        goal,
        _straight(goal),
        (FIRST_OBSTACLE_X,),
        {'step_m': height},
    )


@dataclass(frozen=True)
class TerrainFamily:
    """A terrain family: its builder and where its formulas come from."""

    name: str
    builder: Callable[[float, np.random.Generator], Course]
    source: str
    uses_difficulty: bool = True


#: Terrain families by name, training's first.
TERRAINS: dict[str, TerrainFamily] = {
    f.name: f
    for f in (
        TerrainFamily('flat', flat_terrain, 'training parkour_flat', uses_difficulty=False),
        TerrainFamily('gap', gap_terrain, 'training parkour_gap'),
        TerrainFamily('hurdle', hurdle_terrain, 'training parkour_hurdle'),
        TerrainFamily('step', step_terrain, 'training parkour_step'),
        TerrainFamily('stones', stones_terrain, 'training parkour'),
        TerrainFamily('box', box_terrain, 'project'),
        TerrainFamily('box_course', box_course_terrain, 'project'),
        TerrainFamily('stairs_up', stairs_up_terrain, 'project'),
        TerrainFamily('stairs_down', stairs_down_terrain, 'project'),
    )
}


def build_course(terrain: str, difficulty: float, rng: np.random.Generator) -> Course:
    """
    Return the course of ``terrain`` at ``difficulty``, random draws from ``rng``.

    :raises TerrainError: unknown terrain or difficulty outside [0, 1].
    """
    family = TERRAINS.get(terrain)
    if family is None:
        raise TerrainError(f'terrain: expected one of {sorted(TERRAINS)}, got {terrain!r}')
    if not 0.0 <= float(difficulty) <= 1.0:
        raise TerrainError(f'difficulty: expected a number in [0, 1], got {difficulty!r}')
    return family.builder(float(difficulty), rng)
