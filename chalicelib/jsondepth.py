"""How deeply a JSON text nests, measured without parsing it.

Python's parser recurses once per ``[`` or ``{``: a 2 KB body of a thousand brackets fails deep
inside it. Measuring first lets the HTTP edge and the webhook refuse such a body plainly. The
strings and everything but brackets are removed by regular expressions (in C), so only the
brackets are walked: on a 64 KB body the check costs about what ``json.loads`` does.
"""

from __future__ import annotations

import re
from itertools import accumulate

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def exceeds(text: str, limit: int) -> bool:
    """True if ``text`` opens more than ``limit`` arrays or objects inside one another
    (brackets inside strings do not count)."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    if len(brackets) <= limit:
        return False
    return max(accumulate(map(_STEP.__getitem__, brackets))) > limit
