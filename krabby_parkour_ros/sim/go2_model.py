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
The simulated Unitree Go2: a table of physical numbers and its MJCF generator.

The numbers (masses, full inertials, joint axes and ranges, body positions,
collision primitives including the foot spheres) are those of the Unitree
Go2 MuJoCo description (BSD-3, Unitree; ``sim/unitree_go2/go2.xml`` of the
shared files). Visual meshes are left out. What differs from that file, on
purpose, so that the simulation matches the training of the parkour policy
(``parkour-policy.md``, "Simulating this policy faithfully"):

- timestep 0.005 s (training physics step; the reference says 0.002 s);
- no passive joint damping or friction loss (reference: 2 and 0.2);
- armature 0.01 (as the reference);
- joints are driven by ``motor`` actuators without torque caps: the torque is
  computed by :mod:`krabby_parkour_ros.sim.motor` (PD + DC-motor curve), the
  reference's 23.7 N*m control range is below what training allowed;
- contacts: condim 3, friction 1.0 on every robot geom and on the terrain
  (training: static and dynamic friction 1.0, robot friction randomised
  around it), elliptic friction cones.

This module is the single source of the model: :func:`build_mjcf` writes the
MJCF text, :func:`build_model` compiles it.

Length: about 480 lines, beyond the usual ~450: most of the file is the robot's table of
physical numbers (data), kept beside the MJCF writer that reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import xml.etree.ElementTree as ET

import mujoco

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]

#: Physics step of training (s).
TIMESTEP = 0.005
#: Rotor inertia added to every leg joint (kg*m^2).
ARMATURE = 0.01
#: Sliding friction of robot and terrain geoms.
FRICTION = 1.0
#: Geom group of the terrain (floor and obstacles); ray casts use only it.
TERRAIN_GROUP = 1
#: Geom group of the robot's collision geoms (as in the reference).
ROBOT_GROUP = 3
#: Name of the floating base body.
BASE_BODY = 'base'
#: Foot sphere radius and position in the calf frame (m).
FOOT_RADIUS = 0.022
FOOT_POS: Vec3 = (-0.002, 0.0, -0.213)


@dataclass(frozen=True)
class Inertial:
    """Full inertial of a body: CoM position, principal axes, mass, inertia."""

    pos: Vec3
    quat: Quat
    mass: float
    diaginertia: Vec3


@dataclass(frozen=True)
class CollisionGeom:
    """
    One collision primitive of a body.

    ``kind`` is the MJCF geom type; ``size`` follows MJCF: sphere (r,),
    cylinder (r, half-length), box (half extents).
    """

    kind: str
    size: tuple[float, ...]
    pos: Vec3 = (0.0, 0.0, 0.0)
    quat: Quat | None = None
    name: str | None = None


@dataclass(frozen=True)
class JointSpec:
    """A hinge joint: name, axis and range (rad)."""

    name: str
    axis: Vec3
    limits: tuple[float, float]


@dataclass(frozen=True)
class LinkSpec:
    """A leg link: body name, position in its parent, inertial, joint, geoms."""

    name: str
    pos: Vec3
    inertial: Inertial
    joint: JointSpec
    geoms: tuple[CollisionGeom, ...]


# Joint ranges of the reference (rad).
_ABDUCTION_RANGE = (-1.0472, 1.0472)
_FRONT_HIP_RANGE = (-1.5708, 3.4907)
_BACK_HIP_RANGE = (-0.5236, 4.5379)
_KNEE_RANGE = (-2.7227, -0.83776)
_X_AXIS: Vec3 = (1.0, 0.0, 0.0)
_Y_AXIS: Vec3 = (0.0, 1.0, 0.0)

#: The trunk: inertial and collision primitives of the reference ``base``.
BASE_INERTIAL = Inertial(
    pos=(0.021112, 0.0, -0.005366),
    quat=(-0.000543471, 0.713435, -0.00173769, 0.700719),
    mass=6.921,
    diaginertia=(0.107027, 0.0980771, 0.0244531),
)
BASE_GEOMS: tuple[CollisionGeom, ...] = (
    CollisionGeom('box', (0.1881, 0.04675, 0.057)),
    CollisionGeom('cylinder', (0.05, 0.045), pos=(0.285, 0.0, 0.01)),
    CollisionGeom('sphere', (0.047,), pos=(0.293, 0.0, -0.06)),
)

