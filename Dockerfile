# spikewatch worker image: small, non-root, the worker as entrypoint.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY models ./models
COPY alerting ./alerting
COPY streams ./streams
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
