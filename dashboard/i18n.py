"""Every piece of text on the wall screen, in Chinese and English, and locale-aware numbers.

One table (:data:`TEXT`) holds every label: a key maps to ``(zh, en)``. :func:`t` looks a key
up and fills ``str.format`` fields; a missing key is a ``KeyError`` naming the key (tests check
that every key used by the app exists in both languages).

Numbers follow the reader's conventions (docs/research/wallscreen.md §4 item 13): Chinese counts
large quantities in 万 (10^4), so 53,700 t CO2e reads ``5.37万 吨CO₂e``; English uses thousands
separators and kilo-/mega-tonnes (``53.7 kt CO₂e``). Numbers are rounded to significant figures,
never shown with more digits than the data carry (§4 item 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "LANGS",
    "TEXT",
    "Formatted",
    "fmt_count",
    "fmt_energy",
    "fmt_number",
    "fmt_percent",
    "fmt_tonnes",
    "name_of",
    "t",
]

LANGS = ("zh", "en")
"""Languages of the screen; the first is the default."""

TEXT: dict[str, tuple[str, str]] = {
    # header
    "title": ("{site} · 碳排放监测大屏", "{site} · Carbon Wall"),
    "snapshot": ("快照 {id}", "snapshot {id}"),
    "data_through": ("数据截至 {date}", "data through {date}"),
    "age_days": ("{days} 天前", "{days} days old"),
    "fresh": ("数据新鲜", "fresh"),
    "ageing": ("数据偏旧", "ageing"),
    "stale": ("数据过期", "stale"),
    "synthetic": ("合成演示数据", "SYNTHETIC demo data"),
    "lang_button": ("EN", "中文"),
    "carousel_on": ("轮播中 · 视图 {i}/{n} · {s} 秒后切换",
                    "carousel · view {i}/{n} · next in {s} s"),
    "carousel_off": ("轮播已暂停", "carousel paused"),
    "carousel_play": ("▶ 轮播", "▶ Carousel"),
    "carousel_pause": ("❚❚ 暂停", "❚❚ Pause"),
    "fullscreen": ("全屏", "Full screen"),
    "started": ("大屏启动于 {time}", "screen started {time}"),
    "waiting": ("等待发布的账本快照……", "Waiting for a published ledger snapshot…"),
    "unavailable": ("数据暂不可用", "Data temporarily unavailable"),
    "panel_failed": ("此面板暂时无法显示，其余面板不受影响。",
                     "This panel cannot be shown just now; the other panels are unaffected."),
    "still_showing": ("新快照 {new} 未通过校验，继续显示 {old}", "new snapshot {new} failed its "
                      "checks; still showing {old}"),
    # KPI tiles
    "kpi_emissions": ("{year}年排放(BASIC)", "Emissions {year} (BASIC)"),
    "kpi_emissions_incomplete": ("{year}年排放(BASIC,不完整)",
                                 "Emissions {year} (BASIC, incomplete)"),
    "kpi_vs_last": ("较{year}年同期 {change}", "vs {year} same months {change}"),
    "kpi_no_last": ("快照中无上一年数据", "no previous year in this snapshot"),
    "kpi_partial_year": ("{months} 个月", "{months} months"),
    "kpi_per_capita": ("人均排放", "Per capita"),
    "kpi_residents": ("常住人口 {n}{est}", "{n} residents{est}"),
    "kpi_no_residents": ("孪生体无人口数据", "no residents in the twin"),
    "kpi_avoided": ("干预减排(估算/核证)", "Avoided (est. / verified)"),
    "kpi_removals": ("绿化碳汇", "Removals by greening"),
    "kpi_pv": ("光伏发电量", "PV generation"),
    "kpi_target": ("目标进度", "Progress to target"),
    "kpi_completeness": ("数据完整性", "Data completeness"),
    "kpi_range": ("区间 {low}–{high}", "range {low}–{high}"),
    "kpi_realisation": ("核证/估算 {rate}", "realisation {rate}"),
    "kpi_meters": ("{n} 块表计", "{n} meters"),
    "kpi_estimated_share": ("估算读数 {share}", "estimated readings {share}"),
    "kpi_target_text": ("{base}年基准 减{reduction} → {year}年", "{reduction} below {base} by "
                        "{year}"),
    "kpi_target_base_missing": ("基准年 {base} 不在快照中", "base year {base} not in the "
                                "snapshot"),
    "no_target": ("未设定目标", "no target set"),
    "kpi_target_assumed": ("目标为演示假设,非官方目标", "assumed for the demo, not an official "
                           "target"),
    "no_interventions": ("本快照暂无减排措施结果", "No intervention results in this snapshot yet"),
    "no_removals": ("本快照暂无碳汇记录", "No removals recorded yet"),
    "no_pv": ("本快照暂无光伏数据", "No PV recorded yet"),
    "no_data": ("无数据", "no data"),
    # units
    "u_t": ("吨CO₂e", "t CO₂e"),
    "u_wan_t": ("万吨CO₂e", "kt CO₂e"),
    "u_t_per_cap": ("吨CO₂e/人", "t CO₂e / resident"),
    "u_kg_m2": ("千克CO₂e/平方米", "kg CO₂e / m²"),
    "u_kwh": ("千瓦时", "kWh"),
    "u_wan_kwh": ("万千瓦时", "MWh"),
    "u_cny_per_t": ("元/吨CO₂e", "CNY / t CO₂e"),
    # panels
    "p_map": ("碳排放地图", "Emissions map"),
    "p_trend": ("月度排放趋势", "Monthly emissions"),
    "p_ranking": ("排放排行", "Ranking"),
    "p_interventions": ("减排措施", "Interventions"),
    "p_quality": ("数据质量", "Data quality"),
    "p_suggest": ("建议措施与预警", "Suggested measures and alerts"),
    "p_provenance": ("数据来源", "Where this number comes from"),
    "close": ("关闭", "Close"),
    "m_emissions": ("排放量", "Emissions"),
    "m_intensity": ("强度", "Intensity"),
    "v_location": ("基于位置", "Location-based"),
    "v_market": ("基于市场", "Market-based"),
    "b_sector": ("按领域", "By sector"),
    "b_scope": ("按范围", "By scope"),
    "rank_note": ("小区、楼宇与沿街商铺 · {year}年 · 单位 {unit}",
                  "compounds, buildings and frontages · {year} · in {unit}"),
    "hatched_estimated": ("斜线 = 含估算读数", "hatched = includes estimated readings"),
    "no_geometry": ("该节点无地图几何", "no map geometry for this node"),
    "no_floor_area": ("无建筑面积", "no floor area"),
    "map_hint": ("点击区域下钻", "click an area to drill down"),
    "scope_n": ("范围{n}", "Scope {n}"),
    "sector_I": ("I 固定源能源", "I Stationary energy"),
    "sector_II": ("II 交通", "II Transport"),
    "sector_III": ("III 废弃物", "III Waste"),
    "sector_IV": ("IV 工业过程", "IV IPPU"),
    "sector_V": ("V 农林土地", "V AFOLU"),
    "sector_VI": ("VI 其他范围三", "VI Other scope 3"),
    "month": ("月份", "month"),
    "estimated": ("估算", "estimated"),
    "verified": ("核证", "verified"),
    "realisation": ("实现率", "realisation"),
    "macc": ("边际减排成本曲线", "Marginal abatement cost curve"),
    "cumulative_t": ("累计减排 吨CO₂e/年", "cumulative abatement t CO₂e / yr"),
    # data quality
    "dq_meters_gaps": ("缺数表计", "Meters with gaps"),
    "dq_none_gaps": ("所有表计数据完整", "no meter has gaps"),
    "dq_missing": ("缺 {n} 个时段", "{n} intervals missing"),
    "dq_rejects": ("拒收数据行", "Rejected rows"),
    "dq_none_rejects": ("无拒收数据", "no rejected rows"),
    "dq_rows": ("{n} 行", "{n} rows"),
    "dq_notation": ("注释键", "Notation keys"),
    "dq_warnings": ("账本警告", "Ledger warnings"),
    "dq_block_table": ("(所属街区 {name} 的GPC表)", "(GPC table of block {name})"),
    "dq_completeness_fig": ("表计数据完整率(按月)", "Meter completeness by month"),
    "reason_duplicate_row": ("重复行", "duplicate row"),
    "reason_conflicting_duplicate": ("冲突重复", "conflicting duplicate"),
    "reason_spike": ("异常尖峰", "spike"),
    "nk_NO": ("NO 不存在", "NO not occurring"),
    "nk_NE": ("NE 未估算", "NE not estimated"),
    "nk_IE": ("IE 计入别处", "IE included elsewhere"),
    "nk_C": ("C 保密", "C confidential"),
    "cw_factor.carried_forward": ("排放因子沿用", "factor carried forward"),
    # suggestions and alerts
    "sg_measures": ("建议措施(每元减排量最高,尚未实施)", "Suggested (most t per yuan, not yet "
                    "in place)"),
    "sg_none": ("暂无可建议的措施(需减排措施模型或情景结果)", "No measures to suggest yet "
                "(needs intervention models or scenarios)"),
    "sg_line": ("{t}/年 · {cost}", "{t}/yr · {cost}"),
    "al_alerts": ("表计预警", "Meter alerts"),
    "al_none": ("无预警", "no alerts"),
    "al_stopped": ("{meter} 自 {month} 起未上报", "{meter} silent since {month}"),
    "al_gap": ("{meter} {month} 数据完整率 {share}", "{meter} {month} completeness {share}"),
    "al_high": ("{node} {activity} {month} 高于自身基线 {change}", "{node} {activity} {month} "
                "{change} above its own baseline"),
    "al_low": ("{node} {activity} {month} 低于自身基线 {change}", "{node} {activity} {month} "
               "{change} below its own baseline"),
    "act_electricity.grid": ("用电", "electricity"),
    "act_natural_gas.combustion": ("燃气", "gas"),
    "act_water.supply": ("用水", "water"),
    # provenance
    "pv_for": ("{what} · {node}", "{what} · {node}"),
    "pv_factors": ("排放因子", "Emission factors"),
    "pv_meters": ("表计", "Meters"),
    "pv_entries": ("账本条目 {n} 条 · 快照 {id}", "{n} ledger entries · snapshot {id}"),
    "pv_share": ("占比", "share"),
    "pv_value": ("因子值", "value"),
    "pv_confidence": ("可信度", "confidence"),
    "pv_source": ("来源", "source"),
    "pv_no_factors": ("此数字无排放因子", "no emission factor behind this number"),
    "pv_no_meters": ("无表计映射", "no meter mapping in this snapshot"),
    "pv_more_meters": ("……另有 {n} 块", "…and {n} more"),
    "pv_inputs": ("输入文件", "Input files"),
    "pv_attribute": ("孪生体属性 {name}: {value}{est}", "twin attribute {name}: {value}{est}"),
    "pv_estimated_mark": ("(估计值)", " (estimate)"),
    "pv_interventions": ("减排措施记录", "Intervention records"),
    "pv_coverage": ("{present} / {expected} 个时段有数据", "{present} of {expected} intervals "
                    "present"),
}
"""Every label of the screen: key -> (Chinese, English)."""

_LANG_INDEX = {"zh": 0, "en": 1}


def t(key: str, lang: str = "zh", **fields: object) -> str:
    """The label ``key`` in ``lang``, with ``str.format`` fields filled.

    Parameters
    ----------
    key : a key of :data:`TEXT`.
    lang : ``"zh"`` or ``"en"``; anything else falls back to Chinese.
    **fields : values for the label's ``{fields}``.

    Raises
    ------
    KeyError
        When ``key`` is not in the table.
    """
    try:
        text = TEXT[key][_LANG_INDEX.get(lang, 0)]
    except KeyError:
        raise KeyError(
            f"No wall-screen text {key!r}; add it to carbon.dashboard.i18n.TEXT"
        ) from None
    return text.format(**fields) if fields else text


def name_of(row: object, lang: str) -> str:
    """A node's (or intervention's) name in ``lang`` from a mapping with ``name_zh``/``name_en``."""
    get = row.get if hasattr(row, "get") else (lambda k, d=None: getattr(row, k, d))
    zh, en = get("name_zh", None), get("name_en", None)
    first, second = (en, zh) if lang == "en" else (zh, en)
    for name in (first, second):
        if isinstance(name, str) and name:
            return name
    return str(get("id", get("node_id", "?")))


@dataclass(frozen=True)
class Formatted:
    """A number ready for a tile: the digits and the unit, shown apart.

    Attributes
    ----------
    value : the digits, e.g. ``"5.37"``.
    unit : the unit label, e.g. ``"万吨CO₂e"``.
    """

    value: str
    unit: str

    def __str__(self) -> str:
        return f"{self.value} {self.unit}".strip()


def _round_sig(x: float, sig: int) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, sig - 1 - math.floor(math.log10(abs(x))))


def fmt_number(x: float | None, lang: str = "zh", sig: int = 3) -> str:
    """A number rounded to ``sig`` significant figures, with thousands separators.

    Integers up to ``sig`` digits keep no decimals; ``None``/NaN give the 'no data' label.
    Both languages group thousands with commas (GB/T 15835-2011 allows it for tables).
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return t("no_data", lang)
    r = _round_sig(float(x), sig)
    if r == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(r)))
    decimals = max(0, sig - 1 - magnitude)
    return f"{r:,.{decimals}f}"