# Inertials shared by several legs (left/right mirrored where noted).
_HIP_MASS = 0.678
_HIP_DIAG: Vec3 = (0.00088403, 0.000596003, 0.000479967)
_THIGH_LEFT = Inertial(
    pos=(-0.00374, -0.0223, -0.0327),
    quat=(0.829533, 0.0847635, -0.0200632, 0.551623),
    mass=1.152,
    diaginertia=(0.00594973, 0.00584149, 0.000878787),
)
_THIGH_RIGHT = Inertial(
    pos=(-0.00374, 0.0223, -0.0327),
    quat=(0.551623, -0.0200632, 0.0847635, 0.829533),
    mass=1.152,
    diaginertia=(0.00594973, 0.00584149, 0.000878787),
)
_CALF_LEFT = Inertial(
    pos=(0.00629595, -0.000622121, -0.141417),
    quat=(0.710672, 0.00154099, -0.00450087, 0.703508),
    mass=0.241352,
    diaginertia=(0.0014901, 0.00146356, 5.31397e-05),
)
_CALF_RIGHT = Inertial(
    pos=(0.00629595, 0.000622121, -0.141417),
    quat=(0.703508, -0.00450087, 0.00154099, 0.710672),
    mass=0.241352,
    diaginertia=(0.0014901, 0.00146356, 5.31397e-05),
)
_THIGH_GEOM = CollisionGeom(
    'box', (0.1065, 0.01225, 0.017), pos=(0.0, 0.0, -0.1065), quat=(0.707107, 0.0, 0.707107, 0.0)
)
_CALF_LOWER_GEOM = CollisionGeom(
    'cylinder', (0.011, 0.0325), pos=(0.02, 0.0, -0.148), quat=(0.999688, 0.0, 0.0249974, 0.0)
)
# The FL calf's upper cylinder differs slightly from the three others.
_CALF_UPPER_FL = CollisionGeom(
    'cylinder', (0.012, 0.06), pos=(0.008, 0.0, -0.06), quat=(0.994493, 0.0, -0.104807, 0.0)
)
_CALF_UPPER = CollisionGeom(
    'cylinder', (0.013, 0.06), pos=(0.01, 0.0, -0.06), quat=(0.995004, 0.0, -0.0998334, 0.0)
)


def _foot(leg: str) -> CollisionGeom:
    return CollisionGeom('sphere', (FOOT_RADIUS,), pos=FOOT_POS, name=leg)


def _leg(
    leg: str,
    hip_pos: Vec3,
    hip_inertial: Inertial,
    hip_geom: CollisionGeom,
    thigh_y: float,
    thigh: Inertial,
    thigh_range: tuple[float, float],
    calf: Inertial,
    calf_upper: CollisionGeom,
) -> tuple[LinkSpec, LinkSpec, LinkSpec]:
    """Return the hip, thigh and calf links of one leg (a chain)."""
    return (
        LinkSpec(
            f'{leg}_hip',
            hip_pos,
            hip_inertial,
            JointSpec(f'{leg}_hip_joint', _X_AXIS, _ABDUCTION_RANGE),
            (hip_geom,),
        ),
        LinkSpec(
            f'{leg}_thigh',
            (0.0, thigh_y, 0.0),
            thigh,
            JointSpec(f'{leg}_thigh_joint', _Y_AXIS, thigh_range),
            (_THIGH_GEOM,),
        ),
        LinkSpec(
            f'{leg}_calf',
            (0.0, 0.0, -0.213),
            calf,
            JointSpec(f'{leg}_calf_joint', _Y_AXIS, _KNEE_RANGE),
            (calf_upper, _CALF_LOWER_GEOM, _foot(leg)),
        ),
    )


