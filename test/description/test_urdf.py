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

"""The generated URDF parses, loads in MuJoCo and agrees with the simulator model."""

from pathlib import Path
import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pytest

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.description import urdf
from krabby_parkour_ros.mapping.joint_map import load_joint_map
from krabby_parkour_ros.sim.go2_model import build_model, FOOT_POS, JOINT_NAMES, TOTAL_MASS

_OBJ = mujoco.mjtObj
#: A floating joint above the root makes MuJoCo keep ``base_link`` as its own body.
_FLOATING_ROOT = (
    '<link name="floating_root"/><joint name="floating_base" type="floating">'
    '<parent link="floating_root"/><child link="base_link"/></joint>'
)


@pytest.fixture(scope='module')
def text() -> str:
    return urdf.build_urdf()


@pytest.fixture(scope='module')
def models(text: str):
    floating = text.replace('</robot>', _FLOATING_ROOT + '</robot>')
    return mujoco.MjModel.from_xml_string(floating), build_model()


def _name(model, kind, index: int) -> str:
    return mujoco.mj_id2name(model, kind, index)


def _bodies(model) -> dict:
    """Return body name -> index, under the URDF's link names (``base`` is ``base_link``)."""
    return {urdf.link_name(_name(model, _OBJ.mjOBJ_BODY, i)): i for i in range(model.nbody)}


def _joints(model) -> dict:
    return {
        _name(model, _OBJ.mjOBJ_JOINT, i): i
        for i in range(model.njnt)
        if model.jnt_type[i] == mujoco.mjtJoint.mjJNT_HINGE
    }


def test_packaged_file_equals_a_fresh_generation(text: str) -> None:
    assert urdf.PACKAGED_URDF.read_text(encoding='utf-8') == text
    assert urdf.main(['--check']) == 0


def test_check_detects_a_stale_file(tmp_path: Path, capsys) -> None:
    stale = tmp_path / 'go2.urdf'
    stale.write_text('<robot name="old"/>')
    assert urdf.main(['--check', '--out', str(stale)]) == 1
    assert 'stale' in capsys.readouterr().err
    assert urdf.main(['--out', str(stale)]) == 0
    assert urdf.main(['--check', '--out', str(stale)]) == 0


def test_structure_is_a_valid_tree(text: str) -> None:
    root = ET.fromstring(text)
    assert root.tag == 'robot'
    links = [link.get('name') for link in root.findall('link')]
    joints = root.findall('joint')
    assert len(links) == len(set(links)) == 1 + 12 + 4
    children = [j.find('child').get('link') for j in joints]
    assert sorted(children) == sorted(set(links) - {'base_link'})
    assert urdf.ROOT_LINK == 'base_link' and links[0] == 'base_link'
    for joint in joints:
        assert joint.find('parent').get('link') in links
    materials = {m.get('name') for m in root.findall('material')}
    for visual in root.iter('visual'):
        assert visual.find('material').get('name') in materials
    assert not list(root.iter('mesh'))


def test_joint_names_are_the_hardware_names(text: str) -> None:
    root = ET.fromstring(text)
    revolute = [j.get('name') for j in root.findall('joint') if j.get('type') == 'revolute']
    hardware = load_joint_map('go2_sim').hardware_joint_names
    assert sorted(revolute) == sorted(n for n in hardware if not n.startswith('spare'))
    assert revolute == list(JOINT_NAMES)


def test_limits_are_the_training_limits(text: str) -> None:
    root = ET.fromstring(text)
    expected = {'hip': (35.0, 52.4), 'thigh': (40.0, 30.1), 'calf': (40.0, 30.1)}
    for joint in root.findall('joint'):
        if joint.get('type') != 'revolute':
            continue
        limit = joint.find('limit')
        kind = joint.get('name').split('_')[1]
        assert (float(limit.get('effort')), float(limit.get('velocity'))) == expected[kind]
        assert float(limit.get('lower')) < float(limit.get('upper'))
    assert urdf.joint_limits(GO2_PARKOUR_TEACHER) == expected


