"""Test data shared by several test modules."""

MID_FACTORS = """series = "test-mid-month"
[source]
publisher = "Test"
title = "A factor that changes on 15 January"
year = 2024

[[factor]]
id = "t.before"
activity = "electricity.grid"
region = "CN-SH"
valid_from = 2024-01-01
valid_to = 2024-01-15
gases = { CO2 = "0.5123 kgCO2/kWh" }
confidence = "high"

[[factor]]
id = "t.after"
activity = "electricity.grid"
region = "CN-SH"
valid_from = 2024-01-15
gases = { CO2 = "0.4321 kgCO2/kWh" }
confidence = "high"
"""
MID_PROFILE = """name = "test-mid-month"
title_zh = "测试"
title_en = "Test"
description = "A mid-month factor change"
gwp = "AR5"

[[include]]
file = "mid-month.toml"

[[include]]
file = "cn-fuel-defaults.toml"

[[include]]
file = "water.toml"
"""
