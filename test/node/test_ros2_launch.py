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
Run the real thing: ``colcon build``, then ``ros2 launch krabby_parkour parkour.launch.py``.

Runs where colcon-ros and the ROS 2 launch/CLI tools are installed (here:
``../shared/ros2-tools``; on a robot: the ROS distribution); skips otherwise.
"""

from collections.abc import Sequence
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from .conftest import scripted_hal

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tools_missing() -> str:
    for module in ('launch_ros', 'ros2cli', 'colcon_ros'):
        try:
            __import__(module)
        except ImportError:
            return f'needs the ROS 2 launch system, CLI and colcon-ros ({module} is missing)'
    if not (BIN / 'colcon').exists() or not (BIN / 'ros2').exists():
        return 'colcon or ros2 executables are not in the environment'
    return ''


pytestmark = [
    pytest.mark.skipif(bool(_tools_missing()), reason=_tools_missing() or 'ok'),
    pytest.mark.slow,
]


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """Build this package with colcon into a temporary workspace."""
    work = tmp_path_factory.mktemp('colcon')
    env = dict(os.environ, PATH=f'{BIN}:{os.environ["PATH"]}')
    result = subprocess.run(
        [
            str(BIN / 'colcon'),
            'build',
            '--base-paths',
            str(ROOT),
            '--build-base',
            str(work / 'build'),
            '--install-base',
            str(work / 'install'),
            '--packages-select',
            'krabby_parkour',
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        work
        / 'install'
        / 'krabby_parkour'
        / 'share'
        / 'krabby_parkour'
        / 'launch'
        / 'parkour.launch.py'
    ).exists()
    assert (
        work / 'install' / 'krabby_parkour' / 'lib' / 'krabby_parkour' / 'parkour_node'
    ).exists()
    return work / 'install'


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and an ignored
    # signal stays ignored through bash and exec: a suite run in the
    # background (CI scripts, `.ci/run &`) would start launch deaf to Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _shell(install: Path, command: str, unset: Sequence[str] = (), **kwargs) -> subprocess.Popen:
    script = f'source "{install}/setup.bash" && exec {command}'
    env = dict(os.environ, PATH=f'{BIN}:{os.environ["PATH"]}', PYTHONUNBUFFERED='1')
    for name in unset:
        env.pop(name, None)
    return subprocess.Popen(
        ['bash', '-c', script],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=_default_sigint,
        **kwargs,
    )


def _stop_launch(launch: subprocess.Popen) -> str:
    """Ctrl-C the launch (SIGKILL after 30 s); return everything it printed."""
    os.killpg(launch.pid, signal.SIGINT)
    try:
        return launch.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        os.killpg(launch.pid, signal.SIGKILL)
        return launch.communicate()[0]


def test_ros2_launch_autostarts_the_node_against_a_hal(installed):
    hal = scripted_hal()
    launch = _shell(
        installed,
        'ros2 launch krabby_parkour parkour.launch.py '
        f'observation_endpoint:={hal.observation_endpoint} '
        f'command_endpoint:={hal.command_endpoint} '
        'namespace:=krabby',
    )
    state = ''
    try:
        assert hal.wait_commands(100, timeout=90.0), 'ros2 launch did not bring the node to active'
        # Discovery of a fresh process can take a while on a loaded machine: no
        # daemon (it may belong to another domain), a generous spin time, retries.
        for _ in range(3):
            get = _shell(
                installed, 'ros2 lifecycle get --no-daemon --spin-time 5 /krabby/parkour_node'
            )
            state = get.communicate(timeout=30)[0]
            if state.startswith('active'):
                break
        assert state.startswith('active'), state
    finally:
        output = _stop_launch(launch)
        hal.close()
    assert all(np.all(np.isfinite(c.joint_positions)) for c in hal.commands)
    assert 'configured: policy go2_parkour_teacher' in output, output[-3000:]


def test_colcon_installs_config_models_and_description(installed):
    share = installed / 'krabby_parkour' / 'share' / 'krabby_parkour'
    for relative in (
        'config/parkour.yaml',
        'config/joint_maps/go2_sim.yaml',
        'config/joint_maps/krabby.yaml',
        'config/parkour.rviz',
        'urdf/go2.urdf',
        'models/go2_parkour_teacher/teacher_actor.safetensors',
        'models/go2_parkour_teacher/policy_card.yaml',
        'models/go2_parkour_teacher/NOTICE.md',
    ):
        assert (share / relative).is_file(), relative
    assert (share / 'urdf' / 'go2.urdf').read_bytes() == (
        ROOT / 'krabby_parkour_ros' / 'description' / 'go2.urdf'
    ).read_bytes()
    assert shutil.which('bash')


def _children(pid: int) -> list[int]:
    """Return the pids of every process below ``pid``."""
    parents = {}
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / 'stat').read_text()
            except OSError:
                continue
            parents.setdefault(int(stat.rsplit(')', 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return False
    return stat.rsplit(')', 1)[1].split()[0] != 'Z'


def test_failed_launch_leaves_no_process_behind(installed):
    # A checkpoint that does not exist: configure fails, the node stays
    # unconfigured (no timer). Ctrl-C on launch must end the node at once.
    # The launch default must make discovery localhost-only: the variables
    # are removed from the environment launch starts in.
    launch = _shell(
        installed,
        'ros2 launch krabby_parkour parkour.launch.py checkpoint:=/nonexistent/model.pt',
        unset=('ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_LOCALHOST_ONLY'),
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(launch.stdout), daemon=True)
    reader.start()
    nodes: list[int] = []
    try:
        # launch's own configure request can be lost right after discovery (a
        # volatile request before the match; launch does not resend it): the
        # node then stays unconfigured, which is the state under test as well.
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline and 'configure failed' not in ''.join(lines):
            time.sleep(0.05)
        configure_failed = 'configure failed' in ''.join(lines)
        assert 'DDS discovery range' in ''.join(lines), ''.join(lines)[-3000:]
        nodes = _children(launch.pid)
        assert nodes, 'no node process under launch'
        start = time.monotonic()
        os.kill(launch.pid, signal.SIGINT)  # launch only: it signals its processes
        try:
            # launch escalates to SIGTERM after 5 s and SIGKILL 5 s later: a
            # minute is only reached when launch itself hangs.
            launch.wait(timeout=60)
        except subprocess.TimeoutExpired:
            reader.join(1.0)
            tree = {pid: _alive(pid) for pid in nodes}
            pytest.fail(
                f'launch did not exit within 60 s of SIGINT (node alive: {tree})\n'
                + ''.join(lines)[-3000:]
            )
        elapsed = time.monotonic() - start
    finally:
        if launch.poll() is None:
            os.killpg(launch.pid, signal.SIGKILL)
            launch.wait()
        reader.join(5.0)
        for pid in nodes:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    output = ''.join(lines)
    left = [pid for pid in nodes if _alive(pid)]
    assert left == [], f'processes left after launch exited: {left}\n{output[-3000:]}'
    assert 'DDS discovery range: LOCALHOST' in output, output[-3000:]
    assert 'SIGINT received: shutting down' in output, output[-3000:]
    # launch escalates to SIGTERM after 5 s: the node ended on the first signal.
    assert 'SIGTERM' not in output and 'SIGKILL' not in output, output[-3000:]
    print(
        f'launch (configure failed seen: {configure_failed}) exited {elapsed:.2f} s after SIGINT'
    )
