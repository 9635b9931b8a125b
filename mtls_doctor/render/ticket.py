"""Reports for a ticket: the console Document rendered as Markdown or as one self-contained HTML file.

Both render the very document the console prints (render/console.py, render/lint_report.py), so a ticket states the
same facts in the same order as the screen (the verdict first), then add what a ticket needs besides: the equivalent
commands and the versions of the tool and of the OpenSSL it judged with. HTML adds the chain diagram and the
validity timeline as inline SVG; it loads nothing (no script, no stylesheet, no image, no font from elsewhere).

Untrusted text (names from certificates, values from configurations, file names) goes through ``untrusted.shown``
and then the format's own escaping: Markdown specials are backslash-escaped outside code, code fences are made longer
than any backtick run inside them, and in HTML everything is ``html.escape``d, attributes included.
"""

from __future__ import annotations

import html
import platform
import re
from collections.abc import Sequence
from datetime import datetime

from mtls_doctor import __version__
from mtls_doctor.render.document import Blank, Block, Document, Node, Para, Pre, Rows, Span
from mtls_doctor.untrusted import shell_word, shown, shown_lines

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def versions() -> list[tuple[str, str]]:
    """mtls-doctor, the OpenSSL the twin and the certificate parser run with, Python."""
    from cryptography.hazmat.backends.openssl.backend import backend  # noqa: PLC0415
    from OpenSSL import SSL  # noqa: PLC0415

    return [
        ("mtls-doctor", __version__),
        ("OpenSSL (server twin, pyOpenSSL)", SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode()),
        ("OpenSSL (cryptography)", backend.openssl_version_text()),
        ("Python", platform.python_version()),
    ]


def equivalent_command(argv: Sequence[str]) -> str:
    """The command line that prints this report on a console: the same arguments without --format and --output."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--format", "--output", "-o"):
            skip = True
            continue
        if arg.startswith(("--format=", "--output=")):
            continue
        kept.append(arg)
    return "mtls-doctor " + " ".join(shell_word(a) for a in kept)


# ----------------------------------------------------------------------------------------------------------- Markdown


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", shown(text))


def _fence(text: str, info: str = "") -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}\n"


def _md_spans(spans: Sequence[Span]) -> str:
    out = []
    for s in spans:
        text = _md(s.text)
        if "bold" in s.style and text.strip():
            lead, core, trail = _split_space(text)
            text = f"{lead}**{core}**{trail}"
        out.append(text)
    return "".join(out)


def _split_space(text: str) -> tuple[str, str, str]:
    core = text.strip()
    start = text.index(core)
    return text[:start], core, text[start + len(core) :]


def _md_block(block: Block, level: int) -> str:
    if isinstance(block, Blank):
        return ""
    if isinstance(block, Para):
        return _md_spans(block.spans).strip() + "\n\n"
    if isinstance(block, Pre):
        return _fence(shown_lines(block.text).rstrip("\n"), "sh") + "\n"
    if isinstance(block, Rows):
        lines = ["| | |", "| --- | --- |"]
        lines += [f"| {_md(k)} | {_md(v)} |" for k, v in block.rows]
        return "\n".join(lines) + "\n\n"
    if isinstance(block, Node):
        return _fence(_tree_text(block).rstrip("\n")) + "\n"
    head = f"{'#' * level} {_md(block.title)}\n\n*{_md(block.subtitle)}*\n\n"
    return head + "".join(_md_block(b, level + 1) for b in block.body)


def _tree_text(node: Node, prefix: str = "", *, top: bool = True, last: bool = True) -> str:
    label = "".join(shown(s.text) for s in node.label)
    line = f"{label}\n" if top else f"{prefix}{'└── ' if last else '├── '}{label}\n"
    child_prefix = "" if top else prefix + ("    " if last else "│   ")
    return line + "".join(
        _tree_text(c, child_prefix, top=False, last=i == len(node.children) - 1) for i, c in enumerate(node.children)
    )


def _verdict(blocks: list[Block]) -> str:
    """Take the document's first paragraph (the verdict, render/console.py) off ``blocks``, as text."""
    first = blocks[0] if blocks else None
    if not isinstance(first, Para):
        return ""
    blocks.pop(0)
    return "".join(s.text for s in first.spans)


