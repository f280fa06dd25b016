"""Write ``sites/shimen_erlu/geometry.geojson``: the twin's approximate map, in WGS84 lon/lat.

Run from the repository root (standard library only)::

    python docs/site_geometry.py

How every outline is placed, and the coordinates it starts from, is in
docs/research/site_geometry.md. In short:

1. The subdistrict outline is a public boundary polygon, rounded to 4 decimals (~10 m)
   (§2); it gives 1.06 km2 against the 1.07 km2 the subdistrict publishes.
2. Streets are straight lines through the anchor points of §2 (metro stations, street
   addresses); the three street blocks are the outline cut at 北京西路 and 新闸路 (§3).
3. Residential areas, office buildings and compounds sit inside the parcels the streets leave,
   set back from every street by its half width, so no street crosses a home (§4). Which parcel
   each one is in is an assumption (the sources name the areas, not where they are).
4. Street frontages run along their street, on one side, inside their block (§5).

Every feature carries ``approximate: true`` and ``source`` (the section it was placed by);
streets and the creek are context features (``context``: ``street`` or ``water``) with names.
The script is deterministic: re-running it writes the same bytes.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "sites" / "shimen_erlu"

# Local metric frame: x east, y north [m], from an equirectangular projection at LAT0.
LON0, LAT0 = 121.4555, 31.2370
KX = 111320.0 * math.cos(math.radians(LAT0))  # [m / degree of longitude]
KY = 110574.0  # [m / degree of latitude]

Pt = tuple[float, float]


def to_m(lon: float, lat: float) -> Pt:
    return ((lon - LON0) * KX, (lat - LAT0) * KY)


def to_ll(p: Pt) -> list[float]:
    return [round(LON0 + p[0] / KX, 5), round(LAT0 + p[1] / KY, 5)]


# ------------------------------------------------------------------ geometry helpers
def signed_distance(p: Pt, q: Pt, r: Pt) -> float:
    """Distance of r from the line p->q [m]; positive on its left."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    return (dx * (r[1] - p[1]) - dy * (r[0] - p[0])) / math.hypot(dx, dy)


def clip(poly: list[Pt], p: Pt, q: Pt, keep_left: bool, offset: float = 0.0) -> list[Pt]:
    """The part of a polygon on one side of the line p->q, at least ``offset`` [m] from it
    (Sutherland-Hodgman against one half-plane)."""
    sign = 1.0 if keep_left else -1.0
    out: list[Pt] = []
    for i, a in enumerate(poly):
        b = poly[(i + 1) % len(poly)]
        fa = sign * signed_distance(p, q, a) - offset
        fb = sign * signed_distance(p, q, b) - offset
        if fa >= 0:
            out.append(a)
        if (fa >= 0) != (fb >= 0):
            t = fa / (fa - fb)
            out.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
    return out


def area(poly: list[Pt]) -> float:
    """Signed area [m2] (positive counter-clockwise)."""
    pairs = zip(poly, poly[1:] + poly[:1], strict=True)
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in pairs) / 2.0


def intersect(p1: Pt, p2: Pt, p3: Pt, p4: Pt) -> Pt:
    """Where the line p1-p2 meets the line p3-p4."""
    den = (p1[0] - p2[0]) * (p3[1] - p4[1]) - (p1[1] - p2[1]) * (p3[0] - p4[0])
    t = ((p1[0] - p3[0]) * (p3[1] - p4[1]) - (p1[1] - p3[1]) * (p3[0] - p4[0])) / den
    return (p1[0] + t * (p2[0] - p1[0]), p1[1] + t * (p2[1] - p1[1]))


def inset(poly: list[Pt], d: float) -> list[Pt]:
    """A simple polygon moved inwards by d [m] (mitred corners)."""
    ccw = area(poly) > 0
    lines = []
    for a, b in zip(poly, poly[1:] + poly[:1], strict=True):
        dx, dy = b[0] - a[0], b[1] - a[1]
        n = math.hypot(dx, dy)
        nx, ny = (-dy / n, dx / n) if ccw else (dy / n, -dx / n)
        lines.append(((a[0] + nx * d, a[1] + ny * d), (b[0] + nx * d, b[1] + ny * d)))
    return [intersect(*lines[i - 1], *lines[i]) for i in range(len(lines))]


