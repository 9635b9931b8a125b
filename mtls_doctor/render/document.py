"""A tiny document model for console output, and its two printers.

Renderers build blocks (paragraphs, boxes, trees, key/value rows, preformatted commands). On a terminal rich prints
them with colour; anywhere else (a pipe, a ticket, a CI log) a plain printer does, without ANSI codes and without
importing rich, which keeps non-interactive runs fast.

Both printers are the boundary for untrusted text (a certificate's subject, a configuration value, a file name):
every string of a document is printed through ``untrusted.shown``, once, so a control sequence in it is shown
escaped and never reaches the terminal; only a ``Pre`` block keeps its own line breaks. rich gets ``Text`` objects,
never strings, so markup in untrusted text (``[bold]``) is printed as it is, not interpreted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from mtls_doctor.record import Record
from mtls_doctor.untrusted import shown, shown_lines

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


class Span(Record, kw_only=False):
    """A run of text with a rich style name ("bold red", "dim", ...); the plain printer ignores styles."""

    text: str
    style: str = ""


class Para(Record, kw_only=False):
    """A paragraph (one line, or wrapped by the terminal)."""

    spans: tuple[Span, ...]


class Pre(Record, kw_only=False):
    """Preformatted lines (shell commands): never re-wrapped."""

    text: str
    style: str = ""


class Rows(Record, kw_only=False):
    """Aligned key/value rows."""

    rows: tuple[tuple[str, str], ...]
    indent: int = 2


class Node(Record, kw_only=False):
    """A tree: a label and its children."""

    label: tuple[Span, ...]
    children: tuple[Node, ...] = ()


class Box(Record, kw_only=False):
    """A titled box around blocks (one finding)."""

    title: str
    subtitle: str
    body: tuple[Block, ...]
    style: str = ""


class Blank(Record, kw_only=False):
    """An empty line."""

    lines: int = 1


Block = Para | Pre | Rows | Node | Box | Blank


def para(*parts: str | Span) -> Para:
    """A paragraph from strings and spans."""
    return Para(tuple(p if isinstance(p, Span) else Span(p) for p in parts))


class Document:
    """Blocks in order."""

    def __init__(self, blocks: list[Block] | None = None) -> None:
        self.blocks: list[Block] = blocks if blocks is not None else []

    def add(self, *blocks: Block) -> None:
        """Append blocks."""
        self.blocks.extend(blocks)


def print_document(doc: Document, out: IO[str] | None = None) -> None:
    """Print with rich on a terminal, as plain text otherwise."""
    out = out or sys.stdout
    if out.isatty():
        from rich.console import Console  # noqa: PLC0415 - only terminals pay for rich

        console = Console(file=out, highlight=False, emoji=False)
        for block in doc.blocks:
            console.print(_rich(block, console))
    else:
        out.write("".join(_plain(block, 0) for block in doc.blocks))


def _plain(block: Block, indent: int) -> str:
    pad = " " * indent
    if isinstance(block, Blank):
        return "\n"
    if isinstance(block, Para):
        return pad + "".join(shown(s.text) for s in block.spans) + "\n"
    if isinstance(block, Pre):
        return "".join(f"{pad}{line}\n" for line in shown_lines(block.text).splitlines())
    if isinstance(block, Rows):
        rows = [(shown(k), shown(v)) for k, v in block.rows]
        width = max((len(k) for k, _ in rows), default=0)
        return "".join(f"{pad}{' ' * block.indent}{k.ljust(width)}  {v}\n" for k, v in rows)
    if isinstance(block, Node):
        return _plain_tree(block, pad, "", top=True)
    head = f"{pad}── {shown(block.title)} ── {shown(block.subtitle)}\n"
    return head + "".join(_plain(b, indent + 3) for b in block.body) + "\n"


def _plain_tree(node: Node, pad: str, prefix: str, *, top: bool, last: bool = True) -> str:
    label = "".join(shown(s.text) for s in node.label)
    line = f"{pad}{label}\n" if top else f"{pad}{prefix}{'└── ' if last else '├── '}{label}\n"
    child_prefix = "" if top else prefix + ("    " if last else "│   ")
    return line + "".join(
        _plain_tree(c, pad, child_prefix, top=False, last=i == len(node.children) - 1)
        for i, c in enumerate(node.children)
    )


def _rich(block: Block, console: Console) -> RenderableType:
    from rich.console import Group  # noqa: PLC0415
    from rich.panel import Panel  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415
    from rich.tree import Tree  # noqa: PLC0415

    def text(spans: Sequence[Span]) -> Text:
        return Text.assemble(*((shown(s.text), s.style) for s in spans))

    if isinstance(block, Blank):
        return Text("")
    if isinstance(block, Para):
        return text(block.spans)
    if isinstance(block, Pre):
        return Text(shown_lines(block.text), style=block.style, no_wrap=True, overflow="ignore")
    if isinstance(block, Rows):
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim")
        table.add_column()
        for key, value in block.rows:
            table.add_row(Text(" " * block.indent + shown(key)), Text(shown(value)))
        return table
    if isinstance(block, Node):
        tree = Tree(text(block.label))

        def grow(parent: Tree, node: Node) -> None:
            for child in node.children:
                grow(parent.add(text(child.label)), child)

        grow(tree, block)
        return tree
    return Panel(
        Group(*(_rich(b, console) for b in block.body)),
        title=Text(shown(block.title)),
        title_align="left",
        subtitle=Text(shown(block.subtitle)),
        subtitle_align="right",
        border_style=block.style,
    )
