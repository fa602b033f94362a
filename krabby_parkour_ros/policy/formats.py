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

r"""
Checkpoint formats and their detection from file content (never from the name).

=================  ===========================================================
container          how it is recognised
=================  ===========================================================
zip (``PK\\3\\4``)   TorchScript archive when it holds ``<root>/constants.pkl``
                   or ``<root>/code/``; a ``torch.save`` pickle archive when it
                   holds ``<root>/data.pkl`` (rsl_rl teacher or student, told
                   apart later by the dict's keys)
pickle (``\\x80``)  legacy (pre-1.6) ``torch.save`` file
safetensors        8-byte little-endian header length, then a JSON object
ONNX               protobuf ``ModelProto`` starting with field 1 (``ir_version``,
                   tag byte ``0x08``)
=================  ===========================================================
"""

from __future__ import annotations

import enum
import json
import os
from pathlib import Path
import struct
from typing import Union
import zipfile

from krabby_parkour_ros.policy.errors import (
    CorruptCheckpointError,
    TruncatedCheckpointError,
    UnknownCheckpointFormatError,
)

PathLike = Union[str, 'os.PathLike[str]']

#: Largest safetensors header accepted (the format's own limit is 100 MB).
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024


class CheckpointFormat(enum.Enum):
    """Policy checkpoint formats that :class:`ModelWeights` loads."""

    TORCHSCRIPT = 'torchscript'
    ONNX = 'onnx'
    RSL_RL_TEACHER = 'rsl_rl_teacher'
    RSL_RL_STUDENT = 'rsl_rl_student'
    SAFETENSORS = 'safetensors'


class Container(enum.Enum):
    """File containers recognised by :func:`detect_container`."""

    TORCHSCRIPT = 'torchscript'
    TORCH_PICKLE = 'torch_pickle'
    SAFETENSORS = 'safetensors'
    ONNX = 'onnx'


def detect_container(path: PathLike) -> Container:
    """
    Return the container of ``path`` from its first bytes (and zip listing).

    :raises FileNotFoundError: when the file does not exist.
    :raises TruncatedCheckpointError: for an empty file, a zip without its
        central directory, or a safetensors header longer than the file.
    :raises UnknownCheckpointFormatError: when no format matches.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint {path} does not exist or is not a file')
    size = path.stat().st_size
    if size == 0:
        raise TruncatedCheckpointError(f'checkpoint {path} is empty (0 bytes)')
    with open(path, 'rb') as handle:
        head = handle.read(16)
    if head.startswith(b'PK\x03\x04'):
        return _zip_container(path)
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return Container.TORCH_PICKLE
    safetensors = _safetensors_header_length(head, size, path)
    if safetensors:
        return Container.SAFETENSORS
    if head[0] == 0x08:
        return Container.ONNX
    raise UnknownCheckpointFormatError(
        f'{path}: unknown checkpoint format (first bytes {head[:8].hex(" ")}); expected a'
        ' TorchScript or torch.save zip archive, a safetensors file or an ONNX model'
    )


def _zip_container(path: Path) -> Container:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise TruncatedCheckpointError(
            f'{path} starts like a zip archive (TorchScript or torch.save) but cannot be read'
            f' ({exc}): the file is truncated or corrupt'
        ) from exc
    if any(n.endswith('/constants.pkl') or '/code/' in n for n in names):
        return Container.TORCHSCRIPT
    if any(n.endswith('/data.pkl') or n == 'data.pkl' for n in names):
        return Container.TORCH_PICKLE
    raise UnknownCheckpointFormatError(
        f'{path} is a zip archive but neither a TorchScript archive (no constants.pkl or code/)'
        f' nor a torch.save archive (no data.pkl); entries: {names[:8]}'
    )


def _safetensors_header_length(head: bytes, size: int, path: Path) -> int:
    """Return the header length when ``head`` starts a safetensors file, else 0."""
    if len(head) < 9:
        return 0
    length = struct.unpack('<Q', head[:8])[0]
    if not head[8:9] == b'{' or length < 2 or length > _MAX_SAFETENSORS_HEADER:
        return 0
    if 8 + length > size:
        raise TruncatedCheckpointError(
            f'{path}: safetensors header says {int(length)} bytes but the file has only'
            f' {int(size - 8)} after the length field: the file is truncated'
        )
    return length


def read_safetensors_header(path: PathLike) -> dict:
    """
    Return the parsed JSON header of a safetensors file and check tensor extents.

    :raises TruncatedCheckpointError: when a tensor's data lies past the end.
    :raises CorruptCheckpointError: when the header is not valid JSON.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, 'rb') as handle:
        length = struct.unpack('<Q', handle.read(8))[0]
        raw = handle.read(length)
    try:
        header = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptCheckpointError(
            f'{path}: safetensors header is not valid JSON ({exc})'
        ) from exc
    if not isinstance(header, dict):
        raise CorruptCheckpointError(
            f'{path}: safetensors header is a {type(header).__name__}, expected a JSON object'
        )
    data_size = size - 8 - length
    for key, entry in header.items():
        if key == '__metadata__':
            continue
        offsets = entry.get('data_offsets') if isinstance(entry, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(v, int) for v in offsets)
        ):
            raise CorruptCheckpointError(
                f'{path}: safetensors entry {key!r} has no valid data_offsets'
            )
        if offsets[1] > data_size:
            raise TruncatedCheckpointError(
                f'{path}: tensor {key!r} ends at byte {int(offsets[1])} of the data section but'
                f' the file holds only {int(data_size)} bytes of data: the file is truncated'
            )
    return header
