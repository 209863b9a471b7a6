"""Replenishment: suppliers, purchase orders, receiving and reorder suggestions.

Modules: `states` (the purchase order state machine), `errors`, `events` (the audit trail),
`services` (every write to suppliers and purchase orders), `receiving` (receipts into stock),
`projections` (projected stock and reorder quantities), `suggestions` (draft purchase orders
from projected stock), `emails` (the order sent to the supplier as HTML and CSV), `selectors`
(reads) and `serializers` (the API's shapes). Nothing here imports `orders`: backordered
demand is passed in by `orders.replenishment`, which also fills backorders after a receipt.
"""
