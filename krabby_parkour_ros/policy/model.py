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
The policy runtime: one observation in, one raw action out, fast and never raising.

:class:`ParkourPolicyModel` wraps a :class:`~.checkpoint.ModelWeights` with
the fastest measured backend for its format (``docs/policy.md``), a
preallocated input, ``torch.inference_mode`` and a warm-up at load (bounded in
time: a model that does not answer is refused, see :mod:`.deadline`).
:meth:`ParkourPolicyModel.inference` turns every failure (bad input, a
missing base-velocity source, a non-finite output ...) into
``InferenceResponse(success=False, error_message=...)``.

Length: about 580 lines, beyond the usual ~450. One runtime whose input checks, warm-up and
failure handling every backend shares; the backends themselves live in :mod:`.backends`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import logging
import time

import numpy as np
import torch
import torch.nn.functional as functional

from krabby_parkour_ros.contract import PolicyContract
from krabby_parkour_ros.finite import all_finite
from krabby_parkour_ros.policy.backends import (
    BACKENDS,
    onnx_bytes_of,
    OnnxRuntimeBackend,
    TeacherBackend,
    TeacherGraph,
    TorchBackend,
    traced,
)
from krabby_parkour_ros.policy.backends import freeze as freeze_script
from krabby_parkour_ros.policy.card import DepthPreprocessing
from krabby_parkour_ros.policy.checkpoint import ModelWeights
from krabby_parkour_ros.policy.deadline import (
    check_probe_timeout,
    DEFAULT_PROBE_TIMEOUT_S,
    run_with_deadline,
)
from krabby_parkour_ros.policy.errors import CheckpointError
from krabby_parkour_ros.policy.formats import CheckpointFormat
from krabby_parkour_ros.policy.networks import DEPTH_IMAGE_SHAPE, DEPTH_YAW_SCALE
from krabby_parkour_ros.policy.sampling import plausible_observations

_LOG = logging.getLogger(__name__)

#: Default backend per format, chosen by measurement (benchmarks/bench_policy.py).
DEFAULT_BACKENDS: dict[CheckpointFormat, str] = {
    CheckpointFormat.SAFETENSORS: 'onnxruntime',
    CheckpointFormat.RSL_RL_TEACHER: 'onnxruntime',
    CheckpointFormat.ONNX: 'onnxruntime',
    CheckpointFormat.TORCHSCRIPT: 'onnxruntime',
    CheckpointFormat.RSL_RL_STUDENT: 'torch',
}
#: A fast backend must agree with the eager modules to this (else eager is used).
BACKEND_TOLERANCE = 1e-5
_WARMUP_CALLS = 30
_BLOCKS = ('proprio', 'scan', 'priv_explicit', 'priv_latent', 'history')


@dataclass
class ModelIO:
    """
    Input of one inference.

    :param observation: ``(obs_dim,)`` float32 observation built as in training.
    :param base_velocity_measured: False when ``priv_explicit`` holds no
        measured base velocity; the checkpoint's estimator then fills the
        whole ``priv_explicit`` block from the proprio (training code). A
        checkpoint without an estimator refuses such a request.
    :param depth_image: students only: the raw depth map ``(H, W)`` in metres
        (preprocessed here as the policy card says).
    """

    observation: np.ndarray
    base_velocity_measured: bool = True
    depth_image: np.ndarray | None = None


@dataclass
class InferenceResponse:
    """
    Result of one inference.

    :param action: ``(action_dim,)`` float32 CPU raw action (before clip and
        scale); zeros when ``success`` is False: always check ``success``.
    :param success: False on any failure, with ``error_message`` saying why.
    :param timing: seconds spent: ``prepare`` (checks and copy), ``forward``
        (the network), ``total``.
    """

    action: torch.Tensor
    success: bool
    error_message: str = ''
    timing: dict[str, float] = field(default_factory=dict)

    def action_numpy(self) -> np.ndarray:
        """Return the action as a NumPy array sharing the tensor's memory."""
        return self.action.numpy()


