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
A model file never runs code unless allowed, and never blocks its loader for long.

Issue #13, finding 3: a crafted TorchScript archive wrote a file at
``torch.jit.load`` (through the library and through the node), and a looping
``forward`` blocked configure. TorchScript is now refused unless the caller
opts in (``allow_torchscript``), before ``torch.jit.load`` is called, and
every load-time probe runs under a deadline.
"""

from collections.abc import Iterator
from pathlib import Path
import threading
import time

import pytest
import torch

from krabby_parkour_ros.control.inference_client import ParkourInferenceClient
from krabby_parkour_ros.control.runtime import load_policy, RuntimeConfig, RuntimeConfigError
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.node.parameters import runtime_config_from_values, SPECS
from krabby_parkour_ros.policy import model as model_module
from krabby_parkour_ros.policy.backends import OnnxRuntimeBackend, TorchBackend
from krabby_parkour_ros.policy.checkpoint import ModelWeights
from krabby_parkour_ros.policy.deadline import abandoned_threads, run_with_deadline
from krabby_parkour_ros.policy.errors import (
    ProbeTimeoutError,
    TorchScriptNotAllowedError,
    UnsafeCheckpointError,
)
from krabby_parkour_ros.policy.formats import CheckpointFormat
from krabby_parkour_ros.policy.model import ModelIO, ParkourPolicyModel
from krabby_parkour_ros.policy.sampling import plausible_observations
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path

from ..support.hostile_models import write_crafted_archive, write_looping_archive

_PROBE_TIMEOUT_S = 0.5


@pytest.fixture
def crafted(tmp_path: Path) -> tuple[Path, Path]:
    """Return (archive, target): loading the archive with torch.jit.load creates target."""
    return write_crafted_archive(tmp_path)


@pytest.fixture
def no_jit_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything calls torch.jit.load."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError('torch.jit.load was called on a refused file')

    monkeypatch.setattr(torch.jit, 'load', refuse)


@pytest.fixture
def joined_abandoned_threads() -> Iterator[threading.Event]:
    """Yield an event that releases blocked probes; join every abandoned probe after."""
    release = threading.Event()
    yield release
    release.set()
    for thread in abandoned_threads():
        thread.join(120.0)
    # No thread may be left inside torch when the test process exits.
    assert not abandoned_threads()


def _assert_refusal_message(message: str) -> None:
    assert 'TorchScript' in message and 'code that runs at load' in message
    assert 'at every inference' in message
    assert 'safetensors' in message and 'ONNX' in message
    assert 'allow_torchscript' in message


# -- refused without the opt-in ---------------------------------------------------------


def test_the_crafted_archive_really_writes_a_file_when_allowed(crafted: tuple[Path, Path]) -> None:
    """Control: the archive of the refusal tests is a real threat (it did this by default)."""
    archive, target = crafted
    weights = ModelWeights(archive, allow_torchscript=True)
    assert weights.format == CheckpointFormat.TORCHSCRIPT
    assert target.read_bytes() == b'AAAA'


def test_model_weights_refuses_torchscript_before_loading_it(
    crafted: tuple[Path, Path], no_jit_load: None
) -> None:
    archive, target = crafted
    with pytest.raises(TorchScriptNotAllowedError) as refused:
        ModelWeights(archive)
    _assert_refusal_message(str(refused.value))
    assert isinstance(refused.value, UnsafeCheckpointError)
    assert not target.exists()
    # The pickle opt-in is not a TorchScript opt-in.
    with pytest.raises(TorchScriptNotAllowedError):
        ModelWeights(archive, allow_unsafe_pickle=True)
    assert not target.exists()


@pytest.mark.parametrize('name', ['policy.safetensors', 'policy.onnx', 'policy.bin'])
def test_a_renamed_archive_is_still_refused(
    crafted: tuple[Path, Path], tmp_path: Path, no_jit_load: None, name: str
) -> None:
    archive, target = crafted
    renamed = tmp_path / name
    renamed.write_bytes(archive.read_bytes())
    with pytest.raises(TorchScriptNotAllowedError):
        ModelWeights(renamed)
    assert not target.exists()


def test_load_policy_refuses_torchscript_by_default(
    crafted: tuple[Path, Path], no_jit_load: None
) -> None:
    archive, target = crafted
    config = RuntimeConfig(checkpoint=str(archive))
    assert config.allow_torchscript is False
    with pytest.raises(TorchScriptNotAllowedError) as refused:
        load_policy(config)
    _assert_refusal_message(str(refused.value))
    assert not target.exists()


def test_node_parameters_refuse_torchscript_by_default(
    crafted: tuple[Path, Path], no_jit_load: None
) -> None:
    """The node's settings come from these parameters (configure -> load_policy)."""
    archive, target = crafted
    values = {name: spec.default for name, spec in SPECS.items()}
    values['checkpoint'] = str(archive)
    assert values['allow_torchscript'] is False
    with pytest.raises(TorchScriptNotAllowedError):
        load_policy(runtime_config_from_values(values.__getitem__))
    assert not target.exists()


def test_inference_client_refuses_torchscript_by_default(
    crafted: tuple[Path, Path], no_jit_load: None
) -> None:
    archive, target = crafted
    client = ParkourInferenceClient(HalClientConfig(), str(archive), device='cpu')
    try:
        with pytest.raises(TorchScriptNotAllowedError):
            client.initialize()
    finally:
        client.close()
    assert not target.exists()


# -- allowed with the opt-in ------------------------------------------------------------


