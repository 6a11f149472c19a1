"""Personal data: phone masking and the scan for unmasked phone numbers."""
from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# mainland mobiles, also written +86 138 1234 5678 / 138-1234-5678 / 138.1234.5678 or in full-width digits;
# never the fraction digits of a number
PHONE = re.compile(r"(?<![\d.])(?:[+＋]?[8８][6６][\s-]?)?([1１][3-9３-９]\d)([\s\-－]{0,3}|\.(?=\d{4}\.))\d{4}"
                   r"(?:\2|[\s\-－]{0,3})(\d{4})(?!\d)")
# the same number with a space between every digit (1 3 9 1 2 3 4 5 6 7 8), a way buyers slip it past platform filters
SPACED_PHONE = re.compile(r"(?<![\d.])([1１])[ \t　]([3-9３-９])[ \t　](\d)(?:[ \t　]\d){4}[ \t　](\d)[ \t　](\d)[ \t　](\d)"
                          r"[ \t　](\d)(?![ \t　]?\d)")
PHONE_COLUMNS = re.compile(r"phone|mobile|tel|手机|电话", re.I)
# columns of carriers' numbers (tables.py: shipments.tracking_no), masked only where a whole cell is a phone number
# (typed into the wrong column): 圆通's YT8613812345678 reads as +86 138… inside a longer text, and must stay whole
NEVER_MASKED = ("tracking_no",)


def mask_phone(text: str) -> str:
    """Mask every mainland mobile number in `text` as 138****1234 (idempotent)."""
    return SPACED_PHONE.sub(r"\1\2\3****\4\5\6\7", PHONE.sub(r"\1****\3", text))


def find_phones(text: str) -> list[str]:
    """Unmasked mobile numbers in `text`."""
    return [m.group(0) for pattern in (PHONE, SPACED_PHONE) for m in pattern.finditer(text)]


def _mask_value(v):
    if isinstance(v, str):
        return mask_phone(v)
    return v


def mask_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Mask phone numbers in every text column, and in phone-named columns whatever their type (in a column of
    tracking numbers, `NEVER_MASKED`, only a cell that is a phone number as a whole)."""
    out = df.copy()
    for col in out.columns:
        if col in NEVER_MASKED:
            out[col] = out[col].map(lambda v: mask_phone(v) if isinstance(v, str) and PHONE.fullmatch(v.strip()) else v)
            continue
        if PHONE_COLUMNS.search(str(col)) and not pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: mask_phone(f"{v:.0f}" if isinstance(v, float) else str(v)),
                                    na_action="ignore")
        elif isinstance(out[col].dtype, pd.StringDtype):
            out[col] = mask_phones(out[col])
        elif pd.api.types.is_string_dtype(out[col]) or out[col].dtype == object:
            out[col] = out[col].map(_mask_value)
    return out


# Python's \s spelled out, for patterns that must mean the same in Arrow's RE2 (whose \s is ASCII only)
SPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
# in every ASCII text PHONE or SPACED_PHONE matches
_MAYBE_PHONE = (f"1[3-9][0-9](?:[{SPACE}-]{{0,3}}|[.])[0-9]{{4}}(?:[{SPACE}-]{{0,3}}|[.])[0-9]{{4}}"
                f"|1[ \t][3-9](?:[ \t][0-9]){{9}}")


def mask_phones(values: pd.Series) -> pd.Series:
    """`mask_phone` on every text cell (missing stays missing), vectorised: a cell that is just a mobile number is
    masked in Arrow, other cells that may hold one go through `mask_phone` once per distinct value."""
    text = pa.array(values.astype("str"), pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.chunk(0) if text.num_chunks == 1 else text.combine_chunks()
    maybe = pc.or_(pc.match_substring_regex(text, _MAYBE_PHONE), pc.invert(pc.string_is_ascii(text)))
    maybe = pc.fill_null(maybe, False)
    if not pc.any(maybe).as_py():  # no number, or all masked already
        return pd.Series(pd.array(text, dtype="str"), index=values.index)
    bare = pc.fill_null(pc.match_substring_regex(text, "^1[3-9][0-9]{9}$"), False)
    masked = text
    if pc.any(bare).as_py():
        stars, empty = pa.scalar("****", text.type), pa.scalar("", text.type)
        joined = pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, 3), stars,
                                             pc.utf8_slice_codeunits(text, 7), empty)
        masked = pc.if_else(bare, joined, text)
    rest = pc.and_not(maybe, bare)
    if pc.any(rest).as_py():
        encoded = pc.dictionary_encode(pc.filter(text, rest))
        others = pa.array([mask_phone(v) for v in encoded.dictionary.to_pylist()], text.type)
        masked = pc.replace_with_mask(masked, rest, pc.take(others, encoded.indices))
    return pd.Series(pd.array(masked, dtype="str"), index=values.index)
