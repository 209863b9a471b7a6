"""The explanation of a routing decision: one report per candidate location.

Built from what each location held when the order was routed, through the same judgements
the decision used, so every report states why the location was used, ranked or rejected.
"""

from collections.abc import Sequence
from itertools import repeat

from warehouses.routing.terms import NO_STOCK, OrderTerms
from warehouses.routing.types import Candidate, CandidateReport


def candidate_reports(
    *,
    terms: OrderTerms,
    candidates: Sequence[Candidate],
    columns: list[list[int]],
    chosen: set[int],
) -> list[CandidateReport]:
    """Report on every candidate, in the order they were given.

    `columns` holds, for every product of the order (in `terms.products` order), the free units
    at each candidate when the order was routed; `chosen` holds the ids of the locations the
    plan takes units from.
    """
    reports, survivors, fillers = [], [], []
    products, needs, total = terms.products, terms.needs, terms.total
    restricted, screened = terms.restricted, terms.screened_rules
    rows = zip(*columns, strict=True) if columns else repeat((), len(candidates))
    for candidate, frees in zip(candidates, rows, strict=True):
        held = {}
        for product_id, free in zip(products, frees, strict=True):
            if free > 0:
                held[product_id] = free
        if not held:
            rejected = [NO_STOCK, *terms.destination_rejection(candidate)]
            reports.append(CandidateReport(candidate.id, candidate.code, rejected, []))
            continue
        stock, notes = held, []
        if restricted and not restricted.keys().isdisjoint(held):
            stock, notes = terms.usable_stock(candidate, held)
        rejected = []
        if (
            candidate.daily_capacity is not None
            or candidate.ships_to
            or candidate.outages
            or screened
        ):
            rejected = terms.rejections(candidate)
        if candidate.outages and not rejected:
            notes = [*notes, *terms.closure_notes(candidate)]
        covered = 0
        for product_id, free in stock.items():
            quantity = needs[product_id]
            covered += free if free < quantity else quantity
        if not rejected and not covered:
            rejected.append(NO_STOCK)
        report = CandidateReport(candidate.id, candidate.code, rejected, notes, covered)
        reports.append(report)
        if not rejected:
            survivors.append((candidate, report, covered))
            if covered == total:
                fillers.append((candidate, report, covered))
    # Only locations filling the whole order compete when there are any.
    contenders = fillers or survivors
    for candidate, report, _covered in contenders:
        report.distance_km = terms.distance_km(candidate)
        report.ship_date, report.delivery_date = terms.promise(candidate)
        if terms.service is None and not candidate.is_pickup:
            # Without a carrier service the transit time is unknown: no delivery is promised
            # (ranking still compares when the units can leave).
            report.delivery_date = None
    values = [terms.rank_values(strategy, contenders) for strategy in terms.ranking]
    codes = [candidate.code for candidate, _report, _covered in contenders]
    keys = list(zip(*values, codes, strict=True))
    order = sorted(range(len(contenders)), key=keys.__getitem__)
    for position, index in enumerate(order, start=1):
        contenders[index][1].rank = position
    report_by_id = {report.location_id: report for report in reports}
    for location_id in chosen:
        report_by_id[location_id].chosen = True
    return reports
