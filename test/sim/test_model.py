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

"""The generated Go2 model matches the reference robot's numbers and training's settings."""

from pathlib import Path
import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pytest

from krabby_parkour_ros.sim import go2_model
from krabby_parkour_ros.sim.go2_model import (
    ARMATURE,
    build_mjcf,
    build_model,
    JOINT_NAMES,
    TERRAIN_GROUP,
    TerrainBox,
)

SHARED = Path(__file__).resolve().parents[2] / '..' / 'shared'
REFERENCE = SHARED / 'sim' / 'unitree_go2' / 'go2.xml'
needs_reference = pytest.mark.skipif(
    not REFERENCE.is_file(), reason='needs the reference Go2 MJCF model (go2.xml)'
)

BODIES = (
    'base',
    'FL_hip',
    'FL_thigh',
    'FL_calf',
    'FR_hip',
    'FR_thigh',
    'FR_calf',
    'RL_hip',
    'RL_thigh',
    'RL_calf',
    'RR_hip',
    'RR_thigh',
    'RR_calf',
)


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split()])


def _reference_joint_defaults(root: ET.Element) -> dict[str, dict[str, str]]:
    """Return the joint attributes of every default class (inherited) of the reference."""
    out: dict[str, dict[str, str]] = {}

    def walk(node: ET.Element, inherited: dict[str, str]) -> None:
        for child in node.findall('default'):
            attrs = dict(inherited)
            joint = child.find('joint')
            if joint is not None:
                attrs.update(joint.attrib)
            out[child.get('class')] = attrs
            walk(child, attrs)

    walk(root.find('default'), {})
    return out


def _reference() -> ET.Element:
    return ET.parse(REFERENCE).getroot()


def _body(root: ET.Element, name: str) -> ET.Element | None:
    return next((b for b in root.iter('body') if b.get('name') == name), None)


@pytest.fixture(scope='module')
def model() -> mujoco.MjModel:
    return build_model([TerrainBox('box_0', (2.0, 0.0, 0.1), (0.5, 3.0, 0.1))])


def test_compiles_with_training_timestep_and_no_passive_joint_losses(
    model: mujoco.MjModel,
) -> None:
    assert model.opt.timestep == 0.005
    assert model.nq == 19 and model.nv == 18 and model.nu == 12
    leg_dofs = [model.jnt_dofadr[model.joint(n).id] for n in JOINT_NAMES]
    np.testing.assert_array_equal(model.dof_damping[leg_dofs], 0.0)
    np.testing.assert_array_equal(model.dof_frictionloss[leg_dofs], 0.0)
    np.testing.assert_array_equal(model.dof_armature[leg_dofs], ARMATURE)
    # Free joint: no damping, no armature.
    np.testing.assert_array_equal(model.dof_damping[:6], 0.0)
    np.testing.assert_array_equal(model.dof_armature[:6], 0.0)
    # Motors apply our computed torque unclipped (no 23.7 N*m cap).
    assert not model.actuator_ctrllimited.any()
    assert not model.actuator_forcelimited.any()
    np.testing.assert_array_equal(model.actuator_gear[:, 0], 1.0)
    assert [model.joint(model.actuator_trnid[i, 0]).name for i in range(12)] == list(JOINT_NAMES)


def test_masses_match_the_table(model: mujoco.MjModel) -> None:
    assert go2_model.TOTAL_MASS == pytest.approx(15.206408, abs=1e-9)
    assert float(np.sum(model.body_mass)) == pytest.approx(15.206408, abs=1e-9)
    assert model.body('base').mass[0] == 6.921
    for leg in ('FL', 'FR', 'RL', 'RR'):
        assert model.body(f'{leg}_hip').mass[0] == 0.678
        assert model.body(f'{leg}_thigh').mass[0] == 1.152
        assert model.body(f'{leg}_calf').mass[0] == 0.241352


@needs_reference
def test_inertials_and_body_positions_match_the_reference(model: mujoco.MjModel) -> None:
    root = _reference()
    total = 0.0
    for name in BODIES:
        body = _body(root, name)
        assert body is not None, name
        inertial = body.find('inertial')
        mass = float(inertial.get('mass'))
        total += mass
        compiled = model.body(name)
        assert compiled.mass[0] == pytest.approx(mass, abs=1e-12), name
        np.testing.assert_allclose(compiled.ipos, _floats(inertial.get('pos')), atol=1e-12)
        quat = _floats(inertial.get('quat'))
        quat /= np.linalg.norm(quat)
        # MuJoCo may flip the quaternion sign: same rotation either way.
        assert (
            min(np.abs(compiled.iquat - quat).max(), np.abs(compiled.iquat + quat).max()) < 1e-6
        ), name
        np.testing.assert_allclose(
            compiled.inertia, _floats(inertial.get('diaginertia')), rtol=1e-9
        )
        if name != 'base':
            np.testing.assert_allclose(compiled.pos, _floats(body.get('pos')), atol=1e-12)
    assert float(np.sum(model.body_mass)) == pytest.approx(total, abs=1e-9)


