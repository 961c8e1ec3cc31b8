"""Polygons of one layer packed into one array (the in-flow check's flat layers).

Apart from fanout.check.flat (which flattens the generator's Layout) so that the checks that
read only packed polygons, such as fanout.check.freerects, which sign-off also uses, import
nothing of the generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Arr = np.ndarray


@dataclass(frozen=True)
class Packed:
    """The polygons of one layer as one array: ``xy`` (N, 2) their vertices one polygon after
    the other, ``sizes`` the vertex count of each. A finished RDL level holds hundreds of
    thousands of fill squares: an array object per square took three times their numbers."""

    xy: Arr
    sizes: Arr

    def __len__(self) -> int:
        return len(self.sizes)

    def split(self) -> list[Arr]:
        """One (k, 2) array per polygon."""
        return np.split(self.xy, np.cumsum(self.sizes)[:-1]) if len(self.sizes) else []

    def take(self, mask: Arr) -> Packed:
        """The polygons where ``mask`` is true."""
        return Packed(self.xy[np.repeat(mask, self.sizes)], self.sizes[mask])

    @staticmethod
    def of(parts: list[Packed]) -> Packed:
        parts = [q for q in parts if len(q)]
        if not parts:
            return EMPTY
        if len(parts) == 1:
            return parts[0]
        return Packed(np.concatenate([q.xy for q in parts]),
                      np.concatenate([q.sizes for q in parts]))


EMPTY = Packed(np.zeros((0, 2)), np.zeros(0, dtype=np.int64))
