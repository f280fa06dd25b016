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
site_app = typer.Typer(
    help="Build a community's twin from its spreadsheets, and check what it lacks.",
    no_args_is_help=True,
)
app.add_typer(factors_app, name="factors")
app.add_typer(twin_app, name="twin")
app.add_typer(site_app, name="site")

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
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
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
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", "-p",
            help="Profile name or file (your own factors); the packaged catalogue if omitted.",
        ),
    ] = None,
) -> None:
    """Show one factor with its value, unit, source and confidence."""
    from carbon.factors import load_catalogue, load_factor_set

    fs = load_factor_set(profile) if profile else load_catalogue()
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
        ("file", fs.paths.get(f.file or "", f"factors/{f.file}")),
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
    meters: Annotated[bool, typer.Option(help="List the meter ids (for mappings, trace).")] = True,
) -> None:
    """Draw the twin as a tree (node ids in brackets) with its key attributes, then its
    meters: the ids that ingest mappings and ``carbon ledger trace`` take."""
    from carbon.twin import load_twin

    twin = load_twin(name)
    console.print(twin_tree(twin, depth))
    console.print(twin_summary_table(twin))
    if meters and twin.meters:
        console.print(meters_table(twin))


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
        label = f"{node.name_zh} [dim]{node.name_en} · {node.kind} ({node.id})[/]"
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
    shops = facts.get("shops_at_least")
    table.add_row(
        "street-front shops",
        f"{twin.total('shops'):,.0f}",
        f"{shops}+" if shops is not None else str(facts.get("shops")),
    )
    table.add_row("meters", str(len(twin.meters)), "-")
    table.add_row("assets", str(len(twin.assets)), "-")
    return table


def meters_table(twin: Any) -> Table:
    """One row per meter: its id, node, measure, unit and readings."""
    table = Table(title=f"{twin.site.name_zh} · {len(twin.meters)} meters", title_justify="left")
    for col in ("meter", "node", "measure", "unit", "reading"):
        table.add_column(col, no_wrap=col in ("meter", "node"))
    for m in twin.meters.values():
        table.add_row(m.id, m.node, m.measure, m.unit, f"{m.reading}, {m.interval}")
    return table


# --------------------------------------------------------------------------- site
@site_app.command("init")
@friendly
def site_init(
    name: Annotated[str, typer.Argument(help="The community's id, e.g. changfeng_xincun.")],
    source: Annotated[list[Path], typer.Option(
        "--from", help="The spreadsheet: a .xlsx workbook, or .csv files (one per sheet; "
        "repeat --from) or their folder.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Folder to write [default: ./sites/NAME].")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite the twin files of an existing folder.")
                     ] = False,
) -> None:
    """Build a validated community folder from a subdistrict office's spreadsheet, then
    check it (the sheets and headers: docs/onboarding.md)."""
    from carbon.site import check_site, init_site

    folder = init_site(out or Path("sites") / name, source, site_id=name, force=force)
    report = check_site(folder)
    twin = report.twin
    console.print(
        f"[bold]Wrote {escape(str(folder))}[/]: {len(twin.nodes)} nodes, "
        f"{len(twin.meters)} meters, {len(twin.assets)} assets (site.toml, nodes.toml, "
        "meters.toml, assets.toml, interventions.toml, schematic geometry.geojson)"
    )
    print_site_report(report)


@site_app.command("check")
@friendly
def site_check(
    name: Annotated[str, typer.Argument(help="Community name or folder.")],
    strict: Annotated[bool, typer.Option(help="Exit with status 1 when anything is missing.")
                      ] = False,
) -> None:
    """Report what a community twin lacks and which of its figures are estimates."""
    from carbon.site import check_site

    report = check_site(name)
    print_site_report(report)
    if strict and not report.ok:
        raise typer.Exit(1)


