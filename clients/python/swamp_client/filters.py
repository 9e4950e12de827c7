"""Keyword filters, as the GraphQL ``ExperimentFilter`` and the export query parameters take them.

===================  ==================  =====================================================
keyword              GraphQL field       value
===================  ==================  =====================================================
``sweep``            ``sweepId``         a sweep id
``ids``              ``ids``             experiment ids
``methods``          ``methods``         ``"swamp"`` or a list, e.g. ``["imp", "swamp"]``
``models``           ``models``          model names
``datasets``         ``datasets``        data set names
``statuses``         ``statuses``        ``"completed"``, ``["running", "queued"]`` (any case)
``tags``             ``tags``            every one of these tags
``tags_any``         ``tagsAny``         at least one of these tags
``owner``            ``owner``           the creating token's name
``config``           ``config``          ``{"method.name": "swamp"}`` (equals) or
                                         ``{"seed": [0, 1]}`` (a list means *in*); to compare
                                         with a list value, ``{"x": {"equals": [1, 2]}}``
``name_contains``    ``nameContains``    case-insensitive substring of the name
``config_hash``      ``configHash``      the run's config hash
``created_after``    ``createdAfter``    ISO date-time
``created_before``   ``createdBefore``   ISO date-time
``accuracy_min/max`` ``accuracyMin/Max`` on the best averaged-model accuracy so far
``sparsity_min/max`` ``sparsityMin/Max`` on the latest recorded cycle's sparsity
===================  ==================  =====================================================
"""

from typing import Any, Dict, List, Optional

_LISTS = {"ids": "ids", "methods": "methods", "models": "models", "datasets": "datasets", "tags": "tags", "tags_any": "tagsAny"}
_SCALARS = {
    "sweep": "sweepId", "owner": "owner", "name_contains": "nameContains", "config_hash": "configHash",
    "created_after": "createdAfter", "created_before": "createdBefore",
    "accuracy_min": "accuracyMin", "accuracy_max": "accuracyMax", "sparsity_min": "sparsityMin", "sparsity_max": "sparsityMax",
}
KEYWORDS = sorted([*_LISTS, *_SCALARS, "statuses", "config"])


def _as_list(value: Any) -> List[Any]:
    return [value] if isinstance(value, (str, int, float)) else list(value)


def config_conditions(config: Dict[str, Any]) -> List[Dict[str, Any]]:
    """``{"method.name": "swamp", "seed": [0, 1]}`` as ``[{path, equals}, {path, in}]``."""
    if not isinstance(config, dict):
        raise TypeError("config= takes a dict of config path to value (or list of values)")
    conditions = []
    for path, value in config.items():
        if isinstance(value, dict) and set(value) <= {"equals", "in"} and len(value) == 1:
            conditions.append({"path": path, **value})
        elif isinstance(value, (list, tuple)):
            conditions.append({"path": path, "in": list(value)})
        else:
            conditions.append({"path": path, "equals": value})
    return conditions


def experiment_filter(filters: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The GraphQL ExperimentFilter for keyword filters (None when there are none)."""
    unknown = sorted(set(filters) - set(KEYWORDS))
    if unknown:
        raise TypeError(f"unknown filter {', '.join(unknown)}; filters are {', '.join(KEYWORDS)}")
    result: Dict[str, Any] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key in _LISTS:
            result[_LISTS[key]] = [str(v) for v in _as_list(value)]
        elif key == "statuses":
            result["statuses"] = [str(s).upper() for s in _as_list(value)]
        elif key == "config":
            result["config"] = config_conditions(value)
        else:
            result[_SCALARS[key]] = value
    return result or None
