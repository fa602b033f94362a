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
One policy step as a few named calls: build the observation, infer, map the action.

:class:`PolicyPipeline` is the data path of the controller (rl_sar's deploy
loop has the same shape: state -> observation -> forward -> output). It
holds no safety state: the control step
(:mod:`krabby_parkour_ros.control.step`), the mode machine around it, owns
the last safe target and passes it in as ``previous_command`` (the rate
limit's reference); the pipeline returns either the mapped command or why
there is none (a :class:`FailureKind`, the mapper's
:class:`~krabby_parkour_ros.mapping.action.MappingRefusal` when it refused,
and a message), and the step decides what the robot gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import enum
import logging
import time
from typing import Any

import numpy as np

from krabby_parkour_ros.hal.messages import HalObservation
from krabby_parkour_ros.mapping.action import MappingRefusal
from krabby_parkour_ros.mapping.navigation import NavigationCommand
from krabby_parkour_ros.policy.model import ModelIO

_LOG = logging.getLogger(__name__)


class FailureKind(str, enum.Enum):
    """Why a policy step produced no command (``failures_by_reason`` keys)."""

    #: The observation could not be built (missing or invalid input).
    OBSERVATION = 'observation'
    #: The model failed (backend error, non-finite output).
    INFERENCE = 'inference'
    #: The action mapper refused the action (non-finite values).
    MAPPING = 'mapping'
    #: A bug in a stage raised something unexpected.
    EXCEPTION = 'exception'


@dataclass
class PolicyOutcome:
    """
    What one policy step produced.

    :ivar command: (18,) float32 hardware targets; None on failure.
    :ivar failure: why there is no command; None on success.
    :ivar message: the failure's detail (empty on success).
    :ivar mapping_refusal: why the mapper refused (with ``failure``
        :attr:`FailureKind.MAPPING`); None otherwise.
    :ivar action: the clipped raw action (policy order) on success.
    :ivar limited: True when the target limits or the rate limit acted.
    :ivar observation: a copy of the observation vector, when it was built.
    :ivar stage_times: seconds per stage (build, infer, map) when inference ran.
    """

    command: np.ndarray | None = None
    failure: FailureKind | None = None
    message: str = ''
    mapping_refusal: MappingRefusal | None = None
    action: np.ndarray | None = None
    limited: bool = False
    observation: np.ndarray | None = None
    stage_times: dict[str, float] = field(default_factory=dict)

    @property
    def error(self) -> str:
        """Return ``'<kind>: <message>'`` for logs and diagnostics; empty on success."""
        return '' if self.failure is None else f'{self.failure.value}: {self.message}'


class PolicyPipeline:
    """
    Build -> infer -> map, with the training's action feedback.

    :param builder: an :class:`~krabby_parkour_ros.mapping.observation.ObservationBuilder`.
    :param model: a :class:`~krabby_parkour_ros.policy.model.ParkourPolicyModel`.
    :param mapper: an :class:`~krabby_parkour_ros.mapping.action.ActionMapper`.
    """

    def __init__(self, builder: Any, model: Any, mapper: Any) -> None:
        self._builder = builder
        self._model = model
        self._mapper = mapper

    def reset(self) -> None:
        """Forget the history (observation, recurrent state, action buffers)."""
        self._builder.reset()
        self._model.reset()
        self._mapper.reset()

    def run(
        self,
        observation: HalObservation,
        navigation: NavigationCommand,
        previous_command: np.ndarray,
        first_of_failures: bool = True,
    ) -> PolicyOutcome:
        """
        Run one policy step; never raises.

        :param observation: the newest HAL observation.
        :param navigation: the navigation command in force.
        :param previous_command: (18,) the command the caller last sent or
            holds: the mapper's rate limit moves each target at most
            ``max_delta_per_step`` from it.
        :param first_of_failures: log a traceback for an unexpected exception
            (only for the first of a run of failures).
        """
        outcome = PolicyOutcome()
        t0 = time.perf_counter()
        try:
            vector = self._builder.build(observation, navigation)
            outcome.observation = vector.copy()
            t1 = time.perf_counter()
            depth = observation.depth_map if self._model.needs_depth else None
            response = self._model.inference(
                ModelIO(
                    observation=vector,
                    base_velocity_measured=self._builder.base_velocity_measured,
                    depth_image=depth,
                )
            )
            t2 = time.perf_counter()
            if not response.success:
                return self._failed(outcome, FailureKind.INFERENCE, response.error_message)
            mapped = self._mapper.map(response.action_numpy(), previous_command)
            outcome.stage_times = {
                'build': t1 - t0,
                'infer': t2 - t1,
                'map': time.perf_counter() - t2,
            }
        except ValueError as exc:  # ObservationError and mapping input errors
            return self._failed(outcome, FailureKind.OBSERVATION, str(exc))
        except Exception as exc:  # noqa: B902 - a stage bug must hold, not kill the loop
            if first_of_failures:
                _LOG.exception('policy step raised (traceback of the first of a run)')
            return self._failed(outcome, FailureKind.EXCEPTION, f'{type(exc).__name__}: {exc}')
        if mapped.command is None:
            outcome.mapping_refusal = mapped.refusal
            return self._failed(outcome, FailureKind.MAPPING, mapped.detail)
        # Training feeds back the policy's raw (unclipped) output as the previous
        # action (extreme-parkour's action_history_buf); clipping only shapes targets.
        self._builder.record_action(mapped.raw_action)
        outcome.command = np.array(mapped.command, dtype=np.float32)
        outcome.action = np.array(mapped.clipped_action, dtype=np.float32)
        outcome.limited = bool(mapped.limited)
        return outcome

    @staticmethod
    def _failed(outcome: PolicyOutcome, kind: FailureKind, message: str) -> PolicyOutcome:
        outcome.failure = kind
        outcome.message = message
        return outcome
