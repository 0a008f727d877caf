"""Components whose texts follow the interface language.

Each builder registers a component with the catalogue keys of its texts
(`texts.add(button, value="chat.send")`); when the language is picked or switched,
`texts.updates(lang)` gives one `gr.update` per component, in `texts.components` order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from ui.i18n import text


@dataclass
class Texts:
    """(component, {property: catalogue key or a function of the language}) pairs."""

    entries: list[tuple[Any, dict[str, str | Callable[[str], Any]]]] = field(default_factory=list)

    def add(self, component: Any, **keys: str | Callable[[str], Any]) -> Any:
        self.entries.append((component, keys))
        return component

    @property
    def components(self) -> list[Any]:
        return [component for component, _ in self.entries]

    def updates(self, lang: str) -> list[Any]:
        update: Any = gr.update  # its keywords are typed for one component kind
        return [
            update(
                **{
                    prop: key(lang) if callable(key) else text(lang, key)
                    for prop, key in keys.items()
                }
            )
            for _, keys in self.entries
        ]

    def initial(self, key: str, lang: str) -> str:
        """A component's text when it is made (before the browser's language is known)."""
        return text(lang, key)
