"""Strict JSON for what runs record: numpy and pandas values unwrapped, NaN as null, Chinese kept readable."""
from __future__ import annotations

import json
import math

import pandas as pd


def json_safe(value):
    """Plain JSON values: numpy scalars unwrapped, NaN/NA/inf as null, dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def json_dumps(value, indent: int | None = None) -> str:
    """Strict JSON (no NaN) of `value`, Chinese kept readable."""
    return json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False, indent=indent, default=str)
