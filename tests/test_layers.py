"""The package's layers, read from its imports: the textbook, the engine below it, file safety, the applications.

Every module of ``lottery_np`` belongs to one layer of :data:`LAYERS` (a new module or
folder must be given one here, which is where its home is decided), and imports run one
way:

* file safety (``files/``) imports nothing from the rest of the package;
* the engine (``engine/``) imports nothing but itself and the rules of ``validation``;
* the textbook (the network, the optimizer, training, pruning, the data) never imports
  the applications (the benchmark grids, the command line, the plots, the estimator,
  export);
* an application imports another package through its face (``lottery_np.pruning``, not
  ``lottery_np.pruning.loop``), and nothing imports another package's private names;
* no two modules, and no two top-level modules or folders, import each other, not even through an
  import deferred into a function.

Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies, and are left out.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lottery_np"

LAYERS = {
    "files": ("lottery_np.files",),
    "engine": ("lottery_np.engine",),
    "textbook": ("lottery_np", "lottery_np.model", "lottery_np.optim", "lottery_np.config", "lottery_np.curves",
                 "lottery_np.training", "lottery_np.training_state", "lottery_np.failure", "lottery_np.pruning", "lottery_np.data",
                 "lottery_np.validation", "lottery_np.schema", "lottery_np.progress", "lottery_np.sparse",
                 "lottery_np.supermask", "lottery_np.exercises"),
    "applications": ("lottery_np.__main__", "lottery_np.experiment", "lottery_np.analysis", "lottery_np.cli", "lottery_np.plots",
                     "lottery_np.estimator", "lottery_np.export"),
}
"""Each layer's modules, by name or by the package that holds them (the longest match decides)."""

MAY_IMPORT = {
    "files": {"files"},
    "engine": {"engine", "lottery_np.validation"},
    "textbook": {"textbook", "engine", "files"},
    "applications": {"applications", "textbook", "engine", "files"},
}
"""What each layer may import: layers, or single modules."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
PACKAGES = {name for name, path in MODULES.items() if path.name == "__init__.py"}


def layer_of(module: str) -> str | None:
    """The layer of ``module``: that of the longest name in :data:`LAYERS` it equals or lies inside."""
    best, found = -1, None
    for layer, names in LAYERS.items():
        for name in names:
            inside = module.startswith(name + ".") and name != "lottery_np"  # the top level: its face alone
            if (module == name or inside) and len(name) > best:
                best, found = len(name), layer
    return found


def package_of(module: str) -> str:
    return module if module in PACKAGES else module.rpartition(".")[0]


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports(module: str) -> list[tuple[str, str | None, int, str]]:
    """``(imported module, name taken from it or None, line, module named after from)`` for every import of the
    package in ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
               for child in node.body for n in ast.walk(child)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno, alias.name) for alias in node.names
                      if alias.name.startswith("lottery_np")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of(module).split(".")
                base = base[:len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if not source.startswith("lottery_np"):
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.append((submodule, None, node.lineno, source) if submodule in MODULES
                             else (source, alias.name, node.lineno, source))
    return found


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer_of(m) is None] == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_one_way(module):
    layer = layer_of(module)
    wrong = [f"line {line}: {target} ({layer_of(target)})" for target, _, line, _ in imports(module)
             if layer_of(target) not in MAY_IMPORT[layer] and target not in MAY_IMPORT[layer]]
    assert wrong == [], f"{module}, of the {layer}, may import only {sorted(MAY_IMPORT[layer])}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_a_package(module):
    own = package_of(module)
    crossing = [f"line {line}: {target}.{name or ''}" for target, name, line, _ in imports(module)
                if package_of(target) != own and not own.startswith(package_of(target) + ".")
                and ((name or "").startswith("_") or target.rpartition(".")[2].startswith("_"))]
    assert crossing == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) == "applications"))
def test_applications_import_packages_through_their_faces(module):
    own = package_of(module)
    behind = [f"line {line}: {source}" for _, _, line, source in imports(module)
              if source not in PACKAGES and package_of(source) not in (own, "lottery_np")]
    assert behind == [], f"{module} reaches past a package's face"


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every cycle a depth-first walk of ``graph`` meets, as ``a -> b -> a``."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_module_imports_one_that_imports_it():
    # A face imports its own submodules and they import each other through it: faces are left out.
    graph = {m: {t for t, _, _, _ in imports(m) if t in MODULES and t != m and t not in PACKAGES}
             for m in MODULES if m not in PACKAGES}
    assert cycles(graph) == []


def test_no_two_rooms_import_each_other():
    def room(module: str) -> str:  # lottery_np.pruning.loop -> lottery_np.pruning
        return ".".join(module.split(".")[:2])

    graph: dict[str, set[str]] = {}
    for m in MODULES:
        graph.setdefault(room(m), set()).update(room(t) for t, _, _, _ in imports(m)
                                                if room(t) not in (room(m), "lottery_np"))
    assert cycles(graph) == []


def test_the_walk_finds_a_cycle_and_only_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a -> b -> c -> a"]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
