"""The explanation of a routing decision: one report per candidate location.

Built from what each location held when the order was routed, through the same judgements
the decision used, so every report states why the location was used, ranked or rejected.
"""

from collections.abc import Sequence

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
    for position, candidate in enumerate(candidates):
        held = terms.held([column[position] for column in columns])
        if not held:
            reports.append(CandidateReport(candidate.id, candidate.code, [NO_STOCK], []))
            continue
        stock, notes = terms.usable_stock(candidate, held)
        rejected = terms.rejections(candidate)
        covered = terms.coverage(stock)
        if not rejected and not covered:
            rejected.append(NO_STOCK)
        report = CandidateReport(candidate.id, candidate.code, rejected, notes, covered)
        reports.append(report)
        if not rejected:
            survivors.append((candidate, report))
            if covered == terms.total:
                fillers.append((candidate, report))
    # Only locations filling the whole order compete when there are any.
    contenders = fillers or survivors
    for candidate, report in contenders:
        report.distance_km = terms.distance_km(candidate)
        report.ship_date, report.delivery_date = terms.promise(candidate)
    ranked = sorted(
        contenders, key=lambda entry: terms.rank_key(entry[0], entry[1].coverable_units)
    )
    for position, (_candidate, report) in enumerate(ranked, start=1):
        report.rank = position
    report_by_id = {report.location_id: report for report in reports}
    for location_id in chosen:
        report_by_id[location_id].chosen = True
    return reports
