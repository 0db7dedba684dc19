"""The imperative shell: Faust app, Kafka I/O, metrics, logging, command line.

Everything here moves bytes and calls :mod:`alerting` to decide; no detection
rule lives in this package.
"""
