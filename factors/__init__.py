"""Emission-factor data package of carbon-twin: one TOML file per published source.

Read with :func:`carbon.factors.load_factor_set`; this package holds data only.
"""
