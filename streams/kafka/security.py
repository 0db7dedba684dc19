"""Kafka authentication and encryption from :class:`~streams.settings.Settings`.

One place turns the ``SPIKEWATCH_KAFKA_*`` security settings into what each
client needs: Faust's ``broker_credentials`` for the worker and keyword
arguments for the plain aiokafka clients (topic admin, produce, tail, demo), so
the worker and the commands around it can never disagree about how to connect.

The password comes from ``SPIKEWATCH_KAFKA_PASSWORD`` or, preferably, from the
file named by ``SPIKEWATCH_KAFKA_PASSWORD_FILE`` (a mounted secret); it is read
when a client is built and is held as a ``SecretStr`` until then, so neither a
settings repr nor a log line can show it.
"""

from __future__ import annotations

import ssl
from typing import Any

import faust
from faust.types.auth import CredentialsT

from streams.settings import Settings

TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """Verifying context (hostname checked) trusting the configured CA, or the system's."""
    if settings.kafka_security_protocol not in TLS_PROTOCOLS:
        return None
    cafile = str(settings.kafka_ca_file) if settings.kafka_ca_file else None
    return ssl.create_default_context(cafile=cafile)


def kafka_password(settings: Settings) -> str:
    if settings.kafka_password_file is not None:
        return settings.kafka_password_file.read_text(encoding="utf-8").rstrip("\r\n")
    if settings.kafka_password is not None:
        return settings.kafka_password.get_secret_value()
    return ""


def faust_credentials(settings: Settings) -> CredentialsT | None:
    protocol = settings.kafka_security_protocol
    context = tls_context(settings)
    if protocol in SASL_PROTOCOLS:
        return faust.SASLCredentials(
            username=settings.kafka_username,
            password=kafka_password(settings),
            ssl_context=context,
            mechanism=settings.kafka_sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer``/``Consumer``/``AdminClient``."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    context = tls_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol in SASL_PROTOCOLS:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_username
        options["sasl_plain_password"] = kafka_password(settings)
    return options
