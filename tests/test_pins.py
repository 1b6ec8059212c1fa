"""Every pin in requirements.txt and requirements-dev.txt is needed, and says by what.

A pin is needed when a root needs it, or a needed package requires it (the installed
packages' own metadata, markers and extras evaluated). The roots: pyproject's dependencies,
the packages the code, tests and benchmarks import, the tools the Makefile runs, mypy's stubs
for what it checks, and pytest plugins the configuration uses. `make pins` prints the table.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
# pytest plugins are loaded by entry point, never imported: each is needed by the setting it
# reads, which must be in pyproject's pytest options.
PLUGIN_SETTINGS = {"pytest-timeout": "timeout"}
# Imported by the benchmarks' optional peers, pinned in bench/requirements.txt and installed
# only when such a bench is asked for (bench/consent_bench.py).
BENCH_ONLY_DIRS = ("bench/django_peer",)

# Modules that exist for type checkers only (typeshed's, under TYPE_CHECKING), or the compiler.
TYPING_ONLY = {"__future__", "_typeshed"}

# The virtualenv's installer: `make install` brings the newest, the pins are what it installs.
INSTALLER = {canonicalize_name("pip")}

Needs = dict[NormalizedName, set[str]]


def pins(path: Path) -> dict[NormalizedName, str]:
    """A requirements file's pins: canonical name -> version (`-r` lines left out)."""
    found: dict[NormalizedName, str] = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            found[canonicalize_name(name)] = version.strip()
    return found


def all_pins() -> dict[NormalizedName, str]:
    return {name: v for file in REQUIREMENTS for name, v in pins(ROOT / file).items()}


@cache
def module_owners() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()


