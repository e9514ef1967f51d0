"""Checks of the measurement itself: identical-source groups (A/A) and costs predicted from
the floor beside the measured ones."""

import math
from dataclasses import dataclass

from pagecore.report.results import _order_variants
from pagecore.report.stats import change

# An identical-source group is an artefact of the harness when its members' means spread by
# more than both of these.
AA_SPREAD = 0.10
AA_SPREAD_NS = 0.5


@dataclass
class Group:
    machine: str
    key: str                    # the benchmark without its variant
    impl: str
    members: list               # Results, in variant order

    @property
    def spread(self):
        lo = min(r.mean for r in self.members)
        return max(r.mean for r in self.members) / lo - 1 if lo > 0 else math.inf

    @property
    def spread_ns(self):
        return (max(r.mean for r in self.members) - min(r.mean for r in self.members)) * 1e9

    @property
    def artefact(self):
        return self.spread > AA_SPREAD and self.spread_ns > AA_SPREAD_NS

    def worst_pair(self):
        """The members' largest paired change against the first, as a Change."""
        first = self.members[0]
        return max((change(first, r) for r in self.members[1:]), key=lambda c: abs(c.pct))


def aa_groups(rs):
    """Every group of two or more variants that ran identical source for one benchmark."""
    out = {}
    for r in rs.results():
        if r.impl is None or r.suite == "floor":
            continue
        key = "/".join([r.suite, r.case] + ["%s=%s" % kv for kv in r.params])
        out.setdefault((r.machine, key, r.impl), []).append(r)
    groups = []
    for (m, key, impl), members in out.items():
        if len(members) > 1:
            order = _order_variants([r.variant for r in members])
            members.sort(key=lambda r: order.index(r.variant))
            groups.append(Group(m, key, impl, members))
    groups.sort(key=lambda g: (g.machine, g.key, g.members[0].variant))
    return groups


def predictions(rs, suites=("hotpath",)):
    """Per benchmark of @suites: the prediction from the same machine's floor suite beside the
    measurement (pagecore.report.predict)."""
    from pagecore.report.predict import predictions as _predictions

    return _predictions(rs, suites)
