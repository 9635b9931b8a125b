"""Bad configurations: each gives one ConfigError naming the file and line, never a traceback or a hang.

Each case also says how the real nginx 1.22 reacts to the same files, and test_nginx_agrees checks it:
SAME (nginx prints the same message for the same file:line), REJECTS (nginx refuses too, in its own words),
STRICTER (nginx starts; mtls-doctor refuses on purpose), CRASHES (nginx dies: an include loop recurses until
SIGSEGV), or NOT_NGINX (a limit of this tool, or a case nginx would hang on).
"""

from __future__ import annotations

import enum
import os
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.errors import ConfigError
from mtls_doctor.nginx import effective_settings, read_config
from tests.nginx_config.conftest import NginxResult, WriteTree


class Nginx(enum.Enum):
    SAME = "same"
    REJECTS = "rejects"
    STRICTER = "stricter"
    CRASHES = "crashes"
    NOT_NGINX = "not_nginx"


@dataclass(frozen=True)
class Case:
    name: str
    files: Mapping[str, str | bytes]
    where: tuple[str, int | None]
    """(file relative to the tree, line) the error must name."""
    says: str
    """A fragment of the message."""
    nginx: Nginx
    read: Mapping[str, Any] = field(default_factory=dict)
    """Extra keyword arguments of read_config."""


def _http(body: str) -> str:
    return "events {}\nhttp {\n" + body + "}\n"


