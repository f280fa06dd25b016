"""The ``carbon`` command line: a thin face over the library (typer + rich).

Every verb calls one public, documented function and only formats its result. Errors raised on
purpose by the library (:class:`carbon.errors.CarbonError`) are shown as one red line and exit
with status 2, never as a stack trace.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from carbon.errors import CarbonError

app = typer.Typer(
    name="carbon",
    help="Carbon accounting for a low-carbon community (reference: Shimen Erlu, Shanghai).",
    no_args_is_help=True,
    add_completion=False,
)
factors_app = typer.Typer(help="Browse emission factors and their sources.", no_args_is_help=True)
twin_app = typer.Typer(help="Inspect a community's digital twin.", no_args_is_help=True)
app.add_typer(factors_app, name="factors")
app.add_typer(twin_app, name="twin")

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn a library error into one red line and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CarbonError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show library logs.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
    )


# --------------------------------------------------------------------------- factors
@factors_app.command("list")
@friendly
def factors_list(
    profile: Annotated[
        str | None, typer.Option("--profile", "-p", help="Profile name; all factors if omitted.")
    ] = None,
    activity: Annotated[str | None, typer.Option(help="Only this activity.")] = None,
) -> None:
    """List emission factors: value, unit, region, validity, confidence."""
    from carbon.factors import list_profiles, load_catalogue, load_factor_set

    fs = load_factor_set(profile) if profile else load_catalogue()
    title = f"{fs.name} · {len(fs)} factors · GWP {fs.gwp.name} · sha256 {fs.content_hash[:12]}"
    table = Table(title=title, title_justify="left")
    for col in (
        "id",
        "activity",
        "region",
        "valid",
        "method",
        "value as published",
        "kgCO2e / unit",
        "confidence",
    ):
        table.add_column(col, overflow="fold")
    for f in fs:
        if activity and f.activity != activity:
            continue
        valid = f"{f.valid_from} .. {f.valid_to or 'open'}"
        published = "; ".join(f"{g}: {v}" for g, v in f.gases.items())
        co2e = f"{f.co2e_per_unit(fs.gwp)} /{f.canonical_unit}"
        conf = f.confidence + (" · proxy" if f.proxy else "")
        table.add_row(f.id, f.activity, f.region, valid, f.method, published, co2e, conf)
    console.print(table)
    if not profile:
        console.print(f"Profiles: {', '.join(list_profiles())} (use --profile).")


@factors_app.command("show")
@friendly
def factors_show(
    factor_id: Annotated[str, typer.Argument(help="Factor id, e.g. sh-eeb-2022.electricity.")],
) -> None:
    """Show one factor with its value, unit, source and confidence."""
    from carbon.factors import load_catalogue

    fs = load_catalogue()
    f = fs.get(factor_id)
    table = Table(show_header=False, title=f.id, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = [
        ("activity", f"{f.activity} (canonical unit {f.canonical_unit})"),
        ("region", f.region),
        ("valid", f"[{f.valid_from}, {f.valid_to or 'open'})"),
        ("method / series", f"{f.method} / {f.series}"),
    ]
    for gas, gv in f.gases.items():
        rows.append((f"{gas} as published", str(gv)))
        rows.append((f"{gas} canonical", f"{f.per_canonical(gas)} kg{gas}/{f.canonical_unit}"))
    rows += [
        (f"CO2e (GWP {fs.gwp.name})", f"{f.co2e_per_unit(fs.gwp)} kgCO2e/{f.canonical_unit}"),
        ("source", f.citation()),
        ("url", f.source.url or "-"),
        ("confidence", f.confidence + (f" ({f.confidence_detail})" if f.confidence_detail else "")),
        ("proxy", "yes: stands in for a missing local value" if f.proxy else "no"),
        ("notes", f.notes or "-"),
        ("file", f"factors/{f.file}"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)


# --------------------------------------------------------------------------- twin
@twin_app.command("show")
@friendly
def twin_show(
    name: Annotated[str, typer.Argument(help="Community name or folder.")] = "shimen_erlu",
    depth: Annotated[int, typer.Option(help="Deepest level to draw.")] = 3,
) -> None:
    """Draw the twin as a tree with its key attributes and meters."""
    from carbon.twin import load_twin

    twin = load_twin(name)
    console.print(twin_tree(twin, depth))
    console.print(twin_summary_table(twin))


def twin_tree(twin: Any, depth: int) -> Tree:
    """A rich Tree of the twin down to ``depth`` (a formatting helper of the CLI)."""
    root = twin.root
    tree = Tree(f"[bold]{root.name_zh}[/] {root.name_en} [dim]({root.id})[/]")
    branches = {root.id: tree}
    for level, node in twin.walk():
        if level == 0 or level > depth:
            continue
        facts = ", ".join(
            f"{k}={v}{'*' if node.is_estimated(k) else ''}" for k, v in node.attributes.items()
        )
        meters = len([m for m in twin.meters.values() if m.node == node.id])
        label = f"{node.name_zh} [dim]{node.name_en} · {node.kind}[/]"
        if facts:
            label += f" [cyan]{facts}[/]"
        if meters:
            label += f" [green]{meters} meter(s)[/]"
        branches[node.id] = branches[node.parent].add(label)
    return tree


def twin_summary_table(twin: Any) -> Table:
    """Totals of the twin beside the published facts they must match."""
    facts = twin.site.facts
    kinds = [n.kind for n in twin.nodes.values()]
    table = Table(title=f"{twin.site.name_zh} · totals (* = estimate)", title_justify="left")
    for col in ("item", "twin", "published"):
        table.add_column(col)
    table.add_row("street blocks", str(kinds.count("block")), str(facts.get("street_blocks")))
    table.add_row(
        "residential areas",
        str(kinds.count("residential_area")),
        str(facts.get("residential_areas")),
    )
    table.add_row(
        "office buildings", str(kinds.count("office_building")), str(facts.get("office_buildings"))
    )
    table.add_row(
        "residents",
        f"{twin.total('residents', 'residential_area'):,.0f}",
        f"{facts.get('residents', 0):,}",
    )
    table.add_row(
        "street-front shops", f"{twin.total('shops'):,.0f}", f"{facts.get('shops_at_least')}+"
    )
    table.add_row("meters", str(len(twin.meters)), "-")
    table.add_row("assets", str(len(twin.assets)), "-")
    return table


# --------------------------------------------------------------------------- synth
@app.command("synth")
@friendly
def synth(
    name: Annotated[str, typer.Argument(help="Community name or folder.")] = "shimen_erlu",
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("synthetic"),
    start: Annotated[str, typer.Option(help="First day (inclusive), YYYY-MM-DD.")] = "2024-01-01",
    end: Annotated[str, typer.Option(help="Last day (exclusive), YYYY-MM-DD.")] = "2025-01-01",
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same bytes.")] = 42,
    faults: Annotated[bool, typer.Option(help="Inject data-quality faults.")] = False,
    city: Annotated[int | None, typer.Option(
        "--city", min=1, help="Write a city of N copies of the twin (twins, exports, ledger.toml)."
    )] = None,
    fmt: Annotated[str, typer.Option(
        "--format", help="Hourly electricity export: csv or parquet.")] = "csv",
) -> None:
    """Generate seeded SYNTHETIC meter exports for a twin (or a city of copies of it)."""
    from carbon.twin import load_twin

    _check_dates(start, end)
    if city:
        print_city_result(run_city(city, name, out, start, end, seed, faults, fmt))
        return
    result = run_synth(load_twin(name), out, start, end, seed, faults, fmt)
    print_synth_result(result)


def _check_dates(start: str, end: str) -> None:
    try:
        a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError as exc:
        raise typer.BadParameter(f"dates must be YYYY-MM-DD: {exc}") from None
    if b <= a:
        raise typer.BadParameter(f"--end {end} must be after --start {start}")


def run_synth(twin: Any, out: Path, start: str, end: str, seed: int, faults: bool,
              fmt: str = "csv") -> Any:
    """Run :func:`carbon.synth.generate` behind a rich progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from carbon.synth import generate

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"synthetic data for {twin.name}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return generate(
            twin, out, start=start, end=end, seed=seed, faults=faults, progress=progress,
            electricity=fmt,
        )


