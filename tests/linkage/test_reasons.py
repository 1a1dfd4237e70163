"""Why two entities may be the same, as an analyst reads it in Vietnamese: no codes of the linkage tables."""

from __future__ import annotations

import interdict.web.i18n  # noqa: F401  (installs the catalogues)
from interdict.core.i18n import Message
from interdict.linkage.reasons import reason_message
from interdict.linkage.service import LinkReason


def vi(value: object) -> str:
    assert isinstance(value, Message), value
    return value.in_lang("vi")


def test_stored_reasons_read_in_vietnamese_without_codes() -> None:
    assert vi(reason_message("same business: import_export")) == "cùng ngành nghề: xuất nhập khẩu"
    assert (
        vi(reason_message("legal forms differ: one_member_llc / jsc"))
        == "khác loại hình doanh nghiệp: Công ty TNHH một thành viên / Công ty cổ phần"
    )
    assert vi(reason_message("same place: haiphong, hanoi")) == "cùng địa danh: Hải Phòng, Hà Nội"
    assert vi(reason_message("same name tokens in another order")) == "trùng các thành phần tên nhưng khác thứ tự"
    english = str(reason_message("same legal form: one_member_llc"))
    assert "one_member_llc" not in english and english == "same legal form: one-member limited liability company"
    # A reason of an unknown shape is shown as stored.
    assert reason_message("something new") == "something new"


def test_a_linked_incidents_reason_names_the_role_in_the_readers_language() -> None:
    r = LinkReason("company", "consignee", "HOANG PHAT", "HOÀNG PHÁT", 0.97, "shipper")
    assert str(r.text()) == "same consignee 0.97: 'HOANG PHAT' ~ 'HOÀNG PHÁT'"
    assert vi(r.text()) == "cùng người nhận hàng 0.97: 'HOANG PHAT' ~ 'HOÀNG PHÁT'"


def test_the_reasons_of_international_names_read_in_vietnamese() -> None:
    """The scorer's reasons for names outside the Vietnamese and Chinese rules are shown in the reader's language."""
    from interdict.linkage.score import score_pair

    nickname = score_pair("William Henry Gates", "Bill Gates", "Person")
    shown = [reason_message(r) for r in nickname.reasons]
    assert any(isinstance(r, Message) and vi(r).startswith("tên gọi thân mật: william ~ bill") for r in shown), shown
    assert vi(reason_message("a man's and a woman's name: maria / mario")) == "một tên nam và một tên nữ: maria / mario"
    assert vi(reason_message("acronym: UNODC = united nations office on drugs and crime")).startswith(
        "tên viết tắt: UNODC"
    )
    assert (
        vi(reason_message("Korean romanisations compared alike")) == "các cách La-tinh hóa tiếng Hàn được coi như nhau"
    )
    assert vi(reason_message("similar spelling: jon ~ john (0.91)")) == "cách viết gần giống: jon ~ john (0.91)"
    # the English text stays what the scorer wrote
    assert str(reason_message("name parts on one side only: henry")) == "name parts on one side only: henry"
