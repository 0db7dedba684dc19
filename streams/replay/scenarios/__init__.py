"""Named, labelled traffic scenarios for ``spikewatch produce`` and ``spikewatch replay``.

A scenario is a list of messages in the order they reach Kafka, each the exact
bytes a producer would send. Valid reports carry a ``label`` field, which the
decoder ignores as an unknown extra field, so the same log drives the live
worker and lets replay score the decisions against the truth:

* ``kind`` (background, viral, raid, surge, spread_surge, ramp, child_safety,
  repeat_clicker, coordinated);
* ``incident`` and ``onset`` (when its first report was made) on the reports
  of an abuse incident or a coordinated campaign;
* ``made_at`` when the device clock was wrong, so that ``reported_at`` is not
  when the report was made.

Every line also carries ``kafka_timestamp_ms``, the record timestamp the
report gets when it reaches the broker (later than when it was made if it was
delivered late, one per copy if the client retried). A file has no other place
for it; replay reads it as the record's timestamp, and ``produce`` sends it as
one.

Rates are each scenario's own parameters (:data:`streams.replay.traffic.REFERENCE_RATES`
scaled per category), never the policy's: a detector judged on traffic drawn
from its own priors is calibrated by construction.

The modules: :mod:`.builder` (a scenario's world, what clients and delivery do
to reports, and the builder that queues them), :mod:`.classic` (the ``mixed``
scenario and its parts), :mod:`.confounders` (the real world's confounders, each
on its own and all in ``real_world``), :mod:`.abuse` (the surges and child-safety
reports the confounders carry on top) and :mod:`.catalogue` (every scenario by
name: build one, write it as a log).

Everything is drawn from seeded generators: the same name, seed and sizes give
the same bytes, so replay figures are reproducible.
"""