def document_markdown(doc: Document, *, title: str, argv: Sequence[str], commands: Sequence[str] = ()) -> str:
    """The document as Markdown: its first paragraph (the verdict) as the title, then every block, then the
    equivalent commands and the versions."""
    blocks = list(doc.blocks)
    verdict = _verdict(blocks)
    out = [f"# {title}: {_md(verdict)}\n\n"]
    out += [_md_block(b, 2) for b in blocks]
    out.append("## Equivalent commands\n\n")
    out.append(_fence("\n".join([equivalent_command(argv), *commands]), "sh") + "\n")
    out.append("## Versions\n\n")
    out += [f"- {name}: {_md(value)}\n" for name, value in versions()]
    return "".join(out)


# --------------------------------------------------------------------------------------------------------------- HTML

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.35rem}h1.bad{color:#b42318}h1.good{color:#067647}h1.warn{color:#b54708}
section.finding{border-left:4px solid #888;padding:.2rem 1rem;margin:1rem 0;background:#f8f9fa}
section.blocking{border-color:#b42318}section.degraded{border-color:#b54708}section.advisory{border-color:#0e7490}
pre{background:#101418;color:#e6edf3;padding:.6rem .8rem;overflow-x:auto;border-radius:4px}
.dim{color:#667085}table{border-collapse:collapse}td{padding:.1rem .8rem .1rem 0;vertical-align:top}
svg{max-width:100%;height:auto;display:block;margin:.5rem 0}
"""


def _h(text: str) -> str:
    return html.escape(shown(text), quote=True)


def _h_spans(spans: Sequence[Span]) -> str:
    out = []
    for s in spans:
        text = _h(s.text)
        if "bold" in s.style:
            text = f"<strong>{text}</strong>"
        elif "dim" in s.style:
            text = f'<span class="dim">{text}</span>'
        out.append(text)
    return "".join(out)


def _h_block(block: Block) -> str:
    if isinstance(block, Blank):
        return ""
    if isinstance(block, Para):
        return f"<p>{_h_spans(block.spans)}</p>\n"
    if isinstance(block, Pre):
        return f"<pre>{html.escape(shown_lines(block.text).rstrip(chr(10)))}</pre>\n"
    if isinstance(block, Rows):
        rows = "".join(f"<tr><td class=dim>{_h(k)}</td><td>{_h(v)}</td></tr>" for k, v in block.rows)
        return f"<table>{rows}</table>\n"
    if isinstance(block, Node):
        return f"<pre>{html.escape(_tree_text(block).rstrip(chr(10)))}</pre>\n"
    severity = block.subtitle.split(" ", 1)[0]
    css = severity if severity in ("blocking", "degraded", "advisory", "info") else "info"
    body = "".join(_h_block(b) for b in block.body)
    return (
        f'<section class="finding {css}"><h3>{_h(block.title)}</h3><p class="dim">{_h(block.subtitle)}</p>'
        f"{body}</section>\n"
    )


def document_html(
    doc: Document, *, title: str, argv: Sequence[str], commands: Sequence[str] = (), svgs: Sequence[str] = ()
) -> str:
    """The document as one self-contained HTML page: the verdict as its heading, the blocks, the SVG figures
    (already escaped by their builders), the equivalent commands and the versions."""
    blocks = list(doc.blocks)
    verdict = _verdict(blocks)
    mood = "good" if verdict.startswith("✓") else "warn" if verdict.startswith("!") else "bad"
    parts = [
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>",
        # No script at all: the policy says so to the browser too.
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">',
        f"<title>{_h(title)}</title><style>{_CSS}</style></head><body>",
        f'<h1 class="{mood}">{_h(verdict)}</h1>',
        *(_h_block(b) for b in blocks),
        *svgs,
        "<h2>Equivalent commands</h2>",
        f"<pre>{html.escape(chr(10).join([equivalent_command(argv), *commands]))}</pre>",
        "<h2>Versions</h2><table>",
        *(f"<tr><td class=dim>{_h(k)}</td><td>{_h(v)}</td></tr>" for k, v in versions()),
        "</table></body></html>\n",
    ]
    return "\n".join(parts)


def chain_svg(labels: Sequence[tuple[str, str, bool]]) -> str:
    """The chain as boxes from the root down to the leaf: (subject, how it got there, is it missing)."""
    if not labels:
        return ""
    box_h, gap, width = 46, 22, 720
    height = len(labels) * (box_h + gap)
    out = [
        "<figure><figcaption><strong>Chain as nginx builds it</strong></figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="certificate chain">'
    ]
    for i, (subject, where, missing) in enumerate(labels):
        y = i * (box_h + gap)
        fill, stroke = ("#fef3f2", "#b42318") if missing else ("#f2f4f7", "#475467")
        dash = ' stroke-dasharray="6 4"' if missing else ""
        out.append(
            f'<rect x="10" y="{y}" width="{width - 20}" height="{box_h}" rx="6" fill="{fill}" stroke="{stroke}"{dash}/>'
            f'<text x="22" y="{y + 19}" font-size="14" font-family="sans-serif">{_h(subject)}</text>'
            f'<text x="22" y="{y + 37}" font-size="12" fill="#667085" font-family="sans-serif">{_h(where)}</text>'
        )
        if i < len(labels) - 1:
            out.append(
                f'<line x1="40" y1="{y + box_h}" x2="40" y2="{y + box_h + gap}" stroke="#475467" stroke-width="2"/>'
            )
    out.append("</svg></figure>")
    return "".join(out)


def timeline_svg(windows: Sequence[tuple[str, datetime, datetime | None]], at: datetime) -> str:
    """Each validity window as a bar on one time axis, the server's clock as a red line."""
    bounded = [(n, s, e) for n, s, e in windows if e is not None]
    if not bounded:
        return ""
    start = min([s for _, s, _ in bounded] + [at])
    end = max([e for _, _, e in bounded if e is not None] + [at])
    total = (end - start).total_seconds() or 1.0
    label_w, bar_w, row_h = 260, 440, 28
    width, height = label_w + bar_w + 20, row_h * len(bounded) + 40

    def x(t: datetime) -> float:
        return label_w + bar_w * (t - start).total_seconds() / total

    out = [
        "<figure><figcaption><strong>Validity at the server's clock</strong></figcaption><svg "
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="validity timeline">'
    ]
    for i, (name, s, e) in enumerate(bounded):
        assert e is not None  # noqa: S101 - filtered above
        y = 10 + i * row_h
        ok = s <= at <= e
        colour = "#12b76a" if ok else "#f04438"
        out.append(
            f'<text x="0" y="{y + 15}" font-size="12" font-family="sans-serif">{_h(name[:40])}</text>'
            f'<rect x="{x(s):.1f}" y="{y + 3}" width="{max(x(e) - x(s), 2):.1f}" height="16" rx="3" fill="{colour}">'
            f"<title>{_h(f'{s:%Y-%m-%d} to {e:%Y-%m-%d}')}</title></rect>"
        )
    at_x = x(at)
    out.append(
        f'<line x1="{at_x:.1f}" y1="0" x2="{at_x:.1f}" y2="{height - 20}" stroke="#b42318" stroke-width="2"/>'
        f'<text x="{min(at_x, width - 160):.1f}" y="{height - 5}" font-size="12" fill="#b42318" '
        f'font-family="sans-serif">server clock {at:%Y-%m-%d}</text></svg></figure>'
    )
    return "".join(out)
