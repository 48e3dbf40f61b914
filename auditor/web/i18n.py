"""The workbench's words in Chinese and English.

The reports' gettext catalogs (``auditor/locale``, :mod:`auditor.report.i18n`) hold the words the
reports share — verdicts, rule titles — and the workbench takes those from them where they are
installed. The pages' own labels are this small table, keyed by the English text (a missing
Chinese entry shows the English; ``tests/web`` checks that every label the templates use has one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

__all__ = ["LANGS", "ZH", "Words", "pick_lang", "words"]

LANGS = ("zh-CN", "en")

ZH: dict[str, str] = {
    "Pilot-zone facility auditor": "试点区域设施审核",
    "Workbench": "工作台",
    "Upload": "上传",
    "History": "历史",
    "Language": "语言",
    "Upload a facility list": "上传设施清单",
    "A facility list (CSV, XLSX, GeoJSON, GeoPackage, Parquet), or an operator profile (YAML, TOML) with its list.":
        "设施清单（CSV、XLSX、GeoJSON、GeoPackage、Parquet），或经营者档案（YAML、TOML）及其清单。",
    "Facility list or operator profile": "设施清单或经营者档案",
    "The profile's facility list (only with a profile)": "档案所附设施清单（仅上传档案时）",
    "Waivers (YAML, optional)": "豁免文件（YAML，可选）",
    "Drop files here or choose them": "将文件拖到此处，或选择文件",
    "Region": "试点区域",
    "(the profile's region)": "（档案中的区域）",
    "As of": "审核日期",
    "Coordinate system of rows that state none": "未注明坐标系的行所用坐标系",
    "(not stated)": "（未注明）",
    "Read the file": "读取文件",
    "Files up to": "文件上限",
    "Uploaded files stay in this session's temporary folder and are removed when the workbench stops.":
        "上传的文件仅保存在本会话的临时文件夹中，工作台停止时删除。",
    "Review the reading": "核对读取结果",
    "File": "文件",
    "Profile": "档案",
    "Sheet": "工作表",
    "Header row": "表头行",
    "Rows": "行数",
    "Rows without errors": "无错误的行",
    "Notes": "说明",
    "Columns": "列",
    "Column": "列",
    "Header": "表头",
    "Read as": "读取为",
    "(unused)": "（未使用）",
    "Filled": "有值",
    "Usable": "可用",
    "Sample values": "示例值",
    "Unused columns (kept in the facility tables)": "未使用的列（保留在设施表中）",
    "Rows that cannot be read": "无法读取的行",
    "Row": "行",
    "Reason": "原因",
    "Warnings": "警告",
    "Warning": "警告",
    "The table as read": "读取到的表格",
    "Re-read with these columns": "按此列映射重新读取",
    "Cannot audit": "无法审核",
    "Audit": "开始审核",
    "Auditing": "审核中",
    "Cancel": "取消",
    "Step": "步骤",
    "Rows judged": "已判定行数",
    "queued": "排队中",
    "running": "运行中",
    "done": "完成",
    "failed": "失败",
    "cancelled": "已取消",
    "The audit was cancelled.": "审核已取消。",
    "The audit failed.": "审核失败。",
    "Start again": "重新开始",
    "Results": "结果",
    "Overall verdict": "总体结论",
    "Facilities": "设施",
    "Map": "地图",
    "Verdict": "结论",
    "Rule": "规则",
    "Kind": "类型",
    "Any": "全部",
    "Filter": "筛选",
    "Name": "名称",
    "Decided on": "判定依据",
    "Distance to the line (m)": "距边界（米）",
    "Rules not passed": "未通过的规则",
    "Findings": "审核发现",
    "Status": "状态",
    "Clause": "条款",
    "Message": "说明",
    "Evidence": "证据",
    "What would settle it": "如何确定",
    "Waiver": "豁免",
    "Waivers": "豁免",
    "Waived findings": "已豁免的发现",
    "Owner": "负责人",
    "Expires": "到期",
    "Reference": "依据",
    "No finding is waived.": "没有被豁免的发现。",
    "Operator findings": "经营者层面的发现",
    "Downloads": "下载",
    "Evidence bundle": "证据包",
    "Record in the history database": "记录到历史数据库",
    "Recorded as run": "已记录为第",
    "Click a facility on the map or in the table to see its findings.": "点击地图或表格中的设施查看审核发现。",
    "Back to the results": "返回结果",
    "Region parts": "区域组成部分",
    "Discovered nodes": "发现的节点",
    "No history database: start the workbench with --db URL.": "没有历史数据库：请用 --db URL 启动工作台。",
    "Portfolio": "经营者总览",
    "Operator": "经营者",
    "Programme": "试点方案",
    "Runs": "审核记录",
    "Latest run": "最近一次",
    "Recorded": "记录时间",
    "Change since the previous run": "与上一次相比的变化",
    "first run": "首次审核",
    "no change": "无变化",
    "Failing rules": "不通过的规则",
    "No audit is recorded yet.": "尚未记录任何审核。",
    "Page not found.": "页面不存在。",
    "Something is wrong with the request.": "请求有误。",
    "The upload is larger than the limit.": "上传文件超过大小上限。",
    "(none)": "（无）",
    "read facility list": "读取设施清单",
    "gather evidence": "收集证据",
    "test containment": "判定位置",
    "apply rules": "适用规则",
    "write reports": "生成报告",
    "(operator)": "（经营者）",
    "pass": "通过",
    "fail": "不通过",
    "indeterminate": "待定",
    "error": "错误",
    "waived": "豁免",
    "not_applicable": "不适用",
}


class Words:
    """The words of one language: ``t("Upload")``, ``status("fail")``, ``rule("facility_in_region")``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._table: Mapping[str, str] = ZH if lang == "zh-CN" else {}
        self._report = _report_translator(lang)

    def __call__(self, text: str) -> str:
        return self._table.get(text, text)

    def status(self, value: str) -> str:
        if self._report is not None:
            return str(self._report.status(value))
        return self(value)

    def basis(self, keys: list[str] | tuple[str, ...]) -> str:
        """The evidence a location was decided on, as the reports label it ("declared coordinates + address")."""
        if self._report is not None:
            return str(self._report.basis(keys))
        return " + ".join(keys)

    def rule(self, rule_id: str) -> str:
        if self._report is not None:
            return str(self._report.rule_title(rule_id))
        return rule_id


def _report_translator(lang: str) -> Any:
    """The reports' translator when the gettext catalogs are installed, else None (the table above serves)."""
    try:
        from auditor.report.i18n import translator
    except ImportError:  # an auditor without the reports' catalogs
        return None
    try:
        return translator(lang)
    except Exception:  # a catalog that cannot be read must not take the pages down
        return None


@cache
def words(lang: str) -> Words:
    return Words(lang if lang in LANGS else "en")


def pick_lang(cookie: str | None, accept: str | None, query: str | None = None) -> str:
    """The page language: the ``lang`` query, else the cookie, else the first of Accept-Language that is zh or en, else en.

    >>> pick_lang(None, "zh-CN,zh;q=0.9,en;q=0.8"), pick_lang("en", "zh-CN"), pick_lang(None, "de-DE,en;q=0.5")
    ('zh-CN', 'en', 'en')
    """
    for value in (query, cookie):
        if value in LANGS:
            return value
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag == "zh" or tag.startswith("zh-"):
            return "zh-CN"
        if tag == "en" or tag.startswith("en-"):
            return "en"
    return "en"


Translate = Callable[[str], str]
