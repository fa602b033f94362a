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

"""Bad checkpoint files are refused with specific, explicit errors."""

from collections.abc import Callable
import json
import os
from pathlib import Path
import struct
from typing import Any
import zipfile

import pytest
import torch
import yaml

from krabby_parkour_ros.policy import (
    CheckpointDimensionError,
    CheckpointError,
    CheckpointFormat,
    CheckpointKeyError,
    CheckpointShapeError,
    CorruptCheckpointError,
    ModelWeights,
    TruncatedCheckpointError,
    UnknownCheckpointFormatError,
    UnsafeCheckpointError,
)

from .conftest import needs_shared, SHARED_TEACHER


class HarmlessPayload:
    """A custom class: its instances need arbitrary-class unpickling."""

    def __init__(self, value: int) -> None:
        self.value = value


class ShellPayload:
    """Unpickling this runs a shell command (must never happen)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (os.system, (f'touch {self.marker}',))


def _teacher_dict(generated: dict[CheckpointFormat, Path]) -> dict[str, Any]:
    return torch.load(str(generated[CheckpointFormat.RSL_RL_TEACHER]), weights_only=True)


def _save(data: Any, path: Path) -> Path:
    torch.save(data, str(path))
    return path


@pytest.mark.parametrize('fmt', list(CheckpointFormat))
def test_truncated_files(
    generated: dict[CheckpointFormat, Path], tmp_path: Path, fmt: CheckpointFormat
) -> None:
    data = generated[fmt].read_bytes()
    cut = tmp_path / 'cut.bin'
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedCheckpointError, match='truncated'):
        ModelWeights(cut)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / 'empty.pt'
    empty.write_bytes(b'')
    with pytest.raises(TruncatedCheckpointError, match='empty'):
        ModelWeights(empty)
    with pytest.raises(FileNotFoundError):
        ModelWeights(tmp_path / 'absent.pt')


def test_wrong_shape_names_key_and_both_shapes(
    generated: dict[CheckpointFormat, Path], tmp_path: Path
) -> None:
    data = _teacher_dict(generated)
    data['model_state_dict']['actor.actor_backbone.2.weight'] = torch.zeros(256, 500)
    with pytest.raises(CheckpointShapeError) as info:
        ModelWeights(_save(data, tmp_path / 'shape.pt'))
    message = str(info.value)
    assert 'actor_backbone.2.weight' in message
    assert '[256, 500]' in message and '[256, 512]' in message
    assert info.value.expected == (256, 512) and info.value.actual == (256, 500)


def test_wrong_estimator_output_shape(
    generated: dict[CheckpointFormat, Path], tmp_path: Path
) -> None:
    data = _teacher_dict(generated)
    data['estimator_state_dict']['estimator.4.weight'] = torch.zeros(3, 64)
    data['estimator_state_dict']['estimator.4.bias'] = torch.zeros(3)
    with pytest.raises(CheckpointShapeError, match=r'estimator.4.weight.*\[3, 64\].*\[9, 64\]'):
        ModelWeights(_save(data, tmp_path / 'est.pt'))


def test_missing_and_unexpected_keys_are_all_named(
    generated: dict[CheckpointFormat, Path], tmp_path: Path
) -> None:
    data = _teacher_dict(generated)
    del data['model_state_dict']['actor.scan_encoder.2.bias']
    del data['model_state_dict']['actor.history_encoder.linear_output.0.weight']
    data['model_state_dict']['actor.extra_head.weight'] = torch.zeros(3, 3)
    with pytest.raises(CheckpointKeyError) as info:
        ModelWeights(_save(data, tmp_path / 'keys.pt'))
    assert info.value.missing == ('history_encoder.linear_output.0.weight', 'scan_encoder.2.bias')
    assert info.value.unexpected == ('extra_head.weight',)
    assert 'missing keys' in str(info.value) and 'unexpected keys' in str(info.value)


def test_unknown_model_state_prefix_and_missing_model_state(
    generated: dict[CheckpointFormat, Path], tmp_path: Path
) -> None:
    data = _teacher_dict(generated)
    data['model_state_dict']['mystery.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointKeyError, match='mystery.weight'):
        ModelWeights(_save(data, tmp_path / 'prefix.pt'))
    with pytest.raises(CheckpointKeyError, match='model_state_dict'):
        ModelWeights(_save({'weights': torch.zeros(3)}, tmp_path / 'nomodel.pt'))
    data = _teacher_dict(generated)
    data['depth_encoder_state_dict'] = {}
    with pytest.raises(CheckpointKeyError, match='depth_actor_state_dict'):
        ModelWeights(_save(data, tmp_path / 'halfstudent.pt'))


def test_pickled_shell_command_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / 'PWNED'
    data = {'model_state_dict': {}, 'infos': ShellPayload(marker)}
    path = _save(data, tmp_path / 'evil.pt')
    with pytest.raises(UnsafeCheckpointError) as info:
        ModelWeights(path)
    assert not marker.exists()
    message = str(info.value)
    assert 'arbitrary code' in message and 'allow_unsafe_pickle=True' in message
    assert 'system' in message  # torch names the refused global


def test_custom_class_refused_by_default_and_allowed_explicitly(
    generated: dict[CheckpointFormat, Path], tmp_path: Path
) -> None:
    data = _teacher_dict(generated)
    data['infos'] = HarmlessPayload(3)
    path = _save(data, tmp_path / 'custom.pt')
    with pytest.raises(UnsafeCheckpointError, match='HarmlessPayload'):
        ModelWeights(path)
    weights = ModelWeights(path, allow_unsafe_pickle=True)
    assert weights.format == CheckpointFormat.RSL_RL_TEACHER


@pytest.mark.parametrize(
    'content',
    [
        b'hello, not a checkpoint at all\n',
        b'\x00\x01\x02\x03' * 16,
        b'{"json": "but not safetensors"}',
    ],
)
def test_unknown_formats(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / 'policy.pt'
    path.write_bytes(content)
    with pytest.raises(UnknownCheckpointFormatError, match='unknown checkpoint format'):
        ModelWeights(path)


def test_zip_that_is_not_a_torch_archive(tmp_path: Path) -> None:
    path = tmp_path / 'policy.pt'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('readme.txt', 'hello')
    with pytest.raises(UnknownCheckpointFormatError, match='neither a TorchScript'):
        ModelWeights(path)


def _safetensors_bytes(header: dict[str, Any], data: bytes) -> bytes:
    raw = json.dumps(header).encode('utf-8')
    return struct.pack('<Q', len(raw)) + raw + data


def test_corrupt_safetensors_header(tmp_path: Path) -> None:
    path = tmp_path / 'bad.safetensors'
    raw = b'{"actor.x": not json at all}'
    path.write_bytes(struct.pack('<Q', len(raw)) + raw)
    with pytest.raises(CorruptCheckpointError, match='not valid JSON'):
        ModelWeights(path)
    header = {'actor.x': {'dtype': 'F32', 'shape': [4], 'data_offsets': [0, 16]}}
    path.write_bytes(_safetensors_bytes(header, b'\x00' * 8))
    with pytest.raises(TruncatedCheckpointError, match="'actor.x'"):
        ModelWeights(path)


def _rewrite_safetensors(
    source: Path, target: Path, edit: Callable[[dict[str, torch.Tensor]], None]
) -> Path:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(source))
    edit(tensors)
    save_file(tensors, str(target))
    return target


def test_miskeyed_safetensors(generated: dict[CheckpointFormat, Path], tmp_path: Path) -> None:
    source = generated[CheckpointFormat.SAFETENSORS]

    def rename(tensors: dict[str, torch.Tensor]) -> None:
        tensors['policy.scan_encoder.0.weight'] = tensors.pop('actor.scan_encoder.0.weight')

    with pytest.raises(CheckpointKeyError) as info:
        ModelWeights(_rewrite_safetensors(source, tmp_path / 'a.safetensors', rename))
    assert 'policy.scan_encoder.0.weight' in info.value.unexpected

    def drop(tensors: dict[str, torch.Tensor]) -> None:
        del tensors['actor.priv_encoder.2.weight']

    with pytest.raises(CheckpointKeyError) as info:
        ModelWeights(_rewrite_safetensors(source, tmp_path / 'b.safetensors', drop))
    assert info.value.missing == ('priv_encoder.2.weight',)

    def reshape(tensors: dict[str, torch.Tensor]) -> None:
        tensors['actor.history_encoder.conv_layers.2.weight'] = torch.zeros(10, 20, 3)

    with pytest.raises(CheckpointShapeError, match=r'\[10, 20, 3\].*\[10, 20, 2\]'):
        ModelWeights(_rewrite_safetensors(source, tmp_path / 'c.safetensors', reshape))

    def integers(tensors: dict[str, torch.Tensor]) -> None:
        tensors['actor.scan_encoder.0.bias'] = torch.zeros(128, dtype=torch.int32)

    with pytest.raises(CheckpointShapeError, match='not a floating-point'):
        ModelWeights(_rewrite_safetensors(source, tmp_path / 'd.safetensors', integers))


@pytest.mark.parametrize(
    'fmt',
    [
        CheckpointFormat.RSL_RL_TEACHER,
        CheckpointFormat.SAFETENSORS,
        CheckpointFormat.TORCHSCRIPT,
        CheckpointFormat.ONNX,
    ],
)
def test_wrong_observation_or_action_size(
    generated: dict[CheckpointFormat, Path], fmt: CheckpointFormat
) -> None:
    allow = fmt == CheckpointFormat.TORCHSCRIPT
    with pytest.raises(CheckpointDimensionError, match='700'):
        ModelWeights(generated[fmt], obs_dim=700, allow_torchscript=allow)
    with pytest.raises(CheckpointDimensionError):
        ModelWeights(generated[fmt], action_dim=18, allow_torchscript=allow)


def test_format_comes_from_content_not_name(
    generated: dict[CheckpointFormat, Path], tmp_path: Path
) -> None:
    misnamed = {
        CheckpointFormat.SAFETENSORS: 'weights.onnx',
        CheckpointFormat.ONNX: 'model.pt',
        CheckpointFormat.TORCHSCRIPT: 'model.safetensors',
        CheckpointFormat.RSL_RL_TEACHER: 'model.onnx',
        CheckpointFormat.RSL_RL_STUDENT: 'student.safetensors',
    }
    for fmt, name in misnamed.items():
        target = tmp_path / fmt.value / name
        target.parent.mkdir()
        target.write_bytes(generated[fmt].read_bytes())
        allow = fmt == CheckpointFormat.TORCHSCRIPT
        assert ModelWeights(target, allow_torchscript=allow).format == fmt


def test_legacy_torch_save_format(generated: dict[CheckpointFormat, Path], tmp_path: Path) -> None:
    path = tmp_path / 'legacy.pt'
    torch.save(_teacher_dict(generated), str(path), _use_new_zipfile_serialization=False)
    weights = ModelWeights(path)
    assert weights.format == CheckpointFormat.RSL_RL_TEACHER and weights.has_estimator


@needs_shared
def test_agent_config_disagreeing_with_the_file(tmp_path: Path) -> None:
    agent = yaml.safe_load((SHARED_TEACHER / 'agent.yaml').read_text())
    agent['policy']['scan_encoder_dims'] = [128, 64, 16]
    path = tmp_path / 'agent.yaml'
    path.write_text(yaml.safe_dump(agent))
    with pytest.raises(CheckpointError, match='scan_encoder.4'):
        ModelWeights(SHARED_TEACHER / 'teacher_actor.safetensors', config_path=path)
    weights = ModelWeights(
        SHARED_TEACHER / 'teacher_actor.safetensors',
        config_path=[SHARED_TEACHER / 'agent.yaml', SHARED_TEACHER / 'env.yaml'],
    )
    assert weights.network_config is not None and weights.network_config.obs_dim == 753
