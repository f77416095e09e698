"""Checks of the organisation's shape: the unit tree and the manager chain hold no cycle.

Pure functions over external ids, so the services and the importers share them.
"""

from __future__ import annotations

from collections.abc import Mapping

from touchline.i18n import gettext as _


def find_cycle(parent_of: Mapping[str, str | None]) -> list[str] | None:
    """Return one cycle in the links ``child -> parent`` as a list of ids, or None.

    The list starts and ends with the same id, e.g. ``["A", "B", "A"]``; a link to an
    id missing from the mapping ends the walk (unknown references are checked apart).
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: known to end without a cycle
    for start in sorted(parent_of):
        if state.get(start) == 2:
            continue
        path: list[str] = []
        node: str | None = start
        while node is not None and node in parent_of and state.get(node) != 2:
            if state.get(node) == 1:
                return [*path[path.index(node) :], node]
            state[node] = 1
            path.append(node)
            node = parent_of[node]
        for visited in path:
            state[visited] = 2
    return None


def describe_cycle(cycle: list[str], *, what: str) -> str:
    """Return a sentence naming the cycle, e.g. ``unit tree: A -> B -> A``."""
    path = " -> ".join(cycle)
    if what == "unit tree":
        return _("The unit tree would form a cycle: %(path)s.", path=path)
    return _("The manager chain would form a cycle: %(path)s.", path=path)
