"""Sign-off's free fill: whole fill arrays no check can see, found at the level of the GDS
instance arrays (klayout.db).

The rule is fanout.check.freerects' (which also derives, from the rule plan, what each layer
asks of a rectangle: a ``Reach``), applied to the arrays the fill is written as rather than to
its squares, so KLayout selects among ~12x fewer objects. A *fill cell* of a layer is found
by its structure, not its name: one box on that layer, nothing else on any layer, no child
instances, placed only by the top cell. An instance of one is a candidate when

* it is axis-parallel: no rotation, mirror or magnification; a regular array steps along one
  axis per vector (each vector repeated more than once is horizontal or vertical, two such
  vectors are orthogonal and not zero);
* its square passes the reach by its size (shorter side at least ``min_side``, below
  ``solid_side``, area below ``max_area``, ``corners_ok``) and lies on every grid the layer
  is checked on (box corners and array vectors: then every square's vertices do);
* its squares are clean among themselves: the lattice gap (pitch minus the square's extent)
  along each repeated axis is at least ``space`` (diagonal neighbours are farther still).

A candidate is *free* when its bounding box, grown by a distance on its own, touches nothing
that distance must not reach (as in freerects: box gaps are whole units, so touching a box
grown by d - 1 is a superset of "closer than d"; touching includes lying inside):

* another shape of the layer (non-candidate fill included) grown by ``space - 1``, or another
  candidate's box (two candidates closer than the space: both not free);
* a shape of a layer checked with it (``reach.foreign``, every shape) grown by ``near - 1``;
* grown by ``outline``, it lies inside the package outline (edge rule and a package only).

Every square of a free array is then free by freerects' rule (its distance to anything is at
least its array box's). A candidate that is not free goes back to the flat check whole.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import klayout.db as kdb

from fanout.check.freerects import Reach

BoxT = tuple[int, int, int, int]


@dataclass
class Split:
    """One layer, split: the shapes the checks see, the free squares, and what it cost."""

    kept: kdb.Region  # raw shapes (not merged) the geometric checks read
    free: kdb.Region  # the free squares, raw (areas, holes, plane take-back)
    arrays: int  # fill instances (arrays and single squares) on the layer
    candidates: int
    free_arrays: int
    free_squares: int
    fill_squares: int
    seconds: float


def _raw(reg: kdb.Region) -> kdb.Region:
    reg.merged_semantics = False
    return reg


def _box_region(boxes: Iterable[BoxT], d: int = 0) -> kdb.Region:
    reg = _raw(kdb.Region())
    for x0, y0, x1, y1 in boxes:
        reg.insert(kdb.Box(x0 - d, y0 - d, x1 + d, y1 + d))
    return reg


def fill_cells(ly: kdb.Layout, top: kdb.Cell, li: int) -> dict[int, kdb.Box]:
    """The layer's fill cells (see the module doc): cell index -> its box."""
    out: dict[int, kdb.Box] = {}
    layers = list(ly.layer_indexes())
    ti = top.cell_index()
    for cell in ly.each_cell():
        if cell.cell_index() == ti or cell.child_cells() or cell.shapes(li).size() != 1:
            continue
        if any(cell.shapes(k).size() for k in layers if k != li):
            continue
        if list(cell.each_parent_cell()) != [ti]:
            continue
        s = next(iter(cell.shapes(li).each()))
        if s.is_box():
            out[cell.cell_index()] = s.box
        elif s.is_polygon() or s.is_simple_polygon():
            p = s.polygon
            if p.is_box():
                out[cell.cell_index()] = p.bbox()
    return out


def _lattice(inst: kdb.CellInstArray) -> tuple[int, int, int, int] | None:
    """``(nx, px, ny, py)`` of an axis-parallel array (pitches >= 0), else None."""
    if inst.is_complex() or inst.trans.rot != 0 or inst.trans.is_mirror():
        return None
    if not inst.is_regular_array():
        return (1, 0, 1, 0)
    nx = px = 0
    ny = py = 0
    steps = [(inst.a, inst.na), (inst.b, inst.nb)]
    for v, n in steps:
        if n <= 1:
            continue
        if v.x != 0 and v.y == 0 and nx == 0:
            nx, px = n, abs(v.x)
        elif v.y != 0 and v.x == 0 and ny == 0:
            ny, py = n, abs(v.y)
        else:
            return None
    return (max(nx, 1), px, max(ny, 1), py)


def _on_grid(box: kdb.Box, inst: kdb.CellInstArray, grids: Iterable[int]) -> bool:
    d = inst.trans.disp
    vals = [box.left + d.x, box.right + d.x, box.bottom + d.y, box.top + d.y]
    if inst.is_regular_array():
        vals += [inst.a.x, inst.a.y, inst.b.x, inst.b.y]
    return all(v % g == 0 for g in grids if g > 0 for v in vals)


