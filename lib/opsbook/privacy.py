"""Personal data: phone masking and the scan for unmasked phone numbers."""
from __future__ import annotations

import re

import pandas as pd

PHONE = re.compile(r"(?<![\d.])(1[3-9]\d)\d{4}(\d{4})(?!\d)")  # not the fraction digits of a number


def mask_phone(text: str) -> str:
    """Mask every mainland mobile number in `text` as 138****1234 (idempotent)."""
    return PHONE.sub(r"\1****\2", text)


def find_phones(text: str) -> list[str]:
    """Unmasked mobile numbers in `text`."""
    return [m.group(0) for m in PHONE.finditer(text)]


def mask_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Mask phone numbers in every text column of a frame."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_string_dtype(out[col]) or out[col].dtype == object:
            out[col] = out[col].map(lambda v: mask_phone(v) if isinstance(v, str) else v)
    return out
