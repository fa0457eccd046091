"""A Fellegi–Sunter model whose m and u probabilities are learned by EM from the data.

Each candidate pair is compared field by field; each field gives one
*agreement level* (the phone: same mobile, same landline, a masked number
that fits, different…), or none when a side has nothing to compare.  Under
the model a pair is a match with prior probability λ; given that, the level
of each field is drawn from ``m`` (matches) or ``u`` (non-matches),
independently.  The match weight of a level is ``log2(m/u)``; a pair's
weight is the prior's ``log2(λ/(1-λ))`` plus the weights of its levels,
and its probability of being a match follows from that.

m, u and λ are estimated by expectation–maximisation on the pairs being
de-duplicated, as splink does (Jaro 1989; Winkler 2000).  Pairs are grouped
by their *pattern* (the tuple of levels): a district of 50,000 households
gives a few hundred distinct patterns, so EM costs milliseconds in plain
Python — which is why this is not splink (duckdb and pandas would cost more
to import than the whole run) nor numpy.  Each probability starts from a
prior (a Dirichlet of a few pseudo-pairs), which keeps a small roster from
learning nonsense from a dozen pairs; decisions people made (merged, or
"not a duplicate") enter as labelled pairs whose side is known.

:meth:`Model.teaching` says how much a decision on a pair would teach the
model: pairs whose probability is nearest to one half, in patterns many
pairs share, first.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldSpec", "Model"]

#: Probabilities are kept within this distance of 0 and 1.
_EPS = 1e-6


@dataclass(frozen=True)
class FieldSpec:
    """One compared field: its level codes and the prior m and u of each."""

    name: str
    levels: tuple[str, ...]
    prior_m: tuple[float, ...]
    #: among candidate pairs of different households (neighbours, families)
    prior_u: tuple[float, ...]
    #: among random pairs of records
    prior_random: tuple[float, ...] = ()


class Model:
    """Fellegi–Sunter over discrete patterns (a level index per field; -1: not compared)."""

    def __init__(self, fields: Sequence[FieldSpec], prior_lambda: float, strength: float = 30.0):
        self.fields = list(fields)
        self.prior_lambda = prior_lambda
        self.strength = strength
        self.lam = prior_lambda
        self.m = [list(_normal(f.prior_m)) for f in self.fields]
        self.u = [list(_normal(f.prior_u)) for f in self.fields]
        self.iterations = 0
        self._cache: dict[tuple[int, ...], float] = {}
        # What scoring uses: u among random pairs and the prior of two random
        # records being one household (set by :meth:`set_random`); until then
        # the candidate pairs' own.
        self.u_random: list[list[float]] | None = None
        self.lam_random: float | None = None
        self.random_pairs = 0

    # -- estimation
    def fit(
        self,
        patterns: Counter[tuple[int, ...]],
        labelled: Iterable[tuple[tuple[int, ...], bool]] = (),
        max_iter: int = 60,
        tol: float = 1e-5,
    ) -> Model:
        """Estimate λ, m and u by EM on *patterns* (pattern → number of pairs).

        Args:
            labelled: patterns of pairs whose answer people gave (True: one
                household); they count with their answer fixed.
        """
        known = Counter(labelled)
        items = list(patterns.items())
        total = sum(patterns.values()) + sum(known.values())
        if not total:
            return self
        s = self.strength
        for it in range(max_iter):
            self._cache.clear()
            m_acc = [[s * p for p in _normal(f.prior_m)] for f in self.fields]
            u_acc = [[s * p for p in _normal(f.prior_u)] for f in self.fields]
            matches = s * self.prior_lambda
            for pattern, count, share in (
                *((p, c, self._responsibility(p)) for p, c in items),
                *((p, c, 1.0 if ok else 0.0) for (p, ok), c in known.items()),
            ):
                wm, wu = count * share, count * (1 - share)
                matches += wm
                for k, level in enumerate(pattern):
                    if level >= 0:
                        m_acc[k][level] += wm
                        u_acc[k][level] += wu
            lam = _clip(matches / (total + s))
            m = [list(_normal(row)) for row in m_acc]
            u = [list(_normal(row)) for row in u_acc]
            change = abs(lam - self.lam) + max(
                abs(a - b)
                for x, y in zip(m + u, self.m + self.u, strict=True)
                for a, b in zip(x, y, strict=True)
            )
            self.lam, self.m, self.u = lam, m, u
            self.iterations = it + 1
            if change < tol:
                break
        self._cache.clear()
        return self

    def set_random(
        self,
        patterns: Counter[tuple[int, ...]],
        candidates: int,
        all_pairs: int,
        strength: float = 50.0,
    ) -> Model:
        """Take u from random pairs of records, and the prior from λ of the candidates.

        As splink does: u is the chance that two records of different
        households agree at a level, which random pairs (nearly all of
        different households) measure; m comes from EM on the candidate
        pairs, where the non-matches (a building's neighbours, a family's
        flats) are modelled by their own u so they are not taken for
        matches.  The prior is λ of the candidates spread over all pairs.
        """
        acc = [[strength * p for p in _normal(f.prior_random or f.prior_u)] for f in self.fields]
        for pattern, count in patterns.items():
            for k, level in enumerate(pattern):
                if level >= 0:
                    acc[k][level] += count
        self.u_random = [list(_normal(row)) for row in acc]
        self.random_pairs = sum(patterns.values())
        self.lam_random = _clip(self.lam * candidates / max(all_pairs, 1), 1e-12)
        self._cache.clear()
        return self

    # -- reading
    def weight(self, field: int, level: int) -> float:
        """The match weight (log2 m/u) of one level of one field."""
        u = self.u_random if self.u_random is not None else self.u
        return math.log2(self.m[field][level] / u[field][level])

    def weights(self) -> dict[str, dict[str, float]]:
        """Every field's level weights, by code (for reports and tests)."""
        return {
            f.name: {code: round(self.weight(k, i), 2) for i, code in enumerate(f.levels)}
            for k, f in enumerate(self.fields)
        }

    def prior_weight(self) -> float:
        lam = self.lam_random if self.lam_random is not None else self.lam
        return math.log2(lam / (1 - lam))

    def match_weight(self, pattern: Sequence[int]) -> float:
        return self.prior_weight() + sum(
            self.weight(k, level) for k, level in enumerate(pattern) if level >= 0
        )

    def probability(self, pattern: tuple[int, ...]) -> float:
        """P(one household | pattern) as scoring sees it."""
        w = self.match_weight(pattern)
        return 1 / (1 + 2 ** (-w)) if w > -60 else 0.0

    def _responsibility(self, pattern: tuple[int, ...]) -> float:
        """P(match | pattern) among the candidates (their own u and λ), for EM."""
        p = self._cache.get(pattern)
        if p is None:
            w = math.log2(self.lam / (1 - self.lam)) + sum(
                math.log2(self.m[k][level] / self.u[k][level])
                for k, level in enumerate(pattern)
                if level >= 0
            )
            p = self._cache[pattern] = 1 / (1 + 2 ** (-w)) if w > -60 else 0.0
        return p

    def teaching(self, pattern: tuple[int, ...], count: int) -> float:
        """How much a decision on a pair of this pattern would teach the model.

        The expected information of the answer (p(1-p), largest at one half)
        times the pairs that share the pattern, which the answer moves too.
        """
        p = self.probability(pattern)
        return p * (1 - p) * count

    def state(self) -> dict[str, Any]:
        """Everything scoring uses, exactly (JSON-ready), for :meth:`from_state`."""
        return {
            "fields": [[f.name, list(f.levels)] for f in self.fields],
            "lambda": self.lam,
            "m": self.m,
            "u": self.u,
            "u_random": self.u_random,
            "lambda_random": self.lam_random,
            "random_pairs": self.random_pairs,
            "iterations": self.iterations,
        }

    @classmethod
    def from_state(
        cls, fields: Sequence[FieldSpec], prior_lambda: float, state: Any
    ) -> Model | None:
        """A model that scores as the one whose :meth:`state` this is; None
        when *state* is not one for these *fields* (their levels changed)."""
        try:
            if state["fields"] != [[f.name, list(f.levels)] for f in fields]:
                return None
            model = cls(fields, prior_lambda)
            model.lam = float(state["lambda"])
            model.m = [[float(x) for x in row] for row in state["m"]]
            model.u = [[float(x) for x in row] for row in state["u"]]
            if state["u_random"] is not None:
                model.u_random = [[float(x) for x in row] for row in state["u_random"]]
                model.lam_random = float(state["lambda_random"])
            model.random_pairs = int(state["random_pairs"])
            model.iterations = int(state["iterations"])
        except (KeyError, TypeError, ValueError):
            return None
        shapes = [len(f.levels) for f in fields]
        rows = [model.m, model.u, *([model.u_random] if model.u_random else [])]
        if any([len(r) for r in table] != shapes for table in rows):
            return None
        return model

    def to_json(self) -> dict[str, object]:
        u = self.u_random if self.u_random is not None else self.u
        return {
            "lambda": round(self.lam, 6),
            "prior_weight": round(self.prior_weight(), 2),
            "iterations": self.iterations,
            "random_pairs": self.random_pairs,
            "weights": self.weights(),
            "m": {
                f.name: {c: round(self.m[k][i], 5) for i, c in enumerate(f.levels)}
                for k, f in enumerate(self.fields)
            },
            "u": {
                f.name: {c: round(u[k][i], 7) for i, c in enumerate(f.levels)}
                for k, f in enumerate(self.fields)
            },
        }


def _clip(p: float, eps: float = _EPS) -> float:
    return min(max(p, eps), 1 - eps)


def _normal(values: Sequence[float]) -> list[float]:
    total = sum(values)
    return [_clip(v / total) for v in values]
