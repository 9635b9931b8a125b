"""Asking questions: questionary behind a small interface, every question counted against a budget.

questionary reads piped stdin as answers (knowledge/probe-and-wizard.md §D3), so the wizard only ever starts on a
terminal (cli/wizard.py checks ``isatty`` itself); ``unsafe_ask`` lets Ctrl-C through as KeyboardInterrupt, which
the command line turns into exit 130. Tests give prompt_toolkit pipe inputs (``inputs``): one per question.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

MAX_QUESTIONS = 5
"""Questions from the symptom to the verdict, on every path (issue 11)."""

PASTE_INSTRUCTION = "(Esc then Enter to finish; Esc, Enter alone to skip)"
"""prompt_toolkit's multiline prompt: Enter starts a new line, Meta+Enter (Esc, Enter) accepts."""

_FILE_SUFFIXES = (".pem", ".crt", ".cer", ".key", ".p12", ".pfx", ".der", ".conf")


class OutOfQuestionsError(Exception):
    """The budget is spent: the caller skips the question (and says what to run instead)."""


class Asker:
    """questionary prompts, counted. ``inputs`` (tests): a prompt_toolkit input for each question, in order."""

    def __init__(self, *, budget: int = MAX_QUESTIONS, inputs: Iterator[Any] | None = None, output: Any = None) -> None:
        self.budget = budget
        self.asked: list[str] = []
        self._inputs = inputs
        self._output = output

    @property
    def left(self) -> int:
        """How many questions may still be asked before the verdict."""
        return self.budget - len(self.asked)

    def _io(self) -> dict[str, Any]:
        if self._inputs is None:
            return {}
        return {"input": next(self._inputs), "output": self._output}

    def _count(self, message: str, *, counted: bool) -> None:
        if counted:
            if self.left <= 0:
                raise OutOfQuestionsError(message)
            self.asked.append(message)

    def select(self, message: str, choices: Sequence[tuple[str, Any]], *, counted: bool = True) -> Any:
        """One of ``choices`` (label, value)."""
        import questionary  # noqa: PLC0415 - 120 ms of start-up: only when someone is asked

        self._count(message, counted=counted)
        options = [questionary.Choice(label, value=value) for label, value in choices]
        return questionary.select(message, choices=options, **self._io()).unsafe_ask()

    def text(self, message: str, *, counted: bool = True) -> str:
        """Free text (a pasted line); empty when skipped."""
        import questionary  # noqa: PLC0415

        self._count(message, counted=counted)
        return str(questionary.text(message, **self._io()).unsafe_ask() or "").strip()

    def paste(self, message: str, *, counted: bool = True) -> str:
        """Several lines (a pasted configuration) or one (a path, HOST:PORT): Esc then Enter ends the answer."""
        import questionary  # noqa: PLC0415

        self._count(message, counted=counted)
        question = questionary.text(message, multiline=True, instruction=PASTE_INSTRUCTION, **self._io())
        return str(question.unsafe_ask() or "").strip()

    def path(self, message: str, *, counted: bool = True) -> str:
        """A file path, with completion of directories and certificate, key and configuration files."""
        import questionary  # noqa: PLC0415

        self._count(message, counted=counted)
        answer = questionary.path(message, file_filter=_wanted_file, **self._io()).unsafe_ask()
        return str(answer or "").strip()

    def password(self, message: str) -> str:
        """A hidden answer: never echoed, never written to the transcript or a command."""
        import questionary  # noqa: PLC0415

        self._count(message, counted=True)
        return str(questionary.password(message, **self._io()).unsafe_ask() or "")


def _wanted_file(name: str) -> bool:
    """Completion offers directories and the kinds of file the wizard asks for."""
    from pathlib import Path  # noqa: PLC0415

    return Path(name).is_dir() or name.lower().endswith(_FILE_SUFFIXES)


def password_prompt(asker: Asker, on_refused: Callable[[], None]) -> Callable[[str], str | None]:
    """A Passwords prompt that asks through the wizard (hidden, counted); None when the budget is spent."""

    def ask(text: str) -> str | None:
        try:
            return asker.password(text)
        except OutOfQuestionsError:
            on_refused()
            return None

    return ask
