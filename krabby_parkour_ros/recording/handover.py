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
The recorder's side of its writer process: start, hand records over, stop.

:class:`WriterProcess` starts :mod:`~krabby_parkour_ros.recording.writer_process`
as a child process (a fresh interpreter: no fork of the control process,
its threads or its ZeroMQ contexts), connects a PUSH socket to it over
``ipc://`` (an abstract socket name, no file) and shares a
:class:`~krabby_parkour_ros.recording.wire.SharedStatus` with it. Sending a
record is one non-blocking ``send_multipart``: libzmq copies (or, for a
received ``zmq.Frame``, shares) the frames and its I/O thread moves them
without the interpreter lock. The child holds the read end of a pipe whose
write end only this process has, so it sees the end of file and finishes
the recording when this process dies, however it dies.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
import os
import secrets
import subprocess
import sys
import time
from typing import Any

import zmq

from krabby_parkour_ros.recording import wire
from krabby_parkour_ros.recording.mcap_file import RecordingError

_BOOT = (
    'import sys\nfrom krabby_parkour_ros.recording.writer_process import main\nsys.exit(main())\n'
)
_CLOSE = wire.pack_header(wire.KIND_CLOSE, '', '', 0, 0)


def _child_environment() -> dict[str, str]:
    """Return this environment with this interpreter's import path (same package, same copy)."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    env['PYTHONPATH'] = os.pathsep.join(paths)
    return env


class WriterProcess:
    """
    The writer process of one recording, seen from the recorder.

    :param settings: the writer's settings (JSON-ready; see
        :func:`~krabby_parkour_ros.recording.writer_process.main`).
    :param start_timeout_s: longest wait for the first file to be created.
    :raises RecordingError: if the process cannot start or the file cannot be created.
    """

    def __init__(self, settings: dict[str, Any], start_timeout_s: float) -> None:
        self.status = wire.SharedStatus.create()
        self.endpoint = f'ipc://@krabby-recorder-{os.getpid()}-{secrets.token_hex(8)}'
        self._context = zmq.Context(1)
        self._push = self._context.socket(zmq.PUSH)
        # The recorder bounds the records in flight itself (count and bytes).
        self._push.setsockopt(zmq.SNDHWM, 0)
        self._push.setsockopt(zmq.LINGER, 0)
        # Connecting first: the pipe exists at once and queues until the child binds.
        self._push.connect(self.endpoint)
        settings = {**settings, 'endpoint': self.endpoint, 'status_fd': self.status.fd}
        self.process: subprocess.Popen[bytes] | None = None
        try:
            self.process = subprocess.Popen(
                [sys.executable, '-c', _BOOT, json.dumps(settings)],
                stdin=subprocess.PIPE,
                pass_fds=(self.status.fd,),
                env=_child_environment(),
            )
            self._wait_ready(start_timeout_s)
        except (OSError, RecordingError) as exc:
            self.kill()
            self.release()
            if isinstance(exc, RecordingError):
                raise
            raise RecordingError(f'could not start the recording writer process: {exc}') from exc

    @property
    def pid(self) -> int:
        """Return the writer process's id (0 if it never started)."""
        return self.process.pid if self.process is not None else 0

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        assert self.process is not None
        while time.monotonic() < deadline:
            state = self.status.get(wire.STATE)
            if state == wire.READY:
                return
            if state == wire.FAILED:
                snapshot = self.status.read_snapshot()
                raise RecordingError(str(snapshot.get('start_error') or snapshot.get('error')))
            code = self.process.poll()
            if code is not None:
                raise RecordingError(
                    f'the recording writer process exited with code {code} before it was ready'
                    ' (see its messages above)'
                )
            time.sleep(0.005)
        raise RecordingError(
            f'the recording writer process was not ready within {timeout_s:.1f} s'
        )

    def send(self, parts: Sequence[Any]) -> bool:
        """Hand one record over without waiting; False if ZeroMQ refused it (not thread safe)."""
        try:
            self._push.send_multipart(parts, zmq.NOBLOCK, copy=False)
        except zmq.ZMQError:
            return False
        return True

    def send_close(self) -> bool:
        """Send the close record: the writer finishes once it has written everything before it."""
        return self.send([_CLOSE])

    def alive(self) -> bool:
        """Return True while the writer process runs."""
        return self.process is not None and self.process.poll() is None

    def exit_code(self) -> int | None:
        """Return the writer process's exit status (None while it runs)."""
        return None if self.process is None else self.process.poll()

    def wait(self, timeout_s: float) -> bool:
        """Wait for the writer to exit; kill it after ``timeout_s``. True if it finished itself."""
        if self.process is None:
            return False
        try:
            self.process.wait(timeout_s)
            return True
        except subprocess.TimeoutExpired:
            self.kill()
            return False

    def kill(self) -> None:
        """Kill the writer process now (what it wrote up to its last chunk stays readable)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10.0)

    def release(self) -> None:
        """Close the socket, the context, the pipe and the shared block (after :meth:`wait`)."""
        self._push.close(linger=0)
        self._context.term()
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()
        self.status.close()