class _StudentRuntime:
    """Depth encoder (GRU) + depth actor + estimator, eager, with episode state."""

    def __init__(
        self,
        weights: ModelWeights,
        device: torch.device,
        refresh_steps: int,
        depth: DepthPreprocessing,
    ) -> None:
        assert weights.depth_encoder is not None and weights.actor is not None
        if weights.network_config is None:
            raise CheckpointError(
                f'{weights.path}: a student (depth) checkpoint needs its network '
                'configuration, got none'
            )
        self.config = weights.network_config
        self.encoder = weights.depth_encoder.to(device)
        self.actor = weights.actor.to(device)
        self.estimator = weights.estimator.to(device) if weights.estimator else None
        self.normalizer = weights.normalizer.to(device) if weights.normalizer else None
        self.device = device
        self.refresh_steps = refresh_steps
        self.depth = depth
        self.input = torch.zeros(1, weights.obs_dim, dtype=torch.float32)
        self.input_numpy: np.ndarray = self.input.numpy()
        self._hidden = torch.zeros(1, 1, self.config.depth_hidden_size, device=device)
        self._latent: torch.Tensor | None = None
        self._yaw: torch.Tensor | None = None
        self._calls = 0
        self._due = True

    def reset(self) -> None:
        self._hidden = torch.zeros(1, 1, self.config.depth_hidden_size, device=self.device)
        self._latent = None
        self._yaw = None
        self._calls = 0
        self._due = True

    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """Return the ``[1, 58, 87]`` network input for a raw depth map in metres."""
        d = self.depth
        if image.ndim != 2:
            raise ValueError(f'depth_image must be 2-D (H, W) metres, got shape {image.shape}')
        rows, cols = image.shape
        cropped = image[d.crop_top : rows - d.crop_bottom, d.crop_left : cols - d.crop_right]
        if cropped.size == 0:
            raise ValueError(
                f'depth_image {image.shape} is smaller than the crop'
                f' {(d.crop_top, d.crop_bottom, d.crop_left, d.crop_right)}'
            )
        tensor = torch.from_numpy(np.asarray(cropped, dtype=np.float32))
        tensor = torch.nan_to_num(
            tensor, nan=d.far_clip, posinf=d.far_clip, neginf=d.far_clip
        ).clamp(d.near_clip, d.far_clip)
        resized = functional.interpolate(
            tensor[None, None], size=DEPTH_IMAGE_SHAPE, mode='bilinear', align_corners=False
        )[0]
        return ((resized - d.near_clip) / (d.far_clip - d.near_clip) - 0.5).to(self.device)

    def run(self, use_estimator: bool, depth_image: np.ndarray | None) -> np.ndarray:
        config = self.config
        if self._calls % self.refresh_steps == 0:
            self._due = True
        self._calls += 1
        with torch.inference_mode():
            obs = self.input.to(self.device)
            if self.normalizer is not None:
                obs = self.normalizer(obs)
            if self._due and depth_image is not None:
                proprio = obs[:, : config.num_prop].clone()
                proprio[:, 6:8] = 0.0
                out, self._hidden = self.encoder(
                    self.preprocess(depth_image), proprio, self._hidden
                )
                self._latent = out[:, :-2].clone()
                self._yaw = DEPTH_YAW_SCALE * out[:, -2:]
                self._due = False
            if self._latent is None or self._yaw is None:
                raise ValueError(
                    'the student needs a depth_image on its first call after '
                    'reset (no depth latent yet)'
                )
            obs = obs.clone()
            obs[:, 6:8] = self._yaw
            if use_estimator:
                assert self.estimator is not None
                obs[:, config.priv_explicit_slice] = self.estimator(obs[:, : config.num_prop])
            out = self.actor.forward_with_scan_latent(obs, self._latent)
        return out.cpu().numpy().reshape(-1)


