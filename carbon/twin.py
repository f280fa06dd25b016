"""The digital twin of a community: a tree of places with meters and assets.

A community folder (``sites/<name>/``) holds:

``site.toml``
    the community itself: id, names, region code, time zone, headline facts with sources, and
    the inventory boundary statement (``[boundary]``, :class:`Boundary`).
``nodes.toml``
    the tree below it: street blocks, residential areas, compounds, office buildings, street
    frontages, buildings, facilities and green spaces (``[[node]]``).
``meters.toml``
    the meters (``[[meter]]``): what they measure, unit, interval or register, the node.
``assets.toml``
    what interventions act on (``[[asset]]``): light fixtures, toilets, roofs, wall areas,
    green spaces, e-bike chargers, elevators.
``geometry.geojson``
    optional shapes, one Feature per node id (``properties.id``), in WGS84 longitude/latitude;
    context features (``properties.context``: ``street`` or ``water``, with ``name_zh`` and
    ``name_en``) are drawn under the nodes and name no node.

:func:`load_twin` validates everything once: an unknown parent, a duplicate id, a meter on no
node, an attribute with the wrong unit, a time zone ``zoneinfo`` does not know, a fact source
that names no fact or no source, an estimate of an attribute the entry lacks is an error naming
the file, the id and the field. :mod:`carbon.site` builds such a folder from a spreadsheet.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import json
import tomllib
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pint
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from carbon.activities import ACTIVITIES, get_activity
from carbon.data import packaged_dir
from carbon.errors import TwinError, UnknownUnitError
from carbon.gpc import REFS, sector_use_type
from carbon.regions import REGION_CODE
from carbon.units import Q_, parse_quantity, parse_unit

__all__ = [
    "ATTRIBUTES",
    "NODE_KINDS",
    "Asset",
    "Boundary",
    "Meter",
    "Node",
    "Site",
    "Twin",
    "check_timezone",
    "list_sites",
    "load_twin",
    "sites_dir",
]

NodeKind = Literal[
    "subdistrict",
    "block",
    "residential_area",
    "compound",
    "office_building",
    "street",
    "building",
    "facility",
]

NODE_KINDS: dict[str, tuple[str, ...]] = {
    "subdistrict": (),
    "block": ("subdistrict",),
    "residential_area": ("block",),
    "compound": ("residential_area",),
    "office_building": ("block",),
    "street": ("block",),
    "building": ("compound", "residential_area", "office_building", "street"),
    "facility": ("block", "residential_area", "compound", "street", "office_building"),
}
"""Each node kind and the kinds its parent may have (a subdistrict is the root)."""

ATTRIBUTES: dict[str, str | None] = {
    # quantities (value with a unit, checked against this unit's dimension)
    "area": "km2",
    "land_area": "m2",
    "floor_area": "m2",
    "roof_area": "m2",
    "wall_area": "m2",
    "green_area": "m2",
    "frontage_length": "m",
    "height": "m",
    "power": "W",
    "capacity": "kWp",
    "flush_volume": "L",
    # counts (non-negative integers)
    "households": None,
    "residents": None,
    "residents_over_60": None,
    "shops": None,
    "office_workers": None,
    "firms": None,
    "floors": None,
    "elevators": None,
    "buildings": None,
    "count": None,
    "built_year": None,
    "uses_per_day": None,
}
"""Known attributes: a unit for quantities (its dimension is enforced), None for counts."""

MeasureKind = Literal["electricity", "gas", "water", "heat"]
_DEFAULT_ACTIVITY = {
    "electricity": "electricity.grid",
    "gas": "natural_gas.combustion",
    "water": "water.supply",
    "heat": "heat.purchased",
}


def _check_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in attrs.items():
        if name not in ATTRIBUTES:
            raise ValueError(f"unknown attribute {name!r}; known: {', '.join(ATTRIBUTES)}")
        unit = ATTRIBUTES[name]
        if unit is None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"attribute {name!r} is a count: expected an integer >= 0, got {value!r}"
                )
            out[name] = value
            continue
        if not isinstance(value, str):
            raise ValueError(f"attribute {name!r} needs a unit, e.g. '1200 {unit}'; got {value!r}")
        try:
            q = parse_quantity(value)
        except UnknownUnitError as exc:
            raise ValueError(f"attribute {name!r}: {exc}") from None
        if q.units.dimensionality != parse_unit(unit).dimensionality:
            raise ValueError(
                f"attribute {name!r} = {value!r} has the wrong unit: expected a unit of "
                f"{parse_unit(unit).dimensionality} such as {unit}"
            )
        if q.magnitude < 0:
            raise ValueError(f"attribute {name!r} = {value!r} is negative")
        out[name] = value
    return out


class _Entity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    attributes: dict[str, Any] = Field(default_factory=dict)
    estimated: dict[str, str] = Field(default_factory=dict)
    notes: str | None = None

    @field_validator("attributes")
    @classmethod
    def _attrs(cls, v: dict[str, Any]) -> dict[str, Any]:
        return _check_attributes(v)

    @field_validator("estimated")
    @classmethod
    def _estimates(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        attributes = info.data.get("attributes")
        if attributes is None:  # the attributes failed; that error is reported
            return v
        for name, basis in v.items():
            if name not in attributes:
                raise ValueError(
                    f"estimate basis for {name!r}, which is not an attribute here "
                    f"(attributes: {', '.join(attributes) or 'none'})"
                )
            if not basis.strip():
                raise ValueError(f"the estimate of {name!r} needs its basis, not an empty text")
        return v

    def quantity(self, name: str) -> pint.Quantity:
        """An attribute as a Quantity (counts are dimensionless)."""
        value = self.attributes[name]
        return parse_quantity(value) if isinstance(value, str) else Q_(value)

    def magnitude(self, name: str, unit: str | None = None) -> float:
        """An attribute's magnitude, in ``unit`` (default: the attribute's reference unit)."""
        ref = unit or ATTRIBUTES[name]
        q = self.quantity(name)
        return float(q.to(parse_unit(ref)).magnitude) if ref else float(q.magnitude)

    def is_estimated(self, name: str) -> bool:
        """True when the attribute is an estimate (its basis is in ``estimated``)."""
        return name in self.estimated


class Node(_Entity):
    """A place in the twin: the subdistrict, a block, a compound, a building...

    Attributes
    ----------
    id : dotted lower-case id, unique in the twin, e.g. ``"hengfeng.north_building"``.
    parent : id of the parent node (None only for the subdistrict).
    kind : one of :data:`NODE_KINDS`.
    name_zh, name_en : names.
    use_type : what the node is used for (``residential``, ``office``, ``retail``,
        ``public``), inherited from the parent when omitted.
    attributes : facts with units (``floor_area = "12000 m2"``) or counts (``households``).
    estimated : attribute name -> basis of the estimate, for every attribute that is one.
    region : region code for factor lookup, inherited from the site when omitted.
    """

    parent: str | None = None
    kind: NodeKind
    use_type: Literal["residential", "office", "retail", "public", "mixed"] | None = None
    region: str | None = Field(None, pattern=REGION_CODE)


class Meter(BaseModel):
    """A meter on a node.

    Attributes
    ----------
    id : unique meter id, as the utility export names it.
    node : id of the node it meters.
    measure : ``electricity``, ``gas``, ``water`` or ``heat``.
    activity : activity id (default from ``measure``).
    unit : unit of its readings, e.g. ``kWh`` [must convert to the activity's canonical unit].
    reading : ``interval`` (consumption per interval) or ``register`` (cumulative index).
    interval : ``1h``, ``1d`` or ``1mo``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    node: str
    measure: MeasureKind
    activity: str | None = None
    unit: str
    reading: Literal["interval", "register"] = "interval"
    interval: Literal["15min", "1h", "1d", "1mo"] = "1h"
    use_type: str | None = None
    installed: str | None = None
    notes: str | None = None

    @field_validator("installed")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError("expected a date YYYY-MM-DD") from None
        return v

    @property
    def activity_id(self) -> str:
        """The activity this meter's readings are (explicit, or from ``measure``)."""
        return self.activity or _DEFAULT_ACTIVITY[self.measure]


class Asset(_Entity):
    """Something an intervention acts on: light fixtures, toilets, a roof, a wall...

    Attributes
    ----------
    node : id of the node it belongs to.
    kind : ``light_fixtures``, ``toilets``, ``roof``, ``wall``, ``green_space``,
        ``ebike_chargers``, ``elevators``, ``pv_array``.
    """

    node: str
    kind: Literal[
        "light_fixtures",
        "toilets",
        "roof",
        "wall",
        "green_space",
        "ebike_chargers",
        "elevators",
        "pv_array",
        "meter_box_monitors",
    ]


class SourceRef(BaseModel):
    """A citation for a site fact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    citation: str
    confidence: Literal["high", "medium", "low", "assumption"]


class Site(BaseModel):
    """The community: its names, region, time zone and headline facts.

    Attributes
    ----------
    id : folder name, e.g. ``"shimen_erlu"``.
    region : region code for factor lookup (``CN-SH``).
    timezone : IANA zone of its meters (``Asia/Shanghai``).
    facts : headline numbers (``residents``, ``area`` ...) as published.
    sources : citations of the facts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name_zh: str
    name_en: str
    region: str = Field(pattern=REGION_CODE)
    timezone: str = "Asia/Shanghai"
    root: str
    facts: dict[str, Any] = Field(default_factory=dict)
    fact_sources: dict[str, str] = Field(default_factory=dict)
    sources: list[SourceRef] = Field(default_factory=list)
    notes: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return check_timezone(v)


def check_timezone(name: str) -> str:
    """Return ``name`` when it is an IANA time zone that :mod:`zoneinfo` can load.

    Raises
    ------
    ValueError
        Saying so, with the closest zone names (a misspelt ``Asia/Shangai`` would otherwise
        load and fail only when meter readings are ingested).
    """
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"not an IANA time zone (such as 'Asia/Shanghai'){hint}"
        ) from None
    return name