def centroid(poly: list[Pt]) -> Pt:
    a = area(poly)
    cx = cy = 0.0
    for p, q in zip(poly, poly[1:] + poly[:1], strict=True):
        c = p[0] * q[1] - q[0] * p[1]
        cx += (p[0] + q[0]) * c
        cy += (p[1] + q[1]) * c
    return (cx / (6 * a), cy / (6 * a))


def lerp(a: Pt, b: Pt, t: float) -> Pt:
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))


def towards(a: Pt, b: Pt, d: float) -> Pt:
    """The point d [m] from a towards b."""
    return lerp(a, b, d / math.hypot(b[0] - a[0], b[1] - a[1]))


def inside(pt: Pt, poly: list[Pt]) -> bool:
    x, y = pt
    hit = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def rect(c: Pt, w: float, h: float, angle: float) -> list[Pt]:
    """A w x h [m] rectangle centred at c, its w side at ``angle`` [deg from east]."""
    ux, uy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return [(c[0] + su * w / 2 * ux - sv * h / 2 * uy, c[1] + su * w / 2 * uy + sv * h / 2 * ux)
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]


def offset_line(a: Pt, b: Pt, d: float) -> tuple[Pt, Pt]:
    """The segment a-b moved d [m] to its left."""
    n = math.hypot(b[0] - a[0], b[1] - a[1])
    nx, ny = -(b[1] - a[1]) / n, (b[0] - a[0]) / n
    return (a[0] + nx * d, a[1] + ny * d), (b[0] + nx * d, b[1] + ny * d)


def extend(a: Pt, b: Pt, before: float, after: float) -> tuple[Pt, Pt]:
    """The segment a-b lengthened by ``before`` [m] at a and ``after`` [m] at b."""
    return towards(a, b, -before), towards(b, a, -after)


# ------------------------------------------------------------------ the frame (§2)
OUTLINE = [to_m(*p) for p in (
    (121.4624, 31.2329), (121.4611, 31.2328), (121.4573, 31.2329), (121.4547, 31.2320),
    (121.4521, 31.2302), (121.4506, 31.2321), (121.4480, 31.2363), (121.4495, 31.2366),
    (121.4523, 31.2376), (121.4511, 31.2392), (121.4509, 31.2408), (121.4526, 31.2399),
    (121.4541, 31.2402), (121.4564, 31.2425), (121.4584, 31.2433), (121.4598, 31.2401),
    (121.4618, 31.2362),
)]
"""The subdistrict boundary, from its south-east corner (成都北路 at the south edge)."""

# Straight street lines, west -> east or south -> north (lon, lat), through the anchors of §2.
LINES = {name: (to_m(*a), to_m(*b)) for name, (a, b) in {
    "beijing": ((121.4485, 31.2331), (121.4628, 31.2358)),
    "xinzha": ((121.4480, 31.2366), (121.4600, 31.2398)),
    "shimen2": ((121.4560, 31.2310), (121.4540, 31.2410)),
    "datian": ((121.4588, 31.2350), (121.4566, 31.2430)),
    "fengxian": ((121.4510, 31.2321), (121.4557, 31.2332)),
    "fengyang": ((121.4557, 31.2332), (121.4625, 31.2341)),
    "cixi": ((121.4552, 31.2367), (121.4583, 31.2373)),
}.items()}
HALF_WIDTH = {"beijing": 15.0, "xinzha": 12.0, "shimen2": 12.0, "datian": 9.0,
              "fengxian": 7.0, "fengyang": 7.0, "cixi": 6.0}
"""Set-back of homes and offices from each street's centre line [m] (ASSUMPTION: half the
width of a Jing'an main road ~24-30 m, of a branch road ~12-18 m)."""
BOUNDARY_SETBACK = 10.0  # [m] from the outline (boundary roads and the creek bank; ASSUMPTION)
NORTH = WEST = True  # left of a west->east line is north; left of a south->north line is west
SOUTH = EAST = False


def cut(poly: list[Pt], line: str, keep_left: bool, offset: float | None = None) -> list[Pt]:
    p, q = LINES[line]
    return clip(poly, p, q, keep_left, HALF_WIDTH[line] if offset is None else offset)


