"""The carbon wall screen (Dash) for the operations centre.

A big-screen page over published ledger snapshots (read-only; DESIGN decisions 8 and 9):

- :mod:`carbon.dashboard.data`: read-only snapshot access, checksums, live pick-up of ``LATEST``;
- :mod:`carbon.dashboard.figures`: pure plotly figure functions, usable in a notebook;
- :mod:`carbon.dashboard.i18n`: every label in Chinese and English, locale-aware numbers;
- :mod:`carbon.dashboard.app`: layout and callbacks;
- :mod:`carbon.dashboard.server`: :func:`create_app` and :func:`serve` (loopback by default, basic
  auth required elsewhere).
"""

from carbon.dashboard.server import WallConfigError, create_app, serve

__all__ = ["WallConfigError", "create_app", "serve"]
