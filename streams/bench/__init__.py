"""``spikewatch bench``: the worker measured against the Python ceiling, in one run.

B0 (a bare aiokafka ``getmany`` loop) and B1 (B0 plus JSON decoding and a
per-broadcast counter) read the same pre-filled topic as the real worker, on the
same machine, minutes apart, so the ratios to B1 hold even on a noisy machine
where absolute figures do not.
"""
