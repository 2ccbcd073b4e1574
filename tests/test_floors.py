"""The package's floors: a module never imports a higher floor, and no modules import in a circle.

Floors, low to high (data flows one way: features -> records -> input -> models -> training ->
export -> serving): utils < layers < data < models, features < training, evaluation <
experiments < export < serving < bin, demo. Imports inside functions count too.
"""

import ast
import pathlib

import ave_tf

PACKAGE = pathlib.Path(ave_tf.__file__).parent
FLOORS = {
    "utils": 0,
    "layers": 1,
    "data": 2,
    "models": 3,
    "features": 3,
    "training": 4,
    "evaluation": 4,
    "experiments": 5,
    "export": 6,
    "serving": 7,
    "bin": 8,
    "demo": 8,
}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """{module: the ave_tf modules it names in import statements, anywhere in the file}."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                # `from ave_tf.models import config` imports the module ave_tf.models.config.
                found.update(f"{node.module}.{a.name}" for a in node.names)
        edges[name] = {m for m in found if m in modules and m != name}
    return edges


def _floor(module: str):
    parts = module.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None


def test_every_subpackage_has_a_floor():
    unknown = {m.split(".")[1] for m in _imports() if "." in m} - set(FLOORS)
    assert not unknown, f"add {sorted(unknown)} to FLOORS"


def test_no_module_imports_a_higher_floor():
    upward = [
        f"{module} -> {target}"
        for module, targets in _imports().items()
        for target in targets
        if _floor(module) is not None
        and _floor(target) is not None
        and _floor(target) > _floor(module)
    ]
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    edges = _imports()
    # A package's __init__ is not a dependency of its submodules' own imports.
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in edges.items()}
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert not cycles, f"modules importing each other: {cycles}"


def test_lists_are_defined_once():
    """Fusions, stages and tasks come from their registries: no other module spells them out as
    a tuple or list literal (dicts of the paper's numbers per fusion are data, not lists)."""
    from ave_tf.models.fusion import FUSION_STAGES, fusion_names
    from ave_tf.training.task_registry import task_names

    lists = {
        "fusions": set(fusion_names()),
        "stages": set(FUSION_STAGES),
        "tasks": set(task_names()),
    }
    owners = {"fusions": "ave_tf.models.fusion", "stages": "ave_tf.models.fusion",
              "tasks": "ave_tf.models.config"}  # fmt: skip
    found = []
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                continue
            values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            for kind, names in lists.items():
                if len(values & names) >= min(3, len(names) - 1) and module != owners[kind]:
                    found.append(f"{module}:{node.lineno} restates the {kind}")
    assert not found, found