#: The four legs in MuJoCo (reference) order: FL, FR, RL, RR; each a chain
#: hip -> thigh -> calf. Numbers are the reference's, leg by leg.
LEGS: tuple[tuple[LinkSpec, LinkSpec, LinkSpec], ...] = (
    _leg(
        'FL',
        (0.1934, 0.0465, 0.0),
        Inertial(
            (-0.0054, 0.00194, -0.000105),
            (0.497014, 0.499245, 0.505462, 0.498237),
            _HIP_MASS,
            _HIP_DIAG,
        ),
        CollisionGeom('cylinder', (0.046, 0.02), pos=(0.0, 0.08, 0.0), quat=(1.0, 1.0, 0.0, 0.0)),
        0.0955,
        _THIGH_LEFT,
        _FRONT_HIP_RANGE,
        _CALF_LEFT,
        _CALF_UPPER_FL,
    ),
    _leg(
        'FR',
        (0.1934, -0.0465, 0.0),
        Inertial(
            (-0.0054, -0.00194, -0.000105),
            (0.498237, 0.505462, 0.499245, 0.497014),
            _HIP_MASS,
            _HIP_DIAG,
        ),
        CollisionGeom(
            'cylinder', (0.046, 0.02), pos=(0.0, -0.08, 0.0), quat=(0.707107, 0.707107, 0.0, 0.0)
        ),
        -0.0955,
        _THIGH_RIGHT,
        _FRONT_HIP_RANGE,
        _CALF_RIGHT,
        _CALF_UPPER,
    ),
    _leg(
        'RL',
        (-0.1934, 0.0465, 0.0),
        Inertial(
            (0.0054, 0.00194, -0.000105),
            (0.505462, 0.498237, 0.497014, 0.499245),
            _HIP_MASS,
            _HIP_DIAG,
        ),
        CollisionGeom(
            'cylinder', (0.046, 0.02), pos=(0.0, 0.08, 0.0), quat=(0.707107, 0.707107, 0.0, 0.0)
        ),
        0.0955,
        _THIGH_LEFT,
        _BACK_HIP_RANGE,
        _CALF_LEFT,
        _CALF_UPPER,
    ),
    _leg(
        'RR',
        (-0.1934, -0.0465, 0.0),
        Inertial(
            (0.0054, -0.00194, -0.000105),
            (0.499245, 0.497014, 0.498237, 0.505462),
            _HIP_MASS,
            _HIP_DIAG,
        ),
        CollisionGeom(
            'cylinder', (0.046, 0.02), pos=(0.0, -0.08, 0.0), quat=(0.707107, 0.707107, 0.0, 0.0)
        ),
        -0.0955,
        _THIGH_RIGHT,
        _BACK_HIP_RANGE,
        _CALF_RIGHT,
        _CALF_UPPER,
    ),
)

#: Leg joint names in MuJoCo order (FL, FR, RL, RR; hip, thigh, calf).
JOINT_NAMES: tuple[str, ...] = tuple(link.joint.name for leg in LEGS for link in leg)
#: Foot geom names, MuJoCo order.
FOOT_NAMES: tuple[str, ...] = ('FL', 'FR', 'RL', 'RR')
#: Total mass of the robot (kg), from the table.
TOTAL_MASS: float = BASE_INERTIAL.mass + sum(link.inertial.mass for leg in LEGS for link in leg)


@dataclass(frozen=True)
class TerrainBox:
    """
    An axis-aligned box obstacle of the terrain.

    :param name: geom name (unique in the model).
    :param center: box centre in the world (m).
    :param half_size: half extents along x, y, z (m).
    """

    name: str
    center: Vec3
    half_size: Vec3

    @property
    def top(self) -> float:
        """Return the world z of the box's top face."""
        return self.center[2] + self.half_size[2]


def _fmt(values: Sequence[float]) -> str:
    return ' '.join(repr(float(v)) for v in values)


def _add_geom(parent: ET.Element, geom: CollisionGeom) -> None:
    attrs = {
        'type': geom.kind,
        'size': _fmt(geom.size),
        'pos': _fmt(geom.pos),
        'class': 'collision',
    }
    if geom.quat is not None:
        attrs['quat'] = _fmt(geom.quat)
    if geom.name is not None:
        attrs['name'] = geom.name
    ET.SubElement(parent, 'geom', attrs)


def _add_inertial(parent: ET.Element, inertial: Inertial) -> None:
    ET.SubElement(
        parent,
        'inertial',
        {
            'pos': _fmt(inertial.pos),
            'quat': _fmt(inertial.quat),
            'mass': repr(inertial.mass),
            'diaginertia': _fmt(inertial.diaginertia),
        },
    )


