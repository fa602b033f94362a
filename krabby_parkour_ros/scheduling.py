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
Real-time scheduling of the threads on the control path.

An observation reaches a command through two threads: the HAL client's
receiver (receive, decode, check) and the control thread (step, encode,
send). With ``realtime_priority`` both ask for ``SCHED_FIFO`` at that
priority. Raising only the control thread left the receiver to compete
with every other process: on the 2-core development VM with one core
busy, 18 of 12 000 ticks were more than 2 ms late with neither raised,
3 with the control thread raised (docs/hardening.md, "Run of
2026-12-06 (morning)").
"""

from __future__ import annotations

import logging
import os
import threading

_LOG = logging.getLogger(__name__)

#: The scheduler a thread reports when it was not (or could not be) raised.
DEFAULT = 'default'


def request_fifo(priority: int, role: str) -> str:
    """
    Ask for ``SCHED_FIFO`` at ``priority`` for the calling thread.

    :param priority: 0: leave the default scheduler; 1..99 (validated by
        :class:`~krabby_parkour_ros.control.config.ControlConfig`).
    :param role: the thread's name in the warning when it is refused.
    :return: ``'default'`` or ``'fifo:<priority>'``: what the thread got.
        A refusal (no CAP_SYS_NICE, no rtprio limit) is logged once per
        call and the thread runs on with the default scheduler.
    """
    if priority <= 0:
        return DEFAULT
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO, os.sched_param(priority))
    except (OSError, AttributeError) as exc:
        _LOG.warning(
            '%s: SCHED_FIFO priority %d refused (%s); running with the default scheduler'
            ' (grant CAP_SYS_NICE or an rtprio limit)',
            role,
            priority,
            exc,
        )
        return DEFAULT
    return f'fifo:{priority}'
