"""The lexer against crossplane's own: the same ``(token, line, quoted)`` stream for any text, token for token.

mtls_doctor.nginx.lexer.tokens reimplements crossplane 0.5.8's ``_lex_file_object`` (its lexer, a Python loop
per character) with regular expressions. The reference is crossplane itself, fed the text and the END sentinel
as tokens() adds it: the fixtures and configurations the other tests use, generated large configurations, a
table of edge cases, and random text. Errors count too: crossplane's Lua extension raises on a Lua block
without ``{``, and the same error must come out at the same point of the stream.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import random
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from crossplane.errors import NgxParserBaseException
from crossplane.lexer import _lex_file_object
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import lint_fixtures
from mtls_doctor.nginx import lexer
from mtls_doctor.nginx.lexer import END, LuaBlockError, misclosed_block, tokens, unclosed_block, unterminated_quote

ROOT = Path(__file__).resolve().parents[2]

Stream = list[object]


def _stream(lexed: Iterator[tuple[str, int, bool]]) -> Stream:
    """The tokens, then the error that stopped them if one did (as its class and arguments)."""
    out: Stream = []
    try:
        out.extend(lexed)
    except NgxParserBaseException as e:  # crossplane's Lua extension: 'expected { to start Lua block'
        out.append(("lua-error", (e.strerror, e.lineno)))
    except LuaBlockError as e:  # ours: the same words and line
        out.append(("lua-error", (str(e), e.line)))
    return out


def crossplanes(text: str) -> Stream:
    return _stream(_lex_file_object((text, f"\n{END}\n")))


def ours(text: str) -> Stream:
    return _stream(tokens(text))


def assert_same(text: str) -> None:
    expected = crossplanes(text)
    assert ours(text) == expected, f"text: {text!r}"


# --- configurations the project has ----------------------------------------------------------------------------


def _files(pattern: str) -> list[Path]:
    return sorted(ROOT.glob(pattern))


@pytest.mark.parametrize(
    "path",
    _files("tests/lint_fixtures/**/*.conf") + _files("sample_pki/scenarios/*/server.conf"),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_fixture_files(path: Path) -> None:
    assert_same(path.read_text(encoding="utf-8"))


def test_there_are_fixture_files() -> None:
    assert len(_files("tests/lint_fixtures/**/*.conf")) >= 50
    assert len(_files("sample_pki/scenarios/*/server.conf")) >= 50


def _strings(value: object, seen: set[int]) -> Iterator[str]:
    """Every string in ``value``: containers, mappings and dataclasses walked (bytes as UTF-8, bad bytes replaced)."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", errors="replace")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key, seen)
            yield from _strings(item, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name), seen)


_TEST_MODULES = sorted(path.stem for path in Path(__file__).parent.glob("test_nginx_*.py"))


@pytest.mark.parametrize("module", _TEST_MODULES)
def test_configs_of_the_reader_tests(module: str) -> None:
    """Every string the reader tests hold: each literal in the source, and every value the module builds at import
    (the bad-config table's files, wrapped as the tests wrap them)."""
    path = Path(__file__).parent / f"{module}.py"
    texts = {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    loaded = importlib.import_module(f"tests.nginx_config.{module}")
    seen: set[int] = set()
    for name, value in vars(loaded).items():
        if not name.startswith("__"):
            texts.update(_strings(value, seen))
    configs = [text for text in texts if any(c in text for c in "{};")]
    assert len(configs) >= 5
    for text in sorted(texts):
        assert_same(text)


def _read_tree(root: Path) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(root.rglob("*")) if path.is_file()]


def test_benchmark_config(tmp_path: Path) -> None:
    """bench/lint_fixtures.py's config (the one the speed goal is measured on), at 200 server blocks."""
    lint_fixtures.write_snippets(tmp_path)
    lint_fixtures.write_config(tmp_path, 200)
    texts = _read_tree(tmp_path)
    assert sum(len(text) for text in texts) > 500_000
    for text in texts:
        assert_same(text)


def test_long_lines_and_long_stretches_without_quotes() -> None:
    """Longer than the fast way's batches (lexer._CHUNK): a line, and lines without a quote or comment."""
    assert_same("a " * 40_000 + ";\nb 'c';\n")
    assert_same("x" * 70_000 + " y;\nz;\n")
    assert_same("server { listen 443 ssl; }\n" * 6_000 + '# end\na "b";\n')


