"""微网格 names as a worker types them: a typo is answered with the closest names.

A filter by 微网格 that matches no live household is almost always a typo
(曹杨一村1网格 for 曹杨一村1号网格); :func:`check_grid` refuses it, naming the
grids the worker probably meant, instead of showing an empty list.
"""

from __future__ import annotations

from visitlog.i18n import t
from visitlog.model import ValidationError
from visitlog.store import Store


def check_grid(store: Store, grid: str) -> str:
    """The 微网格 name if some live household is in it.

    Raises:
        ValidationError: naming the closest existing grids, so a typo
            (曹杨一村1网格) is not silently answered with an empty list.
    """
    if store.has_grid(grid):
        return grid
    from rapidfuzz import process  # slow to import; only a typo needs it

    names = [g["micro_grid"] for g in store.micro_grids()]
    close = [name for name, _, _ in process.extract(grid, names, limit=3, score_cutoff=50)]
    close = close or names[:5]
    raise ValidationError(
        t("err.unknown_grid", grid=grid, close="、".join(close) or t("err.no_grids"))
    )
