"""Tokens to a directive tree: nginx's statement rules, crossplane's directive table, includes spliced in place.

crossplane's own ``parse()`` is not used because it cannot do what the tool needs: it resolves includes against
the directory of whichever file it was given (nginx uses the conf prefix), parses a file included from two
contexts only in the first one, silently accepts an include loop (nginx 1.22.1 recurses until it crashes:
``nginx -t`` exits with SIGSEGV, observed), drops argument line numbers (needed to find a missing ``;``), and
needs a file on disk. This module drives crossplane's lexer and its ``analyze()`` (directive contexts and
argument counts, nginx's wording) in one pass instead. Unknown directives are kept unchecked, as with
``strict=False``: crossplane 0.5.8's table predates ``ssl_reject_handshake`` (1.19.4), ``ssl_conf_command``,
``ssl_ocsp`` and others.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mtls_doctor.errors import ConfigError
from mtls_doctor.nginx import lexer
from mtls_doctor.nginx.includes import Includes, Text, UnreadableIncludeError
from mtls_doctor.nginx.tree import ConfigFile, Directive, UnreadInclude
from mtls_doctor.vocabulary import Origin

Context = tuple[str, ...]
"""crossplane's context tuples: ``()`` main, ``("http",)``, ``("http", "server")``, ``("http", "location")``..."""

MAX_INCLUDE_DEPTH = 64
"""Deeper include chains than this are refused (nginx has no limit; the deepest real ones are a few levels)."""

# Directives nginx gained after crossplane 0.5.8's table was written: known names for the missing-";" check.
_NEWER_DIRECTIVES = frozenset(
    {
        "ssl_reject_handshake",
        "ssl_conf_command",
        "ssl_ocsp",
        "ssl_ocsp_cache",
        "ssl_ocsp_responder",
        "ssl_alpn",
        "ssl_certificate_cache",
        "ssl_key_log",
        "ssl_object_cache_inheritable",
        "proxy_ssl_conf_command",
        "grpc_ssl_conf_command",
        "uwsgi_ssl_conf_command",
        "proxy_ssl_certificate_cache",
        "grpc_ssl_certificate_cache",
        "uwsgi_ssl_certificate_cache",
        "proxy_ssl_key_log",
        "grpc_ssl_key_log",
        "uwsgi_ssl_key_log",
        "http2",
        "http3",
        "http3_hq",
        "quic_retry",
        "quic_gso",
        "quic_host_key",
        "quic_bpf",
        "keepalive_time",
        "proxy_half_close",
        "auth_delay",
        "early_hints",
        "proxy_pass_trailers",
    }
)


class MisplacedAtTopError(ConfigError):
    """A directive not allowed in the context the main file was read in, at its top level.

    Read as a full nginx.conf, a pasted ``server { }`` block fails this way; the reader then tries the text as
    an ``http`` snippet. ``http_directive`` says whether the directive belongs in ``http { }``.
    """

    def __init__(self, source: str, problem: str, *, line: int | None, http_directive: bool) -> None:
        super().__init__(source, problem, line=line)
        self.http_directive = http_directive


def _strip_if_parentheses(args: list[str]) -> None:
    """``if ( $a = b )`` -> ``$a = b``, as crossplane's _prepare_if_args does (nginx strips them too)."""
    if args and args[0].startswith("(") and args[-1].endswith(")"):
        args[0] = args[0][1:].lstrip()
        args[-1] = args[-1][:-1].rstrip()
        start = int(not args[0])
        end = len(args) - int(not args[-1])
        args[:] = args[start:end]


