# The newsstream worker / feed poller image (used by docker-compose.yml).
#
# The image runs the same wheel that `make test` builds and tests outside the repository
# (tests/integration/test_wheel.py): stage 1 builds it from the sources, stage 2 installs every
# dependency from the hash-locked requirements/lock.txt, then the wheel itself with --no-deps.
#
# Base image pinned by digest: the multi-platform manifest list of python:3.11.13-slim-bookworm.
# To move it: `docker buildx imagetools inspect python:3.11-slim` and copy the top digest.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements/build-lock.txt /tmp/
RUN pip install --no-cache-dir --require-hashes -r /tmp/build-lock.txt
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY schemas ./schemas
COPY examples ./examples
COPY devservices ./devservices
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation -w /dist .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/lock.txt requirements/models.txt /tmp/requirements/
COPY --from=build /dist/ /tmp/dist/
RUN pip install --no-cache-dir --no-deps --require-hashes -r /tmp/requirements/lock.txt \
 && pip install --no-cache-dir --no-deps --require-hashes -r /tmp/requirements/models.txt \
 && pip install --no-cache-dir --no-deps /tmp/dist/newsstream-*.whl \
 && pip check \
 && rm -rf /tmp/dist /tmp/requirements \
 && useradd --create-home newsstream \
 && install -d -m 0700 -o newsstream /data
USER newsstream
WORKDIR /app
# 0.0.0.0 inside the container so Prometheus on the compose network can scrape /metrics; the
# port is not published, and Faust's /table and /router pages are off (streams/runtime/app.py).
ENV NEWSSTREAM_DATA_DIR=/data/faust NEWSSTREAM_SERVICES_DIR=/data NEWSSTREAM_WEB_HOST=0.0.0.0 \
    NEWSSTREAM_WEB_PORT=6066
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=4 \
  CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:6066/health', timeout=4)"
ENTRYPOINT ["newsstream"]
CMD ["worker"]
