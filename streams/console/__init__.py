"""The incident console process: aiohttp pages over a Kafka-backed incident store."""
