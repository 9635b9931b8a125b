r"""Tokens of nginx configuration text as crossplane's lexer gives them, and the error-path scans that explain bad text.

:func:`tokens` reimplements crossplane 0.5.8's ``_lex_file_object`` (the lexer behind ``crossplane.lex`` and
``crossplane.parse``, a Python loop per character) without crossplane: lines holding no quote, backslash, ``#`` or
``${`` (nearly all of them) are cut by ``str.split``, the others by one compiled regular expression, one match
per token. About 25x faster on the 10,000-server benchmark configuration, and the very same ``(token, line,
quoted)`` stream, quirks included: tests/nginx_config/test_lexer.py checks it token for token against
crossplane's own lexer (the fixtures, generated configurations, a table of edge cases, random text).
crossplane's rules, as reproduced here:

* a backslash and the character after it are one unit everywhere (words, quotes, comments), kept as written;
* whitespace is what ``str.isspace`` says (``\s``: also ``\f``, ``\v``, ``\x1c``-``\x1f``, NBSP...); only
  ``\n`` counts lines, a lone ``\r`` does not;
* a token is on the line of its first unit (the opening quote, the ``#``), so a word that starts with an
  escaped newline is on the line after it;
* ``#`` starts a comment only at the start of a token (``a#b`` is one word, ``"a"#b`` a string then a comment);
  the comment runs up to the newline, ``\r`` included; an escaped newline ends it too, and is dropped;
* ``{``, ``}`` and ``;`` are tokens of their own, except in quotes and ``${...}``;
* a quote opens a string only at the start of a token (``a"b"`` is one word); the string may span lines; the
  quotes are removed and ``\"`` (``\'`` in single quotes) becomes the quote, every other escape is kept;
* in a word, ``${`` takes everything up to a ``}`` or a whitespace character, ``;`` and ``{`` included, and
  that whitespace, or one right after the ``}``, joins the word too (``${a} b`` is one word: ``"${a} b"``);
* a ``*_by_lua_block`` directive (crossplane's Lua extension, registered when crossplane is imported) whose name
  is followed by whitespace or is quoted: the text between its braces is one quoted token, on the line of the
  closing brace (braces in Lua strings and ``--`` comments do not count), then ``;``; ``set_by_lua_block`` first
  takes one argument; anything but ``{`` after them raises :class:`LuaBlockError` (crossplane's
  ``LuaBlockParserSyntaxError``, same words, same line).

crossplane's generator stops silently when the text ends inside a quoted string (or a Lua block, or a word that
took in the end of the text after a trailing backslash or ``${``): what follows is swallowed. The END sentinel
appended to the text makes that visible (its absence), and :func:`unterminated_quote` says where the quote opened.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from typing import NamedTuple

Token = tuple[str, int, bool]


class LuaBlockError(ValueError):
    """A ``*_by_lua_block`` directive not followed by ``{``: where crossplane raises LuaBlockParserSyntaxError."""

    def __init__(self, line: int) -> None:
        super().__init__("expected { to start Lua block")
        self.line = line


END = "#\x00"
"""The last token of every stream: a comment no checked text can hold (NUL bytes are refused). Its absence means
the lexer stopped early, inside a quoted string (or a Lua block, or after a trailing backslash or ``${``)."""

_TAIL = f"\n{END}\n"
"""What the text is lexed with: the newline ends a last comment or word, then the END comment."""

_LUA_BLOCKS = frozenset(
    {
        "access_by_lua_block",
        "balancer_by_lua_block",
        "body_filter_by_lua_block",
        "content_by_lua_block",
        "header_filter_by_lua_block",
        "init_by_lua_block",
        "init_worker_by_lua_block",
        "log_by_lua_block",
        "rewrite_by_lua_block",
        "set_by_lua_block",
        "ssl_certificate_by_lua_block",
        "ssl_session_fetch_by_lua_block",
        "ssl_session_store_by_lua_block",
    }
)
"""crossplane's LuaBlockPlugin directives (crossplane/ext/lua.py), lexed by its own rules."""

# One match per token, at the position the previous one ended (so nothing is skipped unseen). Possessive
# quantifiers: nothing ever backtracks. Groups, most frequent first:
_TOKEN = re.compile(
    r"""
    [^\S\n]*+                                   # whitespace but newlines, skipped
    (?:
        (\n)                                    # 1 a newline
      | ((?:[^\s{};"'\#\\$]|\$(?!\{))           # 2 a plain word: no backslash, no ${, no newline in it
         (?:[^\s{};\\$]++|\$(?!\{))*+
         (?=[\s{};]))
      | ([{};])                                 # 3
      | (\#[^\\\n]*+(?:\\[^\n][^\\\n]*+)*+)     # 4 a comment, then the (escaped) newline that ends it
        \\?\n
      | "([^"\\]*+(?:\\.[^"\\]*+)*+)"           # 5 a double-quoted string
      | '([^'\\]*+(?:\\.[^'\\]*+)*+)'           # 6 a single-quoted one
      | (?!["'\#])                              # 7 any other word: escapes, ${...}
        ((?:[^\s{};\\$]++
          | \\?\$(?:\{(?:[^\s}\\]++|\\[^}])*+(?:\\?\}\s?|\s))?
          | \\.
        )++)
      | (.)                                     # 8 a quote that is never closed
    )
    """,
    re.VERBOSE | re.DOTALL,
)

_HARD = ('"', "'", "\\", "#", "${")
"""What the fast way (str.split) cannot cut: quotes, escapes, comments, ``${``."""

_HARD_IN_LINE = re.compile(r"[\"'\\#]|\$\{")
"""The same, to look for in one line."""

_CHUNK = 65536
"""The most text the fast way takes at once: it builds the list of its tokens."""

_LUA_ARGUMENT = re.compile(r"\s*+((?:[^\s\\]++|\\.)++)", re.DOTALL)
_LUA_OPENING = re.compile(r"\s*+(\\?.)", re.DOTALL)
_LUA_BODY = re.compile(
    r"""
    (?:[^-{}"'\\]++                             # Lua code: braces count, except in strings and -- comments
      | \\.
      | -(?!-)
      | --(?:[^\\\n]++|\\.)*+\n
      | "(?:[^"\\]++|\\.)*+"
      | '(?:[^'\\]++|\\.)*+'
    )*+
    (?:(\{)|(\})|(.))?                          # 1 opens, 2 closes, 3 a string or comment never closed
    """,
    re.VERBOSE | re.DOTALL,
)


def tokens(text: str) -> Iterator[Token]:
    """``(token, line, quoted)`` for each token of ``text``, then END; comments are tokens starting with ``#``."""
    return _lex(text + _TAIL, None)


def _lex(text: str, unclosed: list[int] | None) -> Iterator[Token]:
    """The tokens of ``text`` (ending with _TAIL); the line of a quote never closed is appended to ``unclosed``.

    Lines without quotes, backslashes, ``#``, ``${`` (or a Lua block name) hold nothing but words and ``{};``:
    ``str.split`` cuts them. From the line of the next such character, _TOKEN takes over, up to the first newline
    after it that is not in a token (a string may span lines); then the fast way again, unless the next line
    needs _TOKEN too.
    """
    size = len(text)
    lua = "_by_lua_block" in text
    hard_ones = (*_HARD, "_by_lua_block") if lua else _HARD
    next_hard = [-1] * len(hard_ones)  # where each is next, from pos on (size: nowhere)
    line = 1
    directive = True  # crossplane's next_token_is_directive: only a directive can open a Lua block
    pos = 0
    while True:
        hard = size  # the first hard character from pos on: END's "#" at the latest
        for i, at in enumerate(next_hard):
            if at < pos:
                found = text.find(hard_ones[i], pos)
                next_hard[i] = found if found >= 0 else size
            hard = min(hard, next_hard[i])
        limit = min(hard, pos + _CHUNK)
        start = text.rfind("\n", pos, limit) + 1
        if start > pos:  # whole lines, up to _CHUNK characters: to keep memory flat, and the list short
            lines = text[pos:start]
            spaced = lines.replace(";", " ; ").replace("{", " { ").replace("}", " } ")
            yield from [
                (word, at, False) for at, words in enumerate(spaced.split("\n"), line) for word in words.split()
            ]
            line += lines.count("\n")
            pos = start
            if lua and (last := lines.rstrip()):
                directive = last[-1] in "{};"
            continue
        while True:  # from this line (that of ``hard``, or one longer than _CHUNK) to the next after ``limit``
            name = None
            for match in _TOKEN.finditer(text, pos):
                group = match.lastindex
                if group == 1:
                    line += 1
                    if match.start() >= limit:
                        # Back to the fast way, unless the next line needs this one too (say, every line quotes).
                        pos = match.end()
                        peek = _HARD_IN_LINE.search(text, pos, text.find("\n", pos))
                        if peek is None:
                            break
                        limit = peek.start()
                elif group == 2:
                    word = match[2]
                    yield (word, line, False)
                    if directive and word in _LUA_BLOCKS and text[match.end()] not in "{};":
                        name = word
                        pos = match.end() + 1  # after the whitespace that ends the name
                        line += text[pos - 1] == "\n"
                        break
                    directive = False
                elif group == 3:
                    yield (match[3], line, False)
                    directive = True
                elif group == 4:
                    yield (match[4], line, False)
                    line += 1
                elif group == 7:
                    word = match[7]
                    if match.end() == size:  # ${ swallowed the last newline: crossplane never yields the word
                        return
                    # A word starting with an escaped newline has the line after it (crossplane counts first).
                    yield (word, line + 1 if word.startswith("\\\n") else line, False)
                    line += word.count("\n")
                    directive = False
                elif group == 8:
                    if unclosed is not None:
                        unclosed.append(line)
                    return  # an unterminated quote: crossplane stops here, silently
                else:
                    quote, string = ('"', match[5]) if group == 5 else ("'", match[6])
                    word = string.replace("\\" + quote, quote) if "\\" in string else string
                    yield (word, line, True)
                    line += string.count("\n")
                    if directive and word in _LUA_BLOCKS:
                        name = word
                        pos = match.end()
                        break
                    directive = False
            else:
                return
            if name is None:
                break
            resume = yield from _lua_block(text, pos, line, name, unclosed)
            if resume is None:
                return
            line += text.count("\n", pos, resume)
            pos = resume
            directive = True


def _lua_block(
    text: str, pos: int, line: int, name: str, unclosed: list[int] | None
) -> Generator[Token, None, int | None]:
    """crossplane's LuaBlockPlugin.lex from ``pos`` (on ``line``): the tokens, then where lexing resumes.

    None when the text ends first (crossplane then stops silently); crossplane's error when no ``{`` opens the block.
    """

    def line_at(end: int) -> int:  # the line of the character before ``end`` (a newline counts for itself)
        return line + text.count("\n", pos, end)

    start = pos
    if name == "set_by_lua_block":  # one argument first: up to a whitespace character, and on that one's line
        argument = _LUA_ARGUMENT.match(text, start)
        if argument is None or argument.end() == len(text):
            return None
        start = argument.end() + 1
        yield (argument[1], line_at(start), False)
    opening = _LUA_OPENING.match(text, start)
    if opening is None:
        return None
    if opening[1] != "{":
        if unclosed is not None:  # unterminated_quote: crossplane stops here too, with an error
            return None
        raise LuaBlockError(line_at(opening.end()))
    depth = 0
    for match in _LUA_BODY.finditer(text, opening.start(1)):
        if match.lastindex == 1:
            depth += 1
        elif match.lastindex == 2:
            depth -= 1
            if not depth:
                at = line_at(match.end())
                yield (text[opening.end() : match.end() - 1], at, True)
                yield (";", at, False)
                return match.end()
        else:  # the end of the text, or a Lua string or comment that runs to it
            if match.lastindex == 3 and unclosed is not None and match[3] in "\"'":
                unclosed.append(line_at(match.end()))
            break
    return None


def unterminated_quote(text: str) -> int | None:
    """The line of a quote that is never closed, None when every quote is closed.

    The quote the lexer stops in, by its rules: a quote opens a string only at the start of a token (not in a
    word, nor in ``${...}``), or in the Lua code of a ``*_by_lua_block``.
    """
    unclosed: list[int] = []
    for _ in _lex(text + _TAIL, unclosed):
        pass
    return unclosed[0] if unclosed else None


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
