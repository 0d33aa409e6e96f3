"""The template's HttpApi routes against the router `cargo lambda watch` serves locally.

`cargo lambda watch` routes by `[workspace.metadata.lambda.watch.router]` in Cargo.toml. If
that drifts from template.yaml, the local suite answers routes AWS would not (or the reverse),
so the two must hold exactly the same (method, path) -> binary table.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from .template import http_routes, load_template

ANY_METHOD = "ANY"

Route = tuple[str, str]


def cargo_router(cargo_toml: Path | str) -> dict[Route, str]:
    """(METHOD, path) -> function from Cargo.toml; METHOD is ANY where no method is given.

    Accepts both forms cargo-lambda reads: a table of path -> function name or list of
    {method, function}, and an array of {path, methods?, function}.
    """
    with open(cargo_toml, "rb") as handle:
        manifest = tomllib.load(handle)
    router = manifest.get("workspace", {}).get("metadata", {}).get("lambda", {})
    router = router.get("watch", {}).get("router")
    if router is None:
        return {}
    table: dict[Route, str] = {}

    def add(method: str, path: str, function: str) -> None:
        route = (method.upper(), path)
        if route in table and table[route] != function:
            raise ValueError(f"{cargo_toml}: {route[0]} {path} is routed twice")
        table[route] = function

    if isinstance(router, dict):
        for path, target in router.items():
            if isinstance(target, str):
                add(ANY_METHOD, path, target)
            else:
                for item in target:
                    add(item["method"], path, item["function"])
    else:
        for item in router:
            for method in item.get("methods") or [ANY_METHOD]:
                add(method, item["path"], item["function"])
    return table


def compare(template_routes: dict[Route, str], router: dict[Route, str]) -> list[str]:
    """Human-readable differences; empty when the router matches the template exactly."""
    problems = []
    for route in sorted(set(template_routes) | set(router), key=lambda r: (r[1], r[0])):
        expected, actual = template_routes.get(route), router.get(route)
        name = f"{route[0]} {route[1]}"
        if actual is None:
            problems.append(f"  missing in Cargo.toml:   {name} -> {expected}")
        elif expected is None:
            problems.append(f"  not in template.yaml:    {name} -> {actual}")
        elif expected != actual:
            problems.append(f"  wrong function:          {name} -> {actual} (template.yaml: {expected})")
    return problems


def router_toml(template_routes: dict[Route, str]) -> str:
    """The Cargo.toml section that matches the template."""
    by_path: dict[str, list[tuple[str, str]]] = {}
    for (method, path), function in template_routes.items():
        by_path.setdefault(path, []).append((method, function))
    lines = ["[workspace.metadata.lambda.watch.router]"]
    for path in sorted(by_path):
        items = ", ".join(
            f'{{ method = "{method}", function = "{function}" }}'
            for method, function in sorted(by_path[path])
        )
        lines.append(f'"{path}" = [{items}]')
    return "\n".join(lines)


def check(template_path: Path, cargo_toml: Path) -> tuple[int, str | None]:
    """(number of routes, None) when Cargo.toml routes exactly the template; else a report."""
    expected = http_routes(load_template(template_path))
    problems = compare(expected, cargo_router(cargo_toml))
    if not problems:
        return len(expected), None
    report = "\n".join([
        f"{cargo_toml} does not route exactly what {template_path} declares:",
        *problems,
        "",
        "It should read:",
        "",
        router_toml(expected),
    ])
    return len(expected), report
