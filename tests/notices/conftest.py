"""Helpers for the warning notice tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

TITLE = "Cảnh báo thủ đoạn khai sai anhydrit axetic qua cảng Cát Lái"
BODY = (
    "Qua công tác thu thập thông tin, Cục Điều tra chống buôn lậu phát hiện các đối tượng lợi dụng việc nhập khẩu "
    "hóa chất để buôn lậu tiền chất ma túy.\n\n"
    "Đề nghị các đơn vị tăng cường kiểm tra, giám sát các lô hàng có dấu hiệu rủi ro dưới đây."
)


def notice_body(**overrides: Any) -> dict[str, Any]:
    today = date.today()
    body: dict[str, Any] = {
        "notice_date": today.isoformat(),
        "place": "Hà Nội",
        "title": TITLE,
        "body": BODY,
        "risk_indicators": [
            {"kind": "hs_code", "value": "2915.24"},
            {"kind": "company", "value": "CÔNG TY TNHH XNK HOÀNG PHÁT"},
            {"kind": "method", "value": "Khai báo là axit axetic"},
        ],
        "recipients": ["VNC-HP", "VNC-HCM"],
        "report_deadline": (today + timedelta(days=10)).isoformat(),
    }
    body.update(overrides)
    return body
