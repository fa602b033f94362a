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
Assemble a control runtime (HAL link, policy, mappers, control step) from settings.

One place builds and checks everything a controller needs, so the ROS node
and the ROS-free :class:`ParkourInferenceClient` cannot drift apart. Building
refuses, with a message that lists every difference, a policy whose card
does not match the deployment (joint map, rates, scan and base-velocity
sources).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import logging
from typing import TYPE_CHECKING

import zmq

from krabby_parkour_ros.contract import PolicyContract
from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.driver import TickDriver
from krabby_parkour_ros.control.step import ControlStep
from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.command_guard import CommandLimits
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.mapping.action import ActionMapper, ActionMapperConfig
from krabby_parkour_ros.mapping.joint_map import JointMap, load_joint_map
from krabby_parkour_ros.mapping.navigation import NavigationLimits
from krabby_parkour_ros.mapping.observation import ObservationBuilder, ObservationConfig
from krabby_parkour_ros.policy.card_checks import check_deployment
from krabby_parkour_ros.policy.checkpoint import ModelWeights
from krabby_parkour_ros.policy.deadline import DEFAULT_PROBE_TIMEOUT_S
from krabby_parkour_ros.policy.errors import PolicyCardError
from krabby_parkour_ros.policy.model import ParkourPolicyModel
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path

if TYPE_CHECKING:
    from krabby_parkour_ros.recording.recorder import HalRecorder

_LOG = logging.getLogger(__name__)

#: Where the height scan comes from: the HAL's ``height_scan`` key, or the
#: documented flat-ground substitute (only for policies that do not need a scan).
HEIGHT_SCAN_SOURCES = ('hal', 'flat_ground')
#: Where the base linear velocity comes from: the HAL's
#: ``base_linear_velocity`` key, or the policy's own estimator network.
BASE_VELOCITY_SOURCES = ('hal', 'estimator')


#: Inclusive range of ``inference_threads`` (the node's parameter range too).
INFERENCE_THREADS_RANGE = (1, 16)
#: Seconds the policy may take to load, verify and warm up (``policy_probe_timeout``).
PROBE_TIMEOUT_RANGE = (0.1, 600.0)


class RuntimeConfigError(ValueError):
    """A runtime setting is invalid or the policy does not fit the deployment."""


