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
Runtimes that execute a teacher-type policy on one observation.

Each backend owns a preallocated ``[1, obs_dim]`` float32 input (the caller
copies the observation into :attr:`TeacherBackend.input` and calls
:meth:`TeacherBackend.run`) and two graphs: with and without the trained
estimator writing ``priv_explicit``.

- ``torch``: the project's modules, eager, under ``torch.inference_mode``.
- ``torchscript``: the project's modules traced and frozen
  (``torch.jit.freeze`` + ``optimize_for_inference``), or a TorchScript
  checkpoint, frozen.
- ``onnxruntime``: an ONNX checkpoint, or the project's modules (or a
  TorchScript checkpoint) exported to ONNX in memory, run by onnxruntime's
  CPU provider. A converted graph is checked against its source at load.

Measured on the 2-core development CPU (``docs/policy.md``), onnxruntime is
about 2.5x faster than TorchScript and 4x faster than eager for the teacher.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import io
import logging
from typing import Any, TypeVar
import warnings

import numpy as np
import torch
from torch import nn

from krabby_parkour_ros.policy.errors import CheckpointError
from krabby_parkour_ros.policy.networks import Estimator, ObservationNormalizer, ParkourActor

_LOG = logging.getLogger(__name__)

BACKENDS = ('torch', 'torchscript', 'onnxruntime')
#: ONNX opset of in-memory and exported graphs.
ONNX_OPSET = 17


class TeacherGraph(nn.Module):
    """
    Normaliser -> (estimator fills ``priv_explicit``) -> history-mode actor.

    The estimator output replaces the whole ``priv_explicit`` block, as the
    training code does (``obs[:, prop+scan : prop+scan+priv_explicit] =
    estimator(obs[:, :prop])``).
    """

    def __init__(
        self,
        actor: ParkourActor,
        normalizer: ObservationNormalizer | None,
        estimator: Estimator | None,
    ) -> None:
        super().__init__()
        self.actor = actor
        self.normalizer = normalizer if normalizer is not None else nn.Identity()
        self.estimator = estimator
        config = actor.config
        self._prop = config.num_prop
        self._explicit = config.priv_explicit_slice

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Return the raw actions ``[N, num_actions]``."""
        obs = self.normalizer(obs)
        if self.estimator is not None:
            estimate = self.estimator(obs[:, : self._prop])
            obs = torch.cat(
                [obs[:, : self._explicit.start], estimate, obs[:, self._explicit.stop :]], dim=1
            )
        return self.actor(obs)


class TeacherBackend:
    """
    Base class: preallocated input, two graphs (with / without estimator).

    :param obs_dim: observation size.
    :param device: torch device of the input buffer.
    """

    name = 'base'

    def __init__(self, obs_dim: int, device: torch.device) -> None:
        self.device = device
        #: CPU staging buffer the caller writes the observation into.
        self.input = torch.zeros(1, obs_dim, dtype=torch.float32)
        #: NumPy view of :attr:`input` (shares memory).
        self.input_numpy: np.ndarray = self.input.numpy()
        self.has_estimator = False

    def run(self, use_estimator: bool) -> np.ndarray:
        """Return the action ``(action_dim,)`` float32 (fresh array) for :attr:`input`."""
        raise NotImplementedError


_Graph = TypeVar('_Graph')


def _estimator_graph(graph: _Graph | None) -> _Graph:
    """
    Return the with-estimator graph of a backend.

    :raises CheckpointError: the checkpoint has no estimator (callers check
        ``has_estimator`` first).
    """
    if graph is None:
        raise CheckpointError(
            'use_estimator: expected a checkpoint with an estimator network, got none'
        )
    return graph


class TorchBackend(TeacherBackend):
    """Eager or TorchScript execution of torch modules."""

    def __init__(
        self,
        name: str,
        obs_dim: int,
        device: torch.device,
        plain: nn.Module,
        with_estimator: nn.Module | None,
    ) -> None:
        super().__init__(obs_dim, device)
        self.name = name
        self._plain = plain
        self._with_estimator = with_estimator
        self.has_estimator = with_estimator is not None
        self._device_input = self.input if device.type == 'cpu' else self.input.to(device)

    def run(self, use_estimator: bool) -> np.ndarray:
        """Return the action for :attr:`input`."""
        graph = _estimator_graph(self._with_estimator) if use_estimator else self._plain
        with torch.inference_mode():
            if self._device_input is not self.input:
                self._device_input.copy_(self.input, non_blocking=False)
            out = graph(self._device_input)
        return (out if out.device.type == 'cpu' else out.cpu()).numpy().reshape(-1)


class OnnxRuntimeBackend(TeacherBackend):
    """onnxruntime CPU sessions fed from the preallocated NumPy input."""

    name = 'onnxruntime'

    def __init__(
        self, obs_dim: int, plain: bytes, with_estimator: bytes | None, num_threads: int
    ) -> None:
        super().__init__(obs_dim, torch.device('cpu'))
        self._plain = self._session(plain, num_threads)
        self._with_estimator = (
            self._session(with_estimator, num_threads) if with_estimator is not None else None
        )
        self.has_estimator = self._with_estimator is not None

    @staticmethod
    def _session(model: bytes, num_threads: int) -> tuple[Any, list[str], str]:
        import onnxruntime as ort  # deferred: heavy import, only this backend needs it

        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Never busy-wait: the control loop shares a 2-core CPU with this thread pool.
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        try:
            session = ort.InferenceSession(model, options, providers=['CPUExecutionProvider'])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise CheckpointError(
                f'onnxruntime cannot create a session for this model: {str(exc).splitlines()[0]}'
            ) from exc
        return session, [session.get_outputs()[0].name], session.get_inputs()[0].name

    def run(self, use_estimator: bool) -> np.ndarray:
        """Return the action for :attr:`input`."""
        session, outputs, input_name = (
            _estimator_graph(self._with_estimator) if use_estimator else self._plain
        )
        action: np.ndarray = session.run(outputs, {input_name: self.input_numpy})[0]
        return action.reshape(-1)


@contextlib.contextmanager
def quiet_torchscript_deprecation() -> Iterator[None]:
    """
    Silence torch 2.13's DeprecationWarning on ``torch.jit`` calls.

    TorchScript is a checkpoint format this project must read (the training
    exporters write it) and torch is pinned; the warning would otherwise be
    printed on every load. Only DeprecationWarning is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        yield


