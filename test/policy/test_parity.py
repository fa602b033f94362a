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

"""Parity of the shared trained teacher and of exports across runtimes."""

from pathlib import Path

import numpy as np
import pytest
import torch

from krabby_parkour_ros.policy import ModelIO, ModelWeights, ParkourPolicyModel
from krabby_parkour_ros.policy.backends import quiet_torchscript_deprecation
from krabby_parkour_ros.policy.export import main as export_main
from krabby_parkour_ros.policy.formats import CheckpointFormat
from krabby_parkour_ros.policy.sampling import plausible_observations
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path

from .conftest import needs_shared, SHARED_TEACHER


def _shared_policy_pt() -> ModelWeights:
    """Load the shared TorchScript teacher: trusted, so TorchScript is allowed explicitly."""
    return ModelWeights(SHARED_TEACHER / 'policy.pt', allow_torchscript=True)


def _actions(model: ParkourPolicyModel, observations: np.ndarray) -> np.ndarray:
    out: list[np.ndarray] = []
    for row in observations:
        response = model.inference(ModelIO(observation=row))
        assert response.success, response.error_message
        assert response.action.dtype == torch.float32
        assert response.action.shape == (model.action_dim,)
        out.append(response.action_numpy().copy())
    return np.stack(out)


@needs_shared
def test_shared_torchscript_and_onnx_agree() -> None:
    obs = plausible_observations(300, seed=21)
    script = ParkourPolicyModel(_shared_policy_pt(), backend='torchscript')
    onnx = ParkourPolicyModel(ModelWeights(SHARED_TEACHER / 'policy.onnx'), backend='onnxruntime')
    assert (script.backend, onnx.backend) == ('torchscript', 'onnxruntime')
    a, b = _actions(script, obs), _actions(onnx, obs)
    assert np.abs(a).max() > 0.5  # the trained policy really acts
    assert np.abs(a - b).max() <= 1e-5


@needs_shared
def test_shipped_safetensors_project_modules_match_policy_pt_1e6() -> None:
    """The eager project modules reproduce the exported policy.pt on 1000 observations."""
    obs = plausible_observations(1000, seed=22)
    model = ParkourPolicyModel(ModelWeights(shipped_checkpoint_path()), backend='torch')
    assert model.backend == 'torch'
    with quiet_torchscript_deprecation():
        script = torch.jit.load(str(SHARED_TEACHER / 'policy.pt'))
    with torch.no_grad():
        reference = np.stack([script(torch.from_numpy(row[None]))[0].numpy() for row in obs])
    assert np.abs(_actions(model, obs) - reference).max() <= 1e-6


@needs_shared
def test_default_fast_backend_matches_policy_pt() -> None:
    obs = plausible_observations(200, seed=23)
    fast = ParkourPolicyModel(ModelWeights(shipped_checkpoint_path()))
    assert fast.backend == 'onnxruntime'
    script = ParkourPolicyModel(_shared_policy_pt(), backend='torchscript')
    assert np.abs(_actions(fast, obs) - _actions(script, obs)).max() <= 1e-5


@needs_shared
def test_torchscript_file_auto_backend_is_converted_and_verified() -> None:
    obs = plausible_observations(200, seed=26)
    auto = ParkourPolicyModel(_shared_policy_pt())
    assert auto.backend == 'onnxruntime'
    script = ParkourPolicyModel(_shared_policy_pt(), backend='torchscript')
    assert np.abs(_actions(auto, obs) - _actions(script, obs)).max() <= 1e-5


@pytest.mark.parametrize('fmt', [CheckpointFormat.RSL_RL_TEACHER, CheckpointFormat.SAFETENSORS])
def test_generated_state_dict_exported_to_torchscript_and_onnx(
    generated: dict[CheckpointFormat, Path],
    tmp_path: Path,
    fmt: CheckpointFormat,
    capsys: pytest.CaptureFixture,
) -> None:
    out = tmp_path / 'export'
    assert export_main([str(generated[fmt]), '--out-dir', str(out), '--torchscript']) == 0
    assert 'UNTRAINED' in capsys.readouterr().out
    source = ParkourPolicyModel(ModelWeights(generated[fmt]), backend='torch')
    script = ParkourPolicyModel(ModelWeights(out / 'policy.pt', allow_torchscript=True))
    onnx = ParkourPolicyModel(ModelWeights(out / 'policy.onnx'))
    assert script.weights.format == CheckpointFormat.TORCHSCRIPT
    assert onnx.weights.format == CheckpointFormat.ONNX
    # The export keeps the card (untrained) and the embedded trained marker.
    assert script.weights.card is not None and not script.trained and not onnx.trained
    assert script.weights.card.formats == ('torchscript', 'onnx')
    obs = plausible_observations(200, seed=24)
    reference = _actions(source, obs)
    assert np.abs(reference).max() > 1e-3
    assert np.abs(_actions(script, obs) - reference).max() <= 1e-5
    assert np.abs(_actions(onnx, obs) - reference).max() <= 1e-5


def test_every_backend_of_a_state_dict_agrees(generated: dict[CheckpointFormat, Path]) -> None:
    weights = ModelWeights(generated[CheckpointFormat.RSL_RL_TEACHER])
    obs = plausible_observations(50, seed=25)
    results = {}
    for backend in ('torch', 'torchscript', 'onnxruntime'):
        model = ParkourPolicyModel(weights, backend=backend)
        assert model.backend == backend
        results[backend] = _actions(model, obs)
    assert np.abs(results['torchscript'] - results['torch']).max() <= 1e-5
    assert np.abs(results['onnxruntime'] - results['torch']).max() <= 1e-5
