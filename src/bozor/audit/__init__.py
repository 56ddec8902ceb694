"""The one audit log: who did what as an admin (or tried to: sign-ins), when, from where.

Every area writes here through `service.record(...)`: the dashboard (sign-ins, sessions), and
each feature through its `audit.py`, which names its targets (a lottery, an order or product,
an ad). The dashboard lists it (/dashboard/audit, filtered by area and target), actions and
details made readable by `render`.
"""