def onnx_bytes_of(module: nn.Module, obs_dim: int) -> bytes:
    """
    Export ``module`` (``[1, obs_dim]`` -> ``[1, action_dim]``) to ONNX bytes.

    Input name ``obs``, output ``actions``, opset :data:`ONNX_OPSET`. Uses
    the TorchScript-based exporter, which needs no extra package (the
    torch.export one needs onnxscript); its deprecation warning is silenced
    here because the result is checked numerically by the callers.
    """
    buffer = io.BytesIO()
    example = torch.zeros(1, obs_dim)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', UserWarning)
        with torch.no_grad():
            torch.onnx.export(
                module,
                (example,),
                # torch's annotation omits the binary file object that export writes to.
                buffer,  # type: ignore[arg-type]
                dynamo=False,
                input_names=['obs'],
                output_names=['actions'],
                opset_version=ONNX_OPSET,
            )
    return buffer.getvalue()


def traced(module: nn.Module, obs_dim: int, device: torch.device) -> torch.jit.ScriptModule:
    """Return ``module`` traced for ``[1, obs_dim]``, frozen and optimised for inference."""
    example = torch.zeros(1, obs_dim, device=device)
    with torch.no_grad(), quiet_torchscript_deprecation():
        script = torch.jit.trace(module.to(device).eval(), example, check_trace=False)
    return freeze(script)


def freeze(script: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """Return ``script`` frozen and optimised; unchanged when freezing is not possible."""
    try:
        with quiet_torchscript_deprecation():
            return torch.jit.optimize_for_inference(torch.jit.freeze(script.eval()))
    except (RuntimeError, AttributeError) as exc:
        _LOG.warning(
            'TorchScript freeze failed (%s): running the module unfrozen', str(exc).splitlines()[0]
        )
        return script
