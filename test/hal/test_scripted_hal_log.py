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

"""The scripted HAL's command log: a sequence of commands the collector does not walk."""

import gc

import numpy as np

from krabby_parkour_ros.hal.scripted_hal import CommandLog, ReceivedCommand


def _filled(count: int) -> CommandLog:
    log = CommandLog()
    for i in range(count):
        log.append(1000 + i, 2000 + i, np.full(12, i, dtype=np.float32))
    return log


def test_reads_back_what_was_appended_as_received_commands() -> None:
    log = _filled(3)
    assert len(log) == 3
    last = log[-1]
    assert isinstance(last, ReceivedCommand)
    assert (last.receive_ns, last.observation_timestamp_ns) == (1002, 2002)
    np.testing.assert_array_equal(last.joint_positions, np.full(12, 2, dtype=np.float32))
    assert [c.observation_timestamp_ns for c in log] == [2000, 2001, 2002]
    assert [c.receive_ns for c in log[1:]] == [1001, 1002]
    assert log[0] in log


def test_iteration_is_a_snapshot() -> None:
    log = _filled(2)
    seen = []
    for command in log:
        seen.append(command.receive_ns)
        log.append(0, 0, np.zeros(12, dtype=np.float32))
    assert seen == [1000, 1001]
    assert len(log) == 4


def test_kept_commands_leave_the_collectors_reach() -> None:
    """A full collection must not walk every command (a named tuple per command did)."""
    log = _filled(2000)
    gc.collect()
    tracked = sum(gc.is_tracked(row) for row in log._rows)
    assert tracked == 0
    # The named tuple handed out on access is tracked, the stored row is not.
    assert gc.is_tracked(log[0])
