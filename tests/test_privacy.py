"""Phone masking."""
import pandas as pd

from opsbook import privacy


def test_mask_phone_is_idempotent_and_keeps_seven_digits_at_most():
    text = "联系 13812345678 或 +86 15900001111，订单 20250618123456789"
    masked = privacy.mask_phone(text)
    assert "138****5678" in masked and "159****1111" in masked
    assert privacy.mask_phone(masked) == masked
    assert privacy.find_phones(masked) == []
    assert "20250618123456789" in masked  # long ids are not phones


def test_mask_frame_masks_text_columns_only():
    df = pd.DataFrame({"phone": ["13812345678", None], "n": [13812345678, 1]})
    out = privacy.mask_frame(df)
    assert out["phone"].tolist()[0] == "138****5678"
    assert out["n"].tolist()[0] == 13812345678
