"""The pins the router connects: every design pin with its position, RDL level and land.

A ``ball.auto`` pin becomes the ball the minimum-distance assignment chose (or None when it got
none); bumps and passive terminals land on RDL1, balls on the top RDL.
"""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import Polygon

from fanout.place import Placement
from fanout.route.shapes import XY, octagon_poly, rect_poly


@dataclass
class RoutePin:
    index: int  # position in its net's pin list
    ref: str
    kind: str  # bump, pterm or ball
    xy: XY
    layer: int  # RDL level it lands on
    land: Polygon  # the pad a stub may run inside
    ball: str | None = None  # ball name when the pin is a ball


NetPins = list[list[RoutePin | None]]  # per net, per design pin (None: an auto pin with no ball)


def resolve_pins(placement: Placement, ball_choice: dict[tuple[int, int], str]) -> NetPins:
    """Every net's pins as RoutePins, in design order."""
    out: NetPins = []
    top = placement.rdl_layers
    dg = placement.dims.grid
    for ni, net in enumerate(placement.nets):
        row: list[RoutePin | None] = []
        for pi, p in enumerate(net.pins):
            if p.kind == "auto":
                name = ball_choice.get((ni, pi))
                if name is None:
                    row.append(None)
                    continue
                b = placement.ball(name)
                row.append(RoutePin(pi, p.ref, "ball", b.xy, top, octagon_poly(b.xy, b.pad, dg),
                                    name))
            elif p.kind == "cross":
                assert p.xy is not None and p.layer is not None
                # the stub's land a grid step wider than the drawn square: the wire's octagon
                # at the node lies strictly inside it
                row.append(RoutePin(pi, p.ref, "cross", p.xy, p.layer,
                                    rect_poly(p.xy, p.land[0] + 2 * dg, p.land[1] + 2 * dg)))
            elif p.kind == "ball":
                assert p.xy is not None
                name = p.ref.split(".", 1)[1]
                row.append(RoutePin(pi, p.ref, "ball", p.xy, top,
                                    octagon_poly(p.xy, p.land[0], dg), name))
            else:
                assert p.xy is not None
                land = (octagon_poly(p.xy, p.land[0], dg) if p.octagon
                        else rect_poly(p.xy, *p.land))
                row.append(RoutePin(pi, p.ref, p.kind, p.xy, 1, land))
        out.append(row)
    return out
