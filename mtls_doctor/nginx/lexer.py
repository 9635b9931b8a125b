"""Tokens of nginx configuration text (crossplane's lexer), and the error-path scans that explain bad text.

The tokens come from crossplane 0.5.8's ``_lex_file_object``, the function behind ``crossplane.lex(filename)``
(which can only read a file): using it on text we already read and checked means one read per file, no temp
files for stdin and ``nginx -T`` sections, and crossplane's token rules (quotes, escapes, ``${...}``,
``*_by_lua_block``) exactly. It yields ``(token, line, quoted)``. Its quirk: an unterminated quote makes the
stream end silently (PEP 479 wrapper), swallowing the rest of the text; the END sentinel makes that visible,
and :func:`unterminated_quote` then finds where the quote opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

Token = tuple[str, int, bool]


END = "#\x00"
"""The last token of every stream: a comment no checked text can hold (NUL bytes are refused). Its absence means
the lexer stopped early, inside a quoted string (or after a trailing backslash)."""


def tokens(text: str) -> Iterator[Token]:
    """``(token, line, quoted)`` for each token of ``text``, then END; comments are tokens starting with ``#``."""
    from crossplane.lexer import _lex_file_object  # noqa: PLC0415 - lazy: crossplane costs start-up time

    # _lex_file_object chains the characters of the strings it is given; no need to split lines.
    result: Iterator[Token] = _lex_file_object((text, f"\n{END}\n"))
    return result


def unterminated_quote(text: str) -> int | None:
    """The line of a quote that is never closed, None when every quote is closed.

    Follows the lexer's rules: a quote opens a string only at the start of a token, a backslash escapes the next
    character, and ``#`` at the start of a token runs to the end of the line.
    """
    line = 1
    i, n = 0, len(text)
    in_token = False
    while i < n:
        c = text[i]
        if c == "\\":
            line += text[i + 1 : i + 2] == "\n"
            i += 2
            in_token = True
            continue
        if c.isspace() or c in "{};":
            line += c == "\n"
            in_token = False
        elif c == "#" and not in_token:
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "\"'" and not in_token:
            start = line
            i += 1
            while i < n and text[i] != c:
                if text[i] == "\\":
                    i += 1
                line += text[i : i + 1] == "\n"
                i += 1
            if i >= n:
                return start
        else:
            in_token = True
        i += 1
    return None


class Block(NamedTuple):
    """A block as the braces delimit it."""

    directive: str
    opened: int
    """The line of the directive that opens it."""
    closed: int | None
    """The line of the ``}`` that closes it; None when nothing does."""


def misclosed_block(text: str, *, before: int | None = None) -> Block | None:
    """The first block, closed before line ``before``, whose ``}`` looks like it belongs to an outer block.

    People indent: a ``}`` alone at the start of its line that sits left of the line that opened its block
    usually closes the parent, and the block's own ``}`` is the one missing.
    """
    blocks = _blocks(text)
    lines = text.splitlines()

    def indent(line_no: int) -> int:
        line = lines[line_no - 1] if line_no <= len(lines) else ""
        return len(line) - len(line.lstrip())

    for block in blocks:
        if block.closed is None or (before is not None and block.closed >= before):
            continue
        closer = lines[block.closed - 1].lstrip() if block.closed <= len(lines) else ""
        if closer.startswith("}") and indent(block.closed) < indent(block.opened):
            return block
    return None


def unclosed_block(text: str) -> Block:
    """The block that most likely lacks its ``}``, for text whose braces do not balance.

    At the end of the text the parser only knows which outer blocks are still open; the ``}`` that is really
    missing is usually deeper: the first block misclosed_block finds, else the innermost block still open.
    """
    misclosed = misclosed_block(text)
    if misclosed is not None:
        return misclosed
    still_open = [block for block in _blocks(text) if block.closed is None]
    return still_open[-1] if still_open else Block("", text.count("\n") + 1, None)


def _blocks(text: str) -> list[Block]:
    """Every block of ``text`` in the order their closing braces come (open ones last, outermost first)."""
    done: list[Block] = []
    stack: list[tuple[str, int]] = []
    statement: str | None = None
    statement_line = 0
    for word, line, quoted in tokens(text):
        if not quoted and word.startswith("#"):
            continue
        if quoted or word not in ("{", "}", ";"):
            if statement is None:
                statement, statement_line = word, line
            continue
        if word == "{":
            stack.append((statement or "{", statement_line))
        elif word == "}" and stack:
            name, opened = stack.pop()
            done.append(Block(name, opened, line))
        statement = None
    return done + [Block(name, opened, None) for name, opened in stack]
