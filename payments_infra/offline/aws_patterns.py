"""AWS's request-member patterns, read by Python as AWS reads them (api_model.py applies them).

botocore's models carry the patterns AWS's services check, written for Java and ECMAScript.
"""

from __future__ import annotations

from functools import cache

import regex

# AWS's patterns are Java/ECMAScript regexes: \w, \d and \s are ASCII there, \p{...} classes
# and UTF-16 surrogate ranges appear, and they are searched, not implicitly anchored (Smithy's
# @pattern). The surrogate pair range means "every character beyond the BMP".
_JAVA_SUPPLEMENTARY = r"\uD800\uDC00-\uDBFF\uDFFF"
_ASCII_CLASSES = {"w": "A-Za-z0-9_", "d": "0-9", "s": " \\t\\n\\x0B\\f\\r"}


@cache
def aws_pattern(source: str) -> regex.Pattern[str]:
    """An AWS pattern as Python's regex package reads it the same way."""
    source = source.replace(_JAVA_SUPPLEMENTARY, r"\U00010000-\U0010FFFF")
    out, in_class, index = [], False, 0
    while index < len(source):
        char = source[index]
        if char == "\\" and index + 1 < len(source):
            escaped = source[index + 1]
            index += 2
            if escaped in _ASCII_CLASSES:  # ASCII, as in Java; \p{L} stays Unicode
                ascii_class = _ASCII_CLASSES[escaped]
                out.append(ascii_class if in_class else f"[{ascii_class}]")
                if in_class and source[index : index + 1] == "-":  # "\w-_": "-" is literal
                    out.append("\\-")
                    index += 1
            else:
                out.append(char + escaped)
            continue
        in_class = (in_class or char == "[") and not (in_class and char == "]")
        out.append(char)
        index += 1
    return regex.compile("".join(out), regex.V0)
