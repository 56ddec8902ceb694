"""The one audit log: who did what as an admin (or tried to: sign-ins), when, from where.

Every area writes here through `service.record(...)`; the dashboard lists it (/dashboard/audit,
filtered by area). The lotteries' and the shop's own logs are meant to move onto it: their rows
fit as (area, action, actor, target, details).
"""
