"""Decisions of ``spikewatch notify``: which sink gets what, in which form, and when to retry.

Pure: no Kafka, HTTP or Prometheus here. The shell (``streams/notify/``) moves
bytes and calls these functions, so every rule can be tested without a broker or
a network.
"""
