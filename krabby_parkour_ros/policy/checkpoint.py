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
Load a parkour policy checkpoint of any supported format, safely and checked.

:class:`ModelWeights` detects the format from the file's content
(:mod:`.formats`), loads it without running pickled or TorchScript code
unless told to, rebuilds the project's networks (:mod:`.networks`) and checks
every tensor name and shape, checks the observation and action sizes, and
resolves the policy card. Every problem raises a specific :class:`CheckpointError`.

Length: about 590 lines, beyond the usual ~450. The key and shape checks that every
checkpoint format shares make up most of it; format detection lives in :mod:`.formats`, the
networks in :mod:`.networks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
import json
import logging
import os
from pathlib import Path
import pickle
import re
from typing import Any, Union

import torch

from krabby_parkour_ros.policy.backends import quiet_torchscript_deprecation
from krabby_parkour_ros.policy.card import find_card, load_card, PolicyCard
from krabby_parkour_ros.policy.card_checks import check_card_against_checkpoint
from krabby_parkour_ros.policy.deadline import (
    check_probe_timeout,
    DEFAULT_PROBE_TIMEOUT_S,
    run_with_deadline,
)
from krabby_parkour_ros.policy.errors import (
    CheckpointDimensionError,
    CheckpointError,
    CheckpointKeyError,
    CheckpointShapeError,
    CorruptCheckpointError,
    TorchScriptNotAllowedError,
    TruncatedCheckpointError,
    UnsafeCheckpointError,
)
from krabby_parkour_ros.policy.formats import (
    CheckpointFormat,
    Container,
    detect_container,
    read_safetensors_header,
)
from krabby_parkour_ros.policy.networks import (
    Estimator,
    infer_actor_config,
    infer_depth_config,
    infer_estimator_hidden_dims,
    load_module,
    NetworkConfig,
    ObservationNormalizer,
    ParkourActor,
    RecurrentDepthEncoder,
    strip_prefix,
)
from krabby_parkour_ros.policy.training_config import read_network_config

_LOG = logging.getLogger(__name__)

PathLike = Union[str, 'os.PathLike[str]']

#: Extra file inside TorchScript archives written by this project.
TORCHSCRIPT_METADATA_FILE = 'krabby_policy.json'
#: Key of this project's metadata in ONNX ``metadata_props`` and in
#: rsl_rl ``infos``; safetensors use plain metadata keys.
METADATA_KEY = 'krabby_policy'
#: model_state_dict entries that are not the actor and are not needed to act.
_TRAINING_ONLY_PREFIXES = ('critic.', 'std', 'log_std')
_UNSAFE_HINT = (
    "Only if you trust the file's origin, load it with "
    'ModelWeights(..., allow_unsafe_pickle=True) (CLI: --allow-unsafe-pickle), '
    'or better convert it once to safetensors on a trusted machine.'
)
_TORCHSCRIPT_HINT = (
    'Use a safe format instead (safetensors, or ONNX: krabby-parkour-export '
    "converts on a trusted machine), or, only if you trust the file's origin, "
    'load it with ModelWeights(..., allow_torchscript=True) (ROS parameter '
    'allow_torchscript:=true, CLI --allow-torchscript).'
)


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'false'):
        return value.lower() == 'true'
    return None


class ModelWeights:
    """
    A loaded, validated policy checkpoint (no inference state).

    :param checkpoint_path: the checkpoint file (format detected from content).
    :param config_path: the run's ``agent.yaml`` and/or ``env.yaml`` (a path
        or a sequence of paths); network sizes then come from agent.yaml,
        otherwise from the checkpoint's tensor shapes.
    :param action_dim: expected action size; a different checkpoint is refused.
    :param obs_dim: expected observation size; a different checkpoint is refused.
    :param allow_unsafe_pickle: allow ``torch.load(weights_only=False)`` for
        rsl_rl checkpoints that hold arbitrary pickled objects. Runs code
        from the file: trusted files only.
    :param allow_torchscript: allow TorchScript archives. Their code runs at
        load and at every inference (it can write files or never return):
        trusted files only. Without it a TorchScript file is refused with
        :class:`TorchScriptNotAllowedError` before ``torch.jit.load`` runs.
    :param probe_timeout_s: seconds a TorchScript archive may take to load
        and answer its probe forward pass; past it the file is refused with
        :class:`ProbeTimeoutError` (the stuck thread is abandoned, see
        :mod:`.deadline`).
    :param card_path: the policy card; default ``<checkpoint dir>/policy_card.yaml``
        when present. Without one, :attr:`card` is None.
    :raises CheckpointError: (a subclass) for every problem with the files.
    :raises FileNotFoundError: when the checkpoint does not exist.
    """

    def __init__(
        self,
        checkpoint_path: PathLike,
        config_path: PathLike | Sequence[PathLike] | None = None,
        action_dim: int = 12,
        obs_dim: int = 753,
        allow_unsafe_pickle: bool = False,
        card_path: PathLike | None = None,
        allow_torchscript: bool = False,
        probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S,
    ) -> None:
        self.path = Path(checkpoint_path)
        self.obs_dim = int(obs_dim)
        self.action_dim = int(action_dim)
        self.allow_unsafe_pickle = bool(allow_unsafe_pickle)
        self.allow_torchscript = bool(allow_torchscript)
        self.probe_timeout_s = check_probe_timeout(probe_timeout_s)
        self.network_config: NetworkConfig | None = None
        self.actor: ParkourActor | None = None
        self.estimator: Estimator | None = None
        self.depth_encoder: RecurrentDepthEncoder | None = None
        self.normalizer: ObservationNormalizer | None = None
        self.torchscript: torch.jit.ScriptModule | None = None
        self.onnx_bytes: bytes | None = None
        #: Metadata this project embeds (trained flag, seed, source ...).
        self.metadata: dict[str, Any] = {}
        self._agent_config: NetworkConfig | None = None
        if config_path is not None:
            paths = (
                [config_path] if isinstance(config_path, (str, os.PathLike)) else list(config_path)
            )
            self._agent_config, _ = read_network_config(paths, self.action_dim)
        container = detect_container(self.path)
        loaders = {
            Container.TORCHSCRIPT: self._load_torchscript,
            Container.ONNX: self._load_onnx,
            Container.SAFETENSORS: self._load_safetensors,
            Container.TORCH_PICKLE: self._load_torch_pickle,
        }
        self.format: CheckpointFormat = loaders[container]()
        self.card_path: Path | None = find_card(self.path, card_path)
        self.card: PolicyCard | None = None
        if self.card_path is not None:
            self.card = load_card(self.card_path)
            check_card_against_checkpoint(
                self.card,
                obs_dim=self.obs_dim,
                action_dim=self.action_dim,
                format_name=self.format.value,
                trained_marker=self.trained_marker,
                where=f'{self.card_path} for {self.path.name}',
            )
        else:
            _LOG.warning(
                'checkpoint %s has no policy card (%s): usable as a library object, '
                'but a deployment needs one',
                self.path,
                'policy_card.yaml',
            )
        _LOG.info(
            'loaded %s checkpoint %s (estimator: %s, card: %s)',
            self.format.value,
            self.path,
            self.has_estimator,
            self.card_path,
        )

    # -- properties ---------------------------------------------------------------------

    @property
    def has_estimator(self) -> bool:
        """Return True when a trained base-velocity estimator was loaded."""
        return self.estimator is not None

    @property
    def is_recurrent(self) -> bool:
        """Return True for students (GRU depth encoder)."""
        return self.depth_encoder is not None

    @property
    def needs_depth(self) -> bool:
        """Return True when inference needs depth images (students)."""
        return self.depth_encoder is not None

    @property
    def trained_marker(self) -> bool | None:
        """Return the trained flag embedded by this project's tools, or None."""
        return _parse_bool(self.metadata.get('trained'))

    @property
    def trained(self) -> bool:
        """Return the card's trained flag, else the embedded one, else True."""
        if self.card is not None:
            return self.card.trained
        marker = self.trained_marker
        return True if marker is None else marker

    # -- loaders ------------------------------------------------------------------------

    def _check_dims(self, obs_dim: int, action_dim: int, what: str) -> None:
        problems = []
        if obs_dim != self.obs_dim:
            problems.append(f'observation size {int(obs_dim)} (expected {int(self.obs_dim)})')
        if action_dim != self.action_dim:
            problems.append(f'action size {int(action_dim)} (expected {int(self.action_dim)})')
        if problems:
            raise CheckpointDimensionError(f'{self.path}: {what} has {" and ".join(problems)}')

    def _load_torchscript(self) -> CheckpointFormat:
        # Refused from the zip listing alone (formats.detect_container): nothing of the
        # archive has been unpickled or run yet.
        if not self.allow_torchscript:
            raise TorchScriptNotAllowedError(
                f'{self.path}: refused: this is a TorchScript archive, and TorchScript archives'
                " contain code that runs at load (a module's __setstate__) and at every"
                ' inference: it can write files or never return, and a stuck TorchScript call'
                f' cannot be interrupted. {_TORCHSCRIPT_HINT}'
            )
        _LOG.warning(
            '%s: loading a TorchScript archive (allow_torchscript): its code runs now '
            'and at every inference',
            self.path,
        )
        # Loading runs __setstate__ and the probe runs forward: both are the archive's code,
        # so both are bounded in time (a timeout abandons the thread, see deadline.py).
        module, extra = run_with_deadline(
            self._load_and_probe_torchscript,
            self.probe_timeout_s,
            f'{self.path}: TorchScript load and probe',
        )
        if extra:
            self.metadata = self._json_metadata(extra)
        self.torchscript = module
        return CheckpointFormat.TORCHSCRIPT

    def _load_and_probe_torchscript(self) -> tuple[torch.jit.ScriptModule, str]:
        extra = {TORCHSCRIPT_METADATA_FILE: ''}
        try:
            with quiet_torchscript_deprecation():
                module = torch.jit.load(str(self.path), map_location='cpu', _extra_files=extra)
        except RuntimeError as exc:
            raise CorruptCheckpointError(
                f'{self.path}: TorchScript archive cannot be loaded: {str(exc).splitlines()[0]}'
            ) from exc
        module.eval()
        probe = torch.zeros(1, self.obs_dim)
        try:
            with torch.no_grad():
                out = module(probe)
        except (RuntimeError, torch.jit.Error) as exc:
            raise CheckpointDimensionError(
                f'{self.path}: the TorchScript module does not accept an observation [1,'
                f' {int(self.obs_dim)}]: {str(exc).splitlines()[0]}'
            ) from exc
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (1, self.action_dim):
            raise CheckpointDimensionError(
                f'{self.path}: the TorchScript module returns'
                f' {list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__} for'
                f' [1, {int(self.obs_dim)}], expected a tensor [1, {int(self.action_dim)}]'
            )
        return module, extra[TORCHSCRIPT_METADATA_FILE]

    def _json_metadata(self, raw: str | bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except (ValueError, TypeError) as exc:
            raise CorruptCheckpointError(
                f'{self.path}: embedded {TORCHSCRIPT_METADATA_FILE} is not JSON: {exc}'
            ) from exc
        return data if isinstance(data, dict) else {}

    def _load_onnx(self) -> CheckpointFormat:
        import onnx  # deferred: only ONNX files need it
        from google.protobuf.message import DecodeError

        data = self.path.read_bytes()
        try:
            model = onnx.load_model_from_string(data)
            onnx.checker.check_model(model)
        except DecodeError as exc:
            raise TruncatedCheckpointError(
                f'{self.path} looks like an ONNX model (protobuf) but cannot be parsed ({exc}):'
                ' truncated or corrupt'
            ) from exc
        except onnx.checker.ValidationError as exc:
            raise CorruptCheckpointError(
                f'{self.path}: invalid ONNX model: {str(exc).splitlines()[0]}'
            ) from exc
        if not model.graph.node:
            raise TruncatedCheckpointError(
                f'{self.path}: ONNX model has an empty graph (truncated?)'
            )
        initializers = {i.name for i in model.graph.initializer}
        inputs = [i for i in model.graph.input if i.name not in initializers]
        outputs = list(model.graph.output)
        if len(inputs) != 1 or len(outputs) != 1:
            raise CheckpointDimensionError(
                f'{self.path}: ONNX model has {len(inputs)} inputs and {len(outputs)} outputs,'
                ' expected 1 observation input and 1 action output'
            )
        in_shape = [
            d.dim_value if d.HasField('dim_value') else -1
            for d in inputs[0].type.tensor_type.shape.dim
        ]
        out_shape = [
            d.dim_value if d.HasField('dim_value') else -1
            for d in outputs[0].type.tensor_type.shape.dim
        ]
        if len(in_shape) != 2 or len(out_shape) != 2:
            raise CheckpointDimensionError(
                f'{self.path}: ONNX input {in_shape} / output {out_shape} are not [batch, n]'
            )
        self._check_dims(in_shape[1], out_shape[1], 'the ONNX model')
        float_type = onnx.TensorProto.FLOAT
        if (
            inputs[0].type.tensor_type.elem_type != float_type
            or outputs[0].type.tensor_type.elem_type != float_type
        ):
            raise CheckpointDimensionError(
                f'{self.path}: ONNX input and output must be float32 tensors'
            )
        props = {p.key: p.value for p in model.metadata_props}
        if METADATA_KEY in props:
            self.metadata = self._json_metadata(props[METADATA_KEY])
        self.onnx_bytes = data
        return CheckpointFormat.ONNX

    def _load_safetensors(self) -> CheckpointFormat:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        header = read_safetensors_header(self.path)
        metadata = header.get('__metadata__') or {}
        try:
            tensors = load_file(str(self.path), device='cpu')
        except SafetensorError as exc:
            raise CorruptCheckpointError(
                f'{self.path}: safetensors file cannot be read: {exc}'
            ) from exc
        self.metadata = dict(metadata)
        for key in ('obs_dim', 'action_dim'):
            if key in metadata and str(metadata[key]) != str(getattr(self, key)):
                raise CheckpointDimensionError(
                    f'{self.path}: metadata {key} is {metadata[key]}, expected'
                    f' {int(getattr(self, key))}'
                )
        known = ('actor.', 'estimator.', 'obs_norm.')
        unexpected = [k for k in tensors if not k.startswith(known)]
        if unexpected or not any(k.startswith('actor.') for k in tensors):
            raise CheckpointKeyError(
                f'{self.path} (safetensors)',
                missing=[] if any(k.startswith('actor.') for k in tensors) else ['actor.*'],
                unexpected=unexpected,
                hint='expected actor.* tensors, optionally estimator.* and obs_norm.*',
            )
        where = f'{self.path} (safetensors)'
        self._build_actor(strip_prefix(tensors, 'actor.'), where + ' actor.*')
        estimator = strip_prefix(tensors, 'estimator.')
        if estimator:
            self._build_estimator(estimator, where + ' estimator.*')
        norm = strip_prefix(tensors, 'obs_norm.')
        if norm:
            self._build_normalizer(norm, where + ' obs_norm.*')
        elif metadata.get('normalizer', 'identity') != 'identity':
            raise CheckpointKeyError(
                where,
                missing=['obs_norm._mean', 'obs_norm._std'],
                hint=f'metadata says normalizer {metadata["normalizer"]!r}',
            )
        return CheckpointFormat.SAFETENSORS

    def _torch_load(self) -> Any:
        try:
            # A file object, not the path: torch.load dispatches on the file name
            # (``*.safetensors``), and the format must come from the content only.
            with open(self.path, 'rb') as handle:
                return torch.load(
                    handle, map_location='cpu', weights_only=not self.allow_unsafe_pickle
                )
        except pickle.UnpicklingError as exc:
            detail = ' '.join(str(exc).split())
            refused = re.search(r'Unsupported global: GLOBAL (\S+)', detail)
            if refused:
                detail = f'unsupported global {refused.group(1)}'
            if self.allow_unsafe_pickle:
                raise CorruptCheckpointError(
                    f'{self.path}: pickle cannot be read: {detail[:300]}'
                ) from exc
            raise UnsafeCheckpointError(
                f'{self.path}: refused: this torch.save checkpoint contains pickled objects that'
                ' are not plain tensors and containers, and unpickling them could run arbitrary'
                f' code (torch.load weights_only=True said: {detail[:400]}). {_UNSAFE_HINT}'
            ) from exc
        except (RuntimeError, EOFError, OSError, ValueError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if (
                isinstance(exc, EOFError)
                or 'central directory' in message
                or 'truncated' in message.lower()
            ):
                raise TruncatedCheckpointError(
                    f'{self.path}: torch.save file is truncated: {message}'
                ) from exc
            raise CorruptCheckpointError(
                f'{self.path}: torch.save file cannot be loaded: {message}'
            ) from exc

    def _load_torch_pickle(self) -> CheckpointFormat:
        if self.allow_unsafe_pickle:
            _LOG.warning(
                '%s: loading with weights_only=False (allow_unsafe_pickle): pickled '
                'code in this file can run now',
                self.path,
            )
        data = self._torch_load()
        if not isinstance(data, dict) or 'model_state_dict' not in data:
            found = sorted(data)[:10] if isinstance(data, dict) else type(data).__name__
            raise CheckpointKeyError(
                f'{self.path} (torch.save)',
                missing=['model_state_dict'],
                hint=f'an rsl_rl checkpoint is a dict with model_state_dict; found {found}',
            )
        infos = data.get('infos')
        if isinstance(infos, dict) and isinstance(infos.get(METADATA_KEY), dict):
            self.metadata = dict(infos[METADATA_KEY])
        student_keys = ('depth_encoder_state_dict', 'depth_actor_state_dict')
        present = [k for k in student_keys if k in data]
        if present and len(present) != 2:
            raise CheckpointKeyError(
                f'{self.path} (rsl_rl student)',
                missing=[k for k in student_keys if k not in data],
                hint='a student checkpoint needs both depth entries',
            )
        where = f'{self.path}'
        if present:
            self._build_actor(
                self._state(data, 'depth_actor_state_dict'), where + ' depth_actor_state_dict'
            )
            self._build_depth_encoder(
                self._state(data, 'depth_encoder_state_dict'), where + ' depth_encoder_state_dict'
            )
        else:
            model = self._state(data, 'model_state_dict')
            extra = [
                k
                for k in model
                if not k.startswith('actor.') and not k.startswith(_TRAINING_ONLY_PREFIXES)
            ]
            if extra:
                raise CheckpointKeyError(
                    where + ' model_state_dict',
                    unexpected=extra,
                    hint='expected actor.*, critic.*, std or log_std',
                )
            self._build_actor(strip_prefix(model, 'actor.'), where + ' model_state_dict actor.*')
        if 'estimator_state_dict' in data:
            self._build_estimator(
                self._state(data, 'estimator_state_dict'), where + ' estimator_state_dict'
            )
        else:
            _LOG.warning(
                '%s has no estimator_state_dict: a measured base velocity will be required',
                self.path,
            )
        if data.get('obs_norm_state_dict') is not None:
            self._build_normalizer(
                self._state(data, 'obs_norm_state_dict'), where + ' obs_norm_state_dict'
            )
        return CheckpointFormat.RSL_RL_STUDENT if present else CheckpointFormat.RSL_RL_TEACHER

    def _state(self, data: Mapping[str, Any], key: str) -> dict[str, torch.Tensor]:
        value = data[key]
        if not isinstance(value, Mapping):
            raise CheckpointKeyError(
                f'{self.path} {key}',
                missing=[key],
                hint=f'it is a {type(value).__name__}, not a state dict',
            )
        return dict(value)

    # -- network builders ---------------------------------------------------------------

    def _build_actor(self, state: dict[str, torch.Tensor], where: str) -> None:
        if self._agent_config is not None:
            config = self._agent_config
        else:
            config = infer_actor_config(state, where)
        self._check_dims(config.obs_dim, config.num_actions, where)
        self.actor = load_module(ParkourActor(config), state, where)
        self.network_config = config

    def _build_estimator(self, state: dict[str, torch.Tensor], where: str) -> None:
        assert self.network_config is not None
        config = self.network_config
        if self._agent_config is None:
            config = replace(
                config, estimator_hidden_dims=infer_estimator_hidden_dims(state, where)
            )
        self.estimator = load_module(Estimator(config), state, where)
        self.network_config = config

    def _build_depth_encoder(self, state: dict[str, torch.Tensor], where: str) -> None:
        assert self.network_config is not None
        config = infer_depth_config(state, where, self.network_config)
        self.depth_encoder = load_module(RecurrentDepthEncoder(config), state, where)
        self.network_config = config

    def _build_normalizer(self, state: dict[str, torch.Tensor], where: str) -> None:
        for key in ('_mean', '_std'):
            if key not in state:
                raise CheckpointKeyError(where, missing=[key])
            tensor = state[key]
            if not isinstance(tensor, torch.Tensor) or tensor.numel() != self.obs_dim:
                raise CheckpointShapeError(
                    where, key, (1, self.obs_dim), tuple(getattr(tensor, 'shape', ()))
                )
        unexpected = set(state) - {'_mean', '_var', '_std', 'count'}
        if unexpected:
            raise CheckpointKeyError(where, unexpected=unexpected)
        self.normalizer = ObservationNormalizer(state['_mean'], state['_std']).eval()

    # -- helpers for tools --------------------------------------------------------------

    def fresh_torchscript(self) -> torch.jit.ScriptModule:
        """
        Return a new copy of a TorchScript checkpoint's module.

        The ONNX exporter alters the module it traces; exporting a copy keeps
        :attr:`torchscript` as loaded.
        """
        if self.torchscript is None or not self.allow_torchscript:
            raise CheckpointError(f'{self.path} is not a TorchScript checkpoint')
        with quiet_torchscript_deprecation():
            return torch.jit.load(str(self.path), map_location='cpu').eval()

    def teacher_modules(self) -> tuple[ParkourActor, ObservationNormalizer | None]:
        """
        Return (actor, normaliser) of a state-dict teacher (rsl_rl or safetensors).

        :raises CheckpointError: for TorchScript, ONNX and student checkpoints.
        """
        if self.actor is None or self.is_recurrent:
            raise CheckpointError(
                f'{self.path}: {self.format.value} checkpoints have no teacher actor modules'
            )
        return self.actor, self.normalizer
