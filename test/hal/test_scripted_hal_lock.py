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
The scripted HAL's loop lock: nobody starves behind the publishing loop.

The loop holds its lock for most of every period and takes it again at
once; CPython's lock is not fair, so ``inject`` (which took it) waited a
median 0.66 s and up to 4.4 s, and the fault drills that inject or kill
the HAL failed on a quiet machine.
"""

import threading
import time

from krabby_parkour_ros.hal.scripted_hal import ScriptedHal

from ..support.waiting import wait_for


def test_inject_does_not_take_the_loop_lock() -> None:
    hal = ScriptedHal()
    try:
        with hal._lock:  # as the loop holds it while it waits for commands
            worker = threading.Thread(target=hal.inject, args=(hal.template.frames(1),))
            worker.start()
            worker.join(5.0)
            assert not worker.is_alive(), 'inject waited for the loop lock'
        hal.start()
        # The injected message goes out right after the next good observation.
        assert wait_for(lambda: hal.injected_count == 1, 5.0)
    finally:
        hal.close()


def test_the_loop_lets_a_waiting_thread_in_before_it_takes_the_lock_again() -> None:
    hal = ScriptedHal()
    order: list[str] = []
    try:
        hal._lock.acquire()  # the loop, in the middle of a period

        def other() -> None:
            with hal._exclusive():
                time.sleep(0.05)
                order.append('other')

        worker = threading.Thread(target=other)
        worker.start()
        assert wait_for(lambda: hal._waiters == 1, 5.0)
        hal._lock.release()
        hal._let_waiters_in()  # what the loop does before each acquisition
        with hal._lock:
            order.append('loop')
        worker.join(5.0)
        assert order == ['other', 'loop']
        assert hal._waiters == 0
    finally:
        hal.close()


def test_kill_and_restart_get_in_while_the_loop_runs() -> None:
    with ScriptedHal() as hal:
        assert wait_for(lambda: len(hal.publish_log) > 5, 5.0)
        hal.kill()
        assert not hal.server.bound
        hal.restart()
        assert hal.server.bound and hal.restarts == 1
        published = len(hal.publish_log)
        assert wait_for(lambda: len(hal.publish_log) > published + 5, 5.0)