def test_mujoco_agrees_on_joints(models) -> None:
    from_urdf, sim = models
    urdf_joints, sim_joints = _joints(from_urdf), _joints(sim)
    assert list(urdf_joints) == list(sim_joints) == list(JOINT_NAMES)
    for name in JOINT_NAMES:
        a, b = urdf_joints[name], sim_joints[name]
        np.testing.assert_allclose(from_urdf.jnt_axis[a], sim.jnt_axis[b], atol=1e-12)
        np.testing.assert_allclose(from_urdf.jnt_range[a], sim.jnt_range[b], atol=1e-12)
        body_a, body_b = from_urdf.jnt_bodyid[a], sim.jnt_bodyid[b]
        assert _name(from_urdf, _OBJ.mjOBJ_BODY, body_a) == urdf.link_name(
            _name(sim, _OBJ.mjOBJ_BODY, body_b)
        )
        np.testing.assert_allclose(from_urdf.body_pos[body_a], sim.body_pos[body_b], atol=1e-12)


def _inertia_matrix(model, body: int) -> np.ndarray:
    rotation = np.zeros(9)
    mujoco.mju_quat2Mat(rotation, model.body_iquat[body])
    rotation = rotation.reshape(3, 3)
    return rotation @ np.diag(model.body_inertia[body]) @ rotation.T


def test_mujoco_agrees_on_masses_and_inertias(models) -> None:
    from_urdf, sim = models
    urdf_bodies, sim_bodies = _bodies(from_urdf), _bodies(sim)
    robot = [name for name in sim_bodies if name != 'world']
    assert sorted(robot) == sorted(n for n in urdf_bodies if n not in ('world', 'floating_root'))
    for name in robot:
        a, b = urdf_bodies[name], sim_bodies[name]
        assert from_urdf.body_mass[a] == pytest.approx(sim.body_mass[b], abs=1e-12)
        np.testing.assert_allclose(from_urdf.body_ipos[a], sim.body_ipos[b], atol=1e-12)
        np.testing.assert_allclose(
            _inertia_matrix(from_urdf, a), _inertia_matrix(sim, b), atol=1e-9, rtol=1e-6
        )
    assert (
        from_urdf.body_mass.sum()
        == pytest.approx(sim.body_mass.sum())
        == pytest.approx(TOTAL_MASS)
    )


def _collision_geoms(model, body: int) -> list:
    found = []
    for g in range(model.ngeom):
        if model.geom_bodyid[g] == body:
            found.append(
                (
                    int(model.geom_type[g]),
                    tuple(np.round(model.geom_size[g], 9)),
                    tuple(np.round(model.geom_pos[g], 9)),
                )
            )
    return sorted(found)


def test_mujoco_agrees_on_collision_geometry(models) -> None:
    from_urdf, sim = models
    urdf_bodies, sim_bodies = _bodies(from_urdf), _bodies(sim)
    for name, b in sim_bodies.items():
        if name == 'world':
            continue
        assert _collision_geoms(from_urdf, urdf_bodies[name]) == _collision_geoms(sim, b), name


def test_foot_frames_sit_on_the_contact_spheres(text: str) -> None:
    root = ET.fromstring(text)
    feet = {
        j.find('child').get('link'): j for j in root.findall('joint') if j.get('type') == 'fixed'
    }
    assert sorted(feet) == ['FL_foot', 'FR_foot', 'RL_foot', 'RR_foot']
    for foot, joint in feet.items():
        assert joint.find('parent').get('link') == foot.replace('_foot', '_calf')
        xyz = [float(v) for v in joint.find('origin').get('xyz').split()]
        assert xyz == pytest.approx(list(FOOT_POS))


def test_rpy_round_trips_quaternions() -> None:
    for quat in [
        (1, 0, 0, 0),
        (0.707107, 0.707107, 0, 0),
        (0.994493, 0, -0.104807, 0),
        (0.497014, 0.499245, 0.505462, 0.498237),
        (0, 0, 1, 0),
    ]:
        matrix = urdf.quat_to_matrix(quat)
        roll, pitch, yaw = urdf.matrix_to_rpy(matrix)
        cr, sr, cp, sp, cy, sy = (
            np.cos(roll),
            np.sin(roll),
            np.cos(pitch),
            np.sin(pitch),
            np.cos(yaw),
            np.sin(yaw),
        )
        rebuilt = (
            np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
            @ np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
            @ np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
        )
        np.testing.assert_allclose(rebuilt, matrix, atol=1e-9)
