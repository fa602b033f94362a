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
A controller factory and helpers for drills and fuzzing.

The scripted HAL itself (:class:`ScriptedHal`, :class:`ObservationTemplate`)
lives in :mod:`krabby_parkour_ros.hal.scripted_hal` (benchmarks use it too
and must not import test code); it is re-exported here for the tests.

:func:`make_controller` builds a
:class:`~krabby_parkour_ros.control.inference_client.ParkourInferenceClient`
with the shipped trained teacher, connected to a scripted HAL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
import time

from krabby_parkour_ros.control.config import ControlConfig
from krabby_parkour_ros.control.inference_client import ParkourInferenceClient
from krabby_parkour_ros.control.runtime import RuntimeConfig
from krabby_parkour_ros.control.step import ControlMode, TickResult
from krabby_parkour_ros.hal.scripted_hal import (
    ObservationTemplate,
    ReceivedCommand,
    ScriptedHal,
    standing_extensions,
    standing_pose,
)
from krabby_parkour_ros.policy.checkpoint import ModelWeights
from krabby_parkour_ros.policy.shipped import shipped_checkpoint_path

from ..support.waiting import wait_for

__all__ = [
    'make_controller',
    'MS',
    'ObservationTemplate',
    'ReceivedCommand',
    'ScriptedHal',
    'standing_extensions',
    'standing_pose',
    'teacher_weights',
    'TickLog',
    'wait_for',
]

MS = 1_000_000


_WEIGHTS: dict[str, ModelWeights] = {}


def teacher_weights() -> ModelWeights:
    """Return the shipped trained teacher (loaded once per process)."""
    if 'teacher' not in _WEIGHTS:
        _WEIGHTS['teacher'] = ModelWeights(str(shipped_checkpoint_path('go2_parkour_teacher')))
    return _WEIGHTS['teacher']


class TickLog:
    """Record (monotonic ns, mode, sent, policy ran, error, observation stamp) of every tick."""

    def __init__(self) -> None:
        self.entries: list[tuple] = []

    def __call__(self, result: TickResult) -> None:
        """Record one tick (the controller's ``on_tick``)."""
        observation = result.observation
        self.entries.append(
            (
                time.monotonic_ns(),
                result.mode,
                result.sent,
                result.policy_ran,
                result.error,
                None if observation is None else observation.timestamp_ns,
            )
        )

    def modes_since(self, start_ns: int) -> list[ControlMode]:
        """Return the sequence of distinct consecutive modes from ``start_ns``."""
        out: list[ControlMode] = []
        for entry in list(self.entries):
            if entry[0] >= start_ns and (not out or out[-1] != entry[1]):
                out.append(entry[1])
        return out

    def first_time(self, start_ns: int, predicate: Callable[[tuple], bool]) -> int | None:
        """Return the time of the first tick after ``start_ns`` matching ``predicate``."""
        for entry in list(self.entries):
            if entry[0] >= start_ns and predicate(entry):
                return entry[0]
        return None


def make_controller(
    hal: ScriptedHal,
    control_rate: float = 100.0,
    policy_decimation: int | None = None,
    on_tick: Callable[[TickResult], None] | None = None,
    hal_kwargs: dict | None = None,
    warm_up_lead_s: float | None = None,
    **control: object,
) -> ParkourInferenceClient:
    """
    Return an initialized controller with the shipped teacher connected to ``hal``.

    :param warm_up_lead_s: the control loop's warm-up lead (None: its default; 0: off).
    :param control: :class:`ControlConfig` fields to override (timings, latch count).
    """
    control_config = replace(ControlConfig(), **control)
    runtime = RuntimeConfig(control=control_config)
    client = ParkourInferenceClient(
        hal.client_config(**(hal_kwargs or {})),
        teacher_weights(),
        control_rate=control_rate,
        device='cpu',
        transport_context=hal.context if hal.inproc else None,
        runtime_config=runtime,
        policy_decimation=policy_decimation,
        on_tick=on_tick,
        **({} if warm_up_lead_s is None else {'warm_up_lead_s': warm_up_lead_s}),
    )
    client.initialize()
    return client
