"""The package's import graph: no cycles, no arrow from a lower layer up, no private name across rooms.

The graph is read from the source with :mod:`ast` (every ``import``, including those inside
functions), so a lazy import does not hide an arrow. A *room* is a top-level module or subpackage
of ``rnnanalysis`` (``cells``, ``simulate``, ``predict``, ``_validate``, ...). Layers, low to high:

0. ``_validate``, ``_results``, ``_threads``, ``_buffers``, ``_kernel``, ``activations``, ``init``
1. ``cells``, ``io``, ``testing``
2. ``simulate``
3. ``predict``, ``train``, ``symbolic`` (``symbolic`` uses only layer 0 and itself)
4. ``experiments``
5. ``plots``, ``figures``, ``tour``, ``cli``, ``__main__``, the package ``__init__``

A name with a leading underscore (a module, function, method or attribute) is private to the room
that defines it; a private top-level module (``_validate``) is private to the package, so its
public names serve every room. Scripts and papers, users of the package, import no private name.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "rnnanalysis"
PKG = "rnnanalysis"

LAYERS = [
    {"_validate", "_results", "_threads", "_buffers", "_kernel", "activations", "init"},
    {"cells", "io", "testing"},
    {"simulate"},
    {"predict", "train", "symbolic"},
    {"experiments"},
    {"plots", "figures", "tour", "cli", "__main__", "__init__"},
]
LAYER = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}
#: rooms symbolic may import besides itself (it derives from the activations, not from the cells)
SYMBOLIC_MAY_IMPORT = {"_validate", "_results", "activations"}

#: Known violations on main while the work that removes them is under way, each with its owner.
#: Entries are (kind, importer room or module, what); the test fails on any violation not listed
#: here AND on any entry here that no longer occurs, so the list can only shrink.
KNOWN = {
}
#: Private names of other libraries that are those libraries' documented extension protocol.
FOREIGN_PROTOCOL = {
    "_print",   # SymPy: an object's _latex(printer) prints its parts with printer._print
}


def _modules():
    """{dotted module name: path} for every module of the package."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name):
    return MODULES.get(name, Path()).name == "__init__.py"


def _room(module):
    """The room of a module: its first component below the package ('__init__' for the package)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(module, tree):
    """(target module, imported names, line) for every import in the module, resolved to absolute names."""
    package = module if _is_package(module) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names = tuple(a.name for a in node.names)
            if target in MODULES:
                # ``from pkg import sub`` imports the submodule sub
                subs = [n for n in names if f"{target}.{n}" in MODULES]
                for n in subs:
                    yield f"{target}.{n}", (), node.lineno
                names = tuple(n for n in names if n not in subs)
                if names or not subs:
                    yield target, names, node.lineno
            else:
                yield target, names, node.lineno


def _defined_private_names(tree):
    """Private names a module defines: functions, classes, methods, attributes assigned, module globals."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
    return {n for n in out if _private(n)}


def _scan(trees):
    """(module graph {module: {module}}, violations {(kind, where, what): [locations]})."""
    defined = defaultdict(set)            # room -> private names defined in it
    for m, tree in trees.items():
        defined[_room(m)] |= _defined_private_names(tree)

    graph = defaultdict(set)
    found = defaultdict(list)
    for m, tree in trees.items():
        room, rel = _room(m), MODULES[m].relative_to(ROOT.parent)
        for target, names, line in _imports(m, tree):
            where = f"{rel}:{line}"
            if target != PKG and not target.startswith(PKG + "."):
                continue
            if target != m:
                graph[m].add(target)
            troom = _room(target)
            # private modules on the path: private to the package that contains them
            parts = target.split(".")
            for depth in range(2, len(parts)):
                if _private(parts[depth]) and room != parts[1]:
                    found[("private-import", room, ".".join(parts[: depth + 1]))].append(where)
            for n in names:
                if _private(n) and troom != room:
                    found[("private-import", room, f"{target}.{n}")].append(where)
            if troom == room:
                continue
            if LAYER[troom] > LAYER[room]:
                found[("upward", room, troom)].append(where)
            if room == "symbolic" and troom not in SYMBOLIC_MAY_IMPORT:
                found[("symbolic", room, troom)].append(where)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in defined[room] \
                    and node.attr not in FOREIGN_PROTOCOL:
                found[("private-attribute", room, node.attr)].append(f"{rel}:{node.lineno}")
    return graph, found


