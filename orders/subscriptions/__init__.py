"""Recurring purchases: schedule arithmetic, services, the scheduler, reminders, forecast.

Modules: `schedule` (pure run-date arithmetic and time-zone rules), `services` (customer and
staff controls), `scheduler` (the beat tick that places the orders), `payments` (the pluggable
payment step), `reminders`, `selectors`, `forecast` (expected demand for replenishment).
"""
