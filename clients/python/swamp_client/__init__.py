"""swamp_client: the swamp tracking server from Python.

    from swamp_client import Swamp
    swamp = Swamp("http://127.0.0.1:4000", token="swamp_...")
    swamp.frontier(group_by=["method.name"], sweep=sweep_id)      # mean ± std per method and cycle
    swamp.weights(experiment_id, cycle=10)                         # {"fc1/kernel": ndarray, ...}

Standard library only; pandas (tables as DataFrames), numpy (weights) and websockets (follow)
are used when installed.
"""

from .client import Swamp
from .errors import (
    AuthenticationError,
    ConflictError,
    ConnectionFailedError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    AnalysisFailedError,
    ServerError,
    SwampError,
)
from .torch_names import to_torch_layout, to_torch_state_dict, torch_state_dict_names

__all__ = [
    "Swamp",
    "SwampError",
    "InvalidInputError",
    "NotFoundError",
    "ConflictError",
    "AuthenticationError",
    "ForbiddenError",
    "ServerError",
    "ConnectionFailedError",
    "AnalysisFailedError",
    "torch_state_dict_names",
    "to_torch_layout",
    "to_torch_state_dict",
]
__version__ = "0.1.0"
