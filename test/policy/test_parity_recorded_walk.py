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
Parity on observations recorded from a simulated walk (not random samples).

The shipped teacher walks the MuJoCo Go2 in-process (simulator -> observation
builder -> policy -> action mapper, no sockets) for 1100 policy steps; every
observation it saw is kept, then replayed through the shared exported
TorchScript (policy.pt), the project's own modules, and the project's own
TorchScript/ONNX exports.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.hal.messages import HalObservation, ObservationExtensions
from krabby_parkour_ros.mapping.action import ActionMapper, ActionMapperConfig
from krabby_parkour_ros.mapping.joint_map import load_joint_map
from krabby_parkour_ros.mapping.navigation import NavigationCommand
from krabby_parkour_ros.mapping.observation import ObservationBuilder, ObservationConfig
from krabby_parkour_ros.policy import ModelIO, ModelWeights, ParkourPolicyModel
from krabby_parkour_ros.policy.backends import quiet_torchscript_deprecation
from krabby_parkour_ros.policy.export import main as export_main
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path
from krabby_parkour_ros.sim.robot import SimulatedRobot

from .conftest import needs_shared, SHARED_TEACHER

STEPS = 1100


def _hal_observation(sim_observation, stamp_ns: int) -> HalObservation:
    ext = {
        key: np.asarray(value, dtype=np.float64)
        for key, value in sim_observation.extensions.items()
    }
    return HalObservation(
        timestamp_ns=stamp_ns,
        joint_positions=sim_observation.joint_positions,
        rgb_camera_1=sim_observation.rgb,
        rgb_camera_2=sim_observation.rgb,
        depth_map=sim_observation.depth,
        confidence_map=sim_observation.confidence,
        extensions=ObservationExtensions(**ext),
    )


@pytest.fixture(scope='module')
def walk_observations() -> np.ndarray:
    """Walk 22 s at vx 0.5 over a 0.3 m box course and keep every observation."""
    joint_map = load_joint_map('go2_sim')
    builder = ObservationBuilder(GO2_PARKOUR_TEACHER, joint_map, ObservationConfig())
    mapper = ActionMapper(GO2_PARKOUR_TEACHER, joint_map, ActionMapperConfig())
    model = ParkourPolicyModel(ModelWeights(shipped_checkpoint_path()))
    robot = SimulatedRobot(scenario='box', seed=3)
    command = NavigationCommand(vx=0.5)
    sent = mapper.default_command()  # what the robot was last sent
    kept = []
    for step in range(STEPS):
        observation = _hal_observation(robot.observe(), (step + 1) * 20_000_000)
        vector = builder.build(observation, command)
        kept.append(vector.copy())
        response = model.inference(ModelIO(observation=vector))
        assert response.success, response.error_message
        result = mapper.map(response.action_numpy(), sent)
        assert result.command is not None, (result.refusal, result.detail)
        builder.record_action(result.raw_action)
        sent = result.command.copy()
        robot.set_hardware_targets(sent)
        robot.step(4)
    assert not robot.has_fallen(), 'the recorded walk itself must be a good walk'
    assert robot.base_position()[0] > 5.0
    return np.stack(kept)


def _actions(model: ParkourPolicyModel, observations: np.ndarray) -> np.ndarray:
    out = []
    for row in observations:
        response = model.inference(ModelIO(observation=row))
        assert response.success, response.error_message
        out.append(response.action_numpy().copy())
    return np.stack(out)


@needs_shared
def test_shipped_modules_match_shared_policy_pt_on_a_recorded_walk(walk_observations):
    # The reference is the shared file run as shipped: plain torch.jit.load, one
    # observation per call (no freezing or graph optimisation of ours).
    torch.set_num_threads(1)
    with quiet_torchscript_deprecation():
        reference = torch.jit.load(str(SHARED_TEACHER / 'policy.pt'), map_location='cpu').eval()
    with torch.inference_mode():
        expected = np.stack(
            [reference(torch.from_numpy(row[None]))[0].numpy() for row in walk_observations]
        )
    project = ParkourPolicyModel(ModelWeights(shipped_checkpoint_path()), backend='torch')
    actual = _actions(project, walk_observations)
    assert len(walk_observations) >= 1000
    assert np.abs(actual - expected).max() <= 1e-6


def test_exports_match_project_modules_on_a_recorded_walk(walk_observations, tmp_path: Path):
    assert (
        export_main([str(shipped_checkpoint_path()), '--out-dir', str(tmp_path), '--torchscript'])
        == 0
    )
    project = _actions(
        ParkourPolicyModel(ModelWeights(shipped_checkpoint_path()), backend='torch'),
        walk_observations,
    )
    exported = [p for p in tmp_path.iterdir() if p.suffix in ('.pt', '.onnx')]
    assert {p.suffix for p in exported} == {'.pt', '.onnx'}
    for path in exported:
        backend = 'torchscript' if path.suffix == '.pt' else 'onnxruntime'
        model = ParkourPolicyModel(
            ModelWeights(
                path,
                card_path=tmp_path / 'policy_card.yaml',
                allow_torchscript=path.suffix == '.pt',
            ),
            backend=backend,
        )
        assert np.abs(_actions(model, walk_observations) - project).max() <= 1e-5, path.name
