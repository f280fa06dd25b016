"""Digital-twin data package of carbon-twin: one folder per community.

Read with :func:`carbon.twin.load_twin`; this package holds data only.
"""