def _add_defaults(root: ET.Element) -> None:
    default = ET.SubElement(root, 'default')
    go2 = ET.SubElement(default, 'default', {'class': 'go2'})
    ET.SubElement(
        go2,
        'joint',
        {'type': 'hinge', 'damping': '0', 'frictionloss': '0', 'armature': repr(ARMATURE)},
    )
    ET.SubElement(go2, 'motor', {'ctrllimited': 'false', 'gear': '1'})
    collision = ET.SubElement(go2, 'default', {'class': 'collision'})
    ET.SubElement(
        collision,
        'geom',
        {
            'group': str(ROBOT_GROUP),
            'condim': '3',
            'friction': f'{FRICTION} 0.005 0.0001',
            'contype': '1',
            'conaffinity': '1',
        },
    )
    terrain = ET.SubElement(default, 'default', {'class': 'terrain'})
    ET.SubElement(
        terrain,
        'geom',
        {
            'group': str(TERRAIN_GROUP),
            'condim': '3',
            'friction': f'{FRICTION} 0.005 0.0001',
            'contype': '1',
            'conaffinity': '1',
            'rgba': '0.6 0.6 0.6 1',
        },
    )


def _add_robot(worldbody: ET.Element, base_height: float) -> None:
    base = ET.SubElement(
        worldbody, 'body', {'name': BASE_BODY, 'pos': f'0 0 {base_height!r}', 'childclass': 'go2'}
    )
    _add_inertial(base, BASE_INERTIAL)
    ET.SubElement(base, 'freejoint', {'name': 'floating_base'})
    for geom in BASE_GEOMS:
        _add_geom(base, geom)
    for leg in LEGS:
        parent = base
        for link in leg:
            body = ET.SubElement(parent, 'body', {'name': link.name, 'pos': _fmt(link.pos)})
            _add_inertial(body, link.inertial)
            ET.SubElement(
                body,
                'joint',
                {
                    'name': link.joint.name,
                    'axis': _fmt(link.joint.axis),
                    'range': _fmt(link.joint.limits),
                },
            )
            for geom in link.geoms:
                _add_geom(body, geom)
            parent = body


def build_mjcf(terrain: Sequence[TerrainBox] = (), base_height: float = 0.4) -> str:
    """
    Return the MJCF text of the Go2 on a floor with the given obstacles.

    :param terrain: box obstacles added (with the floor) to the terrain group.
    :param base_height: initial base height in the model (``qpos0``).
    :raises ValueError: when two obstacles share a name or a box has a
        non-positive half size.
    """
    names = [box.name for box in terrain]
    if len(set(names)) != len(names) or 'floor' in names:
        raise ValueError(
            f'terrain box names: expected unique names other than "floor", got {names}'
        )
    for box in terrain:
        if min(box.half_size) <= 0.0:
            raise ValueError(
                f'terrain box {box.name!r} half_size: expected positive values, '
                f'got {box.half_size}'
            )
    root = ET.Element('mujoco', {'model': 'krabby_go2_sim'})
    ET.SubElement(root, 'compiler', {'angle': 'radian', 'autolimits': 'true'})
    ET.SubElement(
        root,
        'option',
        {
            'timestep': repr(TIMESTEP),
            'cone': 'elliptic',
            'impratio': '100',
            'integrator': 'implicitfast',
        },
    )
    _add_defaults(root)
    worldbody = ET.SubElement(root, 'worldbody')
    ET.SubElement(worldbody, 'light', {'pos': '0 0 3', 'dir': '0 0 -1', 'directional': 'true'})
    ET.SubElement(
        worldbody,
        'geom',
        {'name': 'floor', 'class': 'terrain', 'type': 'plane', 'size': '0 0 0.05'},
    )
    for box in terrain:
        ET.SubElement(
            worldbody,
            'geom',
            {
                'name': box.name,
                'class': 'terrain',
                'type': 'box',
                'pos': _fmt(box.center),
                'size': _fmt(box.half_size),
            },
        )
    _add_robot(worldbody, base_height)
    actuator = ET.SubElement(root, 'actuator')
    for name in JOINT_NAMES:
        ET.SubElement(
            actuator, 'motor', {'name': name.replace('_joint', ''), 'joint': name, 'class': 'go2'}
        )
    ET.indent(root)
    return ET.tostring(root, encoding='unicode')


def build_model(terrain: Sequence[TerrainBox] = ()) -> mujoco.MjModel:
    """Compile the MJCF of :func:`build_mjcf` into a MuJoCo model."""
    return mujoco.MjModel.from_xml_string(build_mjcf(terrain))
