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
Issue #13 finding 8 on /diagnostics: clock offset, HAL rate, interleaving, reconnects.

The real controller runs against a scripted HAL (:class:`~test.hardening.drills.Rig`);
the status is built as the node builds it. A 20 Hz HAL under the 50 Hz
policy and two interleaved publishers are WARN with the reason in the
message; the clock offset and the reconnects are key/values.
"""

import time

from diagnostic_msgs.msg import DiagnosticStatus

from krabby_parkour_ros.node.diagnostics import build_diagnostic_status, hal_stream_warnings

from ..hardening.drills import Rig
from ..hardening.harness import wait_for

S = 1_000_000_000


def _values(status: DiagnosticStatus) -> dict:
    return {kv.key: kv.value for kv in status.values}


def test_stream_warnings_name_the_cause() -> None:
    ok = {'observation_rate_hz': 49.0, 'interleaved_streams_active': False}
    assert hal_stream_warnings(ok, 0.02) == []
    # Nothing measured (silent HAL): the stale handling reports it, not this.
    assert hal_stream_warnings(dict(ok, observation_rate_hz=0.0), 0.02) == []
    slow = hal_stream_warnings(dict(ok, observation_rate_hz=20.0), 0.02)
    assert slow == ['HAL observation rate 20.0 Hz is below the policy rate 50.0 Hz']
    mixed = hal_stream_warnings(dict(ok, interleaved_streams_active=True), 0.02)
    assert len(mixed) == 1 and 'interleaved' in mixed[0]


def test_a_20hz_hal_under_the_50hz_policy_is_a_warning() -> None:
    rig = Rig()
    rig.hal.period_ns = S // 20
    with rig:
        runtime = rig.client.runtime
        assert wait_for(lambda: 0.0 < runtime.hal.stats()['observation_rate_hz'] < 30.0, 5.0)
        status = build_diagnostic_status('parkour', runtime, 'go2')
    values = _values(status)
    assert status.level >= DiagnosticStatus.WARN
    assert 'below the policy rate 50.0 Hz' in status.message
    assert values['policy_rate_hz'] == '50.00'
    assert 0.0 < float(values['hal_observation_rate_hz']) < 30.0


def test_two_interleaved_publishers_are_a_warning() -> None:
    with Rig() as rig:
        template = rig.hal.template
        base = time.time_ns() - 5 * S
        for i in range(6):  # a second publisher 5 s behind, between good messages
            rig.hal.inject(template.frames(base + i))
            assert wait_for(lambda i=i: rig.hal.injected_count > i, 5.0)
        runtime = rig.client.runtime
        assert wait_for(lambda: runtime.hal.stats()['interleaved_streams'] == 1, 5.0)
        status = build_diagnostic_status('parkour', runtime, 'go2')
    values = _values(status)
    assert status.level >= DiagnosticStatus.WARN
    assert 'two interleaved observation streams' in status.message
    assert values['hal_interleaved_streams'] == '1'
    assert int(values['hal_timestamp_reversals']) >= 3
    assert int(values['hal_rejected_timestamp']) >= 6


def test_reconnects_and_the_clock_offset_are_on_diagnostics() -> None:
    with Rig('tcp') as rig:
        runtime = rig.client.runtime
        assert _values(build_diagnostic_status('parkour', runtime, 'go2'))['hal_reconnects'] == '0'
        rig.hal.kill()
        assert wait_for(lambda: runtime.hal.stats()['reconnects'] >= 1, 5.0)
        rig.hal.restart()
        accepted = runtime.hal.stats()['accepted_count']
        assert wait_for(lambda: runtime.hal.stats()['accepted_count'] > accepted + 10, 5.0)
        values = _values(build_diagnostic_status('parkour', runtime, 'go2'))
    assert int(values['hal_reconnects']) >= 1
    # The scripted HAL stamps with this host's wall clock: the offset is the
    # transport delay, well under a second.
    assert abs(float(values['hal_clock_offset_ms'])) < 1000.0