@pytest.mark.parametrize("chunk", [1, 2, 7, 64])
def test_small_batches(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """The fast way's batches may end at any line end, and lines may be longer than a batch."""
    monkeypatch.setattr(lexer, "_CHUNK", chunk)
    for text in EDGE_CASES.values():
        assert_same(text)
    rng = random.Random(chunk)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(500):
        lines = ["".join(rng.choices(LINE_ALPHABET, k=rng.randint(0, 12))) for _ in range(rng.randint(1, 8))]
        lines.insert(rng.randint(0, len(lines)), rng.choice(PIECES))
        assert_same("\n".join(lines))


# --- edge cases --------------------------------------------------------------------------------------------------

EDGE_CASES = {
    # quotes
    "escaped quote in double quotes": 'a "b\\"c" d;',
    "escaped quote in single quotes": "a 'it\\'s' d;",
    "the other quote escaped is kept": "\"a\\'b\" 'a\\\"b';",
    "escaped backslash before the closing quote": 'a "b\\\\" c;',
    "escaped backslash then escaped quote": 'a "\\\\\\"" c;',
    "quote spanning lines": 'a "x\ny\nz" b;\nc;',
    "single quote spanning lines": "a 'x\n\ny' b;\nc;",
    "single quotes hold double ones": "a '\"' \"'\";",
    "empty strings": "a \"\" '' \"\";\n''",
    "quote in the middle of a word": 'a"b"c d;',
    "quote after a quote": '"a""b"\'c\';',
    "quote right after a brace": 'a{"b"}"c";',
    "quoted braces and semicolons": 'a "}" "{" ";" \'{;}\' b;',
    "quoted hash": "a \"#\" '#' b;",
    "quoted word then hash": '"a"#b\nc;',
    "lone double quote at the end": 'a b;\n"',
    "lone single quote at the end": "a b;\n'",
    "unterminated quote mid-file": 'a;\nb "c;\nd;\n}\n',
    "unterminated quote after an escape": 'a "b\\"',
    # backslashes
    "backslash at the end of the file": "a \\",
    "backslash ending a word at the end of the file": "a b\\",
    "backslash-n sequences": 'return 200 "a\\nb" a\\nb \\n;',
    "escaped newline in a word": "a\\\nb c;",
    "word starting with an escaped newline": "x\n\\\nb c;",
    "escaped semicolon and braces": "a\\; b\\{ c\\} d;",
    "escaped space": "a\\ b c;",
    "escaped hash": "\\#a b;",
    "escaped quote at the start of a word": '\\"a" b;',
    "double backslash then newline": "a\\\\\nb;",
    # comments
    "comment after a directive": "listen 443; # the port\nx;",
    "hash in the middle of a word": "abc#def ghi;",
    "hash right after an opening brace": "server {# comment\n}",
    "hash right after a semicolon": "a;#c\nb;",
    "hash right after a closing brace": "a { }#c\nb;",
    "comment ended by an escaped newline": "# a\\\nb;",
    "comment ending in an escaped backslash": "# a\\\\\nb;",
    "comment at the end without a newline": "a;\n# last",
    "comment with quotes and braces": "# \"a { ' ;\nb;",
    "empty comment": "#\n#\n",
    # ${...}
    "${var}": "set $a ${b}c;",
    "${var} then a space": "return 200 ${a} b;",
    "${var} then a newline": "return 200 ${a}\nb;",
    "${var} then a semicolon": "set $a ${b};",
    "${var} then a quote": 'set $a ${b}"c";',
    "${var unterminated": "set $a ${b;\nc;",
    "${ holding semicolons and braces": "a${x;y{z}w} q;",
    "${ holding a quote and a hash": 'a${"#} b;',
    "${ stopped by a space": "${a b}",
    "${ at the start of a word": "${a}b c;",
    "${ at the end of the file": "${a}",
    "${ unterminated at the end of the file": "a ${b",
    "two ${ in a row": "a${b}${c} d;",
    "$ then a space then {": "a$ {b}",
    "escaped $ then {": "a\\${b} c;",
    "$ then escaped {": "a$\\{b} c;",
    "${ with an escaped }": "a${b\\}c} d;",
    "${ with an escaped newline": "a${b\\\nc} d;",
    # braces and words
    "brace right after a word": "location /a{ return 204; }",
    "closing brace right after a word": "a { b}",
    "semicolons alone": ";;;\n;",
    "nested blocks": "http { server { location / { } } }",
    "if with parentheses": 'if ($a = "b") { return 403; }',
    "map with a regex": "map $x $y { ~^(?<a>[^;]+)\\;$ 1; default 0; }",
    "regex with a quantifier": "location ~ ^/a{2}$ { }",
    # whitespace and line ends
    "CRLF": 'a b;\r\nc {\r\n# x\r\n  d "e\r\nf";\r\n}\r\n',
    "lone CR": "a\rb;\r\rc;",
    "tabs": "\ta\tb;\t\n\t\tc\t{\t}",
    "form feed and vertical tab": "a\x0cb\x0bc;\x0c",
    "Unicode whitespace": "a\u00a0b\u2028c\x85d\u3000e\u2029f;",
    "information separators are whitespace": "a\x1cb\x1dc\x1ed\x1ff;",
    "empty text": "",
    "only whitespace": " \n\t\r\n ",
    "no newline at the end": "a b;",
    "blank lines": "\n\n\na;\n\n\nb;\n\n",
    # other text
    "non-ASCII": 'server_name bücher.example 例え.jp "ключ";\n# コメント\n',
    "emoji": 'add_header X-A "😀" 😀;',
    "control characters": "a\x01b\x7f\x1b[0m;",
    "binary-ish without quotes": "".join(chr(i) for i in range(1, 256) if chr(i) not in "\"'"),
    "binary-ish": "".join(chr(i) for i in range(1, 256)),
    "surrogate-escaped bytes": "a\udcff\udc80 b;",
    # crossplane's Lua extension (registered by importing crossplane)
    "content_by_lua_block": 'location / {\n  content_by_lua_block {\n    ngx.say("}") -- }\n  }\n}\nx;',
    "Lua block holding braces": "access_by_lua_block { if a then t = {1, {2}} end }\nx;",
    "Lua strings hide braces": 'content_by_lua_block { a = "}" .. \'{\' .. "\\"}" }\nb;',
    "Lua comment hides a brace": "content_by_lua_block { -- }\n}\nb;",
    "Lua single dash": "content_by_lua_block { a = b - c }",
    "Lua dash then a brace": "content_by_lua_block { a -}",
    "Lua escaped brace": "content_by_lua_block { \\} }",
    "Lua block on the next line": "content_by_lua_block\n\n{ a }\nb;",
    "Lua block right after the name": "content_by_lua_block{ a }",
    "Lua block then a word at once": "content_by_lua_block { a }b;",
    "Lua block then a comment at once": "content_by_lua_block { a }#c\nd;",
    "set_by_lua_block": "set_by_lua_block $res { return 32 + math.cos(32) }\nx;",
    "set_by_lua_block argument then a newline": "set_by_lua_block $a\n{ b }",
    "set_by_lua_block argument with escapes": "set_by_lua_block $a\\ b { c }",
    "quoted Lua block name": '"content_by_lua_block" { a }b',
    "single-quoted Lua block name": "'rewrite_by_lua_block' { a }",
    "Lua block name as an argument": "set $x content_by_lua_block;\nreturn content_by_lua_block { a }",
    "Lua block name after a comment": "a;\n# c\ncontent_by_lua_block { b }",
    "two Lua blocks": "content_by_lua_block { a }\nlog_by_lua_block { b }\n",
    "Lua block never closed": "content_by_lua_block { {\nx;",
    "Lua string never closed": "content_by_lua_block { ngx.say('x) }\ny;",
    "Lua comment never closed": "content_by_lua_block { --",
    "Lua block name at the end of the file": "content_by_lua_block",
    "Lua block without a brace": "content_by_lua_block foo;",
    "Lua block with an escaped brace": "content_by_lua_block \\{ a }",
    "set_by_lua_block without a brace": "set_by_lua_block $a b;",
    "set_by_lua_block at the end of the file": "set_by_lua_block $a",
}


@pytest.mark.parametrize("text", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_edge_case(text: str) -> None:
    assert_same(text)


_T, _F = True, False
_END = (END, 2, _F)

QUIRKS = {
    # ${ takes the one character after its } into the word, even a space
    "return 200 ${a} b;": [("return", 1, _F), ("200", 1, _F), ("${a} b", 1, _F), (";", 1, _F), _END],
    "a${x;y{z}w} q;": [("a${x;y{z}w", 1, _F), ("}", 1, _F), ("q", 1, _F), (";", 1, _F), _END],
    # a word that starts with an escaped newline is on the line after it
    "x\n\\\nb c;": [("x", 1, _F), ("\\\nb", 3, _F), ("c", 3, _F), (";", 3, _F), (END, 4, _F)],
    # a comment keeps the CR of CRLF
    "# c\r\nx;": [("# c\r", 1, _F), ("x", 2, _F), (";", 2, _F), (END, 3, _F)],
    # only the quote itself is unescaped
    '"a\\"b" \'a\\"b\';': [('a"b', 1, _T), ('a\\"b', 1, _T), (";", 1, _F), _END],
    # after a quoted word, # starts a comment; inside a word it does not
    '"a"#b\nabc#d;': [("a", 1, _T), ("#b", 1, _F), ("abc#d", 2, _F), (";", 2, _F), (END, 3, _F)],
    # the text of a Lua block is one quoted token on the line of its closing brace, then ";"
    'content_by_lua_block {\n  ngx.say("}") -- }\n}\nx;': [
        ("content_by_lua_block", 1, _F),
        ('\n  ngx.say("}") -- }\n', 3, _T),
        (";", 3, _F),
        ("x", 4, _F),
        (";", 4, _F),
        (END, 5, _F),
    ],
    # set_by_lua_block's argument is on the line of the whitespace after it
    "set_by_lua_block $a\n{ b }": [
        ("set_by_lua_block", 1, _F),
        ("$a", 2, _F),
        (" b ", 2, _T),
        (";", 2, _F),
        (END, 3, _F),
    ],
    # the stream stops silently: no END after an unterminated quote, a trailing backslash or ${ at the very end
    'a "': [("a", 1, _F)],
    "a \\": [("a", 1, _F), ("\\\n" + END, 2, _F)],
    "${a}": [("${a}\n" + END, 1, _F)],
}


@pytest.mark.parametrize(("text", "expected"), list(QUIRKS.items()), ids=list(QUIRKS))
def test_crossplane_quirks(text: str, expected: Stream) -> None:
    assert crossplanes(text) == expected
    assert ours(text) == expected


def test_a_lua_block_without_a_brace_stops_where_crossplane_does_with_its_words() -> None:
    stream = ours("a;\ncontent_by_lua_block\n  foo;")
    assert stream[:-1] == [("a", 1, _F), (";", 1, _F), ("content_by_lua_block", 2, _F)]
    assert stream[-1] == ("lua-error", ("expected { to start Lua block", 3))
    assert stream == crossplanes("a;\ncontent_by_lua_block\n  foo;")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('a;\nb "c;\nd;\n', 2),
        ("a 'b\nc", 1),
        ('a"b" c;\n"d', 2),
        ('a "b\\"c;\n', 1),
        ("content_by_lua_block {\n  ngx.say('x)\n}\n", 2),
        ('a "b";\n# "c\n', None),
        ('a"b c;\n', None),
        ("a \\", None),
        ("content_by_lua_block foo;", None),
    ],
)
def test_unterminated_quote_is_where_the_lexer_stops(text: str, line: int | None) -> None:
    assert unterminated_quote(text) == line
    if line is not None:
        assert (END, text.count("\n") + 2, False) not in ours(text)