def run_city(n: int, base: str, out: Path, start: str, end: str, seed: int, faults: bool,
             fmt: str) -> Any:
    """Run :func:`carbon.synth.generate_city` behind a rich progress bar."""
    from carbon.synth import generate_city

    with _stage_bar() as bar:
        task = bar.add_task(f"synthetic city: {n} copies of {base}", total=n)
        return generate_city(
            n, out, base=base, start=start, end=end, seed=seed, faults=faults,
            electricity=fmt,
            progress=lambda done, total: bar.update(task, completed=done, total=total))


def print_city_result(result: Any) -> None:
    """Show the city's twins, readings and ledger script."""
    table = Table(title="SYNTHETIC city written", title_justify="left", show_header=False)
    table.add_row("subdistrict copies", f"{len(result.twins):,} (twins/)")
    table.add_row("city twin", str(result.city))
    table.add_row("hourly readings", f"{result.readings:,} (exports/)")
    table.add_row("ledger script", str(result.config))
    console.print(table)
    console.print(f"Build it: carbon ledger build {result.config} --out "
                  f"{result.out / 'snapshots'} [--engine spark]")


def print_synth_result(result: Any) -> None:
    """Show the files written and the faults injected."""
    table = Table(
        title="SYNTHETIC data written (labelled synthetic in every file name)", title_justify="left"
    )
    for col in ("file", "rows", "sha256"):
        table.add_column(col)
    for f in result.manifest["files"]:
        table.add_row(f["name"], f"{f['rows']:,}", f["sha256"][:16])
    console.print(table)
    if result.faults:
        ft = Table(title="Injected faults", title_justify="left")
        for col in ("kind", "file", "meter", "rows"):
            ft.add_column(col)
        for fault in result.faults:
            ft.add_row(fault.kind, fault.file, fault.meter_id, _rows(fault.rows))
        console.print(ft)


