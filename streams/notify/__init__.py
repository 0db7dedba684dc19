"""``spikewatch notify``: escalations delivered to the tools on-call people use.

The decisions live in :mod:`oncall.delivery`; this package is the shell around
them: Kafka consumers (one group per sink), the HTTP client, the
acknowledgement endpoint, the dead-letter topic and the metrics, and the
loopback HTTP server (:mod:`.local_http`) that the sinks' stand-ins and
receivers run on in tests and benchmarks.
"""