@needs_reference
def test_joints_match_the_reference_names_axes_and_ranges(model: mujoco.MjModel) -> None:
    root = _reference()
    defaults = _reference_joint_defaults(root)
    reference = {}
    for joint in root.find('worldbody').iter('joint'):
        attrs = dict(defaults[joint.get('class')])
        attrs.update(joint.attrib)
        reference[joint.get('name')] = attrs
    assert sorted(reference) == sorted(JOINT_NAMES)
    # MuJoCo order of the generated model equals the reference document order.
    assert [j.get('name') for j in root.find('worldbody').iter('joint')] == list(JOINT_NAMES)
    for name in JOINT_NAMES:
        joint = model.joint(name)
        np.testing.assert_allclose(joint.axis, _floats(reference[name].get('axis', '0 1 0')))
        np.testing.assert_allclose(joint.range, _floats(reference[name]['range']), atol=1e-12)
        assert joint.limited[0] == 1
    # The reference's passive losses are what we must NOT copy.
    assert float(defaults['go2']['damping']) == 2.0
    assert float(defaults['go2']['frictionloss']) == 0.2


@needs_reference
def test_collision_primitives_match_the_reference(model: mujoco.MjModel) -> None:
    root = _reference()
    for name in BODIES:
        ref = [g for g in _body(root, name).findall('geom') if g.get('class') != 'visual']
        body_id = model.body(name).id
        ours = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body_id]
        assert len(ours) == len(ref), name
        for gid, geom in zip(ours, ref):
            if geom.get('class') == 'foot':
                assert model.geom_type[gid] == mujoco.mjtGeom.mjGEOM_SPHERE
                assert model.geom_size[gid][0] == 0.022
                np.testing.assert_allclose(model.geom_pos[gid], (-0.002, 0.0, -0.213))
                assert model.geom(gid).name == geom.get('name')
                continue
            kind = geom.get('type', 'sphere')
            assert model.geom_type[gid] == getattr(mujoco.mjtGeom, f'mjGEOM_{kind.upper()}')
            size = _floats(geom.get('size'))
            np.testing.assert_allclose(model.geom_size[gid][: size.size], size)
            np.testing.assert_allclose(
                model.geom_pos[gid], _floats(geom.get('pos', '0 0 0')), atol=1e-12
            )


def test_contacts_terrain_group_and_friction(model: mujoco.MjModel) -> None:
    floor = model.geom('floor').id
    box = model.geom('box_0').id
    assert model.geom_group[floor] == TERRAIN_GROUP
    assert model.geom_group[box] == TERRAIN_GROUP
    robot = [g for g in range(model.ngeom) if model.geom_bodyid[g] != 0]
    # Base: box, cylinder, sphere; per leg: hip 1, thigh 1, calf 2 + foot.
    assert len(robot) == 3 + 4 * 5
    assert all(model.geom_group[g] != TERRAIN_GROUP for g in robot)
    for gid in robot + [floor, box]:
        assert model.geom_condim[gid] == 3
        assert model.geom_friction[gid][0] == 1.0
    for foot in ('FL', 'FR', 'RL', 'RR'):
        assert model.geom_size[model.geom(foot).id][0] == 0.022
    # Terrain box where asked.
    np.testing.assert_allclose(model.geom_pos[box], (2.0, 0.0, 0.1))
    np.testing.assert_allclose(model.geom_size[box], (0.5, 3.0, 0.1))


def test_mjcf_has_no_meshes_and_rejects_bad_terrain() -> None:
    text = build_mjcf()
    assert 'mesh' not in text
    with pytest.raises(ValueError, match='unique'):
        build_mjcf([TerrainBox('a', (0, 0, 0), (1, 1, 1)), TerrainBox('a', (0, 0, 0), (1, 1, 1))])
    with pytest.raises(ValueError, match='half_size'):
        build_mjcf([TerrainBox('a', (0, 0, 0), (1, 0, 1))])
