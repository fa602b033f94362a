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
package.xml declares what the code imports, and every key resolves with rosdep.

The first test reads every ``import`` of the package, its launch files and
its tests (Python's ``ast``) and checks that each third-party module has a
rosdep key in package.xml (exec_depend for the package and launch files,
exec_depend or test_depend for the tests), or is one of the few Python
packages without a key, which README.md names in its single pip step.
Imports guarded by ``except ImportError`` are optional and need no key.
"""

import ast
from collections.abc import Iterator
import os
from pathlib import Path
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Python module -> rosdep key, where they differ (ROS packages map to themselves).
PYTHON_KEYS = {
    'numpy': 'python3-numpy',
    'yaml': 'python3-yaml',
    'zmq': 'python3-zmq',
    'orjson': 'python3-orjson',
    'torch': 'python3-torch',
    'mujoco': 'python3-mujoco-pip',
    'matplotlib': 'python3-matplotlib',
    'onnxruntime': 'python3-onnxruntime-pip',
    'pytest': 'python3-pytest',
    'hypothesis': 'python3-hypothesis',
    'rosbags': 'python3-rosbags-pip',
    'build': 'python3-build',
    'launch_pytest': 'launch',
}
#: Python packages without a rosdep key: README.md's pip step installs them.
PIP_ONLY = {
    'safetensors': 'safetensors',
    'mcap': 'mcap',
    'mcap_ros2': 'mcap-ros2-support',
    'onnx': 'onnx',
    'google': 'onnx',
}
#: Test-only tools that are optional (the tests skip without them).
OPTIONAL_TEST_MODULES = {
    'atheris',
    'launch_testing',
    'ament_copyright',
    'ament_flake8',
    'ament_pep257',
}
# The benchmark scripts import each other by module name (``common``,
# ``bench_latency``, ``fuzz_strategies``): their folder is first on sys.path.
FIRST_PARTY = {'krabby_parkour_ros', 'test', 'benchmarks'} | {
    path.stem for path in (ROOT / 'benchmarks').glob('*.py')
}


def _python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob('*.py'))


def _guarded(tree: ast.AST) -> set[int]:
    """Return the ids of import nodes inside a ``try`` that handles ImportError."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        names = set()
        for handler in node.handlers:
            kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            names.update(k.id for k in kinds if isinstance(k, ast.Name))
        if names & {'ImportError', 'ModuleNotFoundError'}:
            guarded.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return guarded


def _imports(path: Path) -> set[str]:
    """
    Return the top-level modules ``path`` needs (absolute imports only).

    An import inside ``try: ... except ImportError`` is optional (the code
    says what is missing) and needs no key.
    """
    tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
    optional = _guarded(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split('.')[0])
    return found - set(sys.stdlib_module_names) - FIRST_PARTY


def _third_party(*folders: str) -> dict[str, set[str]]:
    """Return ``{module: {files}}`` of every third-party import under ``folders``."""
    result: dict[str, set[str]] = {}
    for path in _python_files(*folders):
        for module in _imports(path):
            result.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    return result


def _declared() -> tuple[set[str], set[str]]:
    """Return the (exec_depend + depend, test_depend) keys of package.xml."""
    root = ET.parse(ROOT / 'package.xml').getroot()
    keys = {
        tag: {e.text.strip() for e in root.iter(tag)}
        for tag in ('depend', 'exec_depend', 'test_depend')
    }
    return keys['depend'] | keys['exec_depend'], keys['depend'] | keys['test_depend']


def _missing(modules: dict[str, set[str]], declared: set[str], optional: set[str]) -> dict:
    missing = {}
    for module, files in sorted(modules.items()):
        if module in PIP_ONLY or module in optional:
            continue
        key = PYTHON_KEYS.get(module, module)
        if key not in declared:
            missing[module] = (key, sorted(files)[:3])
    return missing


def test_every_package_import_has_an_exec_depend() -> None:
    exec_keys, _ = _declared()
    missing = _missing(_third_party('krabby_parkour_ros', 'launch'), exec_keys, set())
    assert missing == {}, f'add <exec_depend> keys (module: (key, files)): {missing}'


def test_every_test_import_is_declared() -> None:
    exec_keys, test_keys = _declared()
    missing = _missing(
        _third_party('test', 'benchmarks'), exec_keys | test_keys, OPTIONAL_TEST_MODULES
    )
    assert missing == {}, f'add <test_depend> keys (module: (key, files)): {missing}'


def test_pip_only_packages_are_the_readme_pip_step() -> None:
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    step = next(
        (line for line in readme.splitlines() if 'pip install' in line and 'safetensors' in line),
        '',
    )
    assert step, 'README.md: expected the pip step installing the packages without a key'
    assert set(PIP_ONLY.values()) <= set(step.split()), step


def test_package_xml_names_both_licenses() -> None:
    catkin_pkg = pytest.importorskip('catkin_pkg.package', reason='needs catkin_pkg')
    package = catkin_pkg.parse_package(str(ROOT / 'package.xml'))
    package.validate()
    assert [str(lic) for lic in package.licenses] == ['Apache-2.0', 'GPL-3.0']
    assert (ROOT / package.licenses[1].file).is_file()
    assert not [d.name for d in package.buildtool_depends if d.name == 'ament_python']


def _rosdep_check() -> Path:
    """Return the rosdep-check tool beside this checkout, or skip saying what is missing."""
    tool = ROOT.parent / 'shared' / 'tools' / 'rosdep-check'
    snapshot = ROOT.parent / 'shared' / 'rosdistro' / 'index-v4.yaml'
    venv_bin = str(Path(sys.executable).parent)
    rosdep = shutil.which('rosdep') or shutil.which('rosdep', path=venv_bin)
    if not (tool.is_file() and snapshot.is_file() and rosdep):
        pytest.skip('needs rosdep and a rosdistro snapshot (with the offline rosdep-check tool)')
    return tool


@pytest.mark.slow
@pytest.mark.parametrize('distro', ['humble', 'jazzy', 'kilted'])
def test_every_key_resolves_with_rosdep(distro: str) -> None:
    tool = _rosdep_check()
    env = dict(
        os.environ,
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get('PATH', '')]),
    )
    run = subprocess.run(
        ['bash', str(tool), str(ROOT), distro],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'every key resolves' in run.stdout