def imported_modules(paths: Iterable[Path]) -> dict[str, set[str]]:
    """Top-level modules imported by the Python files under `paths`: name -> files."""
    found: dict[str, set[str]] = {}
    for path in paths:
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            if any(part in {"node_modules", ".venv"} for part in file.parts):
                continue
            relative = file.relative_to(ROOT).as_posix()
            if relative.startswith(BENCH_ONLY_DIRS):
                continue
            for node in ast.walk(ast.parse(file.read_text("utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif _is_find_spec(node):  # a package the code locates (for its data) not imports
                    names = [node.args[0].value]  # type: ignore[attr-defined]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(relative)
    return found


def _is_find_spec(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    first = node.args[0]
    return name == "find_spec" and isinstance(first, ast.Constant) and isinstance(first.value, str)


def local_modules() -> set[str]:
    """Names the repository itself provides: its packages and its scripts' modules."""
    names = {"zgoda", "tests", "bench", "app", "hatch_build", "gunicorn_conf"}
    for file in ROOT.rglob("*.py"):
        if ".venv" not in file.parts and "node_modules" not in file.parts:
            names.add(file.stem)
    return names


def distributions_imported(paths: Iterable[Path]) -> Needs:
    """The installed distributions that provide the modules imported under `paths`."""
    needs: Needs = {}
    local = local_modules()
    for module, files in imported_modules(paths).items():
        if module in sys.stdlib_module_names or module in local or module in TYPING_ONLY:
            continue
        owners = module_owners().get(module)
        assert owners, f"{sorted(files)[0]} imports {module!r}, which no installed package provides"
        for owner in owners:
            needs.setdefault(canonicalize_name(owner), set()).add(
                f"imported by {min(files)}" + (f" (+{len(files) - 1})" if len(files) > 1 else "")
            )
    return needs


def makefile_tools() -> Needs:
    """Distributions whose commands the Makefile runs: `$(BIN)/tool` and `$(PY) -m module`."""
    makefile = (ROOT / "Makefile").read_text("utf-8")
    scripts = {ep.name: ep for ep in metadata.entry_points(group="console_scripts")}
    needs: Needs = {}
    tools = set(re.findall(r"\$\(BIN\)/([\w.-]+)", makefile))
    for tool in tools:
        entry = scripts.get(tool)
        if entry is not None and entry.dist is not None:
            needs.setdefault(canonicalize_name(entry.dist.name), set()).add(f"Makefile runs {tool}")
    for dist in metadata.distributions():  # tools shipped as binaries, not entry points (ruff)
        for file in dist.files or []:
            if file.parent.name == "bin" and file.name in tools:
                name = canonicalize_name(dist.metadata["Name"])
                needs.setdefault(name, set()).add(f"Makefile runs {file.name}")
    for module in set(re.findall(r"\$\(PY\) -m ([\w.]+)", makefile)):
        for owner in module_owners().get(module.split(".")[0], []):
            needs.setdefault(canonicalize_name(owner), set()).add(f"Makefile runs -m {module}")
    return needs


def mypy_stubs(pinned: Iterable[NormalizedName]) -> Needs:
    """Stub packages (`<module>-stubs`) for modules that mypy's files import."""
    checked = imported_modules(ROOT / name for name in PYPROJECT["tool"]["mypy"]["files"])
    needs: Needs = {}
    for name in pinned:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        for stub in {
            f.parts[0].removesuffix("-stubs") for f in files if f.parts[0].endswith("-stubs")
        }:
            if stub in checked:
                needs.setdefault(name, set()).add(f"mypy's stubs for {stub}")
    return needs


def configured_plugins() -> Needs:
    options = PYPROJECT["tool"]["pytest"]["ini_options"]
    return {
        canonicalize_name(plugin): {f"pytest's `{setting}` option"}
        for plugin, setting in PLUGIN_SETTINGS.items()
        if setting in options
    }


def project_dependencies() -> dict[NormalizedName, set[str]]:
    """pyproject's dependencies: name -> the extras asked for."""
    asked: dict[NormalizedName, set[str]] = {}
    for text in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(text)
        asked.setdefault(canonicalize_name(requirement.name), set()).update(requirement.extras)
    return asked


def roots() -> tuple[Needs, dict[NormalizedName, set[str]]]:
    """Who needs what directly, and the extras asked of each."""
    needs: Needs = {}
    extras: dict[NormalizedName, set[str]] = {}
    for name, asked in project_dependencies().items():
        needs.setdefault(name, set()).add("pyproject dependency")
        extras.setdefault(name, set()).update(asked)
    sources = [ROOT / "zgoda", ROOT / "app.py", ROOT / "tests", ROOT / "bench"]
    # hatch_build.py runs in the wheel build's own environment: [build-system] pins what it needs.
    sources += [ROOT / "gunicorn.conf.py"] if (ROOT / "gunicorn.conf.py").exists() else []
    for found in (
        distributions_imported(sources),
        makefile_tools(),
        mypy_stubs(all_pins()),
        configured_plugins(),
    ):
        for name, why in found.items():
            needs.setdefault(name, set()).update(why)
    return needs, extras


def requirements_of(name: NormalizedName, extras: set[str]) -> list[Requirement]:
    """The installed package's requirements that apply here, with `extras` asked for."""
    found = []
    for text in metadata.requires(name) or []:
        requirement = Requirement(text)
        if requirement.marker is None or any(
            requirement.marker.evaluate({**default_environment(), "extra": extra})
            for extra in (extras | {""})
        ):
            found.append(requirement)
    return found


def needed_by(
    direct: Needs, extras: Mapping[NormalizedName, set[str]]
) -> tuple[Needs, dict[NormalizedName, set[str]]]:
    """Every package the roots need, with who needs it, and what each required is missing."""
    needs: Needs = {name: set(why) for name, why in direct.items()}
    asked = {name: set(e) for name, e in extras.items()}
    missing: dict[NormalizedName, set[str]] = {}
    queue = list(needs)
    while queue:
        name = queue.pop()
        try:
            requirements = requirements_of(name, asked.get(name, set()))
        except metadata.PackageNotFoundError:
            missing.setdefault(name, set()).update(needs[name])
            continue
        for requirement in requirements:
            child = canonicalize_name(requirement.name)
            grew = child not in needs or not requirement.extras <= asked.get(child, set())
            needs.setdefault(child, set()).add(f"required by {name}")
            asked.setdefault(child, set()).update(requirement.extras)
            if grew:
                queue.append(child)
    return needs, missing


@cache
def resolved() -> tuple[Needs, dict[NormalizedName, set[str]]]:
    """needed_by over every root, worked out once per test run."""
    return needed_by(*roots())


def unneeded(pinned: Iterable[NormalizedName], needs: Needs) -> list[NormalizedName]:
    return sorted(name for name in pinned if name not in needs)


def table() -> str:
    """Each pin and what needs it."""
    needs, _ = resolved()
    pinned = all_pins()
    width = max(map(len, pinned))
    return "\n".join(
        f"{name:<{width}}  {pinned[name]:<14} {'; '.join(sorted(needs.get(name, {'NOTHING'})))}"
        for name in sorted(pinned)
    )


# --- the tests --------------------------------------------------------------------------


def test_every_pin_is_needed() -> None:
    needs, _ = resolved()
    assert unneeded(all_pins(), needs) == [], "pins that nothing needs:\n" + table()


def test_everything_needed_is_pinned_at_its_installed_version() -> None:
    needs, missing = resolved()
    assert missing == {}, f"needed but not installed: {missing}"
    pinned = all_pins()
    unpinned = sorted(set(needs) - set(pinned) - INSTALLER)
    assert unpinned == [], f"needed but not pinned in {' or '.join(REQUIREMENTS)}: {unpinned}"
    for name, version in pinned.items():
        assert metadata.version(name) == version, f"{name}=={version} pinned, installed differs"


def test_the_runtime_pins_are_what_the_package_needs() -> None:
    """requirements.txt is the package's own closure: no dev tool in it, nothing it lacks."""
    runtime = {name: {"pyproject dependency"} for name in project_dependencies()}
    needs, _ = needed_by(runtime, project_dependencies())
    assert set(pins(ROOT / "requirements.txt")) == set(needs)


def test_what_the_package_imports_it_declares() -> None:
    """An installed zgoda has only pyproject's dependencies (and theirs) to import."""
    declared, _ = needed_by(
        {name: {"pyproject dependency"} for name in project_dependencies()},
        project_dependencies(),
    )
    imported = distributions_imported([ROOT / "zgoda"])
    assert sorted(set(imported) - set(declared)) == []


def test_a_pin_nothing_needs_is_named() -> None:
    """The check can fail: a pin no root reaches (ordered-set, once Flask-Limiter went)."""
    needs, _ = resolved()
    assert unneeded([*all_pins(), canonicalize_name("ordered-set")], needs) == ["ordered-set"]


def test_a_dependency_of_a_root_is_needed_through_it() -> None:
    needs, _ = resolved()
    assert "required by flask" in needs[canonicalize_name("blinker")]
    assert "required by psycopg" in needs[canonicalize_name("psycopg-binary")]  # the [binary] extra
    assert "Makefile runs ruff" in needs[canonicalize_name("ruff")]
    assert "mypy's stubs for yaml" in needs[canonicalize_name("types-PyYAML")]


if __name__ == "__main__":
    print(table())