def _box_ok(box: kdb.Box, reach: Reach) -> bool:
    w, h = box.width(), box.height()
    side = min(w, h)
    if side < reach.min_side or not reach.corners_ok:
        return False
    if reach.solid_side is not None and side >= reach.solid_side:
        return False
    return reach.max_area is None or w * h < reach.max_area


def split(ly: kdb.Layout, top: kdb.Cell, li: int, reach: Reach, foreign: kdb.Region,
          package: kdb.Region | None, grids: Iterable[int] = ()) -> Split:
    """The layer's shapes the geometric checks see, and its free squares (module doc)."""
    t0 = time.perf_counter()
    grids = list(grids)
    cells = fill_cells(ly, top, li)
    insts: list[kdb.CellInstArray] = []
    boxes: list[BoxT] = []
    back: list[kdb.CellInstArray] = []  # fill instances the flat check reads
    arrays = squares = 0
    for inst in (pi.child_inst().cell_inst for ci, box in cells.items()
                 for pi in ly.cell(ci).each_parent_inst()):
        box = cells[inst.cell_index]
        arrays += 1
        squares += _count(inst)
        lat = _lattice(inst)
        ok = lat is not None and _box_ok(box, reach) and _on_grid(box, inst, grids)
        if ok and lat is not None:
            nx, px, ny, py = lat
            ok = ((nx == 1 or px - box.width() >= reach.space)
                  and (ny == 1 or py - box.height() >= reach.space))
        if not ok or lat is None:
            back.append(inst)
            continue
        bb = inst.bbox(ly)  # the cell holds the one box: the array's squares' extent
        insts.append(inst)
        boxes.append((bb.left, bb.bottom, bb.right, bb.top))
    candidates = len(insts)
    # the layer without the candidates: its other shapes and the fill that is not a candidate
    it = top.begin_shapes_rec(li)
    it.unselect_cells(list(cells))
    others = _raw(kdb.Region())
    others.insert(it)
    if back:
        others += _flat(ly, li, back)
    # candidates in touch with anything: (1) another candidate or shape of the layer
    alive = _select(boxes, range(len(boxes)), reach.space - 1, others, pairs=True)
    if alive and not foreign.is_empty():
        alive = _select(boxes, alive, max(reach.near - 1, 0), foreign)
    if alive and package is not None and reach.outline is not None:
        alive = _select(boxes, alive, reach.outline, package, inside=True)
    live = set(alive)
    free_insts = [insts[k] for k in alive]
    kept_insts = [insts[k] for k in range(len(insts)) if k not in live]
    kept = others
    if kept_insts:
        kept = kept + _flat(ly, li, kept_insts)
    free = _flat(ly, li, free_insts) if free_insts else _raw(kdb.Region())
    return Split(_raw(kept), free, arrays, candidates, len(free_insts),
                 sum(_count(i) for i in free_insts), squares, time.perf_counter() - t0)


def _count(inst: kdb.CellInstArray) -> int:
    return inst.na * inst.nb if inst.is_regular_array() else 1


def _select(boxes: list[BoxT], idx: Iterable[int], d: int, other: kdb.Region,
            inside: bool = False, pairs: bool = False) -> list[int]:
    """The boxes (of ``idx``) that, grown by ``d``, touch nothing of ``other`` (``inside``:
    lie inside it; ``pairs``: touch no other box of ``idx`` either)."""
    idx = list(idx)
    by: dict[BoxT, list[int]] = {}
    for k in idx:
        by.setdefault(boxes[k], []).append(k)
    grown = _box_region(by, d)
    sel = grown.inside(other) if inside else grown.not_interacting(other)
    gone: set[BoxT] = set()
    if pairs:  # a grown box meets its own box and one more: both keep their squares
        gone = {_key(p.bbox(), d) for p in grown.interacting(_box_region(by), 2).each()}
    out: list[int] = []
    for p in _raw(sel).each():
        key = _key(p.bbox(), d)
        ks = by.get(key, [])
        if len(ks) == 1 and key not in gone:  # the same box twice: the squares overlap
            out += ks
    return sorted(out)


def _key(b: kdb.Box, d: int) -> BoxT:
    return (b.left + d, b.bottom + d, b.right - d, b.top - d)


def _flat(ly: kdb.Layout, li: int, insts: list[kdb.CellInstArray]) -> kdb.Region:
    """The squares of these instances, flat and raw (through a scratch cell)."""
    scratch = ly.create_cell("$free_scratch")
    try:
        for inst in insts:
            scratch.insert(inst)
        reg = _raw(kdb.Region())
        reg.insert(scratch.begin_shapes_rec(li))
    finally:
        ly.delete_cell(scratch.cell_index())
    return reg
