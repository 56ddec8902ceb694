# syntax=docker/dockerfile:1
# Bozor: `docker build -t bozor .` then `docker run --env-file .env -p 8080:8080 bozor`.
# Two stages: the first builds a virtualenv with Bozor and its dependencies (wheels only, no
# compiler), the second copies it onto a clean slim image and runs as an unprivileged user.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/bozor
WORKDIR /src
# Dependencies first: this layer is reused while only Bozor's own code changes.
COPY pyproject.toml README.md ./
RUN mkdir -p src/bozor && touch src/bozor/__init__.py \
    && /opt/bozor/bin/pip install . \
    && /opt/bozor/bin/pip uninstall --yes bozor-bot
COPY src ./src
RUN /opt/bozor/bin/pip install --no-deps . \
    && find /opt/bozor -name '__pycache__' -prune -exec rm -rf {} + \
    && /opt/bozor/bin/python -m compileall -q /opt/bozor/lib

FROM python:${PYTHON_VERSION}-slim AS runtime
RUN groupadd --system --gid 10001 bozor \
    && useradd --system --uid 10001 --gid bozor --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin bozor \
    && mkdir /data && chown bozor:bozor /data
COPY --from=build /opt/bozor /opt/bozor
ENV PATH=/opt/bozor/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    DATABASE_URL=sqlite:////data/bozor.sqlite3
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["bozor"]
CMD ["run"]