CASES = [
    Case(
        "missing semicolon before a known directive",
        {"nginx.conf": _http("    server {\n        listen 18443 ssl\n        ssl_verify_client on;\n    }\n")},
        ("nginx.conf", 4),
        'missing ";" at the end of "listen 18443 ssl": nginx reads "ssl_verify_client" (line 5)',
        Nginx.REJECTS,
    ),
    Case(
        "missing semicolon that nginx silently accepts",
        {"nginx.conf": _http("    server {\n        server_name a.example\n        listen 18080;\n    }\n")},
        ("nginx.conf", 4),
        'more arguments of "server_name"',
        Nginx.STRICTER,
    ),
    Case(
        "missing semicolon in an upstream",
        {"nginx.conf": _http("    upstream b {\n        server 127.0.0.1:1\n        server 127.0.0.1:2;\n    }\n")},
        ("nginx.conf", 4),
        'missing ";" at the end of "server 127.0.0.1:1"',
        Nginx.REJECTS,
    ),
    Case(
        "a location missing its closing brace",
        {
            "nginx.conf": _http(
                "    server {\n        listen 18080;\n        location / {\n            return 204;\n    }\n"
            )
        },
        ("nginx.conf", 5),
        'unexpected end of file, expecting "}": the "location" block opened here',
        Nginx.REJECTS,
    ),
    Case(
        "a missing closing brace that makes the next block misplaced",
        {
            "nginx.conf": _http(
                "    server {\n        listen 18080;\n        location / {\n            return 204;\n"
                "    }\n    server {\n        listen 18081;\n    }\n"
            )
        },
        ("nginx.conf", 8),
        '"server" directive is not allowed here (is a "}" missing? the "location" block opened '
        "at line 5 is closed at line 7",
        Nginx.REJECTS,
    ),
    Case(
        "an unclosed block without indentation to go by",
        {"nginx.conf": "events {}\nhttp {\nserver {\nlisten 18080;\n}\n"},
        ("nginx.conf", 2),
        'the "http" block opened here is never closed',
        Nginx.REJECTS,
    ),
    Case(
        "an extra closing brace",
        {"nginx.conf": _http("    server { listen 18080; }\n    }\n")},
        ("nginx.conf", 5),
        'unexpected "}"',
        Nginx.SAME,
    ),
    Case(
        "a directive cut short by a closing brace",
        {"nginx.conf": _http("    server { listen 18080 }\n")},
        ("nginx.conf", 3),
        'unexpected "}"',
        Nginx.SAME,
    ),
    Case(
        "a stray semicolon",
        {"nginx.conf": _http("    server { listen 18080; ; }\n")},
        ("nginx.conf", 3),
        'unexpected ";"',
        Nginx.SAME,
    ),
    Case(
        "an include loop",
        {"nginx.conf": _http("    include a.conf;\n"), "a.conf": "include b.conf;\n", "b.conf": "\ninclude a.conf;\n"},
        ("b.conf", 2),
        "include loop: ",
        Nginx.CRASHES,
    ),
    Case(
        "a snippet including itself",
        {"nginx.conf": _http("    include self.conf;\n"), "self.conf": "include self.conf;\n"},
        ("self.conf", 1),
        "include loop: ",
        Nginx.CRASHES,
    ),
    Case(
        "nginx.conf including itself",  # nginx trips over the second "events" before it can loop
        {"nginx.conf": _http("    include nginx.conf;\n")},
        ("nginx.conf", 3),
        "include loop: ",
        Nginx.REJECTS,
    ),
    Case(
        "binary junk",
        {"nginx.conf": b"events {}\nhttp {\n}\n\x7fELF\x02\x01\x01\x00\x00\x00"},
        ("nginx.conf", 4),
        "binary data (a NUL byte)",
        Nginx.REJECTS,
    ),
    Case(
        "text that is not UTF-8",
        {"nginx.conf": "events {}\n# caf\xe9\nhttp {\n}\n".encode("latin-1")},
        ("nginx.conf", 2),
        "not UTF-8 text (byte 0xe9)",
        Nginx.STRICTER,
    ),
    Case(
        "a byte-order mark",
        {"nginx.conf": b"\xef\xbb\xbfevents {}\nhttp {\n}\n"},
        ("nginx.conf", 1),
        "byte-order mark",
        Nginx.REJECTS,
    ),
    Case(
        "a file over the size limit",
        {"nginx.conf": _http("    server { listen 18080; }\n" * 100)},
        ("nginx.conf", None),
        "too large",
        Nginx.NOT_NGINX,
        {"max_bytes": 1000},
    ),
    Case(
        "an included file over the size limit",
        {"nginx.conf": _http("    include big.conf;\n"), "big.conf": "# padding\n" * 200},
        ("big.conf", None),
        "too large",
        Nginx.NOT_NGINX,
        {"max_bytes": 1000},
    ),
    Case("an empty file", {"nginx.conf": ""}, ("nginx.conf", 1), "empty configuration", Nginx.REJECTS),
    Case(
        "only comments",
        {"nginx.conf": "# nothing here\n\n   # at all\n"},
        ("nginx.conf", 1),
        "empty configuration",
        Nginx.REJECTS,
    ),
    Case(
        "an unterminated quote",
        {"nginx.conf": _http('    server {\n        listen 18080;\n        return 200 "ok;\n    }\n')},
        ("nginx.conf", 5),
        "unterminated quoted string",
        Nginx.REJECTS,
    ),
    Case(
        "an unterminated quote at the top level",
        {"nginx.conf": "events {}\nerror_log 'x.log;\n"},
        ("nginx.conf", 2),
        "unterminated quoted string",
        Nginx.REJECTS,
    ),
    Case(
        "an unterminated quote after the last statement",
        {"nginx.conf": 'events {}\nhttp {} "abc\n\nmore text\n'},
        ("nginx.conf", 2),
        "unterminated quoted string",
        Nginx.REJECTS,
    ),
    Case(
        "a missing semicolon at the end of the file",
        {"nginx.conf": "events {}\nworker_processes 1"},
        ("nginx.conf", 2),
        'unexpected end of file, expecting ";" or "}"',
        Nginx.SAME,
    ),
    Case(
        "an include naming a directory",
        {"nginx.conf": _http("    include snippets;\n"), "snippets/x.conf": "\n"},
        ("nginx.conf", 3),
        "is not a regular file",
        Nginx.REJECTS,
    ),
    Case(
        "a directive in the wrong context",
        {
            "nginx.conf": _http(
                "    server {\n        location / {\n            ssl_verify_client on;\n        }\n    }\n"
            )
        },
        ("nginx.conf", 5),
        '"ssl_verify_client" directive is not allowed here',
        Nginx.SAME,
    ),
    Case(
        "a wrong argument count",
        {"nginx.conf": _http("    server { ssl_verify_depth; }\n")},
        ("nginx.conf", 3),
        'invalid number of arguments in "ssl_verify_depth" directive',
        Nginx.SAME,
    ),
    Case(
        "a duplicate directive",
        {"nginx.conf": _http("    server {\n        ssl_verify_depth 2;\n        ssl_verify_depth 3;\n    }\n")},
        ("nginx.conf", 5),
        '"ssl_verify_depth" directive is duplicate',
        Nginx.SAME,
    ),
    Case(
        "an invalid ssl_verify_client",
        {"nginx.conf": _http("    server {\n        ssl_verify_client maybe;\n    }\n")},
        ("nginx.conf", 4),
        'invalid value "maybe"',
        Nginx.SAME,
    ),
    Case(
        "an invalid ssl_verify_depth",
        {"nginx.conf": _http("    ssl_verify_depth two;\n")},
        ("nginx.conf", 3),
        '"ssl_verify_depth" directive invalid number',
        Nginx.SAME,
    ),
    Case(
        "an unknown protocol",
        {"nginx.conf": _http("    server { ssl_protocols TLSv1.2 TLSv1.4; }\n")},
        ("nginx.conf", 3),
        'invalid value "TLSv1.4"',
        Nginx.SAME,
    ),
    Case(
        "an unknown log level",
        {"nginx.conf": _http("    error_log logs/error.log verbose;\n")},
        ("nginx.conf", 3),
        'invalid log level "verbose"',
        Nginx.SAME,
    ),
    Case(
        "an error_page code out of range",
        {"nginx.conf": _http("    server { error_page 999 /x; }\n")},
        ("nginx.conf", 3),
        'value "999" must be between 300 and 599',
        Nginx.SAME,
    ),
    Case(
        "an unknown listen parameter",
        {"nginx.conf": _http("    server { listen 18080 sll; }\n")},
        ("nginx.conf", 3),
        'invalid parameter "sll"',
        Nginx.SAME,
    ),
    Case(
        "a Lua block without its brace",
        {"nginx.conf": _http("    server {\n        listen 18080;\n        content_by_lua_block\n        x;\n    }\n")},
        ("nginx.conf", 6),
        "expected { to start Lua block (a *_by_lua_block directive)",
        Nginx.REJECTS,  # nginx-light has no Lua module: unknown directive "content_by_lua_block"
    ),
]


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM after ``seconds`` raises TimeoutError in the test."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _error(case: Case, root: Path) -> ConfigError:
    with deadline(10), pytest.raises(ConfigError) as caught:
        effective_settings(read_config(root / "nginx.conf", **case.read))
    return caught.value


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_one_clear_error(case: Case, write_tree: WriteTree) -> None:
    root = write_tree(case.files)
    error = _error(case, root)
    name, line = case.where
    assert (Path(error.source), error.line) == (root / name, line)
    assert case.says in error.problem
    assert str(error) == (f"{error.source}:{line}: {error.problem}" if line else f"{error.source}: {error.problem}")
    assert "\n" not in str(error)