def print_site_report(report: Any) -> None:
    """The published facts beside the twin's totals, what is missing, what is estimated."""
    twin = report.twin
    facts = Table(title=f"{twin.site.name_zh} · the twin beside the published facts",
                  title_justify="left")
    for col in ("item", "twin", "published"):
        facts.add_column(col)
    for item, (have, published) in report.totals.items():
        facts.add_row(item, f"{have:,.0f}", "-" if published is None else f"{published:,}")
    console.print(facts)
    if report.missing:
        missing = Table(title=f"Missing ({len(report.missing)})", title_justify="left")
        missing.add_column("code", no_wrap=True)
        missing.add_column("what")
        for w in report.missing:
            missing.add_row(w.code, escape(w.message))
        console.print(missing)
    else:
        console.print("[green]Nothing missing.[/]")
    est = report.estimated
    if len(est):
        table = Table(title=f"Estimated ({len(est)} values; * in carbon twin show)",
                      title_justify="left")
        for col in ("attribute", "values", "e.g.", "basis"):
            table.add_column(col, overflow="fold")
        for (attribute, basis), group in est.groupby(["attribute", "basis"], sort=False):
            table.add_row(str(attribute), str(len(group)), ", ".join(group.entry.head(3)) +
                          (" …" if len(group) > 3 else ""), escape(str(basis)))
        console.print(table)
    else:
        console.print("Nothing estimated.")


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
    files: Annotated[
        list[Path] | None, typer.Argument(help="CSV, Parquet or Excel exports.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping TOML; guessed from the headers if omitted.")
    ] = None,
    twin: Annotated[str, typer.Option(help="Community name or folder.")] = "shimen_erlu",
    supersede: Annotated[bool, typer.Option(help="Rows correct earlier rows.")] = False,
    sheet: Annotated[
        str | None,
        typer.Option(help="Sheet of an Excel workbook (name or 0-based index); '*': every sheet."),
    ] = None,
    supersedes: Annotated[
        str | None,
        typer.Option(help="Batch id this (one) file corrects: voided when the file lands."),
    ] = None,
    void: Annotated[
        str | None, typer.Option(help="Void this batch (no files); needs --reason.")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Why the batch is voided (--void, --supersedes).")
    ] = None,
) -> None:
    """Ingest meter or activity exports; bad rows are quarantined with their reason.

    Every file is reported: committed, skipped (seen before, or a weather file: an input of
    M&V) or failed with its reason; a failed file stores nothing and the others still land.
    Exit status 1 when a file failed, 2 for a bad store or option. The mapping file format:
    docs/ingest.md. A batch is a file read with its options (mapping, unit, sheet...): the
    same file with corrected options is a new batch; --supersedes BATCH voids the wrong one in
    the same transaction. --void BATCH --reason TEXT voids a batch (its rows stop counting;
    nothing is deleted).
    """
    from carbon.collect import running_collector
    from carbon.ingest import IngestError, ingest_files
    from carbon.store import Store, check_store_path
    from carbon.twin import load_twin

    if void is None:
        check_store_path(store)  # never a CSV opened as a database (a forgotten store)
    collector = running_collector(store)  # while it runs, the store's writer (carbon collect)
    if void is not None:
        if files:
            raise IngestError("--void takes no files")
        if not (reason or "").strip():
            raise IngestError(f"--void {void} needs --reason TEXT")
        if collector is not None:
            voided = collector.void(void, reason or "")
        else:
            with Store(store) as st:
                voided = st.void(void, reason or "")
        console.print(f"voided {voided.batch_id} ({Path(voided.file).name}): {voided.void_reason}")
        return
    if not files:
        raise IngestError(
            "no files to ingest: carbon ingest STORE.duckdb FILE... (or --void BATCH --reason TEXT)"
        )
    if supersedes is not None and len(files) != 1:
        raise IngestError(f"--supersedes {supersedes} takes exactly one file")
    if collector is not None:
        err_console.print(
            f"[dim]the collector (pid {collector.pid}, {collector.url}) writes "
            f"{escape(str(store))}: it ingests the files with its twin[/]"
        )
        handed = collector.ingest(
            files, mapping, sheet=sheet, supersede=supersede, supersedes=supersedes, reason=reason
        )
        print_batches(handed)
        return
    with Store(store) as st, _stage_bar() as bar:
        st.sync_twin(load_twin(twin))
        tasks: dict[str, Any] = {}

        def step(name: str, stage: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, description=f"{name}: {stage}")

        outcomes = ingest_files(
            st,
            files,
            mapping,
            sheet=sheet,
            supersede=supersede,
            supersedes=supersedes,
            reason=reason,
            progress=step,
        )
    print_outcomes(outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    if failed:
        err_console.print(
            f"[bold red]{failed} of {len(outcomes)} files failed[/] (nothing of them stored; "
            "the others are committed)",
            highlight=False,
        )
        raise typer.Exit(1)


def print_outcomes(outcomes: list[Any]) -> None:
    """Every file of an ingest: committed, skipped or failed, its batches and their rejected
    rows per reason, then the notes of skipped and failed files."""
    from rich import box

    table = Table(
        title="Files: read = accepted + rejected",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("file", min_width=16, overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("batch / kind", no_wrap=True)
    for col in ("read", "accepted", "rejected"):
        table.add_column(col, justify="right", no_wrap=True)
    style = {"committed": "green", "skipped": "yellow", "failed": "bold red"}
    for o in outcomes:
        status = f"[{style[o.status]}]{o.status}[/]"
        if not o.batches:
            table.add_row(escape(Path(o.file).name), status)
        for b in o.batches:
            counts = (f"{b.read:,}", f"{b.accepted:,}", f"{b.rejected:,}")
            table.add_row(_batch_name(b), status, f"{b.batch_id}\n[dim]{b.kind}[/]", *counts)
            if o.status == "committed":
                for why, n in b.reasons:
                    table.add_row(f"  [red]{why}[/]", "", "", "", "", f"{n:,}")
    console.print(table)
    for o in outcomes:
        if o.note:
            line = f"[{style[o.status]}]{o.status}:[/] {escape(o.note)}"
            console.print(line, highlight=False, soft_wrap=True)
        for b in o.batches:
            if b.supersedes and not b.skipped:
                console.print(f"{b.batch_id} supersedes {b.supersedes} (voided)")


def print_batches(batches: list[Any]) -> None:
    """The batch table of an ingest, then the batches it voided."""
    console.print(batch_table(batches))
    for b in batches:
        if b.supersedes and not b.skipped:
            console.print(f"{b.batch_id} supersedes {b.supersedes} (voided)")


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
        ("batch", "left"),
        ("kind", "left"),
        ("read", "right"),
        ("accepted", "right"),
        ("rejected", "right"),
    ):
        table.add_column(col, justify=just, no_wrap=col != "file")  # type: ignore[arg-type]
    for b in batches:
        skipped = " [dim](seen before)[/]" if b.skipped else ""
        table.add_row(
            _batch_name(b) + skipped,
            b.batch_id,
            b.kind,
            f"{b.read:,}",
            f"{b.accepted:,}",
            f"{b.rejected:,}",
        )
    reasons = [(_batch_name(b), r, n) for b in batches if not b.skipped for r, n in b.reasons]
    if reasons:
        table.add_section()
        for name, reason, n in reasons:
            table.add_row(f"  {name}", "", f"[red]{reason}[/]", "", "", f"{n:,}")
    return table


def _batch_name(b: Any) -> str:
    """A batch's file name, with its workbook sheet when it has one."""
    sheet = getattr(b, "sheet", None)
    return escape(Path(b.file).name + (f" [{sheet}]" if sheet else ""))


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
    """Totals by block and sector, the GPC table of each calendar year, the headline numbers
    of the year (:func:`carbon.summary.summarize`, the function behind the wall's tiles),
    rejects, completeness and the snapshot path."""
    from carbon.summary import METHODS, SummaryData, summarize

    ledger, snapshot = result.ledger, result.snapshot
    console.print(batch_table(result.batches))
    roll = ledger.rollup("block")
    root = ledger.twin.root.id
    table = Table(
        title=f"{ledger.twin.site.name_zh} · {ledger.start} .. {ledger.end} · "
        "t CO2e by block and GPC sector (location-based, whole period)",
        title_justify="left",
    )
    sectors = sorted(roll.gpc_sector.unique())
    table.add_column("block")
    for sector in sectors:
        table.add_column(sector, justify="right")
    table.add_column("total", justify="right")
    for _, group in roll[roll.node_id != root].groupby("node_id"):
        by = group.groupby("gpc_sector").co2e_t.sum()
        table.add_row(
            f"{group.name_zh.iloc[0]}",
            *(f"{by.get(s, 0):,.1f}" for s in sectors),
            f"{by.sum():,.1f}",
        )
    console.print(table)
    whole = roll[roll.node_id == root]
    if len(whole):
        console.print(
            f"Booked on the subdistrict as a whole, in no block: {whole.co2e_t.sum():,.1f} t "
            f"(sectors {', '.join(sorted(whole.gpc_sector.unique()))})."
        )
    data = SummaryData.of(snapshot)
    for year in data.years:
        console.print(gpc_year_table(ledger.gpc_table(year=year), year))
        views = {m: summarize(data, year=year, method=m) for m in METHODS}
        totals = Table(title=f"GPC totals {year}, t CO2e", title_justify="left")
        for col in ("total", "location-based", "market-based"):
            totals.add_column(col, justify="right")
        for name in ("BASIC", "BASIC+", "territorial", "scope2"):
            label = views["location"].basic_label if name == "BASIC" else name
            cells = [views[m].totals for m in METHODS]
            totals.add_row(label, *("-" if c is None else f"{c.total(name):,.1f}" for c in cells))
        console.print(totals)
        for line in summary_lines(views["location"]):
            console.print(escape(line), highlight=False)
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


def summary_lines(s: Any) -> list[str]:
    """The headline lines of a :class:`carbon.summary.Summary` (the numbers the wall's tiles
    show): BASIC with its uncertainty, scope 2 in both views with the Shanghai 89号 view and
    the grid-factor sensitivity, intensities, avoided and removals with the realisation rate,
    and the target."""
    out = [f"Problem: {p}" for p in s.problems]
    y = s.year
    if s.totals is not None:
        t = s.totals
        unc = (f" ± {t.uncertainty_pct:.1f} % (IPCC 2006 Vol. 1 Ch. 3 Approach 1, 95 % interval)"
               if t.uncertainty_pct is not None else "")
        out.append(f"{t.label} {y}: {t.basic_t:,.1f} t{unc}.")
        if not t.complete:
            out.append(f"BASIC {y} is incomplete: rows keyed NE {', '.join(t.incomplete_rows)}.")
    d = s.scope2
    if d is not None and d.location_t is not None:
        line = (f"Scope 2 {y}: location-based {d.location_t:,.1f} t (headline), market-based "
                f"{(d.market_t or 0.0):,.1f} t")
        if d.shanghai_t is not None:  # Shanghai's rule, only for a community in Shanghai
            line += (f"; Shanghai 89号 view {d.shanghai_t:,.1f} t "
                     f"({(d.zero_rated_kwh or 0.0):,.0f} kWh zero-rated)")
        line += "."
        if d.grid_kwh is not None:
            line += (f" Grid electricity {d.grid_kwh:,.0f} kWh x {d.headline_kg_per_kwh} = "
                     f"{(d.headline_t or 0.0):,.1f} t ({d.headline_factor_id}) vs x "
                     f"{d.alternative_kg_per_kwh} = {(d.alternative_t or 0.0):,.1f} t "
                     f"({d.alternative_factor_id}): {(d.change_pct or 0.0):+.1f} %.")
        out.append(line)
    if s.intensity is not None:
        out.append(intensity_line(s.intensity))
    a = s.avoided
    if a.none is not None:
        out.append(f"Avoided {y}: none ({a.none.replace('_', ' ')}).")
    elif a.estimated_t is not None or a.verified_t is not None:
        when = str(y) if a.period == "year" else "over the snapshot's period"
        line = (f"Avoided {when} by interventions ({a.method} view): estimated "
                f"{(a.estimated_t or 0.0):,.3f} t")
        if a.low_t is not None and a.high_t is not None:
            line += f" ({a.low_t:,.3f}–{a.high_t:,.3f})"
        if a.verified_t is None:
            line += "; none verified."
        else:
            line += f", verified {a.verified_t:,.3f} t"
            if a.realisation is not None:
                line += (f"; realisation {a.realisation:.0%} against the estimate of the same "
                         f"interventions and months ({(a.compared_estimated_t or 0.0):,.3f} t)")
                if a.verified_exceeds_estimate:
                    line += ": verified ABOVE the estimate"
            line += "."
        out.append(line)
    if a.removals_t is not None:
        out.append(f"Removals {y} by greening: {a.removals_t:,.3f} t (apart from the inventory).")
    g = s.target
    if g is not None and g.change is not None:
        out.append(f"Target: -{g.reduction:.0%} on {g.base_year} by {g.target_year}; {y} is "
                   f"{g.change:+.1%} on the same months of {g.base_year}"
                   + (" (ASSUMED target)." if g.assumed else "."))
    return out


def gpc_year_table(table: Any, year: int) -> Table:
    """The GPC table of one year: rows with a value and BASIC rows keyed NE; the count of
    the other keyed rows (all are in the snapshot's gpc_table.csv)."""
    out = Table(title=f"GPC inventory {year} (location-based), t", title_justify="left")
    for col, just in (("row", "left"), ("sub-sector", "left"), ("scope", "right"),
                      ("t CO2e", "right"), ("CO2", "right"), ("CH4", "right"),
                      ("N2O", "right"), ("DQ", "left")):
        out.add_column(col, justify=just)  # type: ignore[arg-type]

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "-" if v != v else f"{v:,.3f}"
        return str(v) if v else "-"

    shown = table[table.notation_key.isna() | (table.notation_key.eq("NE")
                                               & table.level.eq("basic"))]
    for r in shown.itertuples():
        out.add_row(r.gpc_ref, escape(r.name_en), str(r.scope),
                    r.notation_key if isinstance(r.notation_key, str) else cell(r.co2e_t),
                    cell(r.co2_t), cell(r.ch4_t), cell(r.n2o_t), cell(r.data_quality))
    rest = table.drop(shown.index).notation_key.value_counts()
    out.caption = "other rows: " + ", ".join(f"{n} {k}" for k, n in sorted(rest.items()))
    return out


def intensity_line(i: Any) -> str:
    """Annual intensities of one year, as the wall shows them (carbon.inventory.intensity)."""

    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None else fmt.format(v)

    months = f"annualised from {i.months} months" if i.annualised else "12 months"
    return (
        f"Intensity {i.year} ({months}, location-based): "
        f"{num(i.per_resident_t, '{:.2f}')} t / resident / a (residential buildings I.1, "
        f"{num(i.residents, '{:,.0f}')} residents); "
        f"{num(i.per_service_population_t, '{:.2f}')} t / person / a (BASIC, residents + "
        f"{num(i.office_workers, '{:,.0f}')} office workers); "
        f"{num(i.per_m2_kg, '{:.1f}')} kg / m2 / a (stationary energy)."
    )


def interventions_table(frame: Any) -> Table:
    """Estimated (ex-ante) vs verified (ex-post) savings per intervention."""
    table = Table(
        title="Interventions as recorded (interventions.csv): estimated over the ledger's "
        "period, verified over each M&V reporting period, t CO2e (never netted)",
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
    inputs: Annotated[Path | None, typer.Option(
        "--inputs", help="Folder holding moved input files (found by SHA-256).")] = None,
    document: Annotated[Path | None, typer.Option(
        "--document", help="Check a document (xlsx, html, pdf, docx) made by `carbon report` "
        "from this snapshot instead: regenerate it and compare.")] = None,
) -> None:
    """Re-run the snapshot's ledger script and compare every manifest field and file.

    With --document, check that the document carries the snapshot's id and equals the one
    regenerated from it. Exit 0 when verified, 1 with what differs when not.
    """
    from carbon.audit import VerifyResult, verify

    result: VerifyResult
    if document is not None:
        from carbon.report import verify_document

        result = verify_document(snapshot, document)
    else:
        result = verify(snapshot, inputs=inputs)
    if result:
        console.print(f"[bold green]{result}[/]")
        return
    err_console.print("[bold red]NOT verified[/]", highlight=False)
    for problem in result.problems:
        err_console.print(f"- {escape(problem)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@app.command("report")
@friendly
def report(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot folder (or snapshots folder).")],
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="xlsx (GPC workbook), html or pdf (inventory report), docx "
        "(acceptance pack).")] = "xlsx",
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="File to write (default <snapshot id>_<year>.<format>).")] = None,
    year: Annotated[int | None, typer.Option(
        "--year", help="Calendar year (default the snapshot's last).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en (first language).")] = "zh",
) -> None:
    """Write an official document from one snapshot, stamped with its id (check it with
    `carbon ledger verify SNAPSHOT --document FILE`)."""
    from carbon.report import build_document

    path = build_document(snapshot, fmt, out, year=year, lang=lang)
    console.print(f"wrote [bold]{escape(str(path))}[/]", highlight=False)


