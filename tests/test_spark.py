"""Tests of carbon.engines: the same ledger SQL on DuckDB and on Spark ``local[2]``; with them
the engine settings of ledger scripts (carbon.pipeline) and the synthetic city
(carbon.synth.generate_city) that the engines are benchmarked on.

One Spark session (one JVM) serves the module. The engines must agree exactly: the same
entries (DECIMAL amounts to the gram, the same ids), the same snapshot, whichever ran the
build. Hand values (shanghai-2022) as in test_ledger.py: electricity 0.42 kgCO2/kWh
location-based; market-based 0.6096 kgCO2/kWh carried forward into 2024.

Tests that need Spark are skipped, with the reason, only when pyspark, sqlglot or Java is
missing (``make test`` installs them: the ``spark`` extra and Debian's
openjdk-17-jre-headless); the others run anyway.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from helpers import MID_FACTORS, MID_PROFILE

from carbon.engines import (
    DuckDBEngine,
    EngineError,
    SparkEngine,
    export_inputs,
    spark_session,
    to_spark_sql,
)
from carbon.factors import FactorSet, load_factor_set
from carbon.ledger import Ledger, build_ledger
from carbon.store import Store
from carbon.twin import Twin, load_twin

pytestmark = pytest.mark.slow


def spark_missing() -> str | None:
    """Why Spark cannot run here, or None."""
    for module in ("pyspark", "sqlglot"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed: pip install 'carbon-twin[spark]'"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java: apt-get install -y openjdk-17-jre-headless (make test does)"
    return None


NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
JAN, FEB, MAR = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)


@pytest.fixture(scope="module")
def spark() -> Any:
    """The module's Spark session (one JVM), or a skip saying what is missing."""
    reason = spark_missing()
    if reason:
        pytest.skip(reason)
    return spark_session("local[2]")


@pytest.fixture(scope="module")
def twin() -> Twin:
    return load_twin("shimen_erlu")


@pytest.fixture(scope="module")
def shanghai() -> FactorSet:
    return load_factor_set("shanghai-2022")


def open_store(folder: Path, twin: Twin, files: dict[str, str]) -> Store:
    """A fresh store in ``folder`` with ``files`` (name -> text) written and ingested."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / "store.duckdb")
    store.sync_twin(twin)
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        assert store.ingest(path, now=NOW).rejected == 0
    return store


def both(store: Store, twin: Twin, factors: FactorSet, start: Any, end: Any) -> list[Ledger]:
    """The ledger built on DuckDB and on Spark; asserts their entries are identical."""
    duck = build_ledger(store, twin, factors, start, end)
    spark = build_ledger(store, twin, factors, start, end, engine="spark")
    pd.testing.assert_frame_equal(spark.entries, duck.entries)  # values, dtypes, order
    as_text = [e.astype(str).values.tolist() for e in (duck.entries, spark.entries)]
    assert as_text[0] == as_text[1]  # Decimal scale too: '75.225' is not '75.2250'
    pd.testing.assert_frame_equal(spark.coverage, duck.coverage)
    assert [w.code for w in spark.warnings] == [w.code for w in duck.warnings]
    assert (duck.engine["name"], spark.engine["name"]) == ("duckdb", "spark")
    return [duck, spark]


# --- the engine-specific SQL -------------------------------------------------------------------


def test_transpiled_sql_uses_spark_functions() -> None:
    pytest.importorskip("sqlglot", reason="sqlglot is not installed (extra 'spark')")
    sql = to_spark_sql(
        "SELECT utc_to_local(r.ts_start, 'Asia/Shanghai') AS a, "
        "local_to_utc(CAST(DATE '2024-01-01' AS TIMESTAMP), 'Asia/Shanghai') AS b, "
        "sha256(concat_ws('|', x, y)) AS c, list_sort(list(batch_id)) AS d, "
        "array_to_string(e, ',') AS f FROM r GROUP BY ALL"
    )
    assert "FROM_UTC_TIMESTAMP(r.ts_start, 'Asia/Shanghai')" in sql
    assert "TO_UTC_TIMESTAMP(CAST(CAST('2024-01-01' AS DATE) AS TIMESTAMP_NTZ)" in sql
    assert "SHA2(CONCAT_WS('|', x, y), 256)" in sql
    assert "ARRAY_SORT(COLLECT_LIST(batch_id))" in sql
    assert "ARRAY_JOIN(e, ',')" in sql
    with pytest.raises(EngineError, match=r"ASOF JOIN has no Spark equivalent.*range join"):
        to_spark_sql("SELECT * FROM r ASOF JOIN f ON r.meter = f.meter AND r.ts >= f.valid_from")


PROBE = """
SELECT CAST(utc_to_local(ts, 'Asia/Shanghai') AS DATE) AS local_day,
       CAST(date_trunc('month', utc_to_local(ts, 'Asia/Shanghai')) AS DATE) AS local_month,
       ts >= local_to_utc(CAST(DATE '2024-02-01' AS TIMESTAMP), 'Asia/Shanghai') AS in_february,
       CAST(d AS VARCHAR) AS day_text,
       CAST(d + INTERVAL 1 MONTH AS DATE) AS next_month,
       substr(sha256(concat_ws('|', 'emission', CAST(d AS VARCHAR), note)), 1, 20) AS key,
       CAST(round(CAST(amount AS DECIMAL(38, 6)) * factor, 3) AS DECIMAL(38, 3)) AS kg,
       CAST(least(1, n / m) AS DECIMAL(9, 6)) AS share
