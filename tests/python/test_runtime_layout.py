"""The runtime's package layout (docs/runtime.md, "Module map"): which subpackages exist, what may stay at the top
level, and which subpackage may import which. Every import counts, including the ones inside functions."""
import ast
import os

PACKAGE_ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "python", "kernelevolve_runtime")
PACKAGE = "kernelevolve_runtime"

# The entry points and the protocol they speak; everything else lives in a subpackage that names its role.
TOP_LEVEL = {"__init__", "__main__", "cli", "server", "runtime", "protocol"}
SUBPACKAGES = {"bench", "contract", "fitness", "gpu", "kernelbench", "platforms", "sandbox"}

# What each subpackage may import besides itself (module prefixes inside the package). Lower layers first:
# contract (formats shared with TypeScript) depends on nothing; the sandbox confines processes and knows nothing of
# fitness; fitness (evaluation) uses the sandbox and the platforms; only bench drives a whole Runtime.
ALLOWED = {
    "contract": set(),
    "sandbox": set(),
    "kernelbench": {"contract"},
    "gpu": {"contract", "platforms.base"},
    "platforms": {"contract", "sandbox", "gpu"},
    "fitness": {"contract", "kernelbench", "platforms", "sandbox"},
    "bench": {"contract", "fitness", "gpu", "kernelbench", "platforms", "sandbox", "protocol", "runtime"},
}
# Named exceptions, each with its reason. The zygote is the sandbox's process factory: a 'worker' job becomes the
# fitness worker, and it preloads the worker and the platform registry once so confined processes start warm.
EXCEPTIONS = {
    ("sandbox.zygote", "fitness.worker"),
    ("sandbox.zygote", "platforms.registry"),
}


def _modules():
    for folder, folders, files in os.walk(PACKAGE_ROOT):
        folders[:] = [name for name in folders if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, PACKAGE_ROOT)[:-3].replace(os.sep, ".")
                yield relative, path


def _imports(module, path):
    """The package-internal modules (or names) `module` imports, relative to the package, e.g. 'sandbox.sandbox'."""
    is_package = module == "__init__" or module.endswith(".__init__")
    own = module[: -len("__init__")].rstrip(".") if is_package else module.rpartition(".")[0]
    tree = ast.parse(open(path, encoding="utf8").read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name[len(PACKAGE) + 1:] for alias in node.names if alias.name.startswith(PACKAGE + ".")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = own.split(".") if own else []
                if node.level - 1 > len(parts):
                    raise AssertionError(f"{module}: a relative import leaves the package")
                base = parts[: len(parts) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module == PACKAGE or (node.module or "").startswith(PACKAGE + "."):
                target = node.module[len(PACKAGE) + 1:]
            else:
                continue
            for alias in node.names:  # `from .fitness import worker`: a name may be a submodule
                submodule = f"{target}.{alias.name}" if target else alias.name
                found.append(submodule if _is_module(submodule) or not node.module else target)
    return found


def _is_module(name):
    path = os.path.join(PACKAGE_ROOT, *name.split("."))
    return os.path.isfile(path + ".py") or os.path.isfile(os.path.join(path, "__init__.py"))


def _area(name):
    head = name.split(".")[0]
    return head if head in SUBPACKAGES else None


def test_only_the_entry_points_stay_at_the_top_level():
    entries = os.listdir(PACKAGE_ROOT)
    modules = {name[:-3] for name in entries if name.endswith(".py")}
    folders = {name for name in entries if os.path.isdir(os.path.join(PACKAGE_ROOT, name)) and name != "__pycache__"}
    assert modules == TOP_LEVEL, f"top-level modules other than the entry points: {sorted(modules - TOP_LEVEL)}"
    assert folders == SUBPACKAGES
    for folder in folders:
        assert os.path.isfile(os.path.join(PACKAGE_ROOT, folder, "__init__.py")), f"{folder}/ is not a package"


def test_the_native_harness_source_sits_next_to_its_builder():
    from kernelevolve_runtime.sandbox.native_harness import HARNESS_SOURCE
    assert os.path.isfile(HARNESS_SOURCE)


def test_subpackages_import_only_the_layers_below_them():
    violations = []
    for module, path in _modules():
        area = _area(module)
        if area is None:
            continue  # the entry points may import anything
        for target in _imports(module, path):
            if _area(target) == area or (module, target) in EXCEPTIONS:
                continue
            if not any(target == allowed or target.startswith(allowed + ".") for allowed in ALLOWED[area]):
                violations.append(f"{module} imports {target}")
    assert violations == [], "layering broken:\n" + "\n".join(violations)


def test_the_layering_check_sees_lazy_and_package_relative_imports(tmp_path):
    # the checker itself: an import inside a function and `from .. import x` both count
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from ..fitness import evaluator\n    from .. import runtime\n"
                      "from ..contract.spec import load_spec\n")
    assert sorted(_imports("sandbox.probe", str(source))) == ["contract.spec", "fitness.evaluator", "runtime"]