@ledger_app.command("trace")
@friendly
def ledger_trace(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot folder.")],
    entry_id: Annotated[str, typer.Argument(help="Entry id (E...).")],
    limit: Annotated[int, typer.Option(
        "--limit", "-n", min=0, help="Most reading rows to show (totals cover all).")] = 50,
) -> None:
    """Show an entry's readings (local times, file:line), the steps from the amount read to
    the amount booked, the intervention and M&V behind a model entry, the factor citation and
    the input files."""
    from carbon.audit import trace

    t = trace(snapshot, entry_id, limit=limit)
    e = t.entry
    console.rule(f"[bold]{e['entry_id']}[/] · {e['kind']} · {escape(str(e['node_path']))}")
    console.print(
        f"{e['period_start']} .. {e['period_end']} · GPC {e['gpc_ref']} scope "
        f"{e['scope']} · {e['method']} · {e['activity']}: {e['amount']} {e['unit']} "
        f"x {e['factor_co2e']} kgCO2e/{e['unit']} = [bold]{e['co2e_kg']} kgCO2e[/]"
        + (f" · notes {escape(str(e['notes']))}" if isinstance(e.get("notes"), str) else ""),
        highlight=False,
    )
    if t.intervention is not None:
        console.print(_intervention_block(t))
    if "read" in t.totals:
        console.print(_readings_table(t))
        console.print(_steps_table(t))
    if len(t.certificates):
        console.print(_readings_table(t, t.certificates, "Green-power certificates"))
    if t.factor:
        f = t.factor
        console.print(
            f"Factor [bold]{escape(str(f['factor_id']))}[/]: {escape(str(f['value_as_published']))}"
            f" = {f['co2e_per_unit']} {f['unit']} · valid {f['valid_from']} .. "
            f"{f['valid_to'] or 'open'} · confidence {f['confidence']}\n"
            f"  {escape(str(f['citation']))}" + (f"\n  {f['url']}" if f.get("url") else ""),
            highlight=False,
        )
    if t.batches:
        inputs = Table(title="Input batches", title_justify="left")
        for col in ("batch", "file", "SHA-256", "read", "accepted", "rejected"):
            inputs.add_column(col, justify="right" if col in ("read", "accepted",
                                                              "rejected") else "left")
        for b in t.batches:
            rows = b.get("rows") or {}
            inputs.add_row(
                b["batch_id"], escape(str(b["file_name"])), b["sha256"][:16] + "…",
                *(f"{rows.get(k, 0):,}" for k in ("read", "accepted", "rejected")),
            )
        console.print(inputs)
    for note in t.notes:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False)


