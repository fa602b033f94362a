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
Issue #13 finding 4 end to end: bad extension values never latch the controller.

The real controller (:class:`ControlRuntime` through
``ParkourInferenceClient``: HAL client, shipped teacher, observation
builder, control step) runs against a scripted HAL that, for a while,
publishes only observations with one bad extension value each (a 131-point
scan for the 132-point teacher, 3 contacts for 4 feet, a zero, 1e308 or
non-unit quaternion, NaN, a contact of 2). Before the fix each reached the
observation builder, five failures latched a fault and the node went to
unconfigured for good. Now the HAL client rejects them (counted under
``extension``), the controller holds on stale data and the policy runs
again on the next good observations.
"""

from collections.abc import Callable
from dataclasses import replace
import itertools

from krabby_parkour_ros.contract import GO2_PARKOUR_TEACHER
from krabby_parkour_ros.control.runtime import deployment_hal_config
from krabby_parkour_ros.control.step import ControlMode
from krabby_parkour_ros.hal.config import HalClientConfig
from krabby_parkour_ros.mapping.joint_map import load_joint_map

from .drills import _now, controller_stats, Rig
from .harness import ObservationTemplate, wait_for
from ..support import malformed

SCAN = GO2_PARKOUR_TEACHER.scan_grid.size
BAD_COUNT = 20


#: One bad extension value per message, in turn (test/support/malformed.py).
BAD_CASES = malformed.extension_cases(SCAN, foot_count=4)


def bad_frames(template: ObservationTemplate) -> Callable[[int], list[bytes]]:
    """Return a substitute publishing one bad extension value per message, in turn."""
    cases = itertools.cycle(BAD_CASES)

    def substitute(stamp: int) -> list[bytes]:
        return next(cases).build(template.frames(stamp))

    return substitute


def test_the_runtime_passes_the_deployment_lengths_to_the_decoder() -> None:
    for name, feet in (('go2_sim', 4), ('krabby', 6)):
        config = deployment_hal_config(
            HalClientConfig(), GO2_PARKOUR_TEACHER, load_joint_map(name)
        )
        assert config.expected_height_scan_length == SCAN == 132
        assert config.expected_foot_count == feet
    unchanged = replace(HalClientConfig(), max_observation_age_s=0.5)
    assert (
        deployment_hal_config(
            unchanged, GO2_PARKOUR_TEACHER, load_joint_map('go2_sim')
        ).max_observation_age_s
        == 0.5
    )


def test_bad_extension_values_hold_then_resume_and_never_latch() -> None:
    with Rig() as rig:
        client = rig.client
        hal_config = client.runtime.hal.config
        assert hal_config.expected_height_scan_length == SCAN
        assert hal_config.expected_foot_count == 4
        steps_before = controller_stats(client)['counters']['policy_steps']
        start = rig.hal.injected_count
        rig.hal.substitute = bad_frames(rig.hal.template)
        assert wait_for(lambda: rig.hal.injected_count - start >= BAD_COUNT, 10.0)
        # Let the client take the last bad ones before the good stream resumes.
        assert wait_for(
            lambda: controller_stats(client)['hal']['rejections'].get('extension', 0) >= BAD_COUNT,
            5.0,
        ), controller_stats(client)['hal']
        rig.hal.substitute = None
        restored = _now()
        recovery = rig.recovery(restored)
        stats = controller_stats(client)
        step = client.runtime.step
        assert recovery['recovered'], recovery
        assert recovery['modes_after'][-1] == ControlMode.RUNNING.value
        # Holding on stale data (not a fault) while only bad messages came.
        assert ControlMode.HOLD_STALE in rig.log.modes_since(0)
        assert ControlMode.HOLD_FAULT not in rig.log.modes_since(0)
        assert step.fault_latched is False
        assert stats['counters']['fault_latches'] == 0
        assert stats['counters']['failures'] == 0
        assert step.failures_by_reason == {}
        assert stats['counters']['policy_steps'] > steps_before
        rejections = stats['hal']['rejections']
        assert set(rejections) == {'extension'}
        assert rejections['extension'] >= BAD_COUNT
        safety = rig.safety()
        assert safety['all_finite'] and safety['hal_rejections'] == {}
        assert safety['controller_error'] is None and safety['hal_error'] is None
