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
    "is_placeholder",
    "name_of",
    "plural",
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
    "realisation_of": ("为同期估算 {basis} 的 {rate}", "{rate} of the {basis} estimated for "
                       "the same months"),
    "not_verified": ("尚未核证", "not yet verified"),
    "more_measures": ("另有 {n} 项较小的措施未列出", "{n} smaller measures not listed"),
    "more_measures_one": ("另有 {n} 项较小的措施未列出", "{n} smaller measure not listed"),
    "unit_note": ("单位 {unit}", "in {unit}"),
    "range_whisker": ("细线为区间", "whisker: range"),
    "realisation_rate": ("实现率 {rate}", "realisation {rate}"),
    "macc": ("边际减排成本曲线", "Marginal abatement cost curve"),
    "u_t_per_yr": ("吨CO₂e/年", "t CO₂e / yr"),
    "macc_axes": ("宽 吨CO₂e/年 · 高 元/吨CO₂e(对数)", "w: t CO₂e/yr · h: CNY/t (log)"),
    "no_costed_measures": ("暂无带成本的措施", "No measures with a cost yet"),
    # data quality
    "dq_meters_gaps": ("缺数表计", "Meters with gaps"),
    "dq_none_gaps": ("所有表计数据完整", "no meter has gaps"),
    "dq_missing": ("缺 {n} 个时段", "{n} intervals missing"),
    "dq_rejects": ("拒收数据行", "Rejected rows"),
    "dq_none_rejects": ("无拒收数据", "no rejected rows"),
    "dq_rows": ("{n} 行", "{n} rows"),
    "dq_rows_one": ("{n} 行", "{n} row"),
    "dq_more": ("另有 {n} 项", "and {n} more"),
    "dq_more_one": ("另有 {n} 项", "and {n} more"),
    "dq_missing_fig": ("表计数据缺失率(按月)", "Meter readings missing, by month"),
    "dq_limit": ("{limit} 限值", "{limit} limit"),
    "dq_missing_share": ("缺失", "missing"),
    "dq_all_complete": ("{first}–{last} 共 {n} 个月,表计数据全部完整",
                        "All {n} months complete, {first} – {last}"),
    "dq_notation": ("注释键", "Notation keys"),
    "dq_warnings": ("账本警告", "Ledger warnings"),
    "dq_none_warnings": ("无账本警告", "no ledger warnings"),
    "dq_block_table": ("(所属街区 {name} 的GPC表)", "(GPC table of block {name})"),
    "reason_duplicate_row": ("重复行", "duplicate row"),
    "reason_conflicting_duplicate": ("冲突重复", "conflicting duplicate"),
    "reason_spike": ("异常尖峰", "spike"),
    "nk_NO": ("NO 不存在", "NO not occurring"),
    "nk_NE": ("NE 未估算", "NE not estimated"),
    "nk_IE": ("IE 计入别处", "IE included elsewhere"),
    "nk_C": ("C 保密", "C confidential"),
    "nk_rows": ("{n} 项", "{n} rows"),
    "nk_rows_one": ("{n} 项", "{n} row"),
    # ledger warnings: a short label (cw_) and, for the Chinese view, what it means (cwd_);
    # the English view shows the ledger's own message
    "cw_unknown": ("账本警告 {code}", "ledger warning {code}"),
    "cwd_unknown": ("详情见审计报告(carbon audit)", "see the audit report (carbon audit)"),
    "cw_factor.carried_forward": ("排放因子沿用", "factor carried forward"),
    "cwd_factor.carried_forward": ("所用排放因子已过有效期,沿用最近一版计算本期排放",
                                   "a factor past its validity is carried forward"),
    "cw_factor.proxy": ("排放因子替代", "proxy factor"),
    "cwd_factor.proxy": ("本地区无适用因子,采用上级地区的因子", "a wider region's factor is used"),
    "cw_factor.net_credit": ("负排放因子(含抵扣)", "negative factor (net credit)"),
    "cwd_factor.net_credit": ("废弃物全链条因子为负值,已净扣能源回收抵扣,会减少排放合计",
                              "a whole-chain waste factor nets an energy-recovery credit"),
    "cw_gec.no_factor": ("绿证无适用因子", "certificates without a factor"),
    "cwd_gec.no_factor": ("部分时段无有效的绿证因子,绿证不能抵扣(基于市场口径)",
                          "green certificates cannot be claimed in part of the period"),
    "cw_gec.unused": ("绿证超出用电量", "certificates exceed use"),
    "cwd_gec.unused": ("部分绿证超出对应的用电量,超出部分不计", "the excess is not claimed"),
    "cw_instruments.double_count": ("绿证可能重复计入", "certificates may count twice"),
    "cwd_instruments.double_count": ("绿证同时来自导入文件与登记册,基于市场的结果可能重复抵扣",
                                     "certificates come from files and the register"),
    "cw_coverage.low": ("表计覆盖率偏低", "low meter coverage"),
    "cwd_coverage.low": ("部分表计月份的数据覆盖率低于阈值", "meter-months below the threshold"),
    "cw_biogenic.no_factor": ("生物源CO₂未估算", "biogenic CO₂ not estimated"),
    "cwd_biogenic.no_factor": ("无生物源CO₂因子,该项记为未估算(NE)",
                               "no biogenic CO₂ factor: not estimated (NE)"),
    "cw_wastewater.no_factor": ("污水排放未估算", "wastewater not estimated"),
    "cwd_wastewater.no_factor": ("无污水因子,GPC III.4 记为未估算", "no wastewater factor"),
    "cw_node.no_floor_area": ("缺建筑面积", "no floor area"),
    "cw_meter.no_synthetic_size": ("表计无法合成", "meter cannot be synthesised"),
    "cw_mv.billing.combined": ("账单周期合并", "billing periods combined"),
    "cw_mv.billing.long_period": ("账单周期过长", "long billing period"),
    "cw_mv.g14.cvrmse_exceeded": ("基线模型误差超限", "baseline CV(RMSE) above Guideline 14"),
    "cw_mv.g14.fsu_exceeded": ("节能量不确定度超限", "savings uncertainty above Guideline 14"),
    "cw_mv.model.balance_point_at_edge": ("平衡点温度在搜索边界", "balance point at the edge"),
    "cw_mv.model.day_type_pattern": ("残差有工作日模式", "day-type pattern in residuals"),
    "cw_mv.model.intercept_only": ("仅截距模型", "intercept-only model"),
    "cw_mv.model.low_r2": ("模型拟合度低", "low R²"),
    "cw_mv.reporting.missing": ("报告期数据缺失", "reporting data missing"),
    "cw_mv.reporting.overlaps_baseline": ("报告期与基线期重叠", "reporting overlaps baseline"),
    "cw_mv.sufficiency.too_many_missing": ("基线数据缺失过多", "baseline has too many gaps"),
    "cw_mv.sufficiency.too_short": ("基线期过短", "baseline too short"),
    "cw_mv.temperature.missing": ("气温数据缺失", "temperature data missing"),
    "cw_mv.temperature.utc_day_boundary": ("气温按UTC分日", "temperature days in UTC"),
    "cw_mv.usage.extreme": ("用量异常", "extreme usage"),
    "cw_mv.usage.negative": ("出现负用量", "negative usage"),
    "cw_pv.clearsky_clipped": ("光伏辐照按晴空截断", "PV clipped to clear sky"),
    "cw_pv.fao_default_coefficients": ("光伏采用默认系数", "PV default coefficients"),
    "cw_pv.model_estimate": ("光伏为模型估算", "PV modelled, not metered"),
    "cw_scenario.base_partial_year": ("情景基准年不完整", "scenario base year partial"),
    "cw_scenario.macc_no_cost": ("措施缺成本", "measure without a cost"),
    "cw_scenario.negative_emissions": ("情景出现负排放", "negative scenario emissions"),
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
    "pv_factor_id": ("因子编号", "factor"),
    "pv_shown": ("共 {n} 条", "{n} in all"),
    "pv_rest": ("显示其余 {n} 条(第 {first}–{last} 条)", "show the other {n} ({first}–{last})"),
    "pv_record_line": ("估算 {est} · 核证 {ver}", "estimated {est} · verified {ver}"),
    "pv_record_removal": ("碳汇 {t}", "removals {t}"),
    "conf_high": ("高", "high"),
    "conf_medium": ("中", "medium"),
    "conf_low": ("低", "low"),
    "conf_very_low": ("很低", "very low"),
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
    # one truth per number (carbon.summary): avoided, realisation, why there is nothing
    "av_none_in_snapshot": ("本快照暂无减排措施结果", "No intervention results in this snapshot"),
    "av_none_at_node": ("此处及下级无减排措施", "No interventions here or below"),
    "av_planned_only": ("此处措施均在规划中,尚未实施", "Measures here are planned, not yet in "
                        "place"),
    "av_none_in_year": ("此处措施在{year}年无记录", "No entries for these measures in {year}"),
    "av_year": ("{year}年", "{year}"),
    "av_whole_period": ("快照全期", "whole snapshot period"),
    "av_realisation": ("实现率 {rate}", "realisation {rate}"),
    "av_rate_over": ("实现率 {rate}(对比同期估算 {est})", "realisation {rate} (against the "
                     "estimate of the same months, {est})"),
    "av_exceeds": ("核证高于估算", "verified above estimate"),
    "av_not_verified": ("尚未核证", "not verified yet"),
    "av_only_removals": ("此处只有碳汇措施", "only removals here"),
    "av_only_removals_panel": ("此处只有绿化碳汇 {t},见碳汇指标", "Only removals by greening "
                               "here ({t}); see the removals tile"),
    "av_planned": ("另有 {n} 项规划中措施", "{n} more measures planned"),
    "no_removals_here": ("此处无碳汇记录", "No removals here"),
    "no_pv_here": ("此处无光伏", "No PV here"),
    "kpi_uncertainty": ("±{pct}%", "±{pct}%"),
    "kpi_no_estimated": ("无估算读数", "no estimated readings"),
    "kpi_target_vs_base": ("较{base}年同期", "vs {base}"),
    "kpi_target_root_only": ("目标针对街道整体", "the target is for the whole community"),
    # scope-2 detail of the emissions tile
    "s2_title": ("排放总量与范围二口径", "Totals and scope-2 views"),
    "s2_uncertainty": (" ±{pct}%(IPCC方法1,95%区间)", " ±{pct}% (IPCC Approach 1, 95 % "
                       "interval)"),
    "s2_basic_incomplete": ("BASIC(不完整)", "BASIC (incomplete)"),
    "s2_views": ("范围二:基于位置 {location}(主口径)· 基于市场 {market}",
                 "Scope 2: location-based {location} (headline) · market-based {market}"),
    "s2_root_only": ("上海89号口径与电网因子敏感性只针对街道整体给出",
                     "The Shanghai 89号 view and the grid-factor sensitivity are given for the "
                     "whole community only"),
    "s2_shanghai": ("上海89号口径:{t}(绿电零排放 {kwh};{rule})",
                    "Shanghai 89号 view: {t} ({kwh} green power zero-rated; {rule})"),
    "s2_sensitivity": ("电网电量 {kwh}:× {f1} = {t1};× {f2} = {t2}({change})",
                       "Grid electricity {kwh}: × {f1} = {t1}; × {f2} = {t2} ({change})"),
    # status banners
    "demo_fixed": ("演示数据(合成)· 固定历史时段 {start} 至 {end} · 非实时",
                   "Demo (synthetic data) · fixed historical period {start} to {end} · not live"),
    "banner_stale": ("数据已过期,请检查数据接入", "Data are stale: check the data feed"),
    "banner_stale_detail": ("最新数据截至 {date}({days} 天前)",
                            "latest data through {date} ({days} days ago)"),
    "banner_latest": ("快照目录的 LATEST 无法使用,继续显示 {old}",
                      "The snapshots folder's LATEST is unusable; still showing {old}"),
    "banner_no_snapshot": ("没有可显示的账本快照", "No ledger snapshot can be shown"),
    # the Today view (carbon.dashboard.today)
    "today_btn": ("今日", "Today"),
    "month_btn": ("月度", "Monthly"),
    "td_emissions": ("今日排放 · 截至 {time}", "Emissions today · up to {time}"),
    "td_energy": ("今日用电 · 截至 {time}", "Electricity today · up to {time}"),
    "td_usual": ("常态 {value}(区间 {low}–{high})", "usual {value} (range {low}–{high})"),
    "td_of_usual": ("为常态的 {pct}", "{pct} of usual"),
    "td_no_usual": ("无历史同期可比", "no usual day to compare with"),
    "td_meters": ("{reporting}/{meters} 块电表今日有读数",
                  "{reporting}/{meters} meters read today"),
    "td_basis": ("常态 = 前 {n} 个{weekday}同一时刻的平均", "usual = mean of the last {n} "
                 "{weekday}s to the same time"),
    "td_newest": ("最新读数", "Newest reading"),
    "td_day": ("{day} {weekday}", "{weekday} {day}"),
    "td_age_min": ("{n} 分钟前", "{n} min ago"),
    "td_age_h": ("{n} 小时前", "{n} h ago"),
    "td_age_d": ("{n} 天前", "{n} days ago"),
    "td_no_reading": ("今日尚无读数", "no reading yet"),
    "td_as_of": ("截至 {time}", "as of {time}"),
    "td_silent_tile": ("静默电表", "Silent meters"),
    "td_silent_rule": ("超过 {n} 个读数间隔(不短于 {minutes} 分钟)无读数",
                       "no reading for over {n} of its intervals (at least {minutes} min)"),
    "td_silent_title": ("静默电表告警 · {n}", "Silent meter alerts · {n}"),
    "td_silent_none": ("所有电表均按时上报", "Every meter is reporting"),
    "td_silent_row": ("{node} · 最后读数 {time} · 已缺 {n} 个时段",
                      "{node} · last reading {time} · {n} intervals missed"),
    "td_silent_more": ("另有 {n} 块电表静默", "{n} more silent meters"),
    "td_blocks_title": ("各街区今日累计排放 vs 常态", "So far today vs usual, by block"),
    "td_curve_title": ("{node} · 今日累计排放 vs 常态", "{node} · emissions so far vs usual"),
    "td_today": ("今日", "today"),
    "td_usual_line": ("常态均值", "usual (mean)"),
    "td_band": ("常态区间(最低–最高)", "usual range (min–max)"),
    "td_u_kg": ("千克CO₂e", "kg CO₂e"),
    "td_no_live": ("未连接实时采集", "No live collector"),
    "td_no_live_detail": ("尚无今日数据。carbon collect 发布今日数据(today.json)后,此处自动显示。",
                          "No figures for today yet. They appear here once carbon collect "
                          "publishes them (today.json)."),
    "td_bad_file": ("今日数据文件无法读取", "The today file cannot be read"),
    "td_historical": ("历史数据 · {day} · 非实时", "historical data · {day} · not live"),
    "td_synthetic": ("合成数据", "SYNTHETIC data"),
    "td_stale": ("实时数据中断!最新读数 {time}({age})", "LIVE DATA STOPPED: newest reading "
                 "{time} ({age})"),
    "td_live": ("实时 · 更新于 {time}", "live · updated {time}"),
    "td_wd0": ("周一", "Monday"),
    "td_wd1": ("周二", "Tuesday"),
    "td_wd2": ("周三", "Wednesday"),
    "td_wd3": ("周四", "Thursday"),
    "td_wd4": ("周五", "Friday"),
    "td_wd5": ("周六", "Saturday"),
    "td_wd6": ("周日", "Sunday"),
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


def plural(key: str, n: float, lang: str = "zh", **fields: object) -> str:
    """The label ``key`` for a count ``n``: ``key_one`` when ``n`` is 1 and that key exists
    (English "1 row", "2 rows"; Chinese has one form), with ``n`` formatted as a count."""
    one = f"{key}_one"
    chosen = one if n == 1 and one in TEXT else key
    return t(chosen, lang, n=fmt_count(n, lang), **fields)


PLACEHOLDER_MARKS = ("(名称未知)", "（名称未知）", "未具名", "name unknown", "unnamed")
"""How the twin marks a name it does not know (sites/shimen_erlu/nodes.toml)."""


def is_placeholder(row: object, lang: str = "zh") -> bool:
    """True when a node's shown name is a stand-in (``名称未知``, ``未具名…``, ``Unnamed …``):
    the wall shows it muted, as what it is (issue 15 item 4). A ``name_placeholder`` field,
    when the row has one, decides."""
    get = row.get if hasattr(row, "get") else (lambda k, d=None: getattr(row, k, d))
    flag = get("name_placeholder", None)
    if isinstance(flag, bool):
        return flag
    name = name_of(row, lang).lower()
    return any(mark.lower() in name for mark in PLACEHOLDER_MARKS)


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
