"""Digital-twin data of carbon-twin: one folder per community.

Installed as ``carbon/data/sites`` (the package ``carbon.data.sites``; see :mod:`carbon.data`).
Read with :func:`carbon.twin.load_twin`; this package holds data only.
"""