def _intervention_block(t: Any) -> Any:
    """The intervention, its M&V fit and its cited parameters, for a model entry's trace."""
    from rich.console import Group

    iv = t.intervention
    lines = [
        f"Intervention [bold]{iv['id']}[/] {escape(str(iv.get('name_zh') or ''))} "
        f"({escape(str(iv.get('name_en') or ''))}) · {iv.get('kind')} · {iv.get('status')} · "
        f"commissioned {iv.get('commissioned')} · {iv['basis']}"
        + (" (estimated from the register)" if iv["basis"] == "ex_ante" else " (measured)")
        + (f" · register {escape(str(iv['register']))}" if iv.get("register") else "")
    ]
    v = t.verification
    if v:
        lines.append(
            f"M&V on meter {v.get('meter')} ({v.get('day_types')}): baseline "
            f"{' .. '.join(v.get('baseline') or [])}, reporting "
            f"{' .. '.join(v.get('reporting') or [])}; CV(RMSE) {_pct(v.get('cvrmse'))}, "
            f"NMBE {_pct(v.get('nmbe'))}; avoided {_num(v.get('avoided_kwh'))} kWh "
            f"± {_num(v.get('uncertainty_kwh'))} kWh"
        )
    parts: list[Any] = [line for line in lines]
    p = t.parameters
    if p is not None and len(p):
        table = Table(title="Parameters", title_justify="left")
        for col in ("parameter", "value", "unit", "range", "origin", "confidence", "source"):
            table.add_column(col, justify="right" if col == "value" else "left")
        for r in p.itertuples(index=False):
            table.add_row(
                r.parameter, f"{r.value:g}", str(r.unit), f"{r.low:g} .. {r.high:g}",
                str(r.origin), str(r.confidence), escape(str(r.source)),
            )
        parts.append(table)
    return Group(*parts)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2%}"


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.1f}"


