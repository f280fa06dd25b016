"""Emission-factor data of carbon-twin: one TOML file per published source.

Installed as ``carbon/data/factors`` (the package ``carbon.data.factors``; see
:mod:`carbon.data`). Read with :func:`carbon.factors.load_factor_set`; this package holds data
only.
"""
