"""Reversible, idempotent replacement of public client methods.

Instrumenting a client library means wrapping a few of its public methods (for example
``openai.resources.chat.completions.Completions.create``). A :class:`PatchSet` remembers every
replacement so that ``uninstrument_*`` puts back exactly what was there, and refuses to wrap a
method twice so repeated ``instrument_*`` calls are harmless.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_MARKER = "__agenttrace_original__"


@dataclass(frozen=True, slots=True)
class _Patch:
    owner: type
    name: str
    original: Any
    wrapper: Any


class PatchSet:
    """The methods one integration replaced, and how to undo it."""

    def __init__(self) -> None:
        self._patches: list[_Patch] = []
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._patches)

    def wrap(
        self,
        owner: type,
        name: str,
        make_wrapper: Callable[[Callable[..., Any]], Callable[..., Any]],
    ) -> bool:
        """Replace ``owner.name`` with ``make_wrapper(original)``; False if absent or wrapped."""
        original = owner.__dict__.get(name)
        if original is None or hasattr(original, _MARKER):
            return False
        wrapper = functools.wraps(original)(make_wrapper(original))
        setattr(wrapper, _MARKER, original)
        with self._lock:
            setattr(owner, name, wrapper)
            self._patches.append(_Patch(owner, name, original, wrapper))
        return True

    def restore(self) -> None:
        """Put every original back, newest first; a method someone re-wrapped since is left."""
        with self._lock:
            patches, self._patches = self._patches, []
        for patch in reversed(patches):
            if patch.owner.__dict__.get(patch.name) is patch.wrapper:
                setattr(patch.owner, patch.name, patch.original)