def fmt_count(n: float | None, lang: str = "zh") -> str:
    """A count (residents, meters) in full, with thousands separators."""
    if n is None or (isinstance(n, float) and not math.isfinite(n)):
        return t("no_data", lang)
    return f"{round(n):,}"


def fmt_tonnes(x_t: float | None, lang: str = "zh", sig: int = 3) -> Formatted:
    """Tonnes of CO2e in the reader's units: 万吨 in Chinese from 10^4 t, kt in English from
    10^3 t.

    Parameters
    ----------
    x_t : amount [t CO2e].
    lang : ``"zh"`` or ``"en"``.
    sig : significant figures.
    """
    if x_t is None or (isinstance(x_t, float) and not math.isfinite(x_t)):
        return Formatted(t("no_data", lang), "")
    if lang == "zh" and abs(x_t) >= 1e4:
        return Formatted(fmt_number(x_t / 1e4, lang, sig), t("u_wan_t", lang))
    if lang == "en" and abs(x_t) >= 1e3:
        return Formatted(fmt_number(x_t / 1e3, lang, sig), t("u_wan_t", lang))
    return Formatted(fmt_number(x_t, lang, sig), t("u_t", lang))


def fmt_energy(x_kwh: float | None, lang: str = "zh", sig: int = 3) -> Formatted:
    """Electricity in the reader's units: 万千瓦时 in Chinese from 10^4 kWh, MWh in English from
    10^3 kWh.

    Parameters
    ----------
    x_kwh : energy [kWh].
    """
    if x_kwh is None or (isinstance(x_kwh, float) and not math.isfinite(x_kwh)):
        return Formatted(t("no_data", lang), "")
    if lang == "zh" and abs(x_kwh) >= 1e4:
        return Formatted(fmt_number(x_kwh / 1e4, lang, sig), t("u_wan_kwh", lang))
    if lang == "en" and abs(x_kwh) >= 1e3:
        return Formatted(fmt_number(x_kwh / 1e3, lang, sig), t("u_wan_kwh", lang))
    return Formatted(fmt_number(x_kwh, lang, sig), t("u_kwh", lang))


def fmt_percent(share: float | None, lang: str = "zh", digits: int = 1, signed: bool = False
                ) -> str:
    """A share [dimensionless, 0..1] as a percentage; ``signed`` adds + for increases."""
    if share is None or (isinstance(share, float) and not math.isfinite(share)):
        return t("no_data", lang)
    sign = "+" if signed and share > 0 else ""
    return f"{sign}{share * 100:.{digits}f}%"
