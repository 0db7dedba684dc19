# spikewatch worker image: small, non-root, the worker as entrypoint.
# The build stage compiles the decision core with mypyc (setup.py), so it needs a C
# compiler; the runtime stage gets only the wheels and stays without one.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY models ./models
COPY alerting ./alerting
COPY oncall ./oncall
COPY streams ./streams
COPY deploy/kafka/localkafka ./deploy/kafka/localkafka
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 spikewatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER spikewatch
WORKDIR /home/spikewatch
ENV SPIKEWATCH_DATA_DIR=/home/spikewatch/data \
    SPIKEWATCH_WEB_HOST=0.0.0.0 \
    SPIKEWATCH_WEB_PORT=6066 \
    PYTHONUNBUFFERED=1
EXPOSE 6066
ENTRYPOINT ["spikewatch"]
CMD ["worker"]
