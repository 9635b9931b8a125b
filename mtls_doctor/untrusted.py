"""Untrusted text (certificate names, SANs, configuration values, file names, arguments) made safe to print.

A certificate or a configuration comes from someone else: its text may hold terminal control sequences
(``ESC[2J`` clears the screen, ``ESC]52;c;...BEL`` writes the clipboard in many terminals) or bidirectional
overrides that make a name read as another. Every human-readable output passes its text through ``shown`` (one
value, one line) or ``shown_lines`` (text whose line breaks the renderer itself made), which show such characters
as escapes and never emit them. JSON keeps its own escaping; ``json_text`` only adds the escapes JSON permits but
does not require, so the parsed document is unchanged.

This module imports nothing of mtls_doctor: errors, renderers and commands all depend on it.
"""

from __future__ import annotations

import re

_NON_C0 = (
    r"\x7f-\x9f"  # DEL, C1 (U+009B is CSI, U+009D OSC on terminals that take 8-bit controls)
    r"\u2028\u2029"  # line and paragraph separators: a line break inside one value
    r"\u202a-\u202e\u2066-\u2069"  # bidirectional embeddings, overrides and isolates (Trojan Source)
    r"\udc80-\udcff"  # bytes of a non-UTF-8 file name, as Python's surrogateescape keeps them
)
# Patterns, not compiled objects: re compiles and caches them on first use, not at every start-up.
_UNSAFE = rf"[\x00-\x1f{_NON_C0}]"
_UNSAFE_BUT_NEWLINE = rf"[\x00-\x09\x0b-\x1f{_NON_C0}]"
_JSON_RAW = rf"[{_NON_C0}]"
"""What ``json.dumps(..., ensure_ascii=False)`` leaves raw inside strings (it escapes C0 itself)."""

QUOTE_LIMIT = 200
"""Characters of an argument or value quoted back in an error line or by ``explain``; the rest is cut."""


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if "\udc80" <= char <= "\udcff":
        return f"\\x{ord(char) - 0xDC00:02x}"
    code = ord(char)
    if code < 0x100:
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{code:02x}")
    return f"\\u{code:04x}"


def shown(text: str) -> str:
    """``text`` as one printable line: every control character, line break, tab and bidi control shown escaped
    (``\\x1b``, ``\\n``, ``\\u202e``), the bytes of a non-UTF-8 file name as ``\\xNN``; other text unchanged."""
    return re.sub(_UNSAFE, _escape, text)


def shown_lines(text: str) -> str:
    """Like ``shown``, but keeping ``\\n``: for text the renderer broke into lines itself (Markdown, commands)."""
    return re.sub(_UNSAFE_BUT_NEWLINE, _escape, text)


def quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` quoted for an error line, ``shown``, and cut past ``limit`` characters with its length said:
    ``'aaaa…' (100000 characters)``."""
    if len(text) <= limit:
        return f"'{shown(text)}'"
    return f"'{shown(text[:limit])}…' ({len(text)} characters)"


def bounded(line: str, limit: int = QUOTE_LIMIT) -> str:
    """``line`` with every quoted value, and every other word, longer than ``limit`` cut as ``quoted`` cuts it: for
    error lines that quote an argument or a value whose length nobody bounded (click's own messages among them)."""

    def cut(match: re.Match[str]) -> str:
        inner, word = match.group(1), match.group()
        return quoted(inner, limit) if inner is not None else f"{word[:limit]}… ({len(word)} characters)"

    return re.sub(rf"'([^']{{{limit + 1},}})'|\S{{{limit + 1},}}", cut, line)


def json_text(document: str) -> str:
    """A serialised JSON document with DEL, C1 controls, line separators, bidi controls and lone surrogates (a
    non-UTF-8 file name) written as ``\\uXXXX``.

    Outside strings JSON is ASCII, so each such character is inside a string, where the escape means the same
    character: parsing gives the same values. It keeps a terminal that shows the JSON from acting on them.
    """
    return re.sub(_JSON_RAW, lambda m: f"\\u{ord(m.group()):04x}", document)


def shell_word(text: str) -> str:
    r"""``text`` as one word of a POSIX/bash command that runs as written and holds no raw control byte: quoted as
    ``shlex.quote`` does, or, when it holds a control, bidi or non-UTF-8 character, in bash's ANSI-C quoting
    (``$'leaf-\x1b[2J.pem'``), which gives the same characters back (bash 4.2+ for ``\uXXXX``)."""
    if not re.search(_UNSAFE, text):
        import shlex  # noqa: PLC0415 - 2 ms of start-up, needed only when a command is printed

        return shlex.quote(text)

    def escape(char: str) -> str:
        if char in "\\'":
            return "\\" + char
        if not re.fullmatch(_UNSAFE, char):
            return char
        if "\udc80" <= char <= "\udcff":
            return f"\\x{ord(char) - 0xDC00:02x}"  # the file name's own byte
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"

    return "$'" + "".join(escape(c) for c in text) + "'"
