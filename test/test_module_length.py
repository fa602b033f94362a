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

"""Modules stay small: one over ~450 lines says why in its docstring (issue #15)."""

import ast
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1] / 'krabby_parkour_ros'
#: The usual size of a module, with a margin for a short docstring paragraph.
USUAL_LINES = 470
REASON = 'beyond the usual ~450'


def test_every_long_module_gives_its_reason() -> None:
    unexplained = []
    for path in sorted(_PACKAGE.rglob('*.py')):
        text = path.read_text(encoding='utf-8')
        lines = text.count('\n')
        if lines <= USUAL_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(text)) or ''
        if REASON not in ' '.join(docstring.split()):
            unexplained.append(f'{path.relative_to(_PACKAGE.parent)} ({lines} lines)')
    assert not unexplained, (
        f'modules over {USUAL_LINES} lines without a "Length: ... {REASON}. <reason>" '
        f'paragraph in their docstring: {unexplained}'
    )