@pytest.mark.nginx
@pytest.mark.parametrize("case", [c for c in CASES if c.nginx is not Nginx.NOT_NGINX], ids=lambda case: case.name)
def test_nginx_agrees(case: Case, write_tree: WriteTree, nginx: Any) -> None:
    root = write_tree(case.files)
    error = _error(case, root)
    result: NginxResult = nginx(root / "nginx.conf", "-t")
    if case.nginx is Nginx.STRICTER:
        assert result.returncode == 0, result.stderr
    elif case.nginx is Nginx.CRASHES:
        assert result.returncode not in (0, 1), result.stderr  # killed by a signal, not a clean refusal
    else:
        assert result.returncode == 1, result.stderr
    if case.nginx is Nginx.SAME:
        assert result.emerg == (error.problem, error.source, error.line)


def test_a_fifo_include_does_not_hang(write_tree: WriteTree) -> None:
    root = write_tree({"nginx.conf": _http("    include pipe.conf;\n")})
    os.mkfifo(root / "pipe.conf")
    error = _error(Case("fifo", {}, ("nginx.conf", 3), "", Nginx.NOT_NGINX), root)
    assert (error.line, error.problem) == (3, f'"{root / "pipe.conf"}" is not a regular file (a named pipe)')


def test_very_deep_nesting_is_an_error_not_a_crash(write_tree: WriteTree) -> None:
    root = write_tree({"nginx.conf": "events {}\n" + "a {\n" * 5000})
    error = _error(Case("deep", {}, ("nginx.conf", 0), "", Nginx.NOT_NGINX), root)
    assert error.line == 5001
    assert "never closed" in error.problem


def test_a_missing_main_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read_config(tmp_path / "nginx.conf")
    assert str(caught.value) == (
        f'{tmp_path / "nginx.conf"}: open() "{tmp_path / "nginx.conf"}" failed (2: No such file or directory)'
    )


def test_stdin_errors_name_stdin() -> None:
    with pytest.raises(ConfigError) as caught:
        read_config("-", text="server {\n    listen 443 ssl\n    ssl_verify_client on;\n}\n")
    assert str(caught.value).startswith('<stdin>:2: missing ";"')


_CLI_SKIP = {"a fifo include", "huge"}  # cases whose files need special handling are covered in-process above


@pytest.mark.parametrize(
    "case", [c for c in CASES if not c.read and not any(s in c.name for s in _CLI_SKIP)], ids=lambda case: case.name
)
def test_lint_command_gives_one_line_and_exit_2(case: Case, write_tree: WriteTree) -> None:
    """The same bad configurations through `mtls-doctor lint`: one line naming file:line, exit 2, no traceback."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    root = write_tree(case.files)
    run = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "lint", str(root / "nginx.conf")],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    name, line = case.where
    expected = f"{root / name}:{line}" if line else str(root / name)
    assert lines[0].startswith(f"mtls-doctor: {expected}"), lines[0]
