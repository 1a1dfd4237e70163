"""A warning notice as a Vietnamese administrative document (DOCX, python-docx).

The layout follows the usual form of Vietnamese administrative documents: the issuing body top left (the
agency above it, then the unit in bold, then the number), the national motto top right with the place and date
line below it, the title centred, the body, and at the end "Nơi nhận:" (the recipients) on the left and the
signature block on the right. The document language is Vietnamese whatever the reader's UI language. Times
New Roman 13 pt on A4, margins 20/20/30/15 mm. The TLP marking is in the page header and footer; TLP:RED
notices are never exported. The document holds what the reader may read, and nothing else: linked incidents
and entities are those the reader may see (the same read shape as the page and the API). Every text goes through
``xml_safe``: a control character stored before input refused them is left out instead of failing the export.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, datetime
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt, RGBColor
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from sqlalchemy.orm import Session

from interdict.accounts.models import Organisation
from interdict.accounts.subject import Subject
from interdict.core.errors import Forbidden
from interdict.core.fields import xml_safe
from interdict.core.i18n import N_
from interdict.core.text import fold
from interdict.notices import service as svc
from interdict.notices.schemas import NoticeRead
from interdict.sharing.service import TLP_EXPORT_FORBIDDEN

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
KIND_LABELS_VI = {
    "hs_code": "Mã HS",
    "company": "Doanh nghiệp",
    "route": "Tuyến đường",
    "container": "Container",
    "vessel": "Tàu, phương tiện",
    "method": "Phương thức, thủ đoạn",
    "other": "Khác",
}
TLP_COLOURS = {
    "CLEAR": RGBColor(0x40, 0x40, 0x40),
    "GREEN": RGBColor(0x33, 0x99, 0x33),
    "AMBER": RGBColor(0xCC, 0x80, 0x00),
    "AMBER+STRICT": RGBColor(0xCC, 0x80, 0x00),
    "RED": RGBColor(0xCC, 0x00, 0x33),
}
TLP_VI = {
    "CLEAR": "không hạn chế phổ biến",
    "GREEN": "chỉ phổ biến trong cộng đồng phòng, chống ma túy",
    "AMBER": "chỉ phổ biến cho người cần biết trong đơn vị nhận và đơn vị phát hành",
    "AMBER+STRICT": "chỉ phổ biến trong đơn vị nhận",
}


def vn_date(d: date) -> str:
    """'ngày 14 tháng 3 năm 2026'; days below 10 and the months 1 and 2 take a leading zero, as Vietnamese
    administrative documents write them ('ngày 05 tháng 02 năm 2026')."""
    day = f"{d.day:02d}" if d.day < 10 else str(d.day)
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"ngày {day} tháng {month} năm {d.year}"


def _para(
    container: Any,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float | None = None,
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent_first: bool = False,
    space_after: float = 0,
) -> Paragraph:
    p: Paragraph = container.add_paragraph()
    if text:
        run = p.add_run(xml_safe(text))
        run.bold, run.italic, run.underline = bold, italic, underline
        if size:
            run.font.size = Pt(size)
    if align is not None:
        p.alignment = align
    fmt = p.paragraph_format
    fmt.space_after = Pt(space_after)
    fmt.space_before = Pt(0)
    if indent_first:
        fmt.first_line_indent = Mm(10)
    return p


def _cell_first(
    cell: _Cell,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    size: float | None = None,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
) -> Paragraph:
    """Write into the cell's first (empty) paragraph instead of adding one after it."""
    p: Paragraph = cell.paragraphs[0]
    run = p.add_run(xml_safe(text))
    run.bold, run.italic = bold, italic
    if size:
        run.font.size = Pt(size)
    p.alignment = align
    return p


def _tlp_marking(doc: Any, tlp: str) -> None:
    section = doc.sections[0]
    for part, align in ((section.header, WD_ALIGN_PARAGRAPH.RIGHT), (section.footer, WD_ALIGN_PARAGRAPH.CENTER)):
        p = part.paragraphs[0]
        run = p.add_run(f"TLP:{tlp}")
        run.bold = True
        run.font.size = Pt(11)
        run.font.color.rgb = TLP_COLOURS.get(tlp, RGBColor(0, 0, 0))
        meaning = TLP_VI.get(tlp)
        if meaning and part is section.footer:
            note = p.add_run(f" — {meaning}")
            note.font.size = Pt(10)
        p.alignment = align


