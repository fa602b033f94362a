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
A recording survives crashes: of its writer, of its recording process, of both.

The writer process writes chunks straight to the operating system, so a
killed writer leaves a file readable up to its last chunk; a killed
recording process leaves the writer alone, which writes what it received,
finishes the file and exits (no orphan).
"""

import os
from pathlib import Path
import signal
import subprocess
import sys
import textwrap
import time

from mcap.reader import make_reader
import pytest

from krabby_parkour_ros.recording.reader import RecordingReader
from krabby_parkour_ros.recording.recorder import HalRecorder

from .test_recorder import observation_frames, write_sample
from ..support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {repo!r})
    from krabby_parkour_ros.recording.recorder import HalRecorder
    from test.recording.test_recorder import observation_frames
    recorder = HalRecorder({path!r}, chunk_size=4096, compression={compression!r})
    print('writer', recorder.writer_pid, flush=True)
    index = 0
    while True:
        recorder.record_observation(observation_frames(index))
        index += 1
        if index % 50 == 0:
            print(index, flush=True)
        time.sleep(0.0005)
""")


def _gone(pid: int) -> bool:
    """Return True once ``pid`` has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f'/proc/{int(pid)}/stat').read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(')', 1)[1].split()[0] in ('Z', 'X')


def _wait_gone(pid: int, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.02)
    return False


def _timestamps(path: Path) -> tuple[list[int], RecordingReader]:
    reader = RecordingReader(path)
    stamps = [o.observation().timestamp_ns - 1_000_000 for o in reader.observations()]
    return stamps, reader


def _start_writing(path: Path, compression: str) -> tuple[subprocess.Popen[str], int]:
    """Start a recording process (its own process group); return it and its writer's pid."""
    script = WRITER.format(repo=str(REPO), path=str(path), compression=compression)
    process = subprocess.Popen(
        [sys.executable, '-c', script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline().split()
    assert first[:1] == ['writer'], process.stderr.read()
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 40_000:
            return process, int(first[1])
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail('the writer did not write 40 kB in 60 s')


@pytest.mark.parametrize('compression', ['lz4', 'none'])
def test_sigkill_of_everything_leaves_a_readable_prefix(tmp_path: Path, compression: str) -> None:
    path = tmp_path / 'killed.mcap'
    process, writer_pid = _start_writing(path, compression)
    # The recording process and its writer at once (a kill -9 of the process group).
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10.0)
    assert process.returncode == -signal.SIGKILL
    assert _wait_gone(writer_pid)
    stamps, reader = _timestamps(path)
    assert len(stamps) > 20
    assert stamps == list(range(len(stamps)))  # a clean prefix, nothing corrupt
    assert reader.truncated
    assert 'probably killed' in reader.problems[0]
    # The standard reader, which needs the footer, cannot open it.
    with open(path, 'rb') as stream, pytest.raises(Exception):  # noqa: B017 (any reader error)
        list(make_reader(stream).iter_messages())


def test_killed_recording_process_leaves_a_finished_file_and_no_orphan(tmp_path: Path) -> None:
    path = tmp_path / 'parent_killed.mcap'
    process, writer_pid = _start_writing(path, 'zstd')
    process.send_signal(signal.SIGKILL)
    process.wait(10.0)
    assert process.stdout is not None
    printed = [int(line) for line in process.stdout.read().split()]
    # The writer sees the end of its pipe, writes what it got, finishes and exits.
    assert _wait_gone(writer_pid), 'the writer outlived its recording process'
    stamps, reader = _timestamps(path)
    assert not reader.truncated and reader.problems == []
    assert stamps == list(range(len(stamps)))
    assert len(stamps) >= max(printed, default=50)
    with open(path, 'rb') as stream:  # the summary is there: the standard reader opens it
        assert sum(1 for _ in make_reader(stream).iter_messages()) == len(stamps)


def test_killed_writer_is_reported_and_nothing_waits(tmp_path: Path) -> None:
    path = tmp_path / 'writer_killed.mcap'
    recorder = HalRecorder(path, chunk_size=4096, compression='none')
    for index in range(40):
        assert recorder.record_observation(observation_frames(index))
    deadline = time.monotonic() + 10.0
    while recorder.stats()['written'] < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(recorder.writer_pid, signal.SIGKILL)
    assert _wait_gone(recorder.writer_pid)
    # A killed multi-threaded process shows as a zombie before its threads
    # are gone and it can be reaped: the recorder notices on a later look.
    assert wait_for(lambda: recorder.stats()['error'] is not None, 15.0)
    assert 'exited' in recorder.stats()['error']
    started = time.monotonic()
    assert not recorder.record_observation(observation_frames(40))
    final = recorder.close(timeout_s=5.0)
    assert time.monotonic() - started < 5.0
    assert final['written'] == 40 and final['dropped'] == 1 and final['queued'] == 0
    stamps, reader = _timestamps(path)
    assert stamps == list(range(len(stamps))) and reader.truncated


def test_every_cut_of_a_file_reads_as_a_prefix(tmp_path: Path) -> None:
    path = tmp_path / 'full.mcap'
    write_sample(path, count=40, chunk_size=2048)
    data = path.read_bytes()
    full, _ = _timestamps(path)
    assert full == list(range(40))
    previous = 0
    for cut in range(0, len(data), max(1, len(data) // 97)):
        torn = tmp_path / (f'cut_{int(cut)}.mcap')
        torn.write_bytes(data[:cut])
        stamps, reader = _timestamps(torn)
        assert stamps == list(range(len(stamps)))
        assert len(stamps) >= previous  # a longer file never reads less
        assert reader.truncated
        previous = len(stamps)
        os.remove(torn)
    assert previous > 30
