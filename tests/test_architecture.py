"""The layers of docs/architecture.md, checked over the import graph: a module imports only
from its own layer or from layers below it; no module imports itself back through others;
flows/ stays pure; the runtime never reaches the dev tools; big modules say why.

Imports are read from the source (ast), at module level and inside functions alike, so a
deferred import cannot hide an arrow pointing the wrong way.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Top to bottom. A module belongs to the first layer whose prefix names it.
LAYERS = [
    ("devtools", ["intake.devtools"]),
    ("entry", ["intake.cli", "intake.app", "intake.scheduler", "intake.startup"]),
    ("web", ["intake.web"]),
    ("simulator", ["intake.simulator"]),
    ("channels", ["intake.channels"]),
    ("conversation", ["intake.conversation"]),
    ("delivery", ["intake.delivery"]),
    ("staff", ["intake.staff"]),
    ("cases", ["intake.cases"]),
    ("oncall", ["intake.oncall"]),
    ("core", ["intake.core"]),
    ("infra", ["intake.infra"]),
    ("domain", ["intake.domain"]),
    ("flows", ["flows"]),
]
LIMIT = 400
REASON = "Over 400 lines:"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found = {}
    for package in ("intake", "flows"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


MODULES = sources()


def imported(name: str, path: Path) -> tuple[set[str], set[str]]:
    """The project modules `name` imports anywhere in its source, and those of them it
    imports only inside a function (loaded when the function runs, not with the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    nested = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    everywhere, at_top = set(), set()
    for node in ast.walk(tree):
        targets = set()
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # a submodule, else a name defined in `base`
                full = f"{base}.{alias.name}"
                targets.add(full if full in MODULES else base)
        found = {owner(target) for target in targets} - {None, name}
        everywhere |= found
        if id(node) not in nested:
            at_top |= found
    return everywhere, everywhere - at_top


def owner(target: str) -> str | None:
    """The project module a dotted import target lands in (a module, not a name in it)."""
    while target:
        if target in MODULES:
            return target
        target = target.rpartition(".")[0]
    return None


IMPORTS = {name: imported(name, path) for name, path in MODULES.items()}
GRAPH = {name: found for name, (found, _) in IMPORTS.items()}


def dev_command(name: str, target: str) -> bool:
    """A dev command (`intake simulate`) loads the dev tools when it runs, and only then."""
    return (
        name.startswith("intake.cli.")
        and target.startswith("intake.devtools")
        and target in IMPORTS[name][1]
    )


def layer(name: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return index
    if name in ("intake", "intake.__main__"):
        return 1  # the package itself and `python -m intake`: the entry layer
    raise AssertionError(f"{name} is in no layer: add it to LAYERS and docs/architecture.md")


def test_every_module_has_a_layer():
    for name in MODULES:
        layer(name)


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{name} ({LAYERS[layer(name)][0]}) imports {target} ({LAYERS[layer(target)][0]})"
        for name, targets in GRAPH.items()
        for target in sorted(targets)
        if layer(target) < layer(name) and not dev_command(name, target)
    ]
    assert upward == []


def test_no_import_cycle():
    cycles = [sorted(group) for group in strongly_connected(GRAPH) if len(group) > 1]
    assert cycles == []


def test_flows_import_nothing_of_ours():
    reaching = {n: sorted(t for t in ts if t.startswith("intake")) for n, ts in GRAPH.items()}
    assert {n: t for n, t in reaching.items() if n.startswith("flows") and t} == {}


def test_the_runtime_never_reaches_the_dev_tools():
    """Not at import, from any module outside devtools: only a dev command's body loads them."""
    runtime = [n for n in MODULES if not n.startswith("intake.devtools")]
    seen, stack = set(), list(runtime)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(t for t in GRAPH[name] if not dev_command(name, t))
    assert sorted(n for n in seen if n.startswith("intake.devtools")) == []


def test_the_web_layer_never_imports_the_app_factory():
    web = [n for n in GRAPH if n.startswith("intake.web")]
    assert sorted(n for n in web if "intake.app" in GRAPH[n]) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_over_400_lines_says_why_at_its_top(name):
    path = MODULES[name]
    lines = path.read_text().splitlines()
    if len(lines) > LIMIT:
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert REASON in docstring, f"{path.relative_to(ROOT)}: {len(lines)} lines, no reason"


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that import each other round a loop."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(group)

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_the_graph_sees_imports_of_every_form():
    """The checks above are only as good as the graph they read."""
    assert "intake.core.models" in GRAPH["intake.cases.lifecycle"]  # from intake.core.models
    assert "intake.infra.db" in GRAPH["intake.cases.lifecycle"]  # from intake.infra import db
    assert "intake.devtools.terminal" in IMPORTS["intake.cli.main"][1]  # inside `simulate`
    assert "intake.devtools.terminal" not in GRAPH["intake.app"]
    assert {"flows.state", "flows.steps"} <= GRAPH["flows.engine"]


def test_a_cycle_and_an_upward_arrow_are_caught():
    groups = strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert sorted(sorted(g) for g in groups if len(g) > 1) == [["a", "b", "c"]]
    assert layer("intake.web.dashboard") < layer("intake.cases.lifecycle") < layer("flows.engine")