class ParkourPolicyModel:
    """
    Run a loaded parkour policy on single observations.

    :param weights: the loaded checkpoint.
    :param device: ``'cpu'`` or ``'cuda'`` (falls back to CPU with a warning
        when CUDA is absent; onnxruntime is CPU only).
    :param num_threads: intra-op threads; default 1 (best latency on a 2-core
        robot CPU that also runs the control loop). Sets the process-wide
        ``torch.set_num_threads``.
    :param backend: ``'auto'`` (the measured default for the format, see
        :data:`DEFAULT_BACKENDS`), ``'torch'``, ``'torchscript'`` or
        ``'onnxruntime'``.
    :param depth_refresh_steps: students: run the depth encoder every this
        many calls (default: the card's ``scan_refresh_steps``, else 5).
    :param probe_timeout_s: seconds the backend build (conversion,
        verification) and the warm-up may take together, for every backend;
        past it the model is refused with :class:`ProbeTimeoutError` (its
        thread is abandoned, see :mod:`.deadline`).
    :raises CheckpointError: when the backend cannot run this checkpoint.

    Not thread-safe: the input buffer and the student's state are shared, so
    one thread (the control thread) calls :meth:`inference` and :meth:`reset`.
    """

    def __init__(
        self,
        weights: ModelWeights,
        device: str = 'cpu',
        num_threads: int | None = None,
        backend: str = 'auto',
        depth_refresh_steps: int | None = None,
        probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S,
    ) -> None:
        self.weights = weights
        timeout = check_probe_timeout(probe_timeout_s)
        self._device = self._resolve_device(device)
        self._threads = 1 if num_threads is None else int(num_threads)
        if self._threads < 1:
            raise ValueError(f'num_threads must be >= 1, got {num_threads!r}')
        if torch.get_num_threads() != self._threads:
            _LOG.info('torch.set_num_threads(%d) (process-wide)', self._threads)
            torch.set_num_threads(self._threads)
        self._action_dim = weights.action_dim
        self._obs_dim = weights.obs_dim
        self._zero_action = torch.zeros(self._action_dim, dtype=torch.float32)
        self._student: _StudentRuntime | None = None
        self._teacher: TeacherBackend | None = None
        self._backend_name = self._choose_backend(backend)
        self._input_numpy: np.ndarray = np.zeros((1, self._obs_dim), dtype=np.float32)
        # Every backend runs the model here (conversion, verification, warm-up): bounded
        # in time, so a model that never answers cannot block the caller (on_configure).
        run_with_deadline(
            lambda: self._build_and_warm_up(depth_refresh_steps),
            timeout,
            f'{weights.path}: building backend {self._backend_name} and warming up',
        )
        _LOG.info(
            'policy %s ready: backend %s on %s, %d thread(s)',
            weights.path.name,
            self.backend,
            self._device,
            self._threads,
        )

    # -- properties ---------------------------------------------------------------------

    @property
    def contract(self) -> PolicyContract | None:
        """Return the policy card's contract, or None when the checkpoint has no card."""
        return self.weights.card.contract if self.weights.card is not None else None

    @property
    def action_dim(self) -> int:
        """Return the action size."""
        return self._action_dim

    @property
    def obs_dim(self) -> int:
        """Return the observation size."""
        return self._obs_dim

    @property
    def has_estimator(self) -> bool:
        """Return True when the checkpoint has a trained base-velocity estimator."""
        return self.weights.has_estimator

    @property
    def is_recurrent(self) -> bool:
        """Return True for policies with recurrent state (students)."""
        return self.weights.is_recurrent

    @property
    def needs_depth(self) -> bool:
        """Return True when inference needs depth images."""
        return self.weights.needs_depth

    @property
    def backend(self) -> str:
        """Return the backend actually running (after any fallback)."""
        if self._student is not None:
            return 'torch'
        assert self._teacher is not None
        return self._teacher.name

    @property
    def trained(self) -> bool:
        """Return False for generated, untrained weights."""
        return self.weights.trained

    @property
    def device(self) -> str:
        """Return the torch device in use."""
        return str(self._device)

    # -- construction -------------------------------------------------------------------

    @staticmethod
    def _resolve_device(device: str) -> torch.device:
        resolved = torch.device(device)
        if resolved.type == 'cuda' and not torch.cuda.is_available():
            _LOG.warning('device %r requested but CUDA is not available: using the CPU', device)
            return torch.device('cpu')
        if resolved.type not in ('cpu', 'cuda'):
            raise ValueError(f'device must be cpu or cuda, got {device!r}')
        return resolved

    def _choose_backend(self, backend: str) -> str:
        fmt = self.weights.format
        if backend == 'auto':
            backend = DEFAULT_BACKENDS[fmt]
            if (
                backend == 'onnxruntime'
                and self._device.type == 'cuda'
                and fmt != CheckpointFormat.ONNX
            ):
                backend = 'torchscript'
            return backend
        if backend not in BACKENDS:
            raise ValueError(f'backend must be auto or one of {BACKENDS}, got {backend!r}')
        allowed = {
            CheckpointFormat.ONNX: ('onnxruntime',),
            CheckpointFormat.TORCHSCRIPT: ('torchscript', 'onnxruntime'),
            CheckpointFormat.RSL_RL_STUDENT: ('torch',),
        }.get(fmt, BACKENDS)
        if backend not in allowed:
            raise CheckpointError(f'{fmt.value} checkpoints run on {list(allowed)}, not {backend}')
        if backend == 'onnxruntime' and self._device.type == 'cuda':
            _LOG.warning('onnxruntime runs on the CPU here, not on %s', self._device)
        return backend

    def _build_and_warm_up(self, depth_refresh_steps: int | None) -> None:
        weights = self.weights
        if weights.is_recurrent:
            card = weights.card
            refresh = depth_refresh_steps or (card.contract.scan_refresh_steps if card else 5)
            depth = (
                card.depth if card is not None and card.depth is not None else DepthPreprocessing()
            )
            student = _StudentRuntime(weights, self._device, int(refresh), depth)
            self._student = student
            self._input_numpy = student.input_numpy
        else:
            teacher = self._build_teacher(self._backend_name)
            self._teacher = teacher
            self._input_numpy = teacher.input_numpy
        self._warm_up()

    def _build_teacher(self, backend: str) -> TeacherBackend:
        weights = self.weights
        if weights.format == CheckpointFormat.ONNX:
            assert weights.onnx_bytes is not None
            return OnnxRuntimeBackend(self._obs_dim, weights.onnx_bytes, None, self._threads)
        if weights.format == CheckpointFormat.TORCHSCRIPT:
            script = TorchBackend(
                'torchscript',
                self._obs_dim,
                self._device,
                freeze_script(weights.fresh_torchscript().to(self._device)),
                None,
            )
            if backend == 'torchscript':
                return script
            try:
                converted = OnnxRuntimeBackend(
                    self._obs_dim,
                    onnx_bytes_of(weights.fresh_torchscript(), self._obs_dim),
                    None,
                    self._threads,
                )
                self._verify(converted, script)
            except (CheckpointError, RuntimeError, torch.jit.Error) as exc:
                _LOG.warning(
                    'TorchScript -> onnxruntime conversion unusable for %s (%s): '
                    'running the TorchScript module',
                    weights.path.name,
                    exc,
                )
                return script
            return converted
        actor, normalizer = weights.teacher_modules()
        plain = TeacherGraph(actor, normalizer, None).to(self._device).eval()
        with_est = (
            TeacherGraph(actor, normalizer, weights.estimator).to(self._device).eval()
            if weights.has_estimator
            else None
        )
        eager = TorchBackend('torch', self._obs_dim, self._device, plain, with_est)
        if backend == 'torch':
            return eager
        try:
            if backend == 'torchscript':
                fast: TeacherBackend = TorchBackend(
                    'torchscript',
                    self._obs_dim,
                    self._device,
                    traced(plain, self._obs_dim, self._device),
                    traced(with_est, self._obs_dim, self._device) if with_est else None,
                )
            else:
                fast = OnnxRuntimeBackend(
                    self._obs_dim,
                    onnx_bytes_of(plain, self._obs_dim),
                    onnx_bytes_of(with_est, self._obs_dim) if with_est else None,
                    self._threads,
                )
            self._verify(fast, eager)
        except (CheckpointError, RuntimeError) as exc:
            _LOG.warning(
                'backend %s unusable for %s (%s): using eager torch',
                backend,
                weights.path.name,
                exc,
            )
            return eager
        return fast

    def _verify(self, fast: TeacherBackend, eager: TeacherBackend) -> None:
        """Check ``fast`` against the eager modules on plausible observations."""
        samples = plausible_observations(8, seed=12345)
        worst = 0.0
        for use_estimator in (False, True) if eager.has_estimator else (False,):
            for row in samples:
                fast.input_numpy[0] = row
                eager.input_numpy[0] = row
                diff = float(np.abs(fast.run(use_estimator) - eager.run(use_estimator)).max())
                worst = max(worst, diff)
        if not worst <= BACKEND_TOLERANCE:
            raise CheckpointError(
                f'{fast.name} differs from the eager modules by {worst:.3g} (>'
                f' {BACKEND_TOLERANCE:.0e})'
            )

    def _warm_up(self) -> None:
        samples = plausible_observations(4, seed=7)
        depth = np.full((64, 96), 1.0, dtype=np.float32)
        for index in range(_WARMUP_CALLS):
            self._input_numpy[0] = samples[index % len(samples)]
            if self._student is not None:
                self._student.run(False, depth)
            else:
                assert self._teacher is not None
                self._teacher.run(False)
                if self._teacher.has_estimator:
                    self._teacher.run(True)
        self.reset()

    # -- inference ----------------------------------------------------------------------

    def reset(self) -> None:
        """Clear recurrent state (students); call when the policy (re)starts."""
        if self._student is not None:
            self._student.reset()

    def _fail(self, message: str, start: float, prepared: float) -> InferenceResponse:
        end = time.perf_counter()
        return InferenceResponse(
            action=self._zero_action.clone(),
            success=False,
            error_message=message,
            timing={'prepare': prepared - start, 'forward': 0.0, 'total': end - start},
        )

    def _check_observation(self, observation: np.ndarray) -> str:
        if not isinstance(observation, np.ndarray):
            return f'observation must be a numpy array, got {type(observation).__name__}'
        if observation.shape != (self._obs_dim,):
            return f'observation shape {observation.shape}, expected ({int(self._obs_dim)},)'
        np.copyto(self._input_numpy[0], observation, casting='same_kind')
        if not all_finite(self._input_numpy):
            index = int(np.flatnonzero(~np.isfinite(self._input_numpy[0]))[0])
            return (
                f'observation[{int(index)}] ({self._block_of(index)}) is'
                f' {self._input_numpy[0, index]}'
            )
        return ''

    def _block_of(self, index: int) -> str:
        config = self.weights.network_config
        if config is None or config.obs_dim != self._obs_dim:
            return 'observation'
        sizes = (
            config.num_prop,
            config.num_scan,
            config.num_priv_explicit,
            config.num_priv_latent,
            config.num_hist * config.num_prop,
        )
        start = 0
        for name, size in zip(_BLOCKS, sizes):
            if index < start + size:
                return f'{name}[{int(index - start)}]'
            start += size
        return 'observation'

    def inference(self, model_io: ModelIO) -> InferenceResponse:
        """
        Return the raw action for one observation; never raises.

        Any failure (malformed or non-finite input, no base-velocity source,
        missing depth, a non-finite action, a runtime error) gives
        ``success=False`` and a message.
        """
        start = time.perf_counter()
        try:
            problem = self._check_observation(model_io.observation)
            use_estimator = not model_io.base_velocity_measured
            if not problem and use_estimator and not self.has_estimator:
                problem = (
                    f'base_velocity_measured is False but checkpoint {self.weights.path.name} has'
                    ' no estimator: provide a measured base velocity in priv_explicit'
                )
            if (
                not problem
                and self.needs_depth
                and model_io.depth_image is not None
                and not isinstance(model_io.depth_image, np.ndarray)
            ):
                problem = 'depth_image must be a numpy array'
            prepared = time.perf_counter()
            if problem:
                return self._fail(problem, start, prepared)
            if self._student is not None:
                action = self._student.run(use_estimator, model_io.depth_image)
            else:
                assert self._teacher is not None
                action = self._teacher.run(use_estimator)
            done = time.perf_counter()
        except Exception as exc:  # noqa: B902 - the runtime must never raise into the loop
            return self._fail(f'{type(exc).__name__}: {exc}', start, time.perf_counter())
        if action.shape != (self._action_dim,) or not all_finite(action):
            return self._fail(
                f'policy output is not {int(self._action_dim)} finite values: {action.tolist()}',
                start,
                prepared,
            )
        return InferenceResponse(
            action=torch.from_numpy(action),
            success=True,
            error_message='',
            timing={
                'prepare': prepared - start,
                'forward': done - prepared,
                'total': done - start,
            },
        )
