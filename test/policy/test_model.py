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

"""ParkourPolicyModel: estimator wiring, failures as responses, student state, devices."""

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from krabby_parkour_ros.policy import (
    CheckpointError,
    CheckpointFormat,
    InferenceResponse,
    ModelIO,
    ModelWeights,
    ParkourPolicyModel,
)
from krabby_parkour_ros.policy.sampling import plausible_observations
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path

DEPTH = np.linspace(0.3, 2.5, 60 * 106, dtype=np.float32).reshape(60, 106)


def _manual_estimator_action(weights: ModelWeights, obs: np.ndarray) -> np.ndarray:
    """Estimator(proprio) written into priv_explicit by hand, then the actor."""
    config = weights.network_config
    assert config is not None and weights.estimator is not None and weights.actor is not None
    x = torch.from_numpy(obs[None].copy())
    with torch.no_grad():
        estimate = weights.estimator(x[:, :53])
        assert estimate.shape == (1, 9)
        x[:, 53 + 132 : 53 + 132 + 9] = estimate
        return weights.actor(x)[0].numpy()


@pytest.mark.parametrize('backend', ['torch', 'torchscript', 'onnxruntime'])
def test_estimator_fills_priv_explicit(
    generated: dict[CheckpointFormat, Path], backend: str
) -> None:
    weights = ModelWeights(generated[CheckpointFormat.RSL_RL_TEACHER])
    model = ParkourPolicyModel(weights, backend=backend)
    assert model.has_estimator and model.backend == backend
    for obs in plausible_observations(10, seed=31):
        estimated = model.inference(ModelIO(observation=obs, base_velocity_measured=False))
        measured = model.inference(ModelIO(observation=obs))
        assert estimated.success and measured.success
        np.testing.assert_allclose(
            estimated.action_numpy(), _manual_estimator_action(weights, obs), atol=1e-5
        )
        with torch.no_grad():
            plain = weights.actor(torch.from_numpy(obs[None]))[0].numpy()
        np.testing.assert_allclose(measured.action_numpy(), plain, atol=1e-5)
        assert np.abs(estimated.action_numpy() - measured.action_numpy()).max() > 1e-6


def test_estimator_ignores_the_given_priv_explicit(
    generated: dict[CheckpointFormat, Path],
) -> None:
    model = ParkourPolicyModel(ModelWeights(generated[CheckpointFormat.SAFETENSORS]))
    obs = plausible_observations(1, seed=32)[0]
    other = obs.copy()
    other[53 + 132 : 53 + 132 + 9] = 5.0
    a = model.inference(ModelIO(obs, base_velocity_measured=False)).action_numpy()
    b = model.inference(ModelIO(other, base_velocity_measured=False)).action_numpy()
    np.testing.assert_array_equal(a, b)


def test_no_estimator_and_no_velocity_fails_clearly() -> None:
    model = ParkourPolicyModel(ModelWeights(shipped_checkpoint_path()))
    assert not model.has_estimator
    response = model.inference(ModelIO(plausible_observations(1)[0], base_velocity_measured=False))
    assert not response.success
    assert 'no estimator' in response.error_message
    assert response.action.shape == (12,) and not response.action.any()


def test_response_contents() -> None:
    model = ParkourPolicyModel(ModelWeights(shipped_checkpoint_path()))
    assert (
        model.trained
        and model.contract is not None
        and model.contract.name == 'go2_parkour_teacher'
    )
    assert (model.obs_dim, model.action_dim) == (753, 12)
    assert not model.is_recurrent and not model.needs_depth
    response = model.inference(ModelIO(plausible_observations(1)[0]))
    assert isinstance(response, InferenceResponse) and response.success
    assert response.error_message == ''
    assert response.action.dtype == torch.float32 and response.action.device.type == 'cpu'
    assert set(response.timing) >= {'prepare', 'forward', 'total'}
    assert response.timing['total'] >= response.timing['forward'] > 0
    assert response.action_numpy().dtype == np.float32
    # float64 observations are accepted (copied into the float32 input)
    again = model.inference(ModelIO(plausible_observations(1)[0].astype(np.float64)))
    np.testing.assert_array_equal(again.action_numpy(), response.action_numpy())


@pytest.mark.parametrize(
    'observation, pattern',
    [
        (np.zeros(700, dtype=np.float32), r'shape \(700,\), expected \(753,\)'),
        (np.zeros((1, 753), dtype=np.float32), r'shape \(1, 753\)'),
        ([0.0] * 753, 'must be a numpy array'),
        (None, 'must be a numpy array'),
    ],
)
def test_malformed_observations_fail_without_raising(observation: object, pattern: str) -> None:
    model = ParkourPolicyModel(ModelWeights(shipped_checkpoint_path()))
    response = model.inference(ModelIO(observation=observation))  # type: ignore[arg-type]
    assert not response.success
    assert pytest.importorskip('re').search(pattern, response.error_message)


def test_non_finite_observation_names_the_block() -> None:
    model = ParkourPolicyModel(ModelWeights(shipped_checkpoint_path()))
    obs = plausible_observations(1)[0]
    obs[53 + 15] = np.nan
    response = model.inference(ModelIO(obs))
    assert not response.success and 'observation[68] (scan[15]) is nan' in response.error_message