@dataclass(frozen=True)
class RuntimeConfig:
    """
    Everything needed to build a controller.

    :param checkpoint: checkpoint path; empty for the shipped trained teacher.
    :param policy_card: explicit card path (required for a checkpoint
        without a ``policy_card.yaml`` beside it).
    :param allow_torchscript: allow TorchScript checkpoints (their code runs
        at load and at inference: trusted files only); refused otherwise.
    :param probe_timeout_s: seconds the policy may take to load, verify and
        warm up; a slower (or looping) model is refused.
    :param joint_map: shipped joint-map name (``go2_sim``, ``krabby``) or path.
    :param height_scan_source: one of :data:`HEIGHT_SCAN_SOURCES`.
    :param base_velocity_source: one of :data:`BASE_VELOCITY_SOURCES`.
    """

    hal: HalClientConfig = field(default_factory=HalClientConfig)
    checkpoint: str = ''
    policy_card: str = ''
    allow_unsafe_pickle: bool = False
    allow_torchscript: bool = False
    probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
    device: str = 'cpu'
    inference_threads: int = 1
    joint_map: str = 'go2_sim'
    height_scan_source: str = 'hal'
    base_velocity_source: str = 'hal'
    observation: ObservationConfig = field(default_factory=ObservationConfig)
    action: ActionMapperConfig = field(default_factory=ActionMapperConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    navigation: NavigationLimits = field(default_factory=NavigationLimits)

    def __post_init__(self) -> None:
        """
        Check the settings that do not need the policy, once, at construction.

        The nested configs (:class:`HalClientConfig`, :class:`ControlConfig`, ...)
        validated themselves when they were made; the policy-dependent checks
        happen in :meth:`ControlRuntime.build`.

        :raises RuntimeConfigError: naming the field and the value.
        """
        if self.height_scan_source not in HEIGHT_SCAN_SOURCES:
            raise RuntimeConfigError(
                f'height_scan_source must be one of {HEIGHT_SCAN_SOURCES}, '
                f'got {self.height_scan_source!r}'
            )
        if self.base_velocity_source not in BASE_VELOCITY_SOURCES:
            raise RuntimeConfigError(
                f'base_velocity_source must be one of {BASE_VELOCITY_SOURCES}, '
                f'got {self.base_velocity_source!r}'
            )
        low, high = INFERENCE_THREADS_RANGE
        if (
            isinstance(self.inference_threads, bool)
            or not isinstance(self.inference_threads, int)
            or not low <= self.inference_threads <= high
        ):
            raise RuntimeConfigError(
                f'inference_threads must be an integer in [{low}, {high}], '
                f'got {self.inference_threads!r}'
            )
        low_s, high_s = PROBE_TIMEOUT_RANGE
        if (
            isinstance(self.probe_timeout_s, bool)
            or not isinstance(self.probe_timeout_s, (int, float))
            or not low_s <= self.probe_timeout_s <= high_s
        ):
            raise RuntimeConfigError(
                f'probe_timeout_s must be a number in [{low_s}, {high_s}] s, '
                f'got {self.probe_timeout_s!r}'
            )

    def effective_observation_config(self) -> ObservationConfig:
        """Return the observation config with the scan/velocity sources applied."""
        from dataclasses import replace

        return replace(
            self.observation,
            missing_height_scan='refuse' if self.height_scan_source == 'hal' else 'flat_ground',
            missing_base_velocity=(
                'refuse' if self.base_velocity_source == 'hal' else 'estimator'
            ),
        )


def deployment_hal_config(
    hal: HalClientConfig, contract: PolicyContract, joint_map: JointMap
) -> HalClientConfig:
    """
    Return the HAL client settings with the deployment's extension lengths.

    The decoder then rejects (counted as ``extension``) a ``height_scan``
    that is not the policy's scan size or ``foot_contacts`` that are not
    one per foot of the joint map, instead of letting the observation
    builder fail on them and latch a fault (docs/safety.md).
    """
    return replace(
        hal,
        expected_height_scan_length=contract.layout.scan or None,
        expected_foot_count=len(joint_map.hardware_foot_names),
    )


def load_policy(config: RuntimeConfig) -> ModelWeights:
    """Resolve and load the checkpoint and its card (shipped teacher by default)."""
    checkpoint = config.checkpoint
    if not checkpoint:
        checkpoint = str(shipped_checkpoint_path('go2_parkour_teacher'))
    weights = ModelWeights(
        checkpoint,
        card_path=config.policy_card or None,
        allow_unsafe_pickle=config.allow_unsafe_pickle,
        allow_torchscript=config.allow_torchscript,
        probe_timeout_s=config.probe_timeout_s,
    )
    if weights.card is None:
        raise RuntimeConfigError(
            f'checkpoint {checkpoint!r} has no policy card (policy_card.yaml beside it): '
            'its training contract is unknown, so it will not drive a robot. Pass '
            'policy_card:=/path/to/card.yaml (see docs/policy.md for the format).'
        )
    return weights


def _card_contract(model: ParkourPolicyModel) -> PolicyContract:
    """
    Return the training contract of the model's policy card.

    :raises RuntimeConfigError: the checkpoint has no card (no contract).
    """
    contract = model.contract
    if contract is None:
        raise RuntimeConfigError(
            f'checkpoint {str(model.weights.path)!r}: expected a policy card with the '
            'training contract, got none'
        )
    return contract


@dataclass
class ControlRuntime:
    """The assembled, connected controller; :meth:`close` releases it."""

    config: RuntimeConfig
    weights: ModelWeights
    model: ParkourPolicyModel
    joint_map: JointMap
    builder: ObservationBuilder
    mapper: ActionMapper
    hal: HalClient
    step: ControlStep
    driver: TickDriver

    @property
    def contract(self) -> PolicyContract:
        """Return the policy's training contract."""
        return _card_contract(self.model)

    @classmethod
    def build(
        cls,
        config: RuntimeConfig,
        context: zmq.Context | None = None,
        weights: ModelWeights | None = None,
        recorder: HalRecorder | None = None,
    ) -> ControlRuntime:
        """
        Load, check and connect everything.

        :param weights: already loaded weights (else loaded from the config).
        :param recorder: a HalRecorder tapped into the HAL client before it
            connects, so no observation escapes the recording.

        :raises RuntimeConfigError: bad settings or a policy/deployment mismatch.
        :raises ValueError: subclasses from the loaders (checkpoint, joint map).
        """
        if weights is None:
            weights = load_policy(config)
        elif weights.card is None:
            raise RuntimeConfigError(
                f'checkpoint {str(weights.path)!r} has no policy card: pass one'
            )
        joint_map = load_joint_map(config.joint_map)
        model = ParkourPolicyModel(
            weights,
            device=config.device,
            num_threads=config.inference_threads,
            probe_timeout_s=config.probe_timeout_s,
        )
        contract = _card_contract(model)
        try:
            check_deployment(
                contract,
                policy_joint_names=joint_map.policy_joint_names,
                control_rate_hz=config.control.control_rate,
                policy_decimation=config.control.policy_decimation,
                scan_available=config.height_scan_source == 'hal',
                base_velocity_available=config.base_velocity_source == 'hal',
                has_estimator=model.has_estimator,
            )
            joint_map.validate_against(contract)
        except PolicyCardError as exc:
            raise RuntimeConfigError(str(exc)) from exc
        if not model.trained:
            _LOG.warning(
                'policy %s has UNTRAINED weights: for tests and demos only', contract.name
            )
        builder = ObservationBuilder(contract, joint_map, config.effective_observation_config())
        mapper = ActionMapper(contract, joint_map, config.action)
        hal = HalClient(
            deployment_hal_config(config.hal, contract, joint_map),
            context=context,
            command_limits=CommandLimits.from_joint_map(joint_map),
            realtime_priority=config.control.realtime_priority,
        )
        if recorder is not None:
            hal.set_taps(observation=recorder.record_observation, command=recorder.record_command)
        hal.connect()
        step = ControlStep(hal, builder, mapper, model, config.control, config.navigation)
        driver = TickDriver(hal, step, config.control)
        return cls(config, weights, model, joint_map, builder, mapper, hal, step, driver)

    def close(self) -> None:
        """Disconnect the HAL link (the hold target stays in force on the HAL)."""
        self.hal.close()