def _cycles(graph):
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in list(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def _outside_uses(sources):
    """Private names of the package imported by code outside it: sources {file: text} (scripts, papers)."""
    found = defaultdict(list)
    for rel, text in sources.items():
        for node in ast.walk(ast.parse(text, rel)):
            if isinstance(node, ast.Import):
                targets = [(a.name, ()) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                targets = [(node.module, tuple(a.name for a in node.names))]
            else:
                continue
            for target, names in targets:
                if target.split(".")[0] != PKG:
                    continue
                private = [p for p in target.split(".") if _private(p)] + [n for n in names if _private(n)]
                if private:
                    key = ("private-import", rel, f"{target}: {', '.join(private)}")
                    found[key].append(f"{rel}:{node.lineno}")
    return found


GRAPH, FOUND = _scan({m: ast.parse(p.read_text(), str(p)) for m, p in MODULES.items()})
OUTSIDE = {str(p.relative_to(ROOT.parent)): p.read_text()
           for d in ("scripts", "papers") for p in sorted((ROOT.parent / d).rglob("*.py"))}


def _violations():
    found = {**FOUND, **_outside_uses(OUTSIDE)}
    for comp in _cycles(GRAPH):
        found[("module-cycle", _room(comp[0]), " <-> ".join(comp))] = ["(import graph)"]
    rooms = defaultdict(set)
    for m, targets in GRAPH.items():
        rooms[_room(m)] |= {_room(t) for t in targets if _room(t) != _room(m)}
    for comp in _cycles(rooms):
        found[("room-cycle", comp[0], " <-> ".join(comp))] = ["(import graph)"]
    return found


def test_every_room_has_a_layer():
    assert {_room(m) for m in MODULES} <= set(LAYER), sorted({_room(m) for m in MODULES} - set(LAYER))


def test_no_cycle_no_upward_arrow_no_private_name_across_rooms():
    found = _violations()
    new = {k: v for k, v in found.items() if k not in KNOWN}
    gone = sorted(k for k in KNOWN if k not in found)
    lines = [f"{kind}: {where} -> {what}  at {', '.join(locs[:3])}"
             for (kind, where, what), locs in sorted(new.items())]
    assert not new, "architecture violations:\n" + "\n".join(lines)
    assert not gone, f"fixed, remove from KNOWN in {Path(__file__).name}: {gone}"


# -- the checker itself finds what it should -------------------------------------------------
def test_cycles_are_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_function_level_imports_and_relative_names_are_resolved():
    tree = ast.parse("def f():\n    from ..predict._threads import single_blas_thread\n"
                     "from . import lstm\nfrom .._validate import float_array\n")
    got = {(t, n) for t, n, _ in _imports("rnnanalysis.cells.elman", tree)}
    assert got == {("rnnanalysis.predict._threads", ("single_blas_thread",)),
                   ("rnnanalysis.cells.lstm", ()), ("rnnanalysis._validate", ("float_array",))}


def test_planted_violations_are_found():
    src = ("from ..simulate import simulate\n"
           "def f(cell):\n    from ..predict._threads import single_blas_thread\n"
           "    from ..simulate import _unit_direction\n    return cell._secret()\n")
    _, found = _scan({"rnnanalysis.cells.elman": ast.parse(src)})
    assert set(found) == {("upward", "cells", "simulate"), ("upward", "cells", "predict"),
                          ("private-import", "cells", "rnnanalysis.predict._threads"),
                          ("private-import", "cells", "rnnanalysis.simulate._unit_direction"),
                          ("private-attribute", "cells", "_secret")}


def test_private_imports_outside_the_package_are_found():
    src = ("import rnnanalysis._validate\nfrom rnnanalysis.simulate import _unit_direction, bptt\n"
           "from rnnanalysis import simulate\nimport numpy._core\n")
    assert set(_outside_uses({"scripts/planted.py": src})) == {
        ("private-import", "scripts/planted.py", "rnnanalysis._validate: _validate"),
        ("private-import", "scripts/planted.py", "rnnanalysis.simulate: _unit_direction")}


@pytest.mark.parametrize("name, private", [("_forward", True), ("__init__", False), ("step", False)])
def test_private_names(name, private):
    assert _private(name) is private