def paragraphs(body: str) -> list[str]:
    """The body's paragraphs: separated by blank lines (single line breaks inside a paragraph are kept apart
    too, as typed)."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", body.replace("\r\n", "\n")):
        out.extend(line.strip() for line in block.split("\n") if line.strip())
    return out


def build_docx(read: NoticeRead, *, issuer: Organisation, parent: Organisation | None, approver: str | None) -> bytes:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(13)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    _tlp_marking(doc, read.tlp)

    # The header block: issuing body and number | national motto, place and date.
    head = doc.add_table(rows=1, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = head.rows[0].cells
    left.width, right.width = Mm(70), Mm(95)
    if parent is not None:
        _cell_first(left, svc.org_label(parent).upper(), size=12)
        _para(left, svc.org_label(issuer).upper(), bold=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER)
    else:
        _cell_first(left, svc.org_label(issuer).upper(), bold=True, size=12)
    _para(left, f"Số: {read.number}", size=13, align=WD_ALIGN_PARAGRAPH.CENTER)
    _cell_first(right, MOTTO[0], bold=True, size=12)
    _para(right, MOTTO[1], bold=True, underline=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER)
    place = read.place or "......"
    _para(right, f"{place}, {vn_date(read.notice_date)}", italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)

    if read.status not in ("issued", "closed"):
        _para(doc, "DỰ THẢO", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "")
    _para(doc, "CẢNH BÁO", bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, read.title, bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=12)

    for text in paragraphs(read.body):
        _para(doc, text, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent_first=True, space_after=6)

    if read.risk_indicators:
        _para(doc, "Các dấu hiệu rủi ro:", bold=True, space_after=4)
        table = doc.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ("STT", "Loại", "Nội dung"), strict=True):
            _cell_first(cell, text, bold=True, size=12)
        for n, ind in enumerate(read.risk_indicators, 1):
            cells = table.add_row().cells
            _cell_first(cells[0], str(n), size=12)
            _cell_first(cells[1], KIND_LABELS_VI[ind.kind], size=12, align=WD_ALIGN_PARAGRAPH.LEFT)
            _cell_first(cells[2], ind.value, size=12, align=WD_ALIGN_PARAGRAPH.LEFT)
        for row in table.rows:
            row.cells[0].width, row.cells[1].width, row.cells[2].width = Mm(15), Mm(45), Mm(105)
        _para(doc, "")

    if read.incidents:
        _para(doc, "Các vụ việc liên quan:", bold=True, space_after=2)
        for inc in read.incidents:
            _para(doc, f"- Vụ việc {inc.reference} ({vn_date(inc.incident_date)});", indent_first=True)
    if read.entities:
        _para(doc, "Đối tượng liên quan:", bold=True, space_after=2)
        for ent in read.entities:
            _para(doc, f"- {ent.name};", indent_first=True)
    if read.attachments:
        _para(doc, "Tài liệu kèm theo:", bold=True, space_after=2)
        for att in read.attachments:
            _para(doc, f"- {att.filename};", indent_first=True)
    if read.report_deadline is not None:
        _para(
            doc,
            f"Thời hạn báo cáo kết quả kiểm tra: chậm nhất {vn_date(read.report_deadline)}. "
            f"Đề nghị các đơn vị nhận văn bản này kiểm tra và báo cáo kết quả về "
            f"{svc.org_label(issuer)}.",
            align=WD_ALIGN_PARAGRAPH.JUSTIFY,
            indent_first=True,
            space_after=12,
        )

    # Recipients | signature.
    foot = doc.add_table(rows=1, cols=2)
    left, right = foot.rows[0].cells
    left.width, right.width = Mm(85), Mm(80)
    _cell_first(left, "Nơi nhận:", bold=True, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.LEFT)
    for name in read.recipient_names:
        _para(left, f"- {name};", size=11)
    _para(left, f"- Lưu: {issuer.code}.", size=11)
    _cell_first(right, "NGƯỜI PHÊ DUYỆT", bold=True, size=13)
    for _ in range(3):
        _para(right, "")
    _para(
        right,
        approver or "(chưa phê duyệt)",
        bold=approver is not None,
        italic=approver is None,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def filename_for(number: str) -> str:
    """An ASCII file name from the notice's number ('12/CBL-ĐTCBL' -> 'canh-bao-12-CBL-DTCBL.docx')."""
    safe = re.sub(r"[^A-Za-z0-9]+", "-", fold(number).upper()).strip("-") or "notice"
    return f"canh-bao-{safe}.docx"


def export_docx(session: Session, subject: Subject, notice_id: uuid.UUID | str, *, now: datetime) -> tuple[bytes, str]:
    """The notice as the subject may read it, as a DOCX document; (bytes, file name). Audited. TLP:RED refused."""
    notice = svc.get_notice(session, subject, notice_id)
    if notice.tlp in TLP_EXPORT_FORBIDDEN:
        raise Forbidden(
            N_(
                "warning notice %(number)s is TLP:RED: it is never exported; read it in Interdict instead",
                number=notice.number,
            )
        )
    read = svc.to_read(session, subject, notice, now=now)
    issuer = session.get(Organisation, notice.owner_org_id)
    assert issuer is not None
    parent = session.get(Organisation, issuer.parent_id) if issuer.parent_id else None
    content = build_docx(
        read, issuer=issuer, parent=parent, approver=read.approved_by.full_name if read.approved_by else None
    )
    svc.record_export(session, subject, notice, f"DOCX, {len(read.incidents)} linked incident(s) shown")
    return content, filename_for(notice.number)
