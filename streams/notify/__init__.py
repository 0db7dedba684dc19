"""``spikewatch notify``: escalations delivered to the tools on-call people use.

The decisions live in :mod:`oncall.delivery`; this package is the shell around
them: Kafka consumers (one group per sink), the HTTP client, the
acknowledgement endpoint, the dead-letter topic and the metrics.
"""