def _readings_table(t: Any, rows: Any = None, title: str | None = None) -> Table:
    """Reading (or activity) rows of a trace: local times, amount, quality, file:line."""
    import pandas as pd

    rows = t.readings if rows is None else rows
    unit = t.totals.get("unit", "")
    if title is None:
        title = (
            f"Readings ({t.timezone}): {len(rows):,} of {t.totals['rows']:,} shown, "
            f"{t.totals['amount']} {unit} ({t.totals['measured_rows']:,} measured, "
            f"{t.totals['estimated_rows']:,} estimated)"
        )
    table = Table(title=title, title_justify="left")
    metered = "meter_id" in rows.columns
    for col in ("meter" if metered else "node / activity", "start", "end"):
        table.add_column(col)
    table.add_column(f"amount [{unit}]", justify="right")
    for col in ("quality", "file:line", "batch"):
        table.add_column(col)
    for r in rows.itertuples(index=False):
        if not pd.isna(r.line):
            where = f"{r.file_name}:{r.line}"
        else:  # a Parquet row, or a gap-fill estimate (no file)
            suffix = Path(str(r.file_name)).suffix
            where = f"{r.file_name} row {r.row_number}" if suffix else str(r.file_name)
        table.add_row(
            r.meter_id if metered else f"{r.node_id} / {r.activity}",
            _local(r.start), _local(r.end), str(r.amount), r.quality, escape(where), r.batch_id,
        )
    return table