class BoundaryItem(BaseModel):
    """One thing the inventory boundary includes or leaves out.

    Attributes
    ----------
    what, what_zh : what it is (English, Chinese).
    gpc : the GPC sectors, sub-sectors or rows it concerns (``I.2``, ``II.2.2``).
    basis : how it is covered (included items), e.g. the meters or data behind it.
    why : why it is out (excluded items; required there).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    what: str = Field(min_length=1)
    what_zh: str | None = None
    gpc: list[str] = Field(default_factory=list)
    basis: str | None = None
    why: str | None = None

    @field_validator("gpc")
    @classmethod
    def _known_gpc(cls, v: list[str]) -> list[str]:
        known = {r.ref for r in REFS.values()} | {r.subsector for r in REFS.values()}
        known |= {r.sector for r in REFS.values()}
        unknown = [g for g in v if g not in known]
        if unknown:
            raise ValueError(f"unknown GPC sector, sub-sector or row {unknown[0]!r}")
        return v


class BoundaryKey(BaseModel):
    """A notation key the boundary statement gives a GPC row without data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Literal["NO", "IE", "NE", "C"]
    explanation: str = Field(min_length=1)


class Boundary(BaseModel):
    """The inventory boundary statement of a community (``[boundary]`` in ``site.toml``).

    GPC v1.1 ch. 3 asks an inventory to state its geographic boundary and, with notation keys
    and explanations (docs/research/gpc.md §1.5, §5), every source it does not cover.

    Attributes
    ----------
    statement, statement_zh : the boundary in a few sentences.
    included : what the inventory covers, with the data behind it.
    excluded : what lies inside the geographic boundary but is not covered, and why.
    notation_keys : GPC row -> key and explanation, for rows without data.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement: str = Field(min_length=1)
    statement_zh: str | None = None
    included: list[BoundaryItem] = Field(default_factory=list)
    excluded: list[BoundaryItem] = Field(default_factory=list)
    notation_keys: dict[str, BoundaryKey] = Field(default_factory=dict)

    @field_validator("excluded")
    @classmethod
    def _why(cls, v: list[BoundaryItem]) -> list[BoundaryItem]:
        for item in v:
            if not item.why:
                raise ValueError(f"excluded item {item.what!r} needs a 'why'")
        return v

    @field_validator("notation_keys")
    @classmethod
    def _rows(cls, v: dict[str, BoundaryKey]) -> dict[str, BoundaryKey]:
        for ref in v:
            if ref not in REFS:
                raise ValueError(f"notation key for unknown GPC row {ref!r}")
        return v


def sites_dir() -> Path:
    """The folder of the packaged communities (``carbon/data/sites`` in a wheel, the
    repository's ``sites/`` in an editable install; see :func:`carbon.data.packaged_dir`)."""
    return packaged_dir("sites")


def list_sites() -> list[str]:
    """Names of the packaged community folders."""
    return sorted(p.name for p in sites_dir().iterdir() if (p / "site.toml").exists())


@dataclass
class Twin:
    """A validated community twin.

    Build with :func:`load_twin`. Nodes, meters and assets are keyed by id; the tree is walked
    with :meth:`children`, :meth:`ancestors`, :meth:`descendants` and :meth:`path`.
    """

    site: Site
    nodes: dict[str, Node]
    meters: dict[str, Meter]
    assets: dict[str, Asset]
    geometry: dict[str, Any] | None
    folder: Path
    files: dict[str, str] = field(default_factory=dict)
    boundary: Boundary | None = None
    _children: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _region: dict[str, str] = field(default_factory=dict, repr=False)
    _use: dict[str, str | None] = field(default_factory=dict, repr=False)
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _paths: dict[str, str] = field(default_factory=dict, repr=False)
    _walk: list[tuple[int, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        kids: dict[str, list[str]] = {nid: [] for nid in self.nodes}
        for node in self.nodes.values():
            if node.parent is not None:
                kids[node.parent].append(node.id)
        self._children = kids

    def __repr__(self) -> str:
        return (
            f"Twin({self.site.id!r}, {len(self.nodes)} nodes, {len(self.meters)} meters, "
            f"{len(self.assets)} assets)"
        )

    @property
    def name(self) -> str:
        """The community's id (its folder name)."""
        return self.site.id

    @property
    def root(self) -> Node:
        """The root node (the subdistrict)."""
        return self.nodes[self.site.root]

    @property
    def content_hash(self) -> str:
        """SHA-256 over the twin's files [hex], for ledger manifests."""
        blob = json.dumps(dict(sorted(self.files.items())), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    def node(self, node_id: str) -> Node:
        """Return a node by id.

        Raises
        ------
        KeyError
            With the close ids, when there is no such node.
        """
        try:
            return self.nodes[node_id]
        except KeyError:
            close = [n for n in self.nodes if node_id.split(".")[-1] in n][:5]
            raise KeyError(f"No node {node_id!r} in twin {self.name!r}; close: {close}") from None

    def node_ids(self, kind: str | None = None, under: str | None = None) -> list[str]:
        """Node ids, depth first from the root (or from ``under``, itself included).

        Parameters
        ----------
        kind : only nodes of this kind (one of :data:`NODE_KINDS`).
        under : only this node and the nodes below it.
        """
        if kind is not None and kind not in NODE_KINDS:
            raise ValueError(f"unknown node kind {kind!r}; known: {', '.join(NODE_KINDS)}")
        if under is None:
            ids = [nid for _, nid in self._order()]
        else:
            ids = [self.node(under).id, *(n.id for n in self.descendants(under))]
        return [i for i in ids if kind is None or self.nodes[i].kind == kind]

    def meter_ids(self, node: str | None = None, measure: str | None = None) -> list[str]:
        """Meter ids, in file order: all, or those on ``node`` and below it.

        Parameters
        ----------
        node : only meters on this node or a node below it.
        measure : only ``electricity``, ``gas``, ``water`` or ``heat`` meters.
        """
        meters = self.meters_of(node) if node is not None else list(self.meters.values())
        return [m.id for m in meters if measure is None or m.measure == measure]

    def children(self, node_id: str) -> list[Node]:
        """The direct children of a node, in file order."""
        self.node(node_id)
        return [self.nodes[c] for c in self._children[node_id]]

    def ancestors(self, node_id: str) -> list[Node]:
        """The ancestors of a node, parent first, root last."""
        out = []
        current = self.node(node_id).parent
        while current is not None:
            out.append(self.nodes[current])
            current = self.nodes[current].parent
        return out

    def descendants(self, node_id: str) -> Iterator[Node]:
        """Every node below ``node_id``, depth first, in file order."""
        for child in self.children(node_id):
            yield child
            yield from self.descendants(child.id)

    def walk(self) -> Iterator[tuple[int, Node]]:
        """Every node with its depth, depth first from the root."""
        nodes = self.nodes
        for depth, nid in self._order():
            yield depth, nodes[nid]

    def _order(self) -> list[tuple[int, str]]:
        """(depth, node id) of every node, depth first from the root; worked out once."""
        if not self._walk:
            self._resolve()
        return self._walk

    def _resolve(self) -> None:
        """One walk down the tree (nodes are frozen): the order, and every node's path, region
        and use type, the last two inherited from the nearest ancestor that has one."""
        nodes, kids, site = self.nodes, self._children, self.site
        order, paths, regions, uses = self._walk, self._paths, self._region, self._use
        order.clear()
        root = nodes[site.root]
        paths[root.id] = root.id
        regions[root.id] = root.region or site.region
        uses[root.id] = root.use_type
        stack = [(0, root.id)]
        while stack:
            depth, nid = stack.pop()
            order.append((depth, nid))
            path, region, use = paths[nid], regions[nid], uses[nid]
            for c in reversed(kids[nid]):
                child = nodes[c]
                paths[c] = f"{path}/{c}"
                regions[c] = child.region or region
                uses[c] = child.use_type or use
                stack.append((depth + 1, c))

    def path(self, node_id: str) -> str:
        """The node's path from the root, ids joined by ``/``."""
        self.node(node_id)
        if not self._paths:
            self._resolve()
        return self._paths[node_id]

    def _inherited(self) -> tuple[dict[str, str], dict[str, str | None]]:
        """Region and use type of every node, resolved down the tree once (nodes are frozen)."""
        if not self._region:
            self._resolve()
        return self._region, self._use

    def region_of(self, node_id: str) -> str:
        """The region code used for factor lookup: the nearest explicit one, else the site's."""
        self.node(node_id)
        return self._inherited()[0][node_id]

    def use_type_of(self, node_id: str) -> str | None:
        """The node's use type: its own, else the nearest ancestor's."""
        self.node(node_id)
        return self._inherited()[1][node_id]

    def ancestor_of_kind(self, node_id: str, kind: str) -> Node | None:
        """The nearest node of ``kind`` on the path from ``node_id`` to the root (itself first)."""
        for n in [self.node(node_id), *self.ancestors(node_id)]:
            if n.kind == kind:
                return n
        return None

    def meters_of(self, node_id: str, *, recursive: bool = True) -> list[Meter]:
        """Meters on a node (and, when ``recursive``, on every node below it)."""
        ids = {node_id}
        if recursive:
            ids |= {n.id for n in self.descendants(node_id)}
        return [m for m in self.meters.values() if m.node in ids]

    def total(self, attribute: str, kind: str | None = None, unit: str | None = None) -> float:
        """Sum an attribute over nodes (optionally of one kind), in ``unit`` when given."""
        return sum(
            n.magnitude(attribute, unit)
            for n in self.nodes.values()
            if attribute in n.attributes and (kind is None or n.kind == kind)
        )

    def to_frame(self) -> pd.DataFrame:
        """The tree as a frame: one row per node with its path, depth and attributes.

        Quantity attributes are given as numbers in their reference unit, the column named
        with it (``floor_area_m2``); counts keep their names. Built once per twin (nodes are
        frozen); each call returns its own copy.
        """
        if "nodes" not in self._frames:
            self._frames["nodes"] = self._nodes_frame()
        return self._frames["nodes"].copy(deep=False)

    def tree_frame(self) -> pd.DataFrame:
        """The tree alone: one row per node (depth first) with ``id, parent, kind, path,
        region, use_type`` (inherited ones resolved); what the store and the ledger need, at a
        fraction of :meth:`to_frame`'s cost on a city twin. Built once; each call returns
        its own copy."""
        if "tree" not in self._frames:
            self._frames["tree"] = pd.DataFrame(self._tree_columns())
        return self._frames["tree"].copy(deep=False)

    def _tree_columns(self) -> dict[str, list[Any]]:
        """The columns of :meth:`tree_frame`, in walk order."""
        ids = [nid for _, nid in self._order()]  # the walk fills paths, regions, use types
        nodes = self.nodes
        return {
            "id": ids,
            "parent": [nodes[i].parent for i in ids],
            "kind": [nodes[i].kind for i in ids],
            "path": [self._paths[i] for i in ids],
            "region": [self._region[i] for i in ids],
            "use_type": [self._use[i] for i in ids],
        }

    def _nodes_frame(self) -> pd.DataFrame:
        meters_per_node = Counter(m.node for m in self.meters.values())
        tree = self._tree_columns()
        nodes = [self.nodes[i] for i in tree["id"]]
        columns: dict[str, list[Any]] = {
            "id": tree["id"],
            "parent": tree["parent"],
            "kind": tree["kind"],
            "name_zh": [n.name_zh for n in nodes],
            "name_en": [n.name_en for n in nodes],
            "depth": [d for d, _ in self._order()],
            "path": tree["path"],
            "use_type": tree["use_type"],
            "region": tree["region"],
            "meters": [meters_per_node[n.id] for n in nodes],
            "estimated": [",".join(sorted(n.estimated)) for n in nodes],
        }
        # Attribute columns in order of first appearance, NaN where a node lacks one (as a
        # frame built from one dict per node has them).
        for i, n in enumerate(nodes):
            for name in n.attributes:
                unit = ATTRIBUTES[name]
                col = f"{name}_{unit}" if unit else name
                if col not in columns:
                    columns[col] = [None] * len(nodes)
                columns[col][i] = n.magnitude(name)
        frame = pd.DataFrame(columns)
        for col in list(columns)[11:]:
            frame[col] = frame[col].astype("float64")
        return frame

    def meters_frame(self) -> pd.DataFrame:
        """One row per meter: id, node, path, measure, activity, unit, reading, interval and
        the use type that classifies its readings (:func:`carbon.gpc.sector_use_type`).

        Built once per twin; each call returns its own copy.
        """
        if "meters" not in self._frames:
            self._frames["meters"] = self._meters_frame()
        return self._frames["meters"].copy(deep=False)

    def _meters_frame(self) -> pd.DataFrame:
        meters = list(self.meters.values())
        self._order()  # the walk fills paths and use types
        paths, uses = self._paths, self._use
        return pd.DataFrame(
            {
                "meter_id": [m.id for m in meters],
                "node_id": [m.node for m in meters],
                "path": [paths[m.node] for m in meters],
                "measure": [m.measure for m in meters],
                "activity": [m.activity_id for m in meters],
                "unit": [m.unit for m in meters],
                "reading": [m.reading for m in meters],
                "interval": [m.interval for m in meters],
                "use_type": [sector_use_type(m.use_type, uses[m.node]) for m in meters],
            }
        )

    def assets_frame(self) -> pd.DataFrame:
        """One row per asset with its node, kind and attributes."""
        rows = []
        for a in self.assets.values():
            row: dict[str, Any] = {
                "asset_id": a.id,
                "node_id": a.node,
                "kind": a.kind,
                "name_zh": a.name_zh,
                "name_en": a.name_en,
            }
            for name in a.attributes:
                unit = ATTRIBUTES[name]
                row[f"{name}_{unit}" if unit else name] = a.magnitude(name)
            rows.append(row)
        return pd.DataFrame(rows)


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise TwinError(path, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise TwinError(path, f"not valid TOML: {exc}") from None


def _model(cls: type[BaseModel], raw: dict[str, Any], path: Path, entry: str | None) -> Any:
    try:
        return cls(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or None
        msg = first["msg"].removeprefix("Value error, ")
        value = first.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int | float) else ""
        raise TwinError(path, msg + shown, entry=entry, field=loc) from None


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.name == "site.toml" and path.is_file():
        return path.parent
    if (path / "site.toml").exists():
        return path
    packaged = sites_dir() / str(name_or_path)
    if (packaged / "site.toml").exists():
        return packaged
    if path.is_dir():
        raise TwinError(path / "site.toml", "file not found: this folder is no community twin")
    raise TwinError(
        path,
        f"no community folder with a site.toml here or among the packaged sites "
        f"({', '.join(list_sites())})",
    )


@functools.lru_cache(maxsize=8)
def _load_cached(folder: Path, stamp: tuple[tuple[str, float], ...]) -> Twin:
    return _load(folder)


CONTEXT_KINDS = ("street", "water")
"""Kinds of the context features of ``geometry.geojson`` (drawn for orientation only)."""


def _context_problem(props: dict[str, Any], names_a_node: bool) -> str | None:
    """What is wrong with a context feature's properties, or None."""
    if props["context"] not in CONTEXT_KINDS:
        return (f"has context {props['context']!r}; expected one of "
                f"{', '.join(CONTEXT_KINDS)}")
    if names_a_node:
        return f"is a context feature but names node {props.get('id')!r}"
    for key in ("name_zh", "name_en"):
        if not isinstance(props.get(key), str) or not props[key].strip():
            return f"is a context feature ({props['context']}) without {key}"
    return None


def load_twin(name_or_path: str | Path = "shimen_erlu") -> Twin:
    """Load and validate a community twin.

    Parameters
    ----------
    name_or_path : a packaged community name (see :func:`list_sites`) or a folder path.

    Returns
    -------
    Twin

    Raises
    ------
    TwinError
        Naming the file, the id and the field: bad TOML, a duplicate id, an unknown parent or a
        parent of the wrong kind, a cycle, a meter or asset on no node, an attribute with the
        wrong unit, an estimate of a missing attribute, a meter unit that does not fit its
        activity, a bad installation date, a geometry feature for an unknown node or asset, an
        unknown time zone, or a fact source naming no fact or no source.
    """
    folder = _resolve(name_or_path).resolve()
    stamp = tuple((p.name, p.stat().st_mtime) for p in sorted(folder.iterdir()) if p.is_file())
    return _load_cached(folder, stamp)


def _load(folder: Path) -> Twin:
    files: dict[str, str] = {}

    def read(name: str, required: bool = True) -> dict[str, Any] | None:
        path = folder / name
        if not path.exists() and not required:
            return None
        data = _read(path)
        files[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        return data

    site_path = folder / "site.toml"
    site_raw = read("site.toml") or {}
    site = _model(Site, site_raw.get("site", {}), site_path, site_raw.get("site", {}).get("id"))
    boundary = (
        _model(Boundary, site_raw["boundary"], site_path, "boundary")
        if "boundary" in site_raw
        else None
    )
    _check_fact_sources(site_path, site)

    nodes: dict[str, Node] = {}
    node_path = folder / "nodes.toml"
    for raw in (read("nodes.toml") or {}).get("node", []):
        node = _model(Node, raw, node_path, raw.get("id"))
        if node.id in nodes:
            raise TwinError(node_path, "duplicate node id", entry=node.id, field="id")
        nodes[node.id] = node
    _check_tree(node_path, site, nodes)

    meters: dict[str, Meter] = {}
    meter_path = folder / "meters.toml"
    for raw in (read("meters.toml", required=False) or {}).get("meter", []):
        meter = _model(Meter, raw, meter_path, raw.get("id"))
        if meter.id in meters:
            raise TwinError(meter_path, "duplicate meter id", entry=meter.id, field="id")
        if meter.node not in nodes:
            raise TwinError(
                meter_path,
                f"meter is on no node: unknown node {meter.node!r}",
                entry=meter.id,
                field="node",
            )
        if meter.activity is not None and meter.activity not in ACTIVITIES:
            raise TwinError(
                meter_path, f"unknown activity {meter.activity!r}", entry=meter.id, field="activity"
            )
        canonical = get_activity(meter.activity_id).canonical_unit
        try:
            ok = parse_unit(meter.unit).dimensionality == parse_unit(canonical).dimensionality
        except UnknownUnitError as exc:
            raise TwinError(meter_path, str(exc), entry=meter.id, field="unit") from None
        if not ok:
            raise TwinError(
                meter_path,
                f"unit {meter.unit!r} does not convert to {canonical!r}, the unit of "
                f"{meter.activity_id}",
                entry=meter.id,
                field="unit",
            )
        meters[meter.id] = meter

    assets: dict[str, Asset] = {}
    asset_path = folder / "assets.toml"
    for raw in (read("assets.toml", required=False) or {}).get("asset", []):
        asset = _model(Asset, raw, asset_path, raw.get("id"))
        if asset.id in assets or asset.id in nodes:
            raise TwinError(
                asset_path, "duplicate id (an asset or node has it)", entry=asset.id, field="id"
            )
        if asset.node not in nodes:
            raise TwinError(
                asset_path,
                f"asset is on no node: unknown node {asset.node!r}",
                entry=asset.id,
                field="node",
            )
        assets[asset.id] = asset

    geometry = None
    geo_path = folder / "geometry.geojson"
    if geo_path.exists():
        try:
            geometry = json.loads(geo_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise TwinError(geo_path, f"not valid JSON: {exc}") from None
        files["geometry.geojson"] = hashlib.sha256(geo_path.read_bytes()).hexdigest()
        if geometry.get("type") != "FeatureCollection":
            raise TwinError(geo_path, "expected a GeoJSON FeatureCollection", field="type")
        for i, feat in enumerate(geometry.get("features", [])):
            props = feat.get("properties") or {}
            fid = props.get("id")
            if "context" in props:  # a street or a river drawn for orientation, not a node
                problem = _context_problem(props, fid in nodes or fid in assets)
                if problem:
                    raise TwinError(geo_path, f"feature #{i} {problem}", entry=str(fid),
                                    field="properties")
            elif fid not in nodes and fid not in assets:
                raise TwinError(
                    geo_path,
                    f"feature #{i} names unknown node {fid!r}",
                    entry=str(fid),
                    field="properties.id",
                )
            if not isinstance(feat.get("geometry"), dict) or "type" not in feat["geometry"]:
                raise TwinError(
                    geo_path, f"feature #{i} has no geometry", entry=str(fid), field="geometry"
                )

    return Twin(
        site=site,
        nodes=nodes,
        meters=meters,
        assets=assets,
        geometry=geometry,
        folder=folder,
        files=files,
        boundary=boundary,
    )


def _check_fact_sources(path: Path, site: Site) -> None:
    """Every ``[site.fact_sources]`` entry names a fact and one of the ``[[site.sources]]``."""
    ids = [s.id for s in site.sources]
    for fact, source in site.fact_sources.items():
        if fact not in site.facts:
            raise TwinError(
                path,
                f"a source for {fact!r}, which is not in [site.facts]",
                entry=site.id,
                field=f"fact_sources.{fact}",
            )
        if source not in ids:
            raise TwinError(
                path,
                f"unknown source {source!r}; the [[site.sources]] ids are: "
                f"{', '.join(ids) or 'none'}",
                entry=site.id,
                field=f"fact_sources.{fact}",
            )


def _check_tree(path: Path, site: Site, nodes: dict[str, Node]) -> None:
    if site.root not in nodes:
        raise TwinError(path, f"the site's root {site.root!r} is not a node", entry=site.root)
    for node in nodes.values():
        allowed = NODE_KINDS[node.kind]
        if node.parent is None:
            if allowed:
                raise TwinError(
                    path, f"a {node.kind} needs a parent", entry=node.id, field="parent"
                )
            if node.id != site.root:
                raise TwinError(
                    path,
                    "a second root: only the site's root has no parent",
                    entry=node.id,
                    field="parent",
                )
            continue
        if node.parent not in nodes:
            raise TwinError(path, f"unknown parent {node.parent!r}", entry=node.id, field="parent")
        parent_kind = nodes[node.parent].kind
        if parent_kind not in allowed:
            raise TwinError(
                path,
                f"a {node.kind} cannot sit under a {parent_kind} ({node.parent!r}); allowed "
                f"parents: {', '.join(allowed)}",
                entry=node.id,
                field="parent",
            )
