"""The house keeps its plan (docs/architecture.md): rooms that follow the data, no import cycles (imports
inside functions included), no module too long to read, only a few modules loose at the top of etl/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ETL = Path(__file__).resolve().parents[1] / "etl"
DOC = ETL.parent / "docs" / "architecture.md"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ETL.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ETL.rglob("*.py")}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every etl module ``path`` imports, anywhere in the file (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # "from etl.lake import raw" names a module or a symbol
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, set(modules)) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_etl_modules():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"etl.a": {"etl.b"}, "etl.b": {"etl.c"}, "etl.c": {"etl.a"}, "etl.d": {"etl.a"}}
    assert _cycles(graph) == [["etl.a", "etl.b", "etl.c"]]


def test_imports_inside_functions_count(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from etl.lake import raw\n    import etl.clock\n")
    assert _imports(module, "etl.m", {"etl", "etl.lake", "etl.lake.raw", "etl.clock"}) == {"etl.lake.raw", "etl.clock"}


def test_nothing_imports_the_command_line_or_the_airflow_glue():
    """The CLI and the Airflow tasks call into the rooms, never the other way round."""
    callers = ("etl.cli", "etl.airflow")
    wrong = {name: sorted(i for i in imports if i.startswith(callers))
             for name, imports in _graph().items() if not name.startswith(callers)}
    assert {name: found for name, found in wrong.items() if found} == {}


def test_no_module_over_500_lines():
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > 500}
    assert long == {}


def test_at_most_six_modules_loose_at_the_top_of_etl():
    loose = sorted(p.name for p in ETL.glob("*.py"))
    assert len(loose) <= 6, loose


def test_the_architecture_page_names_modules_and_functions_that_exist():
    """Every ``etl.module:function`` hop and every ``etl/...`` path the page names is real."""
    text = DOC.read_text(encoding="utf-8")
    modules = _modules()
    hops = re.findall(r"`(etl(?:\.\w+)+):(\w+)`", text)
    assert len(hops) >= 10, "the page should walk one filing through the code"
    for module, function in hops:
        assert module in modules, f"{module} (named in docs/architecture.md) does not exist"
        tree = ast.parse(modules[module].read_text(encoding="utf-8"))
        defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        assert function in defined, f"{module}:{function} (named in docs/architecture.md) does not exist"
    for path in re.findall(r"`(etl/[\w/]+(?:\.py)?)`", text):
        assert (ETL.parent / path).exists(), f"{path} (named in docs/architecture.md) does not exist"
    for room in (p for p in ETL.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        assert f"etl/{room.name}" in text, f"the room etl/{room.name} is missing from docs/architecture.md"