def unit(line: str) -> Pt:
    p, q = LINES[line]
    n = math.hypot(q[0] - p[0], q[1] - p[1])
    return ((q[0] - p[0]) / n, (q[1] - p[1]) / n)


EAST_WEST, SOUTH_NORTH = unit("beijing"), unit("shimen2")
GRID_ANGLE = math.degrees(math.atan2(EAST_WEST[1], EAST_WEST[0]))  # of the east-west streets


def split(poly: list[Pt], t: float, along: str = "ew", gap: float = 6.0
          ) -> tuple[list[Pt], list[Pt]]:
    """A parcel cut in two at fraction t of its extent: (west, east) for ``along="ew"``,
    (south, north) for ``"ns"``, a lane of ``gap`` [m] between them."""
    u, d = (EAST_WEST, SOUTH_NORTH) if along == "ew" else (SOUTH_NORTH, EAST_WEST)
    proj = [x * u[0] + y * u[1] for x, y in poly]
    s = min(proj) + t * (max(proj) - min(proj))
    p = (s * u[0], s * u[1])
    q = (p[0] + d[0], p[1] + d[1])
    first = clip(poly, p, q, along == "ew", gap / 2)
    second = clip(poly, p, q, along != "ew", gap / 2)
    return first, second


# ------------------------------------------------------------------ blocks and parcels (§3)
def blocks() -> dict[str, list[Pt]]:
    return {
        "nanjing_west": cut(OUTLINE, "beijing", SOUTH, 0.0),
        "central": cut(cut(OUTLINE, "beijing", NORTH, 0.0), "xinzha", SOUTH, 0.0),
        "suhewan": cut(OUTLINE, "xinzha", NORTH, 0.0),
    }


def parcels() -> dict[str, list[Pt]]:
    inner = inset(OUTLINE, BOUNDARY_SETBACK)

    def parcel(*cuts: tuple[str, bool]) -> list[Pt]:
        poly = inner
        for line, keep_left in cuts:
            poly = cut(poly, line, keep_left)
        return poly

    return {
        "south_west_north": parcel(("beijing", SOUTH), ("shimen2", WEST), ("fengxian", NORTH)),
        "south_west_south": parcel(("shimen2", WEST), ("fengxian", SOUTH)),
        "south_east_north": parcel(("beijing", SOUTH), ("shimen2", EAST), ("fengyang", NORTH)),
        "south_east_south": parcel(("shimen2", EAST), ("fengyang", SOUTH)),
        "central_west": parcel(("beijing", NORTH), ("xinzha", SOUTH), ("shimen2", WEST)),
        "central_mid_south": parcel(("beijing", NORTH), ("xinzha", SOUTH), ("shimen2", EAST),
                                    ("datian", WEST), ("cixi", SOUTH)),
        "central_mid_north": parcel(("beijing", NORTH), ("xinzha", SOUTH), ("shimen2", EAST),
                                    ("datian", WEST), ("cixi", NORTH)),
        "central_east": parcel(("beijing", NORTH), ("xinzha", SOUTH), ("datian", EAST)),
        "north_west": parcel(("xinzha", NORTH), ("shimen2", WEST)),
        "north_mid": parcel(("xinzha", NORTH), ("shimen2", EAST), ("datian", WEST)),
        "north_east": parcel(("xinzha", NORTH), ("datian", EAST)),
    }


# ------------------------------------------------------------------ areas and buildings (§4)
OFFICES = {  # parcel (or its office part) -> office buildings in it, west/south first
    "south_west_north": ["kaidike", "office_01"],
    "south_west_south": ["office_02", "office_03"],
    "south_east_north": ["henderson_668", "office_04", "office_05"],
    "south_east_south": ["office_06", "office_07", "office_08", "office_09", "office_10",
                         "office_11"],
    "central_west": ["jiafa", "office_12", "office_13", "office_14"],
    "central_mid_south": ["office_15", "office_16", "office_17"],
    "central_east": ["office_18", "office_19"],
    "north_east": ["bohua_plaza", "office_20", "office_21", "office_22", "office_23",
                   "office_24", "office_25", "office_26", "office_27"],
}


