"""Data shipped inside the ``carbon`` package, and :func:`packaged_dir` to find it.

carbon-twin installs one top-level import name, ``carbon``. Its data lives in the wheel as

``carbon/data/shanghai_normals.csv``
    climate normals (:mod:`carbon.climate`);
``carbon/data/factors/``
    the emission-factor TOML files, one per published source, and ``profiles/``
    (:mod:`carbon.factors`); the repository keeps them in ``factors/`` at its root;
``carbon/data/sites/``
    one digital-twin folder per community (:mod:`carbon.twin`); ``sites/`` in the repository.

The wall screen ships the same way: the repository's ``dashboard/`` folder is the package
:mod:`carbon.dashboard`. ``pyproject.toml`` maps the folders (setuptools ``package-dir``), for
wheels and for editable installs (``pip install -e .``; setuptools' import finder). In the
repository, the symbolic links ``carbon/dashboard``, ``carbon/data/factors`` and
``carbon/data/sites`` show the same layout to tools that read files rather than import (mypy,
import-linter, editors); the build does not depend on them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["PACKAGED", "packaged_dir"]

PACKAGED = ("factors", "sites")
"""The data folders :func:`packaged_dir` knows."""


def packaged_dir(name: str) -> Path:
    """The folder of packaged data ``name`` (``"factors"`` or ``"sites"``).

    Works in a wheel (``carbon/data/<name>/``), in an editable install (the repository's link
    ``carbon/data/<name>``, else setuptools' import finder) and in a bare source checkout on
    ``PYTHONPATH`` without the links (the repository's ``<name>/`` folder beside ``carbon/``).

    Raises
    ------
    ValueError
        For a name that is not packaged data.
    FileNotFoundError
        When the folder is in none of those places (a broken install).
    """
    if name not in PACKAGED:
        raise ValueError(f"no packaged data named {name!r}; known: {', '.join(PACKAGED)}")
    spec = importlib.util.find_spec(f"{__name__}.{name}")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    checkout = Path(__file__).resolve().parents[2] / name
    if (checkout / "__init__.py").is_file():
        return checkout
    raise FileNotFoundError(f"packaged data folder {name!r} not found; reinstall carbon-twin")
