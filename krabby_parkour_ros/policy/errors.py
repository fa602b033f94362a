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
Exceptions of checkpoint loading and policy-card checks.

Every error is a :class:`CheckpointError` (itself a :class:`ValueError`), so a
caller can refuse any bad file with one ``except`` and still tell the cases
apart. Messages name the file, the field or key, what was expected and what
arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class CheckpointError(ValueError):
    """Base class: a checkpoint or its policy card cannot be used."""


class UnknownCheckpointFormatError(CheckpointError):
    """The file content matches none of the supported checkpoint formats."""


class CorruptCheckpointError(CheckpointError):
    """The file has a known format but cannot be decoded."""


class TruncatedCheckpointError(CorruptCheckpointError):
    """The file ends before its format says it should (partial copy or download)."""


class CheckpointKeyError(CheckpointError):
    """
    Tensors (or top-level entries) are missing or unexpected.

    :param where: which part of the checkpoint (e.g. ``model_state_dict``).
    :param missing: keys the network needs that the file lacks.
    :param unexpected: keys the file has that the network does not know.
    """

    def __init__(
        self,
        where: str,
        missing: Iterable[str] = (),
        unexpected: Iterable[str] = (),
        hint: str = '',
    ) -> None:
        self.where = where
        self.missing: tuple[str, ...] = tuple(sorted(missing))
        self.unexpected: tuple[str, ...] = tuple(sorted(unexpected))
        parts = []
        if self.missing:
            parts.append('missing keys: ' + ', '.join(self.missing))
        if self.unexpected:
            parts.append('unexpected keys: ' + ', '.join(self.unexpected))
        message = f'{where} does not match the network: {"; ".join(parts)}'
        if hint:
            message += f' ({hint})'
        super().__init__(message)


class CheckpointShapeError(CheckpointError):
    """
    A tensor has the wrong shape (or dtype) for the network.

    :param key: the state-dict key.
    :param expected: shape the network needs.
    :param actual: shape found in the file.
    """

    def __init__(
        self,
        where: str,
        key: str,
        expected: Sequence[int],
        actual: Sequence[int],
        detail: str = '',
    ) -> None:
        self.where = where
        self.key = key
        self.expected = tuple(int(v) for v in expected)
        self.actual = tuple(int(v) for v in actual)
        message = (
            f'{where}: tensor {key!r} has shape {list(self.actual)}, the network needs'
            f' {list(self.expected)}'
        )
        if detail:
            message += f' ({detail})'
        super().__init__(message)


class CheckpointDimensionError(CheckpointError):
    """The policy's observation or action size is not the one asked for."""


class UnsafeCheckpointError(CheckpointError):
    """Loading the file would run arbitrary pickled code; refused by default."""


class TorchScriptNotAllowedError(UnsafeCheckpointError):
    """
    The file is a TorchScript archive and TorchScript was not allowed.

    A TorchScript archive is a program: its code runs at load (a module's
    ``__setstate__``) and at every inference, and it can write files or never
    return. Refused, before ``torch.jit.load`` is called, unless the caller
    opts in (``allow_torchscript``).
    """


class ProbeTimeoutError(CheckpointError):
    """
    A model did not finish its load-time probe (forward passes) in time.

    The computation cannot be interrupted: it goes on in an abandoned
    background thread (see :mod:`.deadline`).
    """


class PolicyCardError(CheckpointError):
    """A policy card file is missing, unreadable or invalid."""


class PolicyCardMismatchError(PolicyCardError):
    """
    A policy card disagrees with a checkpoint or with the deployment.

    :param issues: one sentence per difference; the message lists them all.
    """

    def __init__(self, subject: str, issues: Sequence[str]) -> None:
        self.issues: tuple[str, ...] = tuple(issues)
        lines = [f'{subject}: {len(self.issues)} mismatch(es):']
        lines.extend('  - ' + issue for issue in self.issues)
        super().__init__('\n'.join(lines))
