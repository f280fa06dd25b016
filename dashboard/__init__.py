"""The carbon wall screen (Dash) for the operations centre.

A big-screen page over published ledger snapshots (read-only; DESIGN decisions 8 and 9):

- :mod:`dashboard.data`: read-only snapshot access, checksums, live pick-up of ``LATEST``;
- :mod:`dashboard.figures`: pure plotly figure functions, usable in a notebook;
- :mod:`dashboard.i18n`: every label in Chinese and English, locale-aware numbers;
- :mod:`dashboard.app`: layout and callbacks;
- :mod:`dashboard.server`: :func:`create_app` and :func:`serve` (loopback by default, basic
  auth required elsewhere).
"""

from dashboard.server import WallConfigError, create_app, serve

__all__ = ["WallConfigError", "create_app", "serve"]
