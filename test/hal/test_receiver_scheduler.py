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

"""The receiver thread is on the control path: it takes the control thread's real-time priority."""

import logging
import os
import threading

import pytest

from krabby_parkour_ros import scheduling
from krabby_parkour_ros.hal.client import HalClient
from krabby_parkour_ros.hal.receiver import THREAD_NAME

from .conftest import LinkFactory
from ..support.scheduling import fifo_allowed
from ..support.waiting import wait_for


def _client(make_link: LinkFactory, priority: int) -> HalClient:
    return make_link('inproc', realtime_priority=priority).client


def _receiver() -> threading.Thread:
    return next(t for t in threading.enumerate() if t.name == THREAD_NAME)


def test_default_priority_leaves_the_receiver_on_the_default_scheduler(
    make_link: LinkFactory,
) -> None:
    client = _client(make_link, 0)
    assert wait_for(lambda: client.stats()['receiver_scheduler'] == 'default', 2.0)
    # Unchanged: the policy the thread inherited from the process (SCHED_OTHER normally).
    assert os.sched_getscheduler(_receiver().native_id) == os.sched_getscheduler(0)


def test_realtime_priority_raises_the_receiver_thread(make_link: LinkFactory) -> None:
    if not fifo_allowed():
        pytest.skip('SCHED_FIFO not permitted here (no CAP_SYS_NICE / rtprio limit)')
    client = _client(make_link, 12)
    assert wait_for(lambda: client.stats()['receiver_scheduler'] == 'fifo:12', 2.0)
    tid = _receiver().native_id
    assert os.sched_getscheduler(tid) == os.SCHED_FIFO
    assert os.sched_getparam(tid).sched_priority == 12
    assert os.sched_getscheduler(0) != os.SCHED_FIFO, 'the caller thread was changed'


def test_a_refused_priority_runs_on_with_a_warning(
    make_link: LinkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError(1, 'Operation not permitted')

    monkeypatch.setattr(scheduling.os, 'sched_setscheduler', refuse)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(scheduling.__name__)
    logger.addHandler(handler)
    try:
        client = _client(make_link, 40)
        assert wait_for(lambda: bool(records), 2.0)
    finally:
        logger.removeHandler(handler)
    assert client.stats()['receiver_scheduler'] == 'default'
    assert 'HAL client receiver: SCHED_FIFO priority 40 refused' in records[0].getMessage()
