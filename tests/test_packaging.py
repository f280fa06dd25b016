"""The wheel installs one import name, ``carbon``, with its data and the wall screen inside.

The repository keeps ``dashboard/``, ``factors/`` and ``sites/`` at its root; ``pyproject.toml``
maps them into the package as :mod:`carbon.dashboard`, ``carbon/data/factors`` and
``carbon/data/sites`` (see :mod:`carbon.data`). These tests build the wheel from a copy of the
sources, look inside it, install it into a folder and use it from there, and check that the
editable install of the development environment gives the same names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "MANIFEST.in", "README.md", "carbon", "dashboard", "factors",
                "sites")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def _files(folder: Path, *suffixes: str) -> list[str]:
    """Files below ``folder`` with one of ``suffixes``, as POSIX paths relative to it."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built with pip from a clean copy of the sources (no build/ left behind)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, symlinks=True, ignore=JUNK)
        else:
            shutil.copy2(path, src / name)
    out = tmp / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (whl,) = out.glob("carbon_twin-*.whl")
    return whl


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed (no dependencies) into a folder of its own."""
    target = tmp_path_factory.mktemp("target")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return target


def _python(code: str, cwd: Path, pythonpath: Path | None = None) -> str:
    """Run ``code`` in a fresh interpreter of this environment, in ``cwd``; its stdout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


PROBE = """
import importlib.util, json
import carbon, carbon.dashboard
from carbon.dashboard.server import PLOTLY_BASIC
from carbon.dashboard.app import ASSETS
from carbon.factors import factors_dir, list_profiles, load_factor_set
from carbon.twin import list_sites, load_twin, sites_dir
print(json.dumps({
    "carbon": carbon.__file__,
    "dashboard": carbon.dashboard.__file__,
    "factors_dir": str(factors_dir()),
    "sites_dir": str(sites_dir()),
    "profiles": list_profiles(),
    "sites": list_sites(),
    "factors": len(load_factor_set("shanghai-2022")),
    "nodes": len(load_twin("shimen_erlu").nodes),
    "plotly": PLOTLY_BASIC.is_file(),
    "css": (ASSETS / "wall.css").is_file(),
    "generic": {n: importlib.util.find_spec(n) is not None
                for n in ("dashboard", "factors", "sites")},
}))
"""


def test_wheel_has_one_top_level_name(wheel: Path, names: set[str]) -> None:
    tops = {n.split("/")[0] for n in names}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == {"carbon"}
    assert len(dist_info) == 1
    with zipfile.ZipFile(wheel) as zf:
        top_level = zf.read(f"{dist_info.pop()}/top_level.txt").decode().split()
    assert top_level == ["carbon"]
    assert not any(n.startswith(("dashboard/", "factors/", "sites/")) for n in names)


def test_wheel_holds_every_module(names: set[str]) -> None:
    links = ("dashboard/", "data/factors/", "data/sites/")  # checked below, from their folders
    expected = {f"carbon/{p}" for p in _files(ROOT / "carbon", ".py") if not p.startswith(links)}
    expected |= {f"carbon/dashboard/{p}" for p in _files(ROOT / "dashboard", ".py")}
    assert expected - names == set()
    assert {"carbon/py.typed", "carbon/units.txt", "carbon/data/shanghai_normals.csv"} <= names


def test_wheel_holds_the_data(names: set[str]) -> None:
    factors = _files(ROOT / "factors", ".toml", ".json")
    sites = _files(ROOT / "sites", ".toml", ".geojson", ".json", ".csv")
    assert "profiles/shanghai-2022.toml" in factors and "schema.json" in factors
    assert "shimen_erlu/site.toml" in sites and "shimen_erlu/geometry.geojson" in sites
    assert {f"carbon/data/factors/{p}" for p in factors} - names == set()
    assert {f"carbon/data/sites/{p}" for p in sites} - names == set()


def test_wheel_holds_the_wall_screen_assets(names: set[str]) -> None:
    assets = {f"carbon/dashboard/{p}" for p in _files(ROOT / "dashboard", ".css", ".js")}
    assert "carbon/dashboard/assets/wall.css" in assets
    assert "carbon/dashboard/vendor/plotly-basic.min.js" in assets
    assert assets | {"carbon/dashboard/vendor/plotly-basic.LICENSE"} <= names


def test_installed_wheel_works_from_its_own_folder(installed: Path, tmp_path: Path) -> None:
    import json

    got = json.loads(_python(PROBE, cwd=tmp_path, pythonpath=installed))
    inside = str(installed / "carbon")
    assert got["carbon"].startswith(inside)
    assert got["dashboard"].startswith(inside + os.sep + "dashboard")
    assert got["factors_dir"] == str(installed / "carbon" / "data" / "factors")
    assert got["sites_dir"] == str(installed / "carbon" / "data" / "sites")
    assert "shanghai-2022" in got["profiles"] and got["sites"] == ["shimen_erlu"]
    assert got["factors"] > 0 and got["nodes"] > 10
    assert got["plotly"] and got["css"]
    # `import dashboard` (or factors, sites) is not something carbon-twin provides
    assert got["generic"] == {"dashboard": False, "factors": False, "sites": False}


def test_editable_install_gives_the_same_names(tmp_path: Path) -> None:
    import json

    got = json.loads(_python(PROBE, cwd=tmp_path))
    assert Path(got["factors_dir"]).resolve() == ROOT / "factors"
    assert Path(got["sites_dir"]).resolve() == ROOT / "sites"
    assert Path(got["dashboard"]).resolve() == ROOT / "dashboard" / "__init__.py"
    assert got["plotly"] and got["css"] and got["sites"] == ["shimen_erlu"]
    assert got["generic"] == {"dashboard": False, "factors": False, "sites": False}


@pytest.mark.parametrize(
    ("link", "folder"),
    [("carbon/dashboard", "dashboard"), ("carbon/data/factors", "factors"),
     ("carbon/data/sites", "sites")],
)
def test_repository_links_show_the_wheel_layout(link: str, folder: str) -> None:
    """mypy, import-linter and editors read files: the links give them the wheel's names."""
    assert (ROOT / link).is_symlink()
    assert (ROOT / link).resolve() == ROOT / folder


def test_packaged_dir_rejects_unknown_names() -> None:
    from carbon.data import packaged_dir

    with pytest.raises(ValueError, match="no packaged data named 'dashboard'"):
        packaged_dir("dashboard")
