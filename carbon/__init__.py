"""carbon-twin: carbon accounting for a low-carbon community.

The names people use most are re-exported here; everything else is reached by module path
(:mod:`carbon.units`, :mod:`carbon.factors`, :mod:`carbon.twin`, :mod:`carbon.synth`).
Importing the package opens no database, reads no file and configures no logging.

Examples
--------
>>> import carbon
>>> twin = carbon.load_twin("shimen_erlu")
>>> factors = carbon.load_factor_set("shanghai-2022")
>>> factors.lookup("electricity.grid", "CN-SH", "2024-06-01").per_canonical("CO2")
Decimal('0.42')
"""

from carbon._version import __version__
from carbon.errors import (
    AmbiguousFactorError,
    CarbonError,
    FactorFileError,
    FactorNotFoundError,
    TwinError,
    UnitConversionError,
)
from carbon.factors import EmissionFactor, FactorSet, load_factor_set
from carbon.twin import Twin, load_twin
from carbon.units import Q_, to_canonical

__all__ = [
    "Q_",
    "AmbiguousFactorError",
    "CarbonError",
    "EmissionFactor",
    "FactorFileError",
    "FactorNotFoundError",
    "FactorSet",
    "Twin",
    "TwinError",
    "UnitConversionError",
    "__version__",
    "load_factor_set",
    "load_twin",
    "to_canonical",
]
