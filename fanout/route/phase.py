"""Where the track grid's lines fall: the phase (offset from the package centre) that lets the
most wires through the gaps between fixed pads.

A gap between two pads holds a wire only where a track runs through it. The default grid has
a node on the package centre, and a symmetric array with an even number of ball columns (or
rows) has the centre of a gap there: a track on the gap's middle line leaves room for one wire
where two fit (measured: a 250 um gap between 250 um ball pads at 500 um pitch, 40/35 um
wires, 75 um grid: tracks at 0 and +-75 um pass one wire, tracks at +-37.5 um two). On one RDL
nets cannot step around a lost track on another level, so a one-RDL planar routing picks the
phase per axis that maximises the tracks through every gap between neighbouring pads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from fanout.route.shapes import EPS

#: Phases tried per axis: this many steps of one pitch (each rounded to the design grid).
STEPS = 16


def grid_phase(shapes: Sequence[BaseGeometry], half: tuple[float, float], pitch: float,
               width: float, space: float, dgrid: float) -> tuple[float, float]:
    """The (x, y) offsets of the track grid (node x = offset + i * pitch) that pass the most
    ``width`` wires through the gaps between neighbouring ``shapes`` and between the outermost
    ones and the edge of the area wire centres may use (``half``: its half width and height).
    A tie keeps offset 0, the grid without a phase."""
    if not shapes:
        return 0.0, 0.0
    b = shapely.bounds(np.asarray(list(shapes), dtype=object))
    phases = sorted({round(round(k * pitch / STEPS / dgrid) * dgrid, 6) for k in range(STEPS)})
    out = []
    for axis in (0, 1):
        lo, hi = gap_windows(b, axis, half[axis], width, space)
        best = max(phases, key=lambda f: (round(tracks_in(lo, hi, f, pitch), 6),
                                           -min(f, pitch - f)))
        out.append(best)
    return out[0], out[1]


def gap_windows(bounds: np.ndarray, axis: int, half: float, width: float, space: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Centre-line windows [lo, hi] along ``axis`` of the wires that may pass between each
    shape and its nearest neighbour on that axis among the shapes facing it (their extents
    across the axis overlap), and between the outermost shapes and the area's edge."""
    a0, a1 = bounds[:, axis], bounds[:, axis + 2]  # along the axis
    c0, c1 = bounds[:, 1 - axis], bounds[:, 3 - axis]  # across it
    clear = space + width / 2
    los: list[float] = []
    his: list[float] = []
    for i in range(len(bounds)):
        facing = (c0 < c1[i] - EPS) & (c1 > c0[i] + EPS)
        right = facing & (a0 >= a1[i] - EPS)
        nxt = float(a0[right].min()) - clear if right.any() else half
        los.append(float(a1[i]) + clear)
        his.append(nxt)
        left = facing & (a1 <= a0[i] + EPS)
        if not left.any():
            los.append(-half)
            his.append(float(a0[i]) - clear)
    lo, hi = np.asarray(los), np.asarray(his)
    keep = hi >= lo - EPS
    return lo[keep], hi[keep]


def tracks_in(lo: np.ndarray, hi: np.ndarray, phase: float, pitch: float) -> float:
    """The grid lines at ``phase + k * pitch`` inside each window as a share of the most any
    phase puts there, summed over the windows (a narrow gap losing its second track counts
    for more than a wide one losing its tenth)."""
    if not len(lo):
        return 0.0
    first = np.ceil((lo - phase) / pitch - EPS)
    last = np.floor((hi - phase) / pitch + EPS)
    most = np.floor((hi - lo) / pitch + EPS) + 1
    return float((np.maximum(last - first + 1, 0) / most).sum())