def _local(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "hour") else str(value)


def _steps_table(t: Any) -> Table:
    """From the amount read to the amount booked, step by step."""
    unit = t.totals["unit"]
    table = Table(title="From the amount read to the amount booked", title_justify="left")
    table.add_column("step")
    table.add_column(f"amount [{unit}]", justify="right")
    table.add_column("rows", justify="right")
    table.add_column("explanation")
    table.add_row("read from the inputs", str(t.totals["read"]),
                  f"{t.totals['measured_rows'] + t.totals['superseded_rows']:,}", "measured rows")
    for s in t.deductions.itertuples(index=False):
        sign = "+" if s.amount >= 0 else ""
        table.add_row(s.step, f"{sign}{s.amount}", f"{s.rows:,}", escape(str(s.explanation)))
    ok = "" if not t.balance else f" (off by {t.balance})"
    table.add_row("[bold]booked[/]", f"[bold]{t.totals['booked']}[/]", "", f"the entry{ok}")
    return table


@ledger_app.command("diff")
@friendly
def ledger_diff(
    a: Annotated[Path, typer.Argument(help="Older snapshot.")],
    b: Annotated[Path, typer.Argument(help="Newer snapshot.")],
    top: Annotated[int, typer.Option("--top", min=0, help="Changed entries to list.")] = 20,
) -> None:
    """What changed between two snapshots, why (factor, input, restatement, model, added,
    removed) and which inputs, factors or recipe fields explain it."""
    from carbon.audit import diff

    d = diff(a, b)
    console.print(f"{d.a} -> {d.b}: [bold]{escape(d.summary())}[/]", highlight=False)
    counts = Table(title="Entries by cause", title_justify="left")
    for col in ("cause", "entries", "Δ t CO2e"):
        counts.add_column(col, justify="left" if col == "cause" else "right")
    for cause, n in d.counts.items():
        if n:
            delta = d.entries.loc[d.entries.cause == cause, "delta_t"].sum()
            counts.add_row(cause, f"{n:,}", f"{delta:+,.3f}")
    if len(d.entries):
        console.print(counts)
    for why in d.explanations:
        console.print(f"- {escape(why)}", highlight=False)
    for name, (old, new) in d.totals.items():
        if old != new and old is not None and new is not None:
            pct = f" ({(new - old) / old:+.2%})" if old else ""
            console.print(f"{name}: {old:,.3f} -> {new:,.3f} t CO2e{pct}", highlight=False)
    if len(d.entries) and top:
        table = Table(title=f"Largest changes (top {min(top, len(d.entries))})",
                      title_justify="left")
        for col in ("node", "month", "activity", "method", "kind", "old t", "new t", "Δ t",
                    "Δ %", "cause", "detail"):
            table.add_column(col, justify="right" if col in ("old t", "new t", "Δ t", "Δ %")
                             else "left")
        for r in d.entries.head(top).itertuples(index=False):
            table.add_row(
                r.node_id, str(r.period_start)[:7], r.activity, r.method, r.kind,
                "-" if r.t_old is None or r.t_old != r.t_old else f"{r.t_old:,.3f}",
                "-" if r.t_new is None or r.t_new != r.t_new else f"{r.t_new:,.3f}",
                f"{r.delta_t:+,.3f}",
                "-" if r.delta_pct != r.delta_pct else f"{r.delta_pct:+.1f}",
                r.cause, escape(str(r.detail)),
            )
        console.print(table)


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
    start: Annotated[str, typer.Option(help="First month of the ledger (YYYY-MM-01).")] = (
        "2023-01-01"
    ),
    end: Annotated[str, typer.Option(help="Month after the last (YYYY-MM-01).")] = "2025-01-01",
    twin: Annotated[str, typer.Option(help="Community name or folder.")] = "shimen_erlu",
) -> None:
    """Build the Shimen Erlu demo (or another twin's): synthetic data (with faults) -> ledger
    -> snapshot.

    Writes the ledger script ``OUT/ledger.toml`` (the whole recipe) and runs it; re-running it
    with ``carbon ledger build OUT/ledger.toml`` publishes the same snapshot id.
    """
    from carbon.demo import build_demo
    from carbon.twin import load_twin

    community = load_twin(twin)
    console.rule(
        f"[bold]{community.site.name_zh} · {community.site.name_en} · demo (SYNTHETIC data)")
    console.print(twin_summary_table(community))
    with _stage_bar() as bar:
        task = bar.add_task("synthetic data", total=None)
        _check_dates(start, end)
        result = build_demo(
            out,
            twin=twin,
            seed=seed,
            start=start,
            end=end,
            synth_progress=lambda done, total: bar.update(task, completed=done, total=total),
            progress=lambda stage, done, total: bar.update(
                task, completed=done, total=total, description=f"ingest {stage}"
            ),
        )
    print_ledger_summary(result)
    result.ledger.store.close()
    if serve:
        from carbon.dashboard import serve as serve_wall

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
    trusted_proxy: Annotated[str | None, typer.Option(
        help="Address of a TLS reverse proxy in front (e.g. 127.0.0.1); its X-Forwarded-For "
        "names the client (docs/wall.md).")] = None,
) -> None:
    """Serve the carbon wall screen over published ledger snapshots (read-only)."""
    from carbon.dashboard import serve

    console.print(f"[bold]Wall screen:[/] http://{host}:{port}/  (Ctrl+C to stop)")
    serve(snapshots, host=host, port=port, carousel_seconds=carousel, lang=lang,
          trusted_proxy=trusted_proxy)


