"""The shape of the code, checked on every import statement (module level and inside functions;
`if TYPE_CHECKING:` blocks excepted, as they never run): docs/architecture.md, "The rules".

1. The core knows no feature: outside the feature packages only the list of features, the
   model registry, the migrations and the API client import a feature package or name one in a
   string.
2. No module imports the top (the process's assembly: cli, runtime, features, testing, the
   demo's runner) except the top itself.
3. Lower layers never import the edges (the bot, the API, the dashboard).
4. Features do not import each other, except along the product's joins (FEATURE_DEPENDENCIES).
5. No import cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bozor

SRC = Path(bozor.__file__).parent
# A feature package is one with a manifest.
FEATURES = sorted(p.parent.name for p in SRC.glob("*/feature.py"))
# Allowed to know the features (issue 16): the list, the model registry used by migrations,
# the migrations, and the API client (it mirrors the referral API's schemas).
KNOWS_FEATURES = ("bozor.features", "bozor.models", "bozor.migrations", "bozor.client")
# At most two more, each with its reason (docs/architecture.md, "The rules").
EXCEPTIONS: dict[str, str] = {}
TOP = (
    "bozor.__main__",
    "bozor.cli",
    "bozor.runtime",
    "bozor.features",
    "bozor.testing",
    "bozor.demo.runner",
    "bozor.instances",  # `bozor run` processes for multi-instance tests
    "bozor.faults",  # a connection-cutting proxy for tests
)
# A feature may use another's service only where the product joins them; (user, used).
FEATURE_DEPENDENCIES = {("shop", "referrals")}  # bonuses are paid from referral rewards
EDGES = ("bozor.bot", "bozor.api", "bozor.dashboard")
# Modules below the edges: what the bot, the API, the dashboard and the workers all use.
LOWER = (
    "bozor.settings",
    "bozor.db",
    "bozor.errors",
    "bozor.i18n",
    "bozor.featurekit",
    "bozor.idempotency",
    "bozor.transient",
    "bozor.signing",
    "bozor.crypto",
    "bozor.telegram",
    "bozor.pacing",
    "bozor.jobs",
    "bozor.outbox",
    "bozor.events",
    "bozor.ledger",
    "bozor.users.service",
    "bozor.users.models",
    "bozor.webhooks.service",
    "bozor.webhooks.worker",
    "bozor.updates",
    "bozor.apikeys",
    "bozor.audit.service",
)


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (or package)
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(SRC.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node, skipping the bodies of `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def _imports(name: str, path: Path, known: set[str]) -> Iterator[Import]:
    tree = ast.parse(path.read_text("utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield Import(name, full if full in known else base, node.lineno)


def _all_imports() -> list[Import]:
    modules = _modules()
    known = set(modules)
    return [i for name, path in modules.items() for i in _imports(name, path, known)]


def _within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _feature_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FEATURES else None


def _names_a_feature(name: str, path: Path) -> list[int]:
    """Lines of string constants (docstrings aside) that are a feature's name."""
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in FEATURES and id(node) not in docstrings
    ]


def test_the_features_are_found() -> None:
    assert FEATURES == ["classifieds", "lotteries", "referrals", "shop"]


def test_the_core_imports_no_feature() -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in _all_imports()
        if _feature_of(i.target)
        and not _feature_of(i.module)
        and not _within(i.module, *KNOWS_FEATURES, *EXCEPTIONS)
    ]
    assert wrong == []


def test_the_core_names_no_feature() -> None:
    wrong = [
        f"{name}:{line}"
        for name, path in _modules().items()
        if not _feature_of(name) and not _within(name, *KNOWS_FEATURES, *EXCEPTIONS)
        for line in _names_a_feature(name, path)
    ]
    assert wrong == []


def _stems(feature: str) -> set[str]:
    """How a setting may name a feature: shop, referral(s), lottery/lotteries, classified(s)."""
    return {feature, feature.removesuffix("s"), feature.removesuffix("ies") + "y"}


def test_the_core_settings_name_no_feature() -> None:
    """A feature's settings live in its package (Feature.settings), not in the core's
    Settings: no core field is named after a feature, or is a variable a feature declares."""
    from bozor.features import FEATURES as MANIFESTS
    from bozor.settings import Settings

    stems = {stem for feature in FEATURES for stem in _stems(feature)}
    declared = {
        variable.lower(): manifest.name
        for manifest in MANIFESTS
        if manifest.settings is not None
        for variable in manifest.settings.variables().values()
    }
    wrong = [
        name for name in Settings.model_fields if name.split("_")[0] in stems or name in declared
    ]
    assert wrong == []


def test_nothing_imports_the_top() -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in _all_imports()
        if _within(i.target, *TOP) and not _within(i.module, *TOP)
    ]
    assert wrong == []


def test_lower_layers_do_not_import_the_edges() -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in _all_imports()
        if _within(i.module, *LOWER) and _within(i.target, *EDGES)
    ]
    assert wrong == []


def test_features_do_not_import_each_other() -> None:
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in _all_imports()
        if _feature_of(i.module)
        and _feature_of(i.target) not in (None, _feature_of(i.module))
        and (_feature_of(i.module), _feature_of(i.target)) not in FEATURE_DEPENDENCIES
    ]
    assert wrong == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_no_import_cycles() -> None:
    known = set(_modules())
    edges: dict[str, set[str]] = {}
    for i in _all_imports():
        if i.target in known and i.target != i.module:
            edges.setdefault(i.module, set()).add(i.target)
    assert _cycles(edges) == []


def test_at_most_two_exceptions() -> None:
    assert len(EXCEPTIONS) <= 2


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
