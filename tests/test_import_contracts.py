"""The import contracts hold: the apps stay in their layers (.importlinter), no two modules import
each other, no module uses another's private names, and function-local imports say why."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter")], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _imports(path: Path):
    """(top-level imported modules, function-local import lines without a comment) of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name == "__init__.py":
        package += ".__init__"
    top, local = set(), []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [_absolute(package, node.level, node.module, a.name) for a in node.names]
        if node.col_offset == 0:
            top.update(names)
        elif "#" not in lines[node.lineno - 1] and "#" not in lines[node.lineno - 2]:
            local.append(f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return top, local


def _absolute(package, level, module, name):
    base = package.split(".")[:-level] if level else []
    return ".".join([*base, *(module.split(".") if module else []), name])


def _module_graph():
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in (ROOT / "cleanheat").rglob("*.py") if "migrations" not in p.parts}
    graph, local = {}, []
    for name, path in modules.items():
        top, unexplained = _imports(path)
        local += unexplained
        # "from pkg import name" names a module or an attribute: keep the longest module it names
        graph[name] = {next((c for c in (i, i.rsplit(".", 1)[0]) if c in modules), None) for i in top} - {None, name}
    return graph, local


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_between_modules():
    graph, _ = _module_graph()
    assert "cleanheat.rules.engine" in graph["cleanheat.ledger.services"]  # the graph sees real imports
    assert _cycles(graph) == []


def test_the_circle_check_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_function_local_imports_say_why():
    """A function-local import is there only to break a cycle (or to load something heavy late),
    and its line or the line above says so."""
    _, unexplained = _module_graph()
    assert unexplained == []


def _private_uses(path: Path, modules: set) -> list[str]:
    """`from m import _name` and `m._name` where m is another of our modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name == "__init__.py":
        package += ".__init__"
    bound, found = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                name = _absolute(package, node.level, node.module, alias.name)
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {name}")
                if name in modules:
                    bound[alias.asname or alias.name] = name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules and alias.asname:
                    bound[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound \
                and node.attr.startswith("_") and not node.attr.startswith("__"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: uses {bound[node.value.id]}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    paths = [p for p in (ROOT / "cleanheat").rglob("*.py") if "migrations" not in p.parts]
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__") for p in paths}
    assert len(paths) > 50
    assert [use for p in paths for use in _private_uses(p, modules)] == []


def test_the_private_name_check_finds_one():
    sample = ROOT / "tests" / "_private_sample.py"
    sample.write_text("from cleanheat.ledger import services\nservices._refusal({}, None)\n", encoding="utf-8")
    try:
        assert _private_uses(sample, {"cleanheat.ledger.services"}) == [
            "tests/_private_sample.py:2: uses cleanheat.ledger.services._refusal"]
    finally:
        sample.unlink()
