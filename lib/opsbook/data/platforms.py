"""The marketplaces opsbook knows, by code: cheap to import (no pandas), for the tables, intake and the shop registry."""
from __future__ import annotations

PLATFORMS = {"TB": "淘宝", "TM": "天猫", "JD": "京东", "DY": "抖音", "PDD": "拼多多"}
