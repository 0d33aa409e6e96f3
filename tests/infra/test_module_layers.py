"""No import circles inside the shared crates: in `ledger` leaf types sit below the account,
the events and the operations, with the views and the audit on top; in `edge` no module
imports one that imports it (ARCHITECTURE.md, "Crates and what they may depend on").

A module's imports are the `crate::<module>` paths in its source (its tests included), and
the crate-root re-exports it names (`crate::Account` is `account`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# What `lib.rs` re-exports at each crate's root, by the module that defines it.
ROOT_EXPORTS = {
    "ledger": {
        "Account": "account", "AccountStatus": "account", "Timestamp": "clock", "EntryKind": "entry",
        "LedgerEntry": "entry", "ErrorCode": "error", "FieldError": "error", "WalletError": "error",
        "ClientId": "ids", "PlayerId": "ids", "Amount": "money", "Balances": "money", "Currency": "money",
    },
}


def imports(crate: str) -> dict[str, set[str]]:
    source = REPO / "shared" / crate / "src"
    modules = {p.stem for p in source.glob("*.rs") if p.stem not in ("lib", "main")}
    graph = {}
    for module in modules:
        # Comments (doc links included) are not imports.
        text = re.sub(r"//[^\n]*", "", (source / f"{module}.rs").read_text())
        used = {m for m in re.findall(r"crate::([a-z_]+)", text) if m in modules}
        for name, owner in ROOT_EXPORTS.get(crate, {}).items():
            if re.search(rf"crate::{name}\b", text):
                used.add(owner)
        graph[module] = used - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle's members, found by depth-first search from each module."""
    found = set()
    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                cycle = path[path.index(nxt):]
                start = cycle.index(min(cycle))
                found.add(tuple(cycle[start:] + cycle[:start]))
            elif len(path) < len(graph):
                visit(nxt, path + [nxt])
    for node in sorted(graph):
        visit(node, [node])
    return sorted(list(c) for c in found)


@pytest.mark.parametrize("crate", ["ledger", "edge", "store", "wire"])
def test_no_module_imports_one_that_imports_it(crate):
    assert cycles(imports(crate)) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_leaf_modules_of_ledger_import_no_operation():
    graph = imports("ledger")
    operations = {"deposit", "bet", "settlement", "bonus", "register", "risk", "api", "audit", "events"}
    for leaf in ("clock", "error", "ids", "money", "entry", "outcome", "limits", "exclusion", "idempotency"):
        assert not graph[leaf] & operations, f"{leaf} imports {sorted(graph[leaf] & operations)}"
