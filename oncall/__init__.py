"""What happens after a page, as pure code: on-call KPI timelines and, beside them,
what the delivery service and the incident console decide.

Like ``alerting/`` it never imports faust, aiokafka, an HTTP stack or
prometheus_client: the shell in ``streams/`` feeds it plain data. It is kept apart
from ``alerting/`` because none of it runs per report, so it is neither compiled
nor on the worker's hot path.
"""