FROM probe ORDER BY ts"""


def test_engine_specific_functions_agree(spark: Any, tmp_path: Path) -> None:
    # Instants around local midnight (UTC+8), DATE text, ids, gram rounding and shares.
    probe = pa.table(
        {
            "ts": pa.array(
                [
                    dt.datetime(2024, 1, 31, 15, 59, 59, tzinfo=dt.UTC),  # 23:59:59 local
                    dt.datetime(2024, 1, 31, 16, 0, tzinfo=dt.UTC),  # 1 February, local
                    dt.datetime(2024, 2, 29, 16, 0, tzinfo=dt.UTC),  # 1 March, local
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "d": pa.array([JAN, dt.date(2024, 1, 31), dt.date(2024, 2, 29)], pa.date32()),
            "note": pa.array(["a", None, "c"], pa.string()),
            "amount": pa.array([Decimal(v) for v in ("25", "-25", "4.7825")], pa.decimal128(18, 6)),
            "factor": pa.array(
                [Decimal(v) for v in ("0.1913", "0.1913", "1")], pa.decimal128(18, 9)
            ),
            "n": pa.array([21, 720, 800], pa.int64()),
            "m": pa.array([2688, 744, 744], pa.int64()),
        }
    )
    with Store(tmp_path / "s.duckdb") as store:
        duck = DuckDBEngine(store.con)
        duck.load("probe", probe)
        expected = duck.arrow(PROBE).to_pylist()
        duck.close()
        empty = export_inputs(store, tmp_path / "in")
    engine = SparkEngine(spark, readings=str(empty["readings"]))
    engine.load("probe", probe)
    got = engine.arrow(PROBE).to_pylist()
    engine.close()
    assert got == expected
    assert [(r["local_day"], r["local_month"], r["in_february"]) for r in got] == [
        (dt.date(2024, 1, 31), JAN, False),
        (FEB, FEB, True),
        (MAR, MAR, True),
    ]
    assert [r["day_text"] for r in got] == ["2024-01-01", "2024-01-31", "2024-02-29"]
    # DATE + 1 month clamps to the month's end in both (the ledger adds it to firsts only).
    assert [r["next_month"] for r in got] == [FEB, dt.date(2024, 2, 29), dt.date(2024, 3, 29)]
    # 25 x 0.1913 = 4.7825 -> 4.783 and -4.783: ties half away from zero in both engines.
    assert [str(r["kg"]) for r in got] == ["4.783", "-4.783", "4.783"]
    # 21 / 2688 = 0.0078125 exactly: a tie at the sixth decimal, rounded up in both.
    assert [str(r["share"]) for r in got] == ["0.007813", "0.967742", "1.000000"]


# --- the demo ledger ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Iterator[dict[str, Any]]:
    """Two months of the Shimen Erlu demo (synthetic, with faults) run on both engines."""
    from carbon.demo import write_demo_config
    from carbon.pipeline import load_config, run
    from carbon.synth import generate

    folder = tmp_path_factory.mktemp("demo")
    synthetic = folder / "synthetic"
    twin = load_twin("shimen_erlu")
    files = generate(twin, synthetic, start="2024-01-01", end="2024-03-01", faults=True).files
    config = load_config(write_demo_config(folder, files, start="2024-01-01", end="2024-03-01"))
    # The engines, not the models: no M&V (two months have no year of baseline) and no
    # register estimates.
    config = config.model_copy(update={"verify": [], "interventions": None})
    # One script, one store: the Spark run finds every input ingested and runs the SQL only.
    runs = {}
    for engine in ("duckdb", "spark"):
        runs[engine] = run(config, folder / f"snapshots-{engine}", engine=engine)
        runs[engine].ledger.store.close()
    store = Store(config.resolve(config.ledger.store))
    for result in runs.values():
        result.ledger.store = store
    yield runs
    store.close()


def test_demo_ledger_is_identical_on_both_engines(demo: dict[str, Any]) -> None:
    duck, spark = demo["duckdb"], demo["spark"]
    e = duck.ledger.entries
    # The comparison covers every path of the SQL: metered and activity rows, market rows
    # with certificates, estimated (gap-filled) readings, incomplete meters.
    assert len(e) > 300
    derived = {"electricity.green_certificate", "waste.msw.incineration", "wastewater.treatment"}
    assert derived <= set(e.activity)
    assert e.notes.fillna("").str.contains("gec_covered").any()
    assert (e.estimated > 0).any() and (e.dq_activity != "H").any()
    assert e.co2_kg.isna().any()  # CO2e-only water factor
    pd.testing.assert_frame_equal(spark.ledger.entries, e)
    # The same snapshot: same id, and every output file byte for byte.
    assert spark.snapshot.id == duck.snapshot.id
    assert spark.snapshot.manifest["outputs"] == duck.snapshot.manifest["outputs"]
    for name in ("entries.parquet", "entries.csv", "coverage.parquet", "gpc_table.csv"):
        assert (spark.snapshot.path / name).read_bytes() == (duck.snapshot.path / name).read_bytes()
    # The manifest records the engine that ran the build (where it ran, not part of the id).
    assert duck.snapshot.manifest["environment"]["engine"]["name"] == "duckdb"
    engine = spark.snapshot.manifest["environment"]["engine"]
    assert (engine["name"], engine["master"], engine["inputs"]) == (
        "spark",
        "local[2]",
        "store export",
    )


def test_a_spark_snapshot_verifies_with_duckdb(demo: dict[str, Any]) -> None:
    from carbon.audit import verify

    result = verify(demo["spark"].snapshot.path)
    assert result.ok, result.problems


def test_spark_reads_parquet_given_directly(
    demo: dict[str, Any], spark: Any, tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    # A cluster run reads exports from shared storage; here a local folder stands in.
    store = demo["duckdb"].ledger.store
    files = export_inputs(store, tmp_path / "exports", start=JAN, end=MAR)
    again = export_inputs(store, tmp_path / "again", start=JAN, end=MAR)
    for rel in ("readings", "activities"):  # a fixed order: the same store, the same bytes
        assert files[rel].read_bytes() == again[rel].read_bytes()
    given: dict[str, Any] = {
        "readings": str(files["readings"]),
        "activities": str(files["activities"]),
        # the script's inputs are synthetic: their entries are graded so (carbon.valuation)
        "synthetic_batches": [
            i["batch_id"]
            for i in demo["duckdb"].snapshot.manifest["inputs"]
            if i["provenance"]["synthetic"]
        ],
    }
    on_spark = build_ledger(store, twin, shanghai, JAN, MAR, engine="spark", **given)
    on_duckdb = build_ledger(store, twin, shanghai, JAN, MAR, **given)
    # the pipeline adds the waste's energy-recovery credit (carbon.credits); the SQL does not
    piped = demo["duckdb"].ledger.entries
    piped = piped[piped.kind != "avoided"].reset_index(drop=True)
    pd.testing.assert_frame_equal(on_spark.entries, on_duckdb.entries)  # dtypes too
    # values as published (the concatenation with the credit left text columns as objects)
    pd.testing.assert_frame_equal(on_duckdb.entries, piped, check_dtype=False)
    inputs = on_spark.engine["inputs"]
    assert inputs["readings"][0]["path"] == given["readings"]
    assert len(inputs["readings"][0]["sha256"]) == 64


# --- hand-made cases ---------------------------------------------------------------------------


def test_factor_change_mid_month_on_both_engines(spark: Any, tmp_path: Path, twin: Twin) -> None:
    # The factor changes on 15 January: readings are aggregated per local day, not month.
    (tmp_path / "profiles").mkdir()
    (tmp_path / "mid-month.toml").write_text(MID_FACTORS, encoding="utf-8")
    (tmp_path / "profiles" / "mid.toml").write_text(MID_PROFILE, encoding="utf-8")
    factors = load_factor_set(tmp_path / "profiles" / "mid.toml")
    text = (
        "meter_id,timestamp,value\n"
        "E-KAIDIKE,2024-01-14 23:00,10\n"  # last local hour before the change: t.before
        "E-KAIDIKE,2024-01-15T00:00:00+08:00,20\n"  # first hour of t.after
        "E-KAIDIKE,2024-01-31T16:00:00+00:00,5\n"  # 1 February 00:00 local
    )
    with open_store(tmp_path / "s", twin, {"e.csv": text}) as store:
        duck, _ = both(store, twin, factors, JAN, MAR)
    got = sorted(
        (r.period_start, r.factor_id, r.amount, str(r.co2e_kg))
        for r in duck.select("location").itertuples()
    )
    assert got == [
        (JAN, "t.after", Decimal(20), "8.642"),  # 20 x 0.4321
        (JAN, "t.before", Decimal(10), "5.123"),  # 10 x 0.5123
        (FEB, "t.after", Decimal(5), "2.161"),  # 5 x 0.4321 = 2.1605 -> 2.161
    ]


def test_green_certificates_on_both_engines(
    spark: Any, tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    elec = (
        "meter_id,timestamp,value,unit\n"
        "E-KAIDIKE,2024-01-01 00:00,300.5,kWh\n"
        "E-KAIDIKE,2024-01-31T15:00:00+00:00,12.25,kWh\n"
        "E-KAIDIKE,2024-01-31T16:00:00+00:00,40,kWh\n"
    )
    gec = (
        "node_id,activity,period_start,period_end,amount,unit\n"
        "kaidike,electricity.green_certificate,2024-01-01,2024-02-01,0.1,MWh\n"
        "kaidike,electricity.green_certificate,2024-02-01,2024-03-01,1,MWh\n"
    )
    with open_store(tmp_path, twin, {"elec.csv": elec, "gec.csv": gec}) as store:
        _, ledger = both(store, twin, shanghai, JAN, MAR)
    market = ledger.select("market")
    got = sorted(
        (r.period_start, r.activity, str(r.amount), str(r.co2e_kg), r.notes)
        for r in market.itertuples()
    )
    assert got == [
        # 100 kWh certified at 0 kg; (312.75 - 100) kWh x 0.6096 = 129.6924 -> 129.692
        (JAN, "electricity.green_certificate", "100.000000", "0.000", "gec_covered"),
        (JAN, "electricity.grid", "212.750000", "129.692", "carried_forward,gec_covered"),
        # 1000 kWh of certificates cover the 40 kWh used and no more
        (FEB, "electricity.green_certificate", "40.000000", "0.000", "gec_covered"),
    ]
    assert [w.code for w in ledger.warnings if w.code == "gec.unused"] == ["gec.unused"]


# --- sessions and errors -----------------------------------------------------------------------


def test_one_session_per_process(spark: Any) -> None:
    assert spark_session("local[2]") is spark
    assert spark.conf.get("spark.sql.decimalOperations.allowPrecisionLoss") == "false"
    with pytest.raises(EngineError, match=r"already running.*'local\[1\]' in a fresh process"):
        spark_session("local[1]")


def test_engine_errors(tmp_path: Path, twin: Twin, shanghai: FactorSet) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        with pytest.raises(EngineError, match=r"unknown engine 'flink'; choose one of duckdb"):
            build_ledger(store, twin, shanghai, JAN, FEB, engine="flink")
        with pytest.raises(
            EngineError, match=r"executors cannot read this machine's store.*export_inputs"
        ) as info:
            build_ledger(store, twin, shanghai, JAN, FEB, engine="spark", master="yarn")
    assert isinstance(info.value, RuntimeError)
    # A ledger script refuses an unknown engine before it ingests anything.
    from carbon.pipeline import ConfigError, run

    script = tmp_path / "script" / "ledger.toml"
    script.parent.mkdir()
    script.write_text(
        '[ledger]\nstore = "s.duckdb"\nstart = 2024-01-01\nend = 2024-02-01\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"engine must be one of duckdb, spark, not 'flink'"):
        run(script, tmp_path / "snapshots", engine="flink")
    assert not (script.parent / "s.duckdb").exists()


# --- the synthetic city ------------------------------------------------------------------------


def test_parquet_exports_ingest_like_the_csv(tmp_path: Path, twin: Twin) -> None:
    # The same rows, faults included, whichever format the hourly export is written in.
    from carbon.synth import ELECTRICITY_PARQUET, generate

    readings, reasons = {}, {}
    for fmt in ("csv", "parquet"):
        result = generate(
            twin, tmp_path / fmt, start=JAN, end="2024-01-15", faults=True, electricity=fmt
        )
        with Store(":memory:") as store:
            store.sync_twin(twin)
            batch = store.ingest(result.files["electricity"], now=NOW)
            readings[fmt] = store.readings()[["meter_id", "ts_start", "amount", "quality"]]
            reasons[fmt] = batch.reasons
    assert result.files["electricity"].name == ELECTRICITY_PARQUET
    assert not (tmp_path / "parquet" / "synthetic_electricity_hourly.csv").exists()
    assert dict(reasons["csv"]) == dict(reasons["parquet"]) and reasons["csv"]
    pd.testing.assert_frame_equal(readings["parquet"], readings["csv"])


def test_a_city_of_copies_on_both_engines(spark: Any, tmp_path: Path, twin: Twin) -> None:
    from carbon.pipeline import load_config, run
    from carbon.synth import generate_city

    city = generate_city(2, tmp_path, start=JAN, end=FEB, electricity="parquet")
    # Copies: every id prefixed, regions and sizes kept, schematic geometry offset.
    copies = [load_twin(p) for p in city.twins]
    assert [c.name for c in copies] == ["shimen_erlu_c001", "shimen_erlu_c002"]
    second = copies[1]
    assert (len(second.nodes), len(second.meters)) == (len(twin.nodes), len(twin.meters))
    assert second.meters["C002-E-KAIDIKE"].node == "c002.kaidike"
    assert second.path("c002.kaidike") == "c002.shimen_erlu/c002.nanjing_west/c002.kaidike"
    assert second.region_of("c002.kaidike") == twin.region_of("kaidike") == "CN-SH"
    # Every node keeps its kind, depth, use type, region, meters and attributes (only the
    # root's names say "synthetic copy").
    ids = ["id", "parent", "path", "name_zh", "name_en"]
    pd.testing.assert_frame_equal(
        second.to_frame().drop(columns=ids), twin.to_frame().drop(columns=ids)
    )

    def corner(t: Twin, node_id: str) -> list[float]:
        assert t.geometry is not None
        (feature,) = [f for f in t.geometry["features"] if f["properties"]["id"] == node_id]
        return feature["geometry"]["coordinates"][0][0]

    (x0, y0), (x1, y1) = corner(twin, "shimen_erlu"), corner(second, "c002.shimen_erlu")
    # The next cell east: the base outline's extent (0.01602 deg lon) + 10 %, rounded up.
    assert (round(x1 - x0, 6), round(y1 - y0, 6)) == (0.018, 0.0)

    def box(t: Twin) -> tuple[float, float, float, float]:
        assert t.geometry is not None
        pts: list[list[float]] = []

        def walk(c: list) -> None:
            if isinstance(c[0], float | int):
                pts.append(c)
            else:
                for part in c:
                    walk(part)

        for f in t.geometry["features"]:
            walk(f["geometry"]["coordinates"])
        return (min(p[0] for p in pts), min(p[1] for p in pts),
                max(p[0] for p in pts), max(p[1] for p in pts))

    assert box(twin)[2] < box(second)[0]  # the copies' outlines do not overlap
    # The merged city: each copy's subdistrict is a block of one root.
    merged = load_twin(city.city)
    assert [n.id for n in merged.children("city")] == ["c001.shimen_erlu", "c002.shimen_erlu"]
    assert len(merged.meters) == 2 * len(twin.meters)
    assert merged.path("c001.kaidike") == "city/c001.shimen_erlu/c001.kaidike"
    assert merged.use_type_of("c001.fengxian.fengxian_estate") == "residential"
    # Its ledger script, on both engines: the same snapshot.
    config = load_config(city.config)
    results = {}
    for engine in ("duckdb", "spark"):  # one script, one store: Spark runs the SQL only
        results[engine] = run(config, tmp_path / f"snapshots-{engine}", engine=engine)
        results[engine].ledger.store.close()
    duck, spark_run = results["duckdb"], results["spark"]
    pd.testing.assert_frame_equal(spark_run.ledger.entries, duck.ledger.entries)
    assert spark_run.snapshot.id == duck.snapshot.id
    e = duck.ledger.entries
    assert set(e[e.activity == "electricity.green_certificate"].node_id) == {
        "c001.bohua_plaza",
        "c002.bohua_plaza",
    }
    blocks = duck.ledger.rollup("block").groupby("node_id").co2e_t.sum()
    assert list(blocks.index) == ["c001.shimen_erlu", "c002.shimen_erlu"]
    assert blocks.iloc[0] != blocks.iloc[1]  # each copy has its own meter noise


@pytest.mark.parametrize(
    ("call", "match"),
    [
        ({"n": 0}, r"a city needs n >= 1 subdistrict copies; got 0"),
        ({"n": 1, "electricity": "xlsx"}, r"electricity must be 'csv' or 'parquet'; got 'xlsx'"),
    ],
)
def test_bad_city_arguments(tmp_path: Path, call: dict[str, Any], match: str) -> None:
    from carbon.errors import CarbonError
    from carbon.synth import SynthError, generate_city

    with pytest.raises(SynthError, match=match) as info:
        generate_city(out=tmp_path / "city", start=JAN, end=FEB, **call)
    assert isinstance(info.value, CarbonError) and isinstance(info.value, ValueError)
    assert not (tmp_path / "city").exists()  # nothing written


def test_ledger_script_engine_settings(tmp_path: Path) -> None:
    from carbon.pipeline import ConfigError, load_config

    script = tmp_path / "ledger.toml"
    script.write_text(
        '[ledger]\nstore = "s.duckdb"\nstart = 2024-01-01\nend = 2024-02-01\n'
        'engine = "spark"\nmaster = "spark://head:7077"\n'
        'readings = "exports/readings.parquet"\n'
        'activities = ["s3a://carbon/city/activities.parquet"]\n'
        '[ledger.spark_config]\n"spark.hadoop.fs.s3a.path.style.access" = "true"\n',
        encoding="utf-8",
    )
    cfg = load_config(script)
    assert (cfg.ledger.engine, cfg.ledger.master) == ("spark", "spark://head:7077")
    # Local paths are relative to the script; object-storage URLs stay as written.
    assert cfg.resolve_data(cfg.ledger.readings) == [str(cfg.base / "exports/readings.parquet")]
    assert cfg.resolve_data(cfg.ledger.activities) == ["s3a://carbon/city/activities.parquet"]
    assert cfg.ledger.spark_config == {"spark.hadoop.fs.s3a.path.style.access": "true"}
    script.write_text(script.read_text().replace('"spark"', '"flink"', 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"field 'ledger\.engine': Input should be 'duckdb'"):
        load_config(script)