class Parser:
    """Parses one configuration: the main file and everything it includes.

    Each (file, context) pair is parsed once; a file included again in the same context shares the same
    (immutable) directives, so a snippet included by 10,000 servers costs one parse.
    """

    def __init__(self, includes: Includes) -> None:
        # Lazy: crossplane costs start-up time, and only reading a configuration needs it.
        from crossplane import analyzer, errors  # noqa: PLC0415

        self._analyze = analyzer.analyze
        self._enter_block = analyzer.enter_block_ctx
        self._contexts = analyzer.CONTEXTS
        self._directives = analyzer.DIRECTIVES
        self._http_main = analyzer.NGX_HTTP_MAIN_CONF
        self._context_error: Any = errors.NgxParserDirectiveContextError
        self._directive_error: Any = errors.NgxParserDirectiveError
        self._known = frozenset(analyzer.DIRECTIVES) | _NEWER_DIRECTIVES
        self._flags = frozenset(
            name for name, masks in analyzer.DIRECTIVES.items() if any(m & analyzer.NGX_CONF_FLAG for m in masks)
        )
        self._analyzed: set[tuple[str, Context, str, int, str | None]] = set()
        self._includes = includes
        self._parsed: dict[tuple[str, Context], tuple[Directive, ...]] = {}
        self._chain: list[str] = []
        self.files: list[ConfigFile] = []
        self._file_names: set[str] = set()
        self.skipped_includes: list[Origin] = []
        self.unread_includes: list[UnreadInclude] = []
        self.unknown_directives: list[Directive] = []

    def parse(self, main: Text, ctx: Context = ()) -> tuple[Directive, ...]:
        """The directives of ``main`` (read in context ``ctx``) with its includes spliced in."""
        self.files.append(ConfigFile(name=main.name, path=main.path, included_from=None))
        self._file_names.add(main.name)
        return self._parse_file(main, ctx)

    def _parse_file(self, text: Text, ctx: Context) -> tuple[Directive, ...]:
        key = (text.name, ctx)
        parsed = self._parsed.get(key)
        if parsed is None:
            self._chain.append(text.name)
            try:
                parsed = self._parse_tokens(lexer.tokens(text.text), text, ctx)
            except lexer.LuaBlockError as exc:
                raise ConfigError(text.name, f"{exc} (a *_by_lua_block directive)", line=exc.line) from None
            finally:
                self._chain.pop()
            self._parsed[key] = parsed
        return parsed

    def _parse_tokens(self, tokens: Iterator[lexer.Token], text: Text, ctx: Context) -> tuple[Directive, ...]:
        source = text.name
        analyze, analyzed, flags = self._analyze, self._analyzed, self._flags
        contexts, known = self._contexts, self._known
        top = len(self._chain) == 1  # the main file itself, not an included one
        frames: list[tuple[list[Directive], Context, str, tuple[str, ...], int]] = []
        children: list[Directive] = []
        ended = False
        for word, line, quoted in tokens:
            if not quoted:
                if word == "}":
                    if not frames:
                        raise ConfigError(source, 'unexpected "}"', line=line)
                    parent, ctx, name, args, opened = frames.pop()
                    block = Directive(name=name, args=args, source=source, line=opened, block=tuple(children))
                    parent.append(block)
                    if name not in known and ctx in contexts:
                        self.unknown_directives.append(block)
                    children = parent
                    continue
                if word[0] == "#":
                    ended = word == lexer.END
                    continue
                if word in ("{", ";"):
                    raise ConfigError(source, f'unexpected "{word}"', line=line)
            name, opened = word, line
            arg_list: list[str] = []
            check = ctx in contexts
            suspect: tuple[str, int, int] | None = None  # (directive name read as an argument, its line, prev)
            previous = end = line
            term = None
            # The same iterator: the arguments up to the terminator are consumed here.
            for arg, end, arg_quoted in tokens:
                if not arg_quoted:
                    if arg in ("{", ";", "}"):
                        term = arg
                        break
                    if arg[0] == "#":
                        continue
                if suspect is not None:
                    if end == suspect[1]:
                        self._missing_semicolon(source, name, arg_list, suspect)
                    suspect = None
                if check and not arg_quoted and end > previous and arg in known:
                    suspect = (arg, end, previous)
                arg_list.append(arg)
                previous = end
            if term is None:
                raise self._premature_end(text, in_block=bool(frames))
            if term == "}":  # nginx: a directive cut short by the end of its block
                raise ConfigError(source, 'unexpected "}"', line=end)
            if name == "if":
                _strip_if_parentheses(arg_list)
            stmt = {"directive": name, "line": opened, "args": arg_list}
            # analyze() looks only at the name, context, terminator, argument count and, for on/off flags, the
            # value: once a combination passed, it passes again (a 10,000-server config repeats a few hundred).
            verdict = (name, ctx, term, len(arg_list), arg_list[0].lower() if name in flags and arg_list else None)
            try:
                if verdict not in analyzed:
                    analyze(source, stmt, term, ctx, strict=False, check_ctx=True, check_args=True)
                    analyzed.add(verdict)
            except self._context_error as e:
                if top and not frames:
                    raise MisplacedAtTopError(
                        source, e.strerror, line=e.lineno, http_directive=self._allowed_in_http(name)
                    ) from None
                raise ConfigError(source, self._with_brace_hint(text, e.strerror, e.lineno), line=e.lineno) from None
            except self._directive_error as e:
                raise ConfigError(source, e.strerror, line=e.lineno) from None
            args = tuple(arg_list)
            if term == "{":
                frames.append((children, ctx, name, args, opened))
                ctx = self._enter_block(stmt, ctx)
                children = []
                continue
            directive = Directive(name=name, args=args, source=source, line=opened)
            children.append(directive)
            if check and name not in known:
                self.unknown_directives.append(directive)
            if name == "include":
                children.extend(self._include(directive, ctx))
        if frames or not ended:
            raise self._premature_end(text, in_block=bool(frames))
        return tuple(children)

    def _allowed_in_http(self, name: str) -> bool:
        return any(mask & self._http_main for mask in self._directives.get(name, ()))

    @staticmethod
    def _missing_semicolon(source: str, name: str, args: list[str], suspect: tuple[str, int, int]) -> None:
        directive, line, previous = suspect
        written = " ".join([name, *args[: args.index(directive)]])
        raise ConfigError(
            source,
            f'missing ";" at the end of "{written}": nginx reads "{directive}" (line {line}) and what follows '
            f'as more arguments of "{name}"',
            line=previous,
        )

    @staticmethod
    def _premature_end(text: Text, *, in_block: bool) -> ConfigError:
        """The error for text that ends inside a quote, a statement or a block."""
        end = text.text.count("\n") + 1
        quote = lexer.unterminated_quote(text.text)
        if quote is not None:
            return ConfigError(
                text.name, f"unterminated quoted string: it runs to the end of the file (line {end})", line=quote
            )
        if not in_block:
            return ConfigError(text.name, 'unexpected end of file, expecting ";" or "}"', line=end)
        name, opened, _ = lexer.unclosed_block(text.text)
        return ConfigError(
            text.name,
            f'unexpected end of file, expecting "}}": the "{name}" block opened here is never closed',
            line=opened,
        )

    @staticmethod
    def _with_brace_hint(text: Text, problem: str, line: int) -> str:
        """A misplaced directive is most often a missing ``}`` further up: say so when the indentation agrees."""
        block = lexer.misclosed_block(text.text, before=line)
        if block is None:
            return problem
        return (
            f'{problem} (is a "}}" missing? the "{block.directive}" block opened at line {block.opened} is closed '
            f"at line {block.closed} by a brace indented like an outer block's)"
        )

    def _include(self, at: Directive, ctx: Context) -> list[Directive]:
        try:
            texts = self._includes.expand(at)
        except UnreadableIncludeError as e:
            self.unread_includes.append(UnreadInclude(directive=at, name=e.name, reason=e.reason, context=ctx))
            return []
        if texts is None:
            self.skipped_includes.append(at.origin)
            return []
        directives: list[Directive] = []
        for text in texts:
            if text.name in self._chain:
                loop = " -> ".join([*self._chain[self._chain.index(text.name) :], text.name])
                raise ConfigError(
                    at.source, f"include loop: {loop} (nginx would recurse until it crashes)", line=at.line
                )
            if len(self._chain) >= MAX_INCLUDE_DEPTH:
                raise ConfigError(at.source, f"includes nested more than {MAX_INCLUDE_DEPTH} deep", line=at.line)
            if text.name not in self._file_names:
                self._file_names.add(text.name)
                self.files.append(ConfigFile(name=text.name, path=text.path, included_from=at.origin))
            directives.extend(self._parse_file(text, ctx))
        return directives