def test_non_finite_output_is_a_failure(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(shipped_checkpoint_path()))
    tensors['actor.actor_backbone.6.bias'][3] = float('inf')
    path = tmp_path / 'inf.safetensors'
    save_file(tensors, str(path))
    model = ParkourPolicyModel(ModelWeights(path), backend='torch')
    response = model.inference(ModelIO(plausible_observations(1)[0]))
    assert not response.success and 'not 12 finite values' in response.error_message


def test_backend_restrictions(generated: dict[CheckpointFormat, Path]) -> None:
    with pytest.raises(CheckpointError, match='onnx checkpoints run on'):
        ParkourPolicyModel(ModelWeights(generated[CheckpointFormat.ONNX]), backend='torch')
    with pytest.raises(CheckpointError, match='torchscript checkpoints run on'):
        ParkourPolicyModel(
            ModelWeights(generated[CheckpointFormat.TORCHSCRIPT], allow_torchscript=True),
            backend='torch',
        )
    with pytest.raises(ValueError, match='backend must be'):
        ParkourPolicyModel(ModelWeights(generated[CheckpointFormat.ONNX]), backend='tvm')
    with pytest.raises(ValueError, match='num_threads'):
        ParkourPolicyModel(ModelWeights(generated[CheckpointFormat.ONNX]), num_threads=0)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_cuda_request_falls_back_to_cpu(generated: dict[CheckpointFormat, Path]) -> None:
    weights = ModelWeights(generated[CheckpointFormat.SAFETENSORS])
    records = _Records()
    logger = logging.getLogger('krabby_parkour_ros.policy.model')
    logger.addHandler(records)
    try:
        model = ParkourPolicyModel(weights, device='cuda', num_threads=1)
    finally:
        logger.removeHandler(records)
    obs = plausible_observations(3, seed=33)
    response = model.inference(ModelIO(obs[0]))
    assert response.success and response.action.device.type == 'cpu'
    assert torch.get_num_threads() == 1
    if not torch.cuda.is_available():
        assert model.device == 'cpu'
        assert any('CUDA is not available' in m for m in records.messages)
    else:
        reference = ParkourPolicyModel(weights, backend='torch')
        np.testing.assert_allclose(
            response.action_numpy(), reference.inference(ModelIO(obs[0])).action_numpy(), atol=1e-4
        )


# -- student ----------------------------------------------------------------------------


@pytest.fixture(scope='module')
def student(generated: dict[CheckpointFormat, Path]) -> ParkourPolicyModel:
    weights = ModelWeights(generated[CheckpointFormat.RSL_RL_STUDENT])
    model = ParkourPolicyModel(weights)
    assert model.is_recurrent and model.needs_depth and model.backend == 'torch'
    assert weights.card is not None and weights.card.depth is not None
    assert not weights.card.contract.scan_required
    return model


def test_student_needs_a_first_depth_image(student: ParkourPolicyModel) -> None:
    student.reset()
    response = student.inference(ModelIO(plausible_observations(1)[0]))
    assert not response.success and 'depth_image' in response.error_message


def test_student_gru_state_persists_and_resets(student: ParkourPolicyModel) -> None:
    """Depth steps every 5 calls (card): the GRU state carries over until reset()."""
    obs = plausible_observations(1, seed=34)[0]
    student.reset()
    actions = [
        student.inference(ModelIO(obs, depth_image=DEPTH)).action_numpy().copy() for _ in range(6)
    ]
    for index in range(1, 5):  # no new depth step: latent and yaw are reused
        np.testing.assert_array_equal(actions[index], actions[0])
    assert np.abs(actions[5] - actions[0]).max() > 1e-7  # second GRU step, same input
    student.reset()
    again = student.inference(ModelIO(obs, depth_image=DEPTH)).action_numpy()
    np.testing.assert_array_equal(again, actions[0])


def test_student_every_call_refresh(generated: dict[CheckpointFormat, Path]) -> None:
    model = ParkourPolicyModel(
        ModelWeights(generated[CheckpointFormat.RSL_RL_STUDENT]), depth_refresh_steps=1
    )
    obs = plausible_observations(1, seed=35)[0]
    first = model.inference(ModelIO(obs, depth_image=DEPTH)).action_numpy().copy()
    second = model.inference(ModelIO(obs, depth_image=DEPTH)).action_numpy().copy()
    assert np.abs(second - first).max() > 1e-7
    model.reset()
    np.testing.assert_array_equal(
        model.inference(ModelIO(obs, depth_image=DEPTH)).action_numpy(), first
    )


def test_student_overwrites_yaw_slots_and_uses_estimator(student: ParkourPolicyModel) -> None:
    obs = plausible_observations(1, seed=36)[0]
    other = obs.copy()
    other[6:8] = [1.2, -0.7]
    student.reset()
    a = student.inference(ModelIO(obs, depth_image=DEPTH)).action_numpy().copy()
    student.reset()
    b = student.inference(ModelIO(other, depth_image=DEPTH)).action_numpy().copy()
    np.testing.assert_array_equal(a, b)
    student.reset()
    c = student.inference(ModelIO(obs, base_velocity_measured=False, depth_image=DEPTH))
    assert c.success and np.abs(c.action_numpy() - a).max() > 1e-7


def test_student_rejects_bad_depth(student: ParkourPolicyModel) -> None:
    student.reset()
    response = student.inference(
        ModelIO(plausible_observations(1)[0], depth_image=np.zeros(10, dtype=np.float32))
    )
    assert not response.success and 'depth_image must be 2-D' in response.error_message
