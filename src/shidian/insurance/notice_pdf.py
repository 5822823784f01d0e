"""The printable village notice (补偿公示, PDF), for the 公示栏 of 004 篇6 三(五)2.

Drawn with reportlab's canvas and its built-in CID font ``STSong-Light`` (no font file, works
offline); A4 landscape, a header with the village and the totals on every page, one line per
row, page numbers. ``invariant`` mode keeps the bytes equal for equal inputs (no clock, no
random document id).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from shidian.display import yuan
from shidian.insurance.policy import InsurancePolicy

FONT = "STSong-Light"
SIZE = 8
LINE = 13
MARGIN = 36

#: (column, header, x position of the left or right edge, alignment, at most this many characters)
COLUMNS: tuple[tuple[str, str, float, str, int], ...] = (
    ("masked_name", "姓名", 36, "left", 6),
    ("masked_id_number", "身份证号", 80, "left", 18),
    ("institution_name", "就诊医疗机构", 175, "left", 14),
    ("item", "补偿类别", 300, "left", 17),
    ("visits", "次数", 472, "right", 4),
    ("start_date", "开始日期", 480, "left", 10),
    ("end_date", "结束日期", 530, "left", 10),
    ("total_cost", "医疗总费用(元)", 650, "right", 14),
    ("reimbursable", "可补偿费用(元)", 730, "right", 14),
    ("reimbursement", "补偿金额(元)", 806, "right", 14),
)


def _font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return yuan(value)
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_notice_pdf(path: Path, *, summary: dict[str, Any], rows: pa.Table, policy: InsurancePolicy) -> None:
    """One village's notice as a printable PDF."""
    _font()
    width, height = landscape(A4)
    pdf = canvas.Canvas(str(path), pagesize=(width, height), invariant=1)
    village = summary["village_name"] or summary["village_code"]
    title = f"{village} ({summary['village_code']}) {policy.year}年新农合补偿公示"
    pdf.setTitle(title)
    pdf.setAuthor("Shidian")
    outpatient = (
        ""
        if policy.notice_list_outpatient
        else f"; 普通门诊统筹 {summary['outpatient_visits']} 人次 {summary['outpatient_amount']} 元按村汇总, 不逐笔公示"
    )
    totals = (
        f"参合 {summary['insured']} 人; 获补偿 {summary['persons_reimbursed']} 人, "
        f"合计 {summary['reimbursement']} 元{outpatient}。姓名与身份证号已作遮盖。"
    )
    data = [rows.column(name).to_pylist() for name, *_ in COLUMNS]
    per_page = int((height - 2 * MARGIN - 70) // LINE)
    pages = max(1, -(-rows.num_rows // per_page))
    for page in range(pages):
        y = height - MARGIN
        pdf.setFont(FONT, 14)
        pdf.drawString(MARGIN, y, title)
        pdf.setFont(FONT, SIZE + 1)
        y -= 18
        pdf.drawString(MARGIN, y, totals)
        y -= 22
        pdf.setFont(FONT, SIZE)
        for _, header, x, align, _limit in COLUMNS:
            (pdf.drawRightString if align == "right" else pdf.drawString)(x, y, header)
        pdf.line(MARGIN, y - 4, width - MARGIN, y - 4)
        y -= LINE + 2
        for i in range(page * per_page, min(rows.num_rows, (page + 1) * per_page)):
            for (_, _, x, align, limit), column in zip(COLUMNS, data, strict=True):
                text = _text(column[i], limit)
                if text:
                    (pdf.drawRightString if align == "right" else pdf.drawString)(x, y, text)
            y -= LINE
        if rows.num_rows == 0:
            pdf.drawString(MARGIN, y, "本期无逐笔公示的补偿。")
        pdf.drawString(
            MARGIN,
            MARGIN - 12,
            "依据: 004 篇6 三(五)2 合作医疗报销公示栏; 如有异议, 请向县新农合办公室反映。",
        )
        pdf.drawRightString(width - MARGIN, MARGIN - 12, f"第 {page + 1} 页 / 共 {pages} 页")
        pdf.showPage()
    pdf.save()