def _rows(rows: list[int]) -> str:
    return ", ".join(map(str, rows[:5])) + (f" … (+{len(rows) - 5})" if len(rows) > 5 else "")


# --------------------------------------------------------------------------- ingest
@app.command("ingest")
@friendly
def ingest(
    store: Annotated[Path, typer.Argument(help="The DuckDB store file (created if missing).")],
    files: Annotated[list[Path], typer.Argument(help="CSV, Parquet or Excel exports.")],
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping TOML; guessed from the headers if omitted.")
    ] = None,
    twin: Annotated[str, typer.Option(help="Community name or folder.")] = "shimen_erlu",
    supersede: Annotated[bool, typer.Option(help="Rows correct earlier rows.")] = False,
) -> None:
    """Ingest meter or activity exports; bad rows are quarantined with their reason."""
    from carbon.store import Store
    from carbon.twin import load_twin

    with Store(store) as st, _stage_bar() as bar:
        st.sync_twin(load_twin(twin))
        batches = []
        for f in files:
            task = bar.add_task(f.name, total=5)

            def step(stage: str, done: int, total: int, t: Any = task, name: str = f.name) -> None:
                bar.update(t, completed=done, description=f"{name}: {stage}")

            batches.append(st.ingest(f, mapping, supersede=supersede, progress=step))
    console.print(batch_table(batches))


def _stage_bar() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def batch_table(batches: list[Any]) -> Table:
    """Rows read, accepted and rejected per batch, then rejected rows per reason."""
    table = Table(title="Batches: read = accepted + rejected", title_justify="left")
    for col, just in (
        ("file", "left"),
        ("kind", "left"),
        ("read", "right"),
        ("accepted", "right"),
        ("rejected", "right"),
    ):
        table.add_column(col, justify=just, no_wrap=col != "file")  # type: ignore[arg-type]
    for b in batches:
        skipped = " [dim](seen before)[/]" if b.skipped else ""
        table.add_row(
            Path(b.file).name + skipped, b.kind, f"{b.read:,}", f"{b.accepted:,}", f"{b.rejected:,}"
        )
    reasons = [(Path(b.file).name, r, n) for b in batches if not b.skipped for r, n in b.reasons]
    if reasons:
        table.add_section()
        for name, reason, n in reasons:
            table.add_row(f"  {name}", f"[red]{reason}[/]", "", "", f"{n:,}")
    return table