def test_blocks_from_the_tokens() -> None:
    text = "http {\n    server {\n        location / {\n    }\n}\n"
    assert unclosed_block(text).directive == "location"
    assert misclosed_block(text) is not None


# --- random text -------------------------------------------------------------------------------------------------

ALPHABET = "abz019 \t\n\r;{}\"'\\#$"
LINE_ALPHABET = "ab0 \t\r;{}$"
"""What the fast way takes (no quote, backslash, comment or ${)."""
PIECES = [
    *ALPHABET,
    *"$;{}\"'\\#\n ",
    "${",
    "-",
    "--",
    "\r\n",
    "\\\n",
    "\x0c",
    "\u00a0",
    "\u2028",
    "é",
    "listen 443 ssl",
    "content_by_lua_block",
    "set_by_lua_block",
    '"content_by_lua_block"',
    'ngx.say("}")',
]


def _check_random(text: str) -> None:
    expected = crossplanes(text)
    assert ours(text) == expected, f"text: {text!r}"
    if unterminated_quote(text) is not None:
        assert (END, text.count("\n") + 2, False) not in expected


def test_random_text_seeded() -> None:
    """Thousands of random texts over nginx's special characters, the same every run."""
    rng = random.Random(20240611)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(6000):
        _check_random("".join(rng.choices(ALPHABET, k=rng.randint(0, 40))))
    for _ in range(4000):
        _check_random("".join(rng.choices(PIECES, k=rng.randint(0, 30))))


# No example database: nothing is written into the work tree.
_SETTINGS = settings(max_examples=3000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_random_text_property(text: str) -> None:
    _check_random(text)


@settings(_SETTINGS, max_examples=1500)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_random_pieces_property(text: str) -> None:
    _check_random(text)


@settings(_SETTINGS, max_examples=300)
@given(st.text(max_size=40))
def test_random_unicode_property(text: str) -> None:
    _check_random(text)