# --------------------------------------------------------------------------- today
@app.command("today")
@friendly
def today(
    store: Annotated[Path, typer.Argument(help="The DuckDB store file (opened read-only).")],
    twin: Annotated[str, typer.Option(help="Community name or folder.")] = "shimen_erlu",
    profile: Annotated[str, typer.Option("--profile", "-p", help="Factor profile.")] = (
        "shanghai-2022"
    ),
    now: Annotated[str | None, typer.Option(
        help="ISO time up to which today runs (default: the newest reading's end).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Also write today.json into this folder (the wall's snapshots folder).")] = None,
    silent_after: Annotated[int, typer.Option(
        help="Intervals without a reading after which a meter is silent.")] = 4,
    history_weeks: Annotated[int, typer.Option(
        help="Previous same weekdays that make the usual day.")] = 8,
) -> None:
    """Today so far against the usual day, by block; silent meters; the newest reading."""
    from carbon.factors import load_factor_set
    from carbon.store import Store
    from carbon.today import TodayError, compute_today
    from carbon.twin import load_twin

    community, factors = load_twin(twin), load_factor_set(profile)
    if not store.is_file():
        raise TodayError(f"Store {store} does not exist (carbon today reads an existing store)")
    with Store(store, read_only=True) as s:
        result = compute_today(s, community, factors, now, silent_after=silent_after,
                               history_weeks=history_weeks)
    print_today(result)
    if out is not None:
        console.print(f"wrote {escape(str(result.write(out)))}")


def print_today(t: Any) -> None:
    """Print :class:`carbon.today.Today`: so far vs usual per node, silent meters, newest."""
    flags = [f for f, on in (("historical", t.historical), ("SYNTHETIC", t.synthetic)) if on]
    days = len(t.history_days)
    title = (f"{t.twin} · today {t.day} up to {t.as_of:%H:%M} ({t.timezone})"
             f"{' · ' + ', '.join(flags) if flags else ''} · usual = mean of {days} "
             f"{t.day:%A}s (min..max) · {t.factor_set}")
    table = Table(title=title, title_justify="left")
    for col in ("node", "meters", "kWh so far", "usual kWh", "kg CO2e so far", "usual kg CO2e",
                "band kg CO2e", "% of usual", "silent"):
        table.add_column(col, justify="left" if col == "node" else "right")
    for r in t.nodes.itertuples():
        pct = "—" if pd_isna(r.share_of_usual) else f"{r.share_of_usual:.0%}"
        band = ("—" if pd_isna(r.usual_min_co2e_kg)
                else f"{r.usual_min_co2e_kg:,.0f}..{r.usual_max_co2e_kg:,.0f}")
        table.add_row(f"{r.name_zh} {r.node_id}", f"{r.reporting}/{r.meters}",
                      f"{r.energy_kwh:,.0f}", _num0(r.usual_energy_kwh), f"{r.co2e_kg:,.0f}",
                      _num0(r.usual_co2e_kg), band, pct, str(r.silent))
    console.print(table)
    if len(t.silent):
        silent = Table(title=f"Silent meters ({len(t.silent)}): no reading for more than "
                       f"{t.silent_after} intervals", title_justify="left",
                       title_style="bold red")
        for col in ("meter", "node", "last reading end", "intervals missed"):
            silent.add_column(col)
        for r in t.silent.itertuples():
            silent.add_row(r.meter_id, r.node_id, f"{r.last_end:%Y-%m-%d %H:%M}",
                           str(r.intervals_missed))
        console.print(silent)
    else:
        console.print("Silent meters: none")
    newest = f"{t.newest_reading:%Y-%m-%d %H:%M}" if t.newest_reading else "none"
    console.print(f"Newest reading: {newest}")
    for w in t.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(str(w))}", soft_wrap=True)