def areas(p: dict[str, list[Pt]]) -> tuple[dict[str, list[Pt]], dict[str, list[Pt]]]:
    """(residential area polygons, the parts of parcels left for offices)."""
    res: dict[str, list[Pt]] = {}
    office_land: dict[str, list[Pt]] = {}
    office_land["south_west_north"], res["fengxian"] = split(p["south_west_north"], 0.35)
    office_land["south_west_south"], res["dongwang"] = split(p["south_west_south"], 0.40)
    res["xinde"], office_land["south_east_north"] = split(p["south_east_north"], 0.50)
    office_land["south_east_south"] = p["south_east_south"]
    office_land["central_west"], homes = split(p["central_west"], 0.30)
    res["xiangfu"], res["zhangjiazhai"] = split(homes, 0.5, "ns")
    office_land["central_mid_south"] = p["central_mid_south"]
    res["zhengjiaxiang"] = p["central_mid_north"]
    office_land["central_east"], res["siwenli"] = split(p["central_east"], 0.45, "ns")
    res["daancheng"], res["huaqin"] = split(p["north_west"], 0.5)
    res["xinfukangli"], res["hengfeng"] = split(p["north_mid"], 0.5, "ns")
    office_land["north_east"] = p["north_east"]
    return res, office_land


def footprint(node: dict) -> tuple[float, float]:
    """Drawn footprint [m x m]: floor area over floors (12 when unknown, ASSUMPTION), as a
    rectangle of 4:3, 26-46 m on its long side; the 60-floor Bohua Plaza 52 x 48 m."""
    if node["id"] == "bohua_plaza":
        return 52.0, 48.0
    attributes = node.get("attributes", {})
    floor_area = float(str(attributes.get("floor_area", "20000 m2")).split()[0])
    side = max(26.0, min(46.0, math.sqrt(floor_area / (attributes.get("floors") or 12))))
    return side * 1.15, side * 0.87