# --------------------------------------------------------------------------- ledger
ledger_app = typer.Typer(help="Build, verify, trace and compare ledgers.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("build")
@friendly
def ledger_build(
    config: Annotated[Path, typer.Argument(help="Ledger script TOML.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Snapshots folder.")] = Path("snapshots"),
    engine: Annotated[str | None, typer.Option(
        help="Where the ledger SQL runs: duckdb or spark (default: the script's, else duckdb)."
    )] = None,
    master: Annotated[str | None, typer.Option(
        help="Spark master URL, e.g. spark://head:7077 (default: local[2]).")] = None,
) -> None:
    """Ingest the script's inputs, build the ledger and publish a snapshot."""
    from carbon.pipeline import run

    with _stage_bar() as bar:
        task = bar.add_task("ledger", total=None)
        result = run(
            config,
            out,
            engine=engine,
            master=master,
            progress=lambda stage, done, total: bar.update(
                task, completed=done, total=total, description=stage
            ),
        )
    print_ledger_summary(result)
    result.ledger.store.close()


def print_ledger_summary(result: Any) -> None:
    """Totals by block and sector, rejects, completeness and the snapshot path."""
    ledger, snapshot = result.ledger, result.snapshot
    console.print(batch_table(result.batches))
    roll = ledger.rollup("block")
    table = Table(
        title=f"{ledger.twin.site.name_zh} · {ledger.start} .. {ledger.end} · "
        "t CO2e by block and GPC sector (location-based)",
        title_justify="left",
    )
    sectors = sorted(roll.gpc_sector.unique())
    table.add_column("block")
    for sector in sectors:
        table.add_column(sector, justify="right")
    table.add_column("total", justify="right")
    table.add_column("t / resident", justify="right")
    for _, group in roll.groupby("node_id"):
        by = group.groupby("gpc_sector").co2e_t.sum()
        per_cap = group.co2e_t_per_capita.iloc[0]
        table.add_row(
            f"{group.name_zh.iloc[0]}",
            *(f"{by.get(s, 0):,.1f}" for s in sectors),
            f"{by.sum():,.1f}",
            "-" if per_cap != per_cap else f"{per_cap:.2f}",
        )
    console.print(table)
    totals = Table(title="GPC totals, t CO2e", title_justify="left")
    for col in ("total", "location-based", "market-based"):
        totals.add_column(col, justify="right")
    for name in ("BASIC", "BASIC+", "territorial", "scope2"):
        totals.add_row(
            name, f"{ledger.total('location', name):,.1f}", f"{ledger.total('market', name):,.1f}"
        )
    console.print(totals)
    cov = ledger.coverage
    console.print(
        f"Completeness: {int(cov.present.sum()):,} of {int(cov.expected.sum()):,} expected "
        "intervals "
        f"({cov.present.sum() / max(cov.expected.sum(), 1):.2%}); "
        f"{int(cov.estimated.sum()):,} estimated; "
        f"{(cov.completeness.map(float) < 0.9).sum()} meter-months below 90 %."
    )
    interventions = snapshot.path / "interventions.csv"
    if interventions.exists():
        console.print(interventions_table(snapshot.table("interventions")))
    for w in ledger.warnings[:5]:
        console.print(f"[yellow]warning[/] {escape(str(w))}", highlight=False)
    console.print(f"Snapshot: [bold]{snapshot.path}[/] ({len(ledger.entries):,} entries)")


def interventions_table(frame: Any) -> Table:
    """Estimated (ex-ante) vs verified (ex-post) savings per intervention."""
    table = Table(
        title="Interventions: estimated vs verified, t CO2e over the period (never netted)",
        title_justify="left",
    )
    for col, just in (
        ("intervention", "left"),
        ("status", "left"),
        ("estimated", "right"),
        ("verified", "right"),
        ("rate", "right"),
        ("removal", "right"),
        ("CNY / t", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]

    def num(v: Any, fmt: str = "{:,.2f}") -> str:
        try:
            x = float(v)
        except (TypeError, ValueError):
            return "-"
        return "-" if x != x else fmt.format(x)

    for r in frame.itertuples():
        est = f"{num(r.estimated_t)} ({num(r.low_t)}–{num(r.high_t)})"
        ver = (
            f"{num(r.verified_t)} ±{num(float(r.verified_high_t) - float(r.verified_t))}"
            if num(r.verified_t) != "-"
            else "-"
        )
        table.add_row(
            r.name_zh,
            r.status,
            est,
            ver,
            num(r.realisation_rate),
            num(r.removal_t),
            num(r.cost_per_t_cny, "{:,.0f}"),
        )
    return table


@ledger_app.command("verify")
@friendly
def ledger_verify(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot folder (or snapshots folder).")],
) -> None:
    """Rebuild from the recorded inputs and compare byte for byte (exit 1 if not identical)."""
    from carbon.audit import verify

    result = verify(snapshot)
    if result.ok:
        console.print(f"[bold green]{result}[/]")
        return
    err_console.print(f"[bold red]{result}[/]", highlight=False)
    raise typer.Exit(1)


@ledger_app.command("trace")
@friendly
def ledger_trace(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot folder.")],
    entry_id: Annotated[str, typer.Argument(help="Entry id (E...).")],
) -> None:
    """Show an entry's readings, input files and factor citation."""
    from carbon.audit import trace

    t = trace(snapshot, entry_id)
    e = t.entry
    console.rule(f"[bold]{e['entry_id']}[/] · {e['kind']} · {e['node_path']}")
    console.print(
        f"{e['period_start']} .. {e['period_end']} · GPC {e['gpc_ref']} scope "
        f"{e['scope']} · {e['method']} · {e['activity']}: {e['amount']} {e['unit']} "
        f"x {e['factor_co2e']} kgCO2e/{e['unit']} = [bold]{e['co2e_kg']} kgCO2e[/]"
    )
    console.print(t.readings.to_string(index=False))
    if t.factor:
        console.print(
            f"Factor [bold]{t.factor['factor_id']}[/]: {t.factor['value_as_published']}"
            f" — {t.factor['citation']} · confidence {t.factor['confidence']}"
        )
    for b in t.batches:
        console.print(f"Input {b['file_name']} sha256 {b['sha256'][:16]}… rows {b['rows']}")


@ledger_app.command("diff")
@friendly
def ledger_diff(
    a: Annotated[Path, typer.Argument(help="Older snapshot.")],
    b: Annotated[Path, typer.Argument(help="Newer snapshot.")],
) -> None:
    """What changed between two snapshots and which inputs explain it."""
    from carbon.audit import diff

    d = diff(a, b)
    console.print(
        f"{len(d['added'])} entries added, {len(d['removed'])} removed, "
        f"{len(d['changed'])} changed."
    )
    for why in d["explanations"]:
        console.print(f"- {why}")
    for name, (old, new) in d["totals"].items():
        if old != new:
            console.print(f"{name}: {old} -> {new} t CO2e")
    if len(d["changed"]):
        console.print(d["changed"].head(20).to_string(index=False))


# --------------------------------------------------------------------------- interventions
interventions_app = typer.Typer(
    help="The intervention register: estimates and costs.", no_args_is_help=True
)
app.add_typer(interventions_app, name="interventions")


@interventions_app.command("list")
@friendly
def interventions_list(
    twin: Annotated[str, typer.Option(help="Community name or folder.")] = "shimen_erlu",
    profile: Annotated[str, typer.Option("--profile", "-p", help="Factor profile.")] = (
        "shanghai-2022"
    ),
    start: Annotated[str, typer.Option(help="First day (inclusive), YYYY-MM-DD.")] = "2024-01-01",
    end: Annotated[str, typer.Option(help="Last day (exclusive), YYYY-MM-DD.")] = "2025-01-01",
) -> None:
    """List the register's interventions: status, tonnes avoided or removed, cost per tonne."""
    from carbon.factors import load_factor_set
    from carbon.interventions import estimate_register, load_register
    from carbon.twin import load_twin

    _check_dates(start, end)
    register = load_register(load_twin(twin))
    frame = estimate_register(register, load_factor_set(profile), start, end)
    console.print(register_table(frame, f"{register.path} · {start} .. {end} · {profile}"))


def register_table(frame: Any, title: str) -> Table:
    """The rows of :func:`carbon.interventions.estimate_register` as a rich Table."""
    table = Table(
        title=title,
        title_justify="left",
        caption="period t: avoided in the period, months in service only; t/yr: a "
        "typical year in service (also for planned ones)",
    )
    for col, just in (
        ("id · kind", "left"),
        ("name", "left"),
        ("status", "left"),
        ("period t", "right"),
        ("t/yr (low-high)", "right"),
        ("removal t/yr", "right"),
        ("CNY/t", "right"),
        ("assumed", "right"),
    ):
        table.add_column(col, justify=just, no_wrap=col == "id · kind")  # type: ignore[arg-type]

    def num(v: Any, fmt: str = ",.2f") -> str:
        return "-" if v is None or v != v else format(v, fmt)

    for r in frame.itertuples():
        status = "[green]in place[/]" if r.in_place else "[yellow]planned[/]"
        table.add_row(
            f"{r.intervention_id}\n[dim]{r.kind}[/]",
            f"{escape(r.name_zh)}\n[dim]{escape(r.name_en)}[/]",
            status,
            num(r.estimated_t),
            f"{num(r.annual_t)} ({num(r.annual_low_t)}-{num(r.annual_high_t)})",
            num(r.annual_removal_t),
            num(r.cost_per_t_cny, ",.0f"),
            str(r.assumptions),
        )
    return table


# --------------------------------------------------------------------------- scenario
scenario_app = typer.Typer(
    help="Scenarios: measures adopted over years against business as usual.",
    no_args_is_help=True,
)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("run")
@friendly
def scenario_run(
    file: Annotated[
        Path,
        typer.Argument(
            help="Scenario TOML, e.g. sites/shimen_erlu/scenarios/low_carbon_2035.toml."
        ),
    ],
    twin: Annotated[str, typer.Option(help="Community name or folder.")] = "shimen_erlu",
    profile: Annotated[str, typer.Option("--profile", "-p", help="Factor profile.")] = (
        "shanghai-2022"
    ),
    base: Annotated[
        Path | None,
        typer.Option(
            help="Snapshot (or snapshots folder) whose base-year emissions replace the file's "
            "[base] numbers."
        ),
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Write the figures as HTML here.")] = None,
    lang: Annotated[str, typer.Option(help="Language of the figures: zh or en.")] = "zh",
) -> None:
    """Run a scenario: yearly trajectory, target check and marginal abatement cost curve."""
    from carbon.factors import load_factor_set
    from carbon.scenario import load_scenario, run_scenario
    from carbon.twin import load_twin

    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"--lang must be zh or en, not {lang!r}")
    community = load_twin(twin)
    scenario = load_scenario(file, community)
    result = run_scenario(scenario, community, load_factor_set(profile), base_emissions=base)
    print_scenario_result(result)
    if html is not None:
        for path in result.write_figures(html, lang).values():
            console.print(f"Figure: [bold]{path}[/]")


def print_scenario_result(result: Any) -> None:
    """Trajectory, target check, MACC and warnings of a scenario run."""
    s = result.scenario
    console.rule(f"[bold]{escape(s.name_zh)}[/] · {escape(s.name_en)}")
    console.print(
        f"Base {result.base.year}: {result.base.total_t:,.1f} t CO2e · "
        f"{escape(result.base.source)}",
        highlight=False,
    )
    traj = Table(
        title="Trajectory, t CO2e (location-based; removals kept apart, GPC)",
        title_justify="left",
    )
    for col in ("year", "grid index", "BAU", "avoided", "scenario", "removals", "target"):
        traj.add_column(col, justify="right")
    for r in result.trajectory.itertuples():
        traj.add_row(
            str(r.year),
            f"{r.grid_index:.3f}",
            f"{r.bau_t:,.1f}",
            f"{r.avoided_t:,.1f}",
            f"{r.scenario_t:,.1f}",
            f"{r.removal_t:,.2f}",
            "-" if r.target_t != r.target_t else f"{r.target_t:,.1f}",
        )
    console.print(traj)
    for r in result.targets.itertuples():
        verdict = "[green]met[/]" if r.met else f"[red]missed by {r.gap_t:,.1f} t[/]"
        console.print(
            f"Target {r.year}: -{r.reduction:.0%} vs {s.base_year} = "
            f"{r.target_t:,.1f} t; {r.compare} {r.value_t:,.1f} t: {verdict}"
        )
        console.print(f"  [dim]{escape(r.basis)}[/]", highlight=False)
    macc = Table(
        title=f"Marginal abatement cost curve (full adoption, grid of {s.macc_year}), "
        "cheapest first",
        title_justify="left",
    )
    for col, just in (
        ("#", "right"),
        ("measure", "left"),
        ("targets", "right"),
        ("t CO2e/yr", "right"),
        ("kWh/yr", "right"),
        ("CNY/yr", "right"),
        ("bills CNY/yr", "right"),
        ("CNY/t", "right"),
    ):
        macc.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in result.macc.itertuples():
        cost = "-" if r.cost_per_t_cny != r.cost_per_t_cny else f"{r.cost_per_t_cny:,.0f}"
        yearly = (
            "-"
            if r.annualised_cost_cny_per_yr != r.annualised_cost_cny_per_yr
            else f"{r.annualised_cost_cny_per_yr:,.0f}"
        )
        macc.add_row(
            str(r.rank),
            f"{escape(r.name_zh)}\n[dim]{escape(r.name_en)}[/]",
            str(r.targets),
            f"{r.abatement_t_per_yr:,.1f}",
            f"{r.electricity_kwh_per_yr:,.0f}",
            yearly,
            f"{r.bill_savings_cny_per_yr:,.0f}",
            cost,
        )
    console.print(macc)
    for w in result.warnings:
        console.print(f"[yellow]warning[/] {escape(str(w))}", highlight=False)


# --------------------------------------------------------------------------- demo
@app.command("demo")
@friendly
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("demo"),
    serve: Annotated[bool, typer.Option(help="Serve the wall screen after building.")] = True,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic data.")] = 42,
) -> None:
    """Build the Shimen Erlu demo: synthetic data (with faults) -> ledger -> snapshot."""
    from carbon.demo import build_demo
    from carbon.twin import load_twin

    twin = load_twin("shimen_erlu")
    console.rule(f"[bold]{twin.site.name_zh} · {twin.site.name_en} · demo (SYNTHETIC data)")
    console.print(twin_summary_table(twin))
    with _stage_bar() as bar:
        task = bar.add_task("synthetic data", total=None)
        result = build_demo(
            out,
            seed=seed,
            synth_progress=lambda done, total: bar.update(task, completed=done, total=total),
            progress=lambda stage, done, total: bar.update(
                task, completed=done, total=total, description=f"ingest {stage}"
            ),
        )
    print_ledger_summary(result)
    result.ledger.store.close()
    if serve:
        from dashboard import serve as serve_wall

        console.print("[bold]Wall screen:[/] http://127.0.0.1:8050/  (Ctrl+C to stop)")
        serve_wall(out / "snapshots")


# --------------------------------------------------------------------------- wall
@app.command("wall")
@friendly
def wall(
    snapshots: Annotated[
        Path, typer.Argument(help="Snapshots folder (follows LATEST) or one snapshot folder.")
    ] = Path("demo/snapshots"),
    host: Annotated[
        str,
        typer.Option(
            help="Address to bind; anything but loopback needs CARBON_WALL_USER and "
            "CARBON_WALL_PASSWORD."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8050,
    carousel: Annotated[
        int, typer.Option(help="Seconds per carousel view (start it with ?carousel=1).")
    ] = 30,
    lang: Annotated[str, typer.Option(help="Starting language: zh or en.")] = "zh",
) -> None:
    """Serve the carbon wall screen over published ledger snapshots (read-only)."""
    from dashboard import serve

    console.print(f"[bold]Wall screen:[/] http://{host}:{port}/  (Ctrl+C to stop)")
    serve(snapshots, host=host, port=port, carousel_seconds=carousel, lang=lang)


def main() -> None:
    """Entry point of the ``carbon`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