def test_torchscript_loads_and_runs_with_the_opt_in(
    generated: dict[CheckpointFormat, Path],
) -> None:
    path = generated[CheckpointFormat.TORCHSCRIPT]
    weights = ModelWeights(path, allow_torchscript=True)
    assert weights.format == CheckpointFormat.TORCHSCRIPT and weights.torchscript is not None
    model = ParkourPolicyModel(weights)
    response = model.inference(ModelIO(plausible_observations(1, seed=3)[0]))
    assert response.success and response.action.shape == (12,)
    config = RuntimeConfig(checkpoint=str(path), allow_torchscript=True)
    assert load_policy(config).format == CheckpointFormat.TORCHSCRIPT
    values = {name: spec.default for name, spec in SPECS.items()}
    values.update(checkpoint=str(path), allow_torchscript=True)
    assert load_policy(runtime_config_from_values(values.__getitem__)).torchscript is not None


def test_inference_client_passes_the_opt_in(generated: dict[CheckpointFormat, Path]) -> None:
    path = str(generated[CheckpointFormat.TORCHSCRIPT])
    client = ParkourInferenceClient(HalClientConfig(), path, device='cpu', allow_torchscript=True)
    assert client._config.allow_torchscript is True
    via_config = ParkourInferenceClient(
        HalClientConfig(), path, device='cpu', runtime_config=RuntimeConfig(allow_torchscript=True)
    )
    assert via_config._config.allow_torchscript is True
    assert load_policy(client._config).format == CheckpointFormat.TORCHSCRIPT


def test_shipped_and_default_paths_need_no_opt_in() -> None:
    assert SPECS['allow_torchscript'].default is False
    weights = ModelWeights(shipped_checkpoint_path())
    assert weights.format == CheckpointFormat.SAFETENSORS
    assert load_policy(RuntimeConfig()).format == CheckpointFormat.SAFETENSORS


# -- the load-time probe is bounded in time ---------------------------------------------


def test_a_looping_torchscript_forward_is_refused_in_time(
    tmp_path: Path, joined_abandoned_threads: threading.Event
) -> None:
    path = write_looping_archive(tmp_path / 'loop.pt')
    start = time.monotonic()
    with pytest.raises(ProbeTimeoutError, match='did not finish within 0.5 s'):
        ModelWeights(path, allow_torchscript=True, probe_timeout_s=_PROBE_TIMEOUT_S)
    assert time.monotonic() - start < _PROBE_TIMEOUT_S + 10.0
    assert len(abandoned_threads()) == 1


def test_a_looping_torchscript_is_refused_through_the_runtime_config(
    tmp_path: Path, joined_abandoned_threads: threading.Event
) -> None:
    path = write_looping_archive(tmp_path / 'loop.pt')
    config = RuntimeConfig(
        checkpoint=str(path), allow_torchscript=True, probe_timeout_s=_PROBE_TIMEOUT_S
    )
    start = time.monotonic()
    with pytest.raises(ProbeTimeoutError):
        load_policy(config)
    assert time.monotonic() - start < _PROBE_TIMEOUT_S + 10.0


@pytest.mark.parametrize(
    'backend, slow_class',
    [
        ('torch', TorchBackend),
        ('torchscript', TorchBackend),
        ('onnxruntime', OnnxRuntimeBackend),
        ('student', model_module._StudentRuntime),
    ],
)
def test_every_backend_probe_is_bounded(
    generated: dict[CheckpointFormat, Path],
    monkeypatch: pytest.MonkeyPatch,
    joined_abandoned_threads: threading.Event,
    backend: str,
    slow_class: type,
) -> None:
    """A backend whose forward does not return is refused at load, whatever the backend."""
    release = joined_abandoned_threads
    original = slow_class.run

    def stuck(self: object, *args: object) -> object:
        release.wait(120.0)
        return original(self, *args)

    monkeypatch.setattr(slow_class, 'run', stuck)
    if backend == 'student':
        weights = ModelWeights(generated[CheckpointFormat.RSL_RL_STUDENT])
        backend = 'torch'
    else:
        weights = ModelWeights(generated[CheckpointFormat.RSL_RL_TEACHER])
    start = time.monotonic()
    with pytest.raises(ProbeTimeoutError, match='warming up'):
        ParkourPolicyModel(weights, backend=backend, probe_timeout_s=_PROBE_TIMEOUT_S)
    assert time.monotonic() - start < _PROBE_TIMEOUT_S + 10.0


def test_deadline_returns_values_and_raises_the_step_errors() -> None:
    assert run_with_deadline(lambda: 42, 5.0, 'answer') == 42

    def broken() -> None:
        raise KeyError('inside the worker')

    with pytest.raises(KeyError, match='inside the worker'):
        run_with_deadline(broken, 5.0, 'broken')
    for bad in (0.0, -1.0, float('nan'), float('inf')):
        with pytest.raises(ValueError, match='probe timeout'):
            run_with_deadline(lambda: None, bad, 'bad')


def test_probe_timeout_settings_are_validated() -> None:
    with pytest.raises(ValueError, match='probe timeout'):
        ModelWeights(shipped_checkpoint_path(), probe_timeout_s=0.0)
    with pytest.raises(RuntimeConfigError, match='probe_timeout_s'):
        RuntimeConfig(probe_timeout_s=0.0)
    spec = SPECS['policy_probe_timeout']
    assert spec.check(0.0) is not None and spec.check(spec.default) is None
    values = {name: s.default for name, s in SPECS.items()}
    values['policy_probe_timeout'] = 2.5
    assert runtime_config_from_values(values.__getitem__).probe_timeout_s == 2.5
