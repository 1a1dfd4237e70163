"""Worklist reasons and lanes as an officer reads them in Vietnamese."""

from __future__ import annotations

import interdict.web.i18n  # noqa: F401  (installs the catalogues)
from interdict.core.i18n import Message
from interdict.targeting.words import LANE_NAMES, reason_message


def vi(value: object) -> str:
    assert isinstance(value, Message), value
    return value.in_lang("vi")


def test_stored_worklist_reasons_and_lanes_read_in_vietnamese() -> None:
    assert vi(reason_message("profile 'BMK from CN' matched: lane red")) == "khớp hồ sơ rủi ro 'BMK from CN': luồng Đỏ"
    assert vi(reason_message("profile 'BMK from CN' matched")) == "khớp hồ sơ rủi ro 'BMK from CN'"
    assert vi(reason_message("selected at random (inspection floor)")) == "chọn ngẫu nhiên (tỷ lệ kiểm tra tối thiểu)"
    assert vi(reason_message("consignee HOÀNG PHÁT ~ incident VNC-HP-2026-0001 (0.97)")).endswith(
        "~ vụ việc VNC-HP-2026-0001 (0.97)"
    )
    assert [vi(LANE_NAMES[k]) for k in ("red", "yellow", "green")] == ["Đỏ", "Vàng", "Xanh"]
    assert reason_message("model: importer X: first record") == "model: importer X: first record"
