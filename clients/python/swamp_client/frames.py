"""Tables as pandas DataFrames when pandas is installed, else as lists of dicts (one per row).

Set ``SWAMP_CLIENT_NO_PANDAS=1`` to get lists of dicts even where pandas is installed.
"""

import os
from typing import Any, Dict, List, Sequence


def pandas_module() -> Any:
    """pandas, or None when it is missing or turned off by SWAMP_CLIENT_NO_PANDAS."""
    if os.environ.get("SWAMP_CLIENT_NO_PANDAS", "") not in ("", "0"):
        return None
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def table(rows: List[Dict[str, Any]], columns: Sequence[str]) -> Any:
    """The rows with exactly these columns (missing values None), as a DataFrame or a list of dicts."""
    pandas = pandas_module()
    if pandas is not None:
        return pandas.DataFrame.from_records([[row.get(c) for c in columns] for row in rows], columns=list(columns))
    return [{c: row.get(c) for c in columns} for row in rows]


def numpy_module() -> Any:
    """numpy, or an ImportError saying which methods need it."""
    try:
        import numpy
    except ImportError:
        raise ImportError("weights() and masks() need numpy (pip install numpy, or Debian's python3-numpy)") from None
    return numpy
