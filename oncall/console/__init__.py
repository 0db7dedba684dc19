"""The incident console's decisions: incident records folded from Kafka events, what
each page shows, who may act. No HTTP or Kafka here (see ``streams/console``)."""
