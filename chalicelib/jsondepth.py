"""How deeply a JSON text nests, measured without parsing it.

Python's parser recurses once per ``[`` or ``{``: a 2 KB body of a thousand brackets fails deep
inside it. Measuring first lets the HTTP edge and the webhook refuse such a body plainly.
"""

from __future__ import annotations

import re

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NESTING = re.compile(r"[\[\]{}]")


def exceeds(text: str, limit: int) -> bool:
    """True if ``text`` opens more than ``limit`` arrays or objects inside one another
    (brackets inside strings do not count)."""
    depth = 0
    for match in _NESTING.finditer(_STRINGS.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
