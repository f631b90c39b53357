"""The set-up files agree with each other: one version of everything, torch pinned exactly."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.conftest import REPO_ROOT, require_tool


def pins(lines) -> dict[str, str]:
    """{package: exact version} from requirement lines (comments, options and -r skipped)."""
    found = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier  # exactly one specifier per line...
        assert spec.operator == "==", f"{line}: pin an exact version"  # ...and it is exact
        found[requirement.name.lower()] = spec.version
    return found


def requirement_files() -> list[Path]:
    return sorted(REPO_ROOT.glob("requirements*.txt"))


def environment_yml() -> dict:
    return yaml.safe_load((REPO_ROOT / "environment.yml").read_text())


def test_environment_yml_pins_the_same_versions_as_requirements():
    env = environment_yml()
    assert env["channels"] == ["conda-forge"]  # never `-c pytorch`: it stopped at torch 2.5
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda and "pip" in conda
    (pip_section,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pins(pip_section) == pins((REPO_ROOT / "requirements.txt").read_text().splitlines())


def test_torch_is_pinned_exactly_everywhere_it_is_installed():
    files = [*requirement_files(), REPO_ROOT / "environment.yml", REPO_ROOT / "pyproject.toml"]
    files += list((REPO_ROOT / "mlflow").glob("*.y*ml"))
    for path in files:
        for line in path.read_text().splitlines():
            code = line.split("#")[0]
            for match in re.finditer(r"(?<![\w.-])torch(?![\w-])([^\s\"',\]]*)", code):
                assert match.group(1) == "==2.13.0", f"{path.name}: {line.strip()}"


def test_every_requirement_file_pins_exact_versions():
    for path in requirement_files():
        assert pins(path.read_text().splitlines()), path


def test_mlflow_folder_never_shadows_the_library():
    assert not (REPO_ROOT / "mlflow" / "__init__.py").exists()


def test_movielens_and_models_are_never_committed():
    """The old-course trap: MovieLens in git (its licence forbids it). What git tracks, not what
    .gitignore hopes: no MovieLens file, no model file, nothing under data/ or models/."""
    require_tool("git")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
    )
    if tracked.returncode != 0:  # a copy without git history (a student's zip): nothing tracked
        pytest.skip("not a git checkout")
    paths = [Path(line) for line in tracked.stdout.splitlines()]
    assert paths, "git ls-files listed nothing"
    movielens = {"u.data", "u.item", "ratings.csv", "movies.csv", "model.pt", "rated.npz"}
    movielens |= {f"u{n}.{part}" for n in "12345ab" for part in ("base", "test")}
    offending = [
        str(path)
        for path in paths
        if path.parts[0] in ("data", "models")
        or (path.name in movielens and path.parts[:2] != ("tests", "fixtures"))
    ]
    assert not offending, f"tracked by git, must be downloaded or trained instead: {offending}"


def test_the_package_supports_the_pythons_students_have():
    requires = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert requires["requires-python"] == ">=3.11,<3.14"


def test_environment_yml_has_what_the_lectures_ask_students_to_run():
    env = environment_yml()
    (pip_section,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert {"pytest", "papermill", "nbclient"} <= set(pins(pip_section))


def test_the_readme_names_every_module_of_the_package():
    """The README's module table is the map of movierec: every module on it, nothing extra."""
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("| module | its job |")[1].split("\n\n")[0]
    listed = set(
        re.findall(r"`(\w+)`", "\n".join(row.split("|")[1] for row in table.splitlines()[2:]))
    )
    modules = {p.stem for p in (REPO_ROOT / "movierec").glob("*.py") if not p.stem.startswith("_")}
    assert listed == modules, (
        f"missing from the README: {modules - listed}; extra: {listed - modules}"
    )
