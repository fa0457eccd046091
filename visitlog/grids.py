"""What a worker types about places: 微网格 names, and the addresses of new households.

A filter by 微网格 that matches no live household is almost always a typo
(曹杨一村1网格 for 曹杨一村1号网格); :func:`check_grid` refuses it, naming the
grids the worker probably meant, instead of showing an empty list.

A new household takes its 居民区 from its 微网格 (:func:`grid_community`), so
a mistyped 居民区 never splits one grid in two; and a new address that reads
as an existing household's (曹杨1村12号301 for 曹杨一村12号301室, by the
same normalised key dedup matches on) is found before it is added twice
(:func:`look_alikes`).
"""

from __future__ import annotations

from visitlog.address import household_key
from visitlog.i18n import t
from visitlog.model import Household, ValidationError
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


def grid_community(store: Store, grid: str) -> str | None:
    """The 居民区 the 微网格 *grid* belongs to, or None for a new grid (or one without)."""
    return store.grid_community(grid)


def settle_community(store: Store, grid: str, community: str | None) -> str | None:
    """The 居民区 a new household of *grid* is stored with.

    A known grid gives its own 居民区; one typed differently is refused, so a
    typo does not make a second row of the grid in the summary.

    Raises:
        ValidationError: *community* differs from the grid's 居民区.
    """
    known = grid_community(store, grid)
    given = (community or "").strip() or None
    if known is None:
        return given
    if given is not None and given != known:
        raise ValidationError(t("err.grid_community", grid=grid, community=known, given=given))
    return known


def look_alikes(store: Store, address: str, estate: str | None = None) -> list[Household]:
    """Live households whose address reads as *address* (same normalised key)."""
    return store.households_at(household_key(address, estate))
