"""Checks of the measurement itself: identical-source groups (A/A) and costs predicted from
the floor beside the measured ones."""

import math
import statistics
from dataclasses import dataclass

from pagecore.report.results import _order_variants
from pagecore.report.stats import change

# An identical-source group is an artefact of the harness when its members' means spread by
# more than both of these.
AA_SPREAD = 0.10
AA_SPREAD_NS = 0.5
# A host group (Group.host) is an artefact only where its members' values differ beyond this.
AA_HOST_P = 0.01


@dataclass
class Group:
    machine: str
    key: str                    # the benchmark without its variant
    impl: str
    members: list               # Results, in variant order

    @property
    def host(self):
        """The benchmark wakes a thread asleep on another CPU (its events count a sleep): its
        values are the host's scheduling of two vCPUs as much as the code.  Where the host
        runs both on one CPU for a while, every operation of a value waits for it (10 us a
        wake, or 2.8 ms for whole values, a fifth of them in one run and none in the next),
        and a mean is then which values were hit: such a group is judged by its members'
        medians."""
        return any(r.wakes_sleeper for r in self.members)

    def center(self, r):
        """@r's mean, or its median where the group is the host's (host)."""
        return statistics.median(r.samples) if self.host else r.mean

    @property
    def spread(self):
        c = [self.center(r) for r in self.members]
        return max(c) / min(c) - 1 if min(c) > 0 else math.inf

    @property
    def spread_ns(self):
        c = [self.center(r) for r in self.members]
        return (max(c) - min(c)) * 1e9

    @property
    def artefact(self):
        """The members spread by more than AA_SPREAD and AA_SPREAD_NS; for a host group,
        also by more than chance: a host group's values spread by tens of percent within each
        member, and seven members' medians drawn from one distribution of 60 values spread
        by 10% and more, so its members must also differ by the Kruskal-Wallis test of
        their values (p < AA_HOST_P)."""
        if not (self.spread > AA_SPREAD and self.spread_ns > AA_SPREAD_NS):
            return False
        return not self.host or self.host_p < AA_HOST_P

    @property
    def host_p(self):
        """The Kruskal-Wallis p of the members' values (1.0 where it cannot be taken)."""
        from scipy.stats import kruskal

        if any(len(r.samples) < 2 for r in self.members) or \
                len({v for r in self.members for v in r.samples}) < 2:
            return 1.0
        return float(kruskal(*[r.samples for r in self.members]).pvalue)

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
