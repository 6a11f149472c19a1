"""Personal data: phone masking and the scan for unmasked phone numbers."""
from __future__ import annotations

import re

import pandas as pd

# mainland mobiles, also written +86 138 1234 5678 / 138-1234-5678; never the fraction digits of a number
PHONE = re.compile(r"(?<![\d.])(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})(?!\d)")
PHONE_COLUMNS = re.compile(r"phone|mobile|tel|手机|电话", re.I)


def mask_phone(text: str) -> str:
    """Mask every mainland mobile number in `text` as 138****1234 (idempotent)."""
    return PHONE.sub(r"\1****\2", text)


def find_phones(text: str) -> list[str]:
    """Unmasked mobile numbers in `text`."""
    return [m.group(0) for m in PHONE.finditer(text)]


def _mask_value(v):
    if isinstance(v, str):
        return mask_phone(v)
    return v


def mask_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Mask phone numbers in every text column, and in phone-named columns whatever their type."""
    out = df.copy()
    for col in out.columns:
        if PHONE_COLUMNS.search(str(col)) and not pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: mask_phone(f"{v:.0f}" if isinstance(v, float) else str(v)),
                                    na_action="ignore")
        elif pd.api.types.is_string_dtype(out[col]) or out[col].dtype == object:
            out[col] = out[col].map(_mask_value)
    return out
