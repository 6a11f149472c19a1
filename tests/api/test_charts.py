"""Charts render Chinese with a registered CJK font: no 'Glyph missing' warnings."""
import io
import warnings

import pandas as pd

from opsbook import charts


def test_chinese_renders_without_missing_glyphs():
    family = charts.setup()
    assert "CJK" in family or "Hei" in family or "PingFang" in family
    df = pd.DataFrame({"period": ["一月", "二月", "三月"], "gmv": [1.0e4, 2.5e4, 1.8e4], "low": [False, True, False]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in (charts.line(df, "period", {"gmv": "成交金额"}, "成交金额趋势", money=True),
                    charts.bar(df, "period", "gmv", "各月成交", hline=(2e4, "目标"), highlight="low"),
                    charts.funnel(["访客", "加购", "支付"], [1000, 100, 30], "转化漏斗")):
            fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "Glyph" in str(w.message)]


def test_reports_have_no_glyph_warnings(runs_root):
    from opsbook.engine import runner
    result = runner.run("kpi_report", {"period": "月", "history": 6})
    assert result.ok
    text = (result.folder / "executed.ipynb").read_text(encoding="utf-8")
    assert "Glyph" not in text and "missing from font" not in text