def pd_isna(value: Any) -> bool:
    """True for None and NaN."""
    return value is None or (isinstance(value, float) and value != value)


def _num0(value: Any) -> str:
    return "—" if pd_isna(value) else f"{value:,.0f}"


# --------------------------------------------------------------------------- collect
@app.command("collect")
@friendly
def collect(
    store: Annotated[Path, typer.Argument(help="The DuckDB store file (created if missing).")],
    twin: Annotated[str, typer.Option(help="Community name or folder.")] = "shimen_erlu",
    gateways: Annotated[
        Path | None, typer.Option(help="Gateways TOML (ids, token SHA-256, meters).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address of the HTTP push API.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port of the HTTP push API (0: any).")] = 8765,
    drop: Annotated[
        Path | None, typer.Option(help="Drop folder: files renamed into it are ingested.")
    ] = None,
    mqtt: Annotated[
        str | None, typer.Option(help="MQTT broker HOST[:PORT] to subscribe to.")
    ] = None,
    mqtt_prefix: Annotated[str, typer.Option(help="First MQTT topic level.")] = "carbon",
    certfile: Annotated[Path | None, typer.Option(help="TLS certificate (HTTPS).")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (HTTPS).")] = None,
    allow_plain_http: Annotated[
        bool, typer.Option(help="Serve plain HTTP on an address other than loopback.")
    ] = False,
    memory_limit: Annotated[
        str | None, typer.Option(help="DuckDB memory limit, e.g. 1GB.")
    ] = None,
    publish: Annotated[
        Path | None,
        typer.Option(help="Snapshots folder: publish the live ledger and today.json there."),
    ] = None,
    factors: Annotated[
        str, typer.Option(help="Factor profile for --publish (name or file).")
    ] = "shanghai-2022",
    every: Annotated[
        float, typer.Option(help="With --publish: the least time between two runs [s].")
    ] = 10.0,
) -> None:
    """Collect meter readings as they arrive: HTTP pushes, MQTT, a drop folder (docs/collect.md).

    Runs until Ctrl+C or SIGTERM, as the store's only writer: carbon ingest hands its files to
    it while it runs. With --publish, the current year's live ledger is published there after
    commits (at most every --every seconds): a provisional snapshot and today.json.
    """
    from carbon.collect import CollectError, Collector, load_gateways, serve
    from carbon.twin import load_twin

    loopback = host in ("127.0.0.1", "::1", "localhost")
    if not loopback and certfile is None and not allow_plain_http:
        raise CollectError(
            f"--host {host} would send gateway tokens in clear: give --certfile and --keyfile "
            "(HTTPS), or --allow-plain-http on a closed network"
        )
    if (certfile is None) != (keyfile is None):
        raise CollectError("--certfile and --keyfile go together")
    broker = None
    if mqtt:
        name, _, number = mqtt.partition(":")
        if number and not number.isdigit():
            raise CollectError(f"--mqtt {mqtt}: the port is not a number")
        broker = (name, int(number or 1883))
    collector = Collector(
        store,
        load_twin(twin),
        load_gateways(gateways) if gateways else None,
        host=host,
        port=port,
        drop=drop,
        mqtt=broker,
        mqtt_prefix=mqtt_prefix,
        tls=(certfile, keyfile) if certfile and keyfile else None,
        memory_limit=memory_limit,
    )
    collector.on_commit(
        lambda c: logging.getLogger("carbon.collect").info(
            "commit %d: %d messages, %d meter-months", c.seq, c.messages, len(c.changed)
        )
    )

    publisher = None
    if publish is not None:
        from carbon.factors import load_factor_set
        from carbon.live import Publisher

        publisher = Publisher(collector, load_factor_set(factors), publish, every=every)

    def started(c: Collector) -> None:
        drop_text = f", drop folder {escape(str(c.drop))}" if c.drop else ""
        mqtt_text = f", MQTT {broker[0]}:{broker[1]}" if broker else ""
        publish_text = f", publishing to {escape(str(publish))}" if publish else ""
        if publisher is not None:
            publisher.start()
        console.print(
            f"[bold]Collector[/] on {escape(str(store))}: push API {c.url}{drop_text}{mqtt_text}"
            f"{publish_text}  (Ctrl+C to stop)",
            soft_wrap=True,
        )

    serve(collector, started)
    console.print(
        f"stopped: {collector.stats['messages']:,} messages, "
        f"{collector.stats['readings_accepted']:,} readings, {collector.stats['files']:,} files"
    )


def main() -> None:
    """Entry point of the ``carbon`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