def place_offices(land: list[Pt], ids: list[str], nodes: dict[str, dict]) -> dict[str, list[Pt]]:
    """Office footprints on a grid aligned with the streets, spread evenly over the land."""
    u, v = EAST_WEST, (-EAST_WEST[1], EAST_WEST[0])
    pu = [x * u[0] + y * u[1] for x, y in land]
    pv = [x * v[0] + y * v[1] for x, y in land]
    for cell in (64.0, 58.0, 52.0, 46.0, 40.0):
        cells = []
        a = min(pu) + cell / 2
        while a < max(pu):
            b = min(pv) + cell / 2
            while b < max(pv):
                c = (a * u[0] + b * v[0], a * u[1] + b * v[1])
                if all(inside(corner, land)
                       for corner in rect(c, cell * 0.9, cell * 0.9, GRID_ANGLE)):
                    cells.append(c)
                b += cell
            a += cell
        if len(cells) >= len(ids):
            break
    else:
        raise ValueError(f"no room for {ids}")
    picks = ([cells[round(i * (len(cells) - 1) / (len(ids) - 1))] for i in range(len(ids))]
             if len(ids) > 1 else [cells[len(cells) // 2]])
    out = {}
    for nid, c in zip(ids, picks, strict=True):
        w, h = footprint(nodes[nid])
        out[nid] = rect(c, min(w, cell * 0.85), min(h, cell * 0.85), GRID_ANGLE)
    return out


# ------------------------------------------------------------------ frontages (§5)
def along(line: str, block: list[Pt], side: float, before: float = 400.0,
          after: float = 400.0, shrink: float = 14.0) -> list[Pt]:
    """A street's line moved ``side`` [m] to its left, cut to the block, ``shrink`` [m] short
    of the block's edge at both ends."""
    p, q = offset_line(*extend(*LINES[line], before, after), side)
    hits = [i / 400 for i in range(401) if inside(lerp(p, q, i / 400), block)]
    a, b = lerp(p, q, hits[0]), lerp(p, q, hits[-1])
    return [towards(a, b, shrink), towards(b, a, shrink)]


def frontages(b: dict[str, list[Pt]]) -> dict[str, list[Pt]]:
    o = OUTLINE
    xinzha = along("xinzha", b["central"], -9.0)
    cross = intersect(xinzha[0], xinzha[1], *LINES["shimen2"])
    jiangning_north = intersect(o[5], o[6], *LINES["beijing"])
    hengfeng_bridge = to_m(121.4567, 31.2424)
    return {
        "shimen_er_rd_s": along("shimen2", b["nanjing_west"], -8.0),
        "fengyang_rd": along("fengyang", b["nanjing_west"], -6.0, before=-16.0, after=80.0),
        "fengxian_rd": along("fengxian", b["nanjing_west"], 6.0, before=80.0, after=-16.0),
        "beijing_w_rd": along("beijing", b["central"], 10.0),
        "datian_rd": along("datian", b["central"], 7.0),
        "cixi_rd": along("cixi", b["central"], 5.0, before=-14.0, after=-12.0),
        "shimen_er_rd_n": along("shimen2", b["suhewan"], -8.0),
        "xinzha_rd_w": [xinzha[0], towards(cross, xinzha[0], 16.0)],
        "xinzha_rd_e": [towards(cross, xinzha[1], 16.0), xinzha[1]],
        "jiangning_rd": [(x + 5.6, y + 4.2) for x, y in
                         (towards(o[4], o[5], 14.0), o[5], towards(jiangning_north, o[5], 16.0))],
        "south_suzhou_rd": [(x, y - 10.0) for x, y in
                            (towards(o[12], o[13], 40.0), o[13], towards(o[14], o[13], 20.0))],
        "hengfeng_rd": [(hengfeng_bridge[0] + 4.0, hengfeng_bridge[1] - 18.0),
                        (hengfeng_bridge[0] + 16.0, hengfeng_bridge[1] - 95.0)],
    }


# ------------------------------------------------------------------ context: streets, creek
def context() -> list[tuple[str, str, str, str, list[Pt]]]:
    """(id, kind, name_zh, name_en, line) of the drawn streets and the creek."""
    o, ln = OUTLINE, LINES
    creek_bank = intersect(*ln["shimen2"], o[11], o[12])
    creek = [(x, y + 45.0) for x, y in (o[10], o[11], o[12], o[13], o[14])]
    creek = [(creek[0][0] - 200.0, creek[0][1] + 25.0), *creek,
             (creek[-1][0] + 120.0, creek[-1][1] + 8.0),
             (creek[-1][0] + 330.0, creek[-1][1] - 4.0)]
    return [  # in the order their names are placed on the map (most important first)
        ("context.suzhou_creek", "water", "苏州河", "Suzhou Creek", creek),
        ("context.shimen_er_rd", "street", "石门二路", "Shimen Rd No.2",
         [lerp(*ln["shimen2"], -0.05), creek_bank]),
        ("context.xinzha_rd", "street", "新闸路", "Xinzha Rd",
         list(extend(*ln["xinzha"], 60, 140))),
        ("context.beijing_w_rd", "street", "北京西路", "Beijing Rd W",
         list(extend(*ln["beijing"], 60, 60))),
        ("context.jiangning_rd", "street", "江宁路", "Jiangning Rd",
         list(extend(o[4], o[6], 70, 90))),
        ("context.chengdu_rd_n", "street", "成都北路", "Chengdu Rd N",
         [to_m(121.4628, 31.2300), o[0], o[16], o[15], o[14], to_m(121.4580, 31.2443)]),
        ("context.south_suzhou_rd", "street", "南苏州路", "S Suzhou Rd",
         [(x, y - 2.0) for x, y in (creek_bank, o[13], o[14])]),
        ("context.datian_rd", "street", "大田路", "Datian Rd",
         [ln["datian"][0], intersect(*ln["datian"], o[12], o[13])]),
        ("context.fengyang_rd", "street", "凤阳路", "Fengyang Rd",
         list(extend(*ln["fengyang"], 0, 60))),
        ("context.fengxian_rd", "street", "奉贤路", "Fengxian Rd",
         list(extend(*ln["fengxian"], 20, 0))),
        ("context.cixi_rd", "street", "慈溪路", "Cixi Rd",  # from 石门二路 to 大田路
         [intersect(*ln["cixi"], *ln["shimen2"]), intersect(*ln["cixi"], *ln["datian"])]),
        ("context.hengfeng_rd", "street", "恒丰路(桥)", "Hengfeng Rd (bridge)",
         [to_m(121.4567, 31.2424), to_m(121.4561, 31.2462)]),
        ("context.nanjing_w_rd", "street", "南京西路", "Nanjing Rd W",
         [to_m(121.4632, 31.2318), to_m(121.4560, 31.2311), to_m(121.4519, 31.2293)]),
    ]


# ------------------------------------------------------------------ write
SOURCE = {
    "outline": "docs/research/site_geometry.md §2",
    "block": "docs/research/site_geometry.md §3",
    "placed": "docs/research/site_geometry.md §4",
    "frontage": "docs/research/site_geometry.md §5",
    "context": "docs/research/site_geometry.md §2",
}


def ring(poly: list[Pt]) -> list[list[list[float]]]:
    pts = [to_ll(p) for p in poly]
    if area(poly) < 0:  # GeoJSON (RFC 7946 §3.1.6): exterior rings counter-clockwise
        pts.reverse()
    return [[*pts, pts[0]]]


def build() -> dict:
    nodes = {n["id"]: n for n in tomllib.loads(
        (SITE / "nodes.toml").read_text(encoding="utf-8"))["node"]}
    b = blocks()
    res, office_land = areas(parcels())
    shapes: dict[str, tuple[list[Pt], str]] = {"shimen_erlu": (OUTLINE, "outline")}
    shapes.update({k: (v, "block") for k, v in b.items()})
    for nid, poly in res.items():
        shapes[nid] = (poly, "placed")
    for land, ids in OFFICES.items():
        shapes.update({k: (v, "placed") for k, v in
                       place_offices(office_land[land], ids, nodes).items()})
    points: dict[str, Pt] = {}
    for nid, n in nodes.items():
        if n["kind"] == "compound":
            shapes[nid] = (inset(shapes[n["parent"]][0], 9.0), "placed")
    for nid, n in nodes.items():
        if n["kind"] == "building":
            compound = shapes[n["parent"]][0]
            c = lerp(centroid(compound), compound[2], 0.3)
            shapes[nid] = (rect(c, 44.0, 16.0, GRID_ANGLE), "placed")
        elif n["kind"] == "facility":
            home = shapes[n["parent"]][0]
            points[nid] = lerp(centroid(home), home[1 if "toilet" in nid else 0], 0.55)
    lines = frontages(b)
    missing = set(nodes) - set(shapes) - set(points) - set(lines)
    if missing:
        raise ValueError(f"nodes without a place: {sorted(missing)}")

    def props(nid: str, how: str) -> dict:
        return {"id": nid, "approximate": True, "source": SOURCE[how]}

    features = []
    for nid in nodes:  # in the order of nodes.toml
        geom: dict[str, Any]
        if nid in shapes:
            poly, how = shapes[nid]
            geom = {"type": "Polygon", "coordinates": ring(poly)}
        elif nid in points:
            how, geom = "placed", {"type": "Point", "coordinates": to_ll(points[nid])}
        else:
            how, geom = "frontage", {"type": "LineString",
                                     "coordinates": [to_ll(p) for p in lines[nid]]}
        features.append({"type": "Feature", "properties": props(nid, how), "geometry": geom})
    for cid, kind, zh, en, line in context():
        features.append({"type": "Feature", "properties": {
            "id": cid, "context": kind, "name_zh": zh, "name_en": en, "approximate": True,
            "source": SOURCE["context"]},
            "geometry": {"type": "LineString", "coordinates": [to_ll(p) for p in line]}})
    return {
        "type": "FeatureCollection",
        "name": "shimen_erlu (approximate geometry in WGS84 longitude/latitude: the outline "
                "follows a public boundary file, streets run through located anchors, blocks, "
                "areas and buildings are placed by hand between the streets; not surveyed. "
                "Written by docs/site_geometry.py; see docs/research/site_geometry.md)",
        "features": features,
    }


def write(geometry: dict, path: Path) -> None:
    head = json.dumps({k: v for k, v in geometry.items() if k != "features"},
                      ensure_ascii=False)[:-1]
    body = ",\n".join(json.dumps(f, ensure_ascii=False) for f in geometry["features"])
    path.write_text(f'{head}, "features": [\n{body}\n]}}\n', encoding="utf-8")


if __name__ == "__main__":
    write(build(), SITE / "geometry.geojson")
