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
Bound the time a model may take to prove it works at load.

Loading a policy runs it: the TorchScript probe of :class:`~.checkpoint.ModelWeights`
and the backend build, verification and warm-up of
:class:`~.model.ParkourPolicyModel`. A model whose forward pass never returns
(a TorchScript ``while`` loop, a huge graph) would block the caller (the
node's ``on_configure``) forever. :func:`run_with_deadline` runs such a step
in a worker thread and refuses the model with :class:`ProbeTimeoutError`
when the step is not done in time.

A stuck torch or onnxruntime call cannot be killed from Python: on timeout
the worker thread is **abandoned**, not stopped. It keeps a CPU core busy
until the computation ends (if ever), and a process that exits while such a
thread is inside torch may abort. This is why a TorchScript file (which can
loop on purpose) is only loaded when the caller opts in
(``allow_torchscript``): the deadline limits the damage of a bad model, it
does not make running untrusted code safe.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import math
import threading
from typing import Any, TypeVar

from krabby_parkour_ros.policy.errors import ProbeTimeoutError

_LOG = logging.getLogger(__name__)

T = TypeVar('T')

#: Default seconds a model may take to load, verify and warm up. Loading the
#: shipped teacher (including the ONNX conversion) takes about 0.3 s on the
#: 2-core development VM; the default leaves room for a loaded robot CPU.
DEFAULT_PROBE_TIMEOUT_S = 5.0

_ABANDONED: list[threading.Thread] = []
_ABANDONED_LOCK = threading.Lock()


def check_probe_timeout(timeout_s: float) -> float:
    """
    Return ``timeout_s`` as a float when it is a usable probe timeout.

    :raises ValueError: when it is not a finite number > 0.
    """
    value = float(timeout_s)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(
            f'probe timeout must be a finite number of seconds > 0, got {timeout_s!r}'
        )
    return value


def abandoned_threads() -> list[threading.Thread]:
    """Return the probe threads abandoned after a timeout that are still running."""
    with _ABANDONED_LOCK:
        _ABANDONED[:] = [thread for thread in _ABANDONED if thread.is_alive()]
        return list(_ABANDONED)


def run_with_deadline(step: Callable[[], T], timeout_s: float, what: str) -> T:
    """
    Return ``step()`` run in a worker thread, or refuse it after ``timeout_s``.

    An exception raised by ``step`` is raised here. On timeout the worker is
    abandoned (it cannot be stopped: see the module docstring) and listed by
    :func:`abandoned_threads`.

    :param what: what the step does, for the message (e.g. the checkpoint name).
    :raises ProbeTimeoutError: when ``step`` has not returned in time.
    """
    timeout = check_probe_timeout(timeout_s)
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def worker() -> None:
        try:
            outcome['value'] = step()
        except BaseException as exc:  # noqa: B902 - handed to the waiting caller
            outcome['error'] = exc
        finally:
            done.set()

    # daemon: an abandoned worker must not keep the process alive at exit.
    thread = threading.Thread(target=worker, name='krabby-policy-probe', daemon=True)
    thread.start()
    if not done.wait(timeout):
        # The thread leaks on purpose: Python cannot interrupt a thread that is
        # inside torch or onnxruntime. It is recorded so that tests (and
        # diagnostics) can see it.
        with _ABANDONED_LOCK:
            _ABANDONED.append(thread)
        _LOG.error(
            '%s did not finish within %.1f s: refused; its thread is abandoned and keeps running',
            what,
            timeout,
        )
        raise ProbeTimeoutError(
            f'{what} did not finish within {timeout:.1f} s (probe timeout): refused. A model that'
            ' does not answer in time cannot drive a robot; the stuck computation cannot be'
            ' interrupted and keeps running in an abandoned background thread. Raise the timeout'
            ' (probe_timeout_s, ROS parameter policy_probe_timeout) only for a model you trust'
            ' that is slow to load.'
        )
    if 'error' in outcome:
        raise outcome['error']
    return outcome['value']
