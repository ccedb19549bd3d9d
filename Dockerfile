# The hello-world-api image; the pipeline's `build` step builds exactly this file.
#
#   docker build -t hello-api .                                       (official Python base)
#   docker build --build-arg BASE_IMAGE=local/python:3.11-bookworm .  (scripts/base-image.sh)
#
# Air-gapped: give a base image built from your Debian mirror (scripts/base-image.sh)
# and your PyPI mirror as --build-arg PIP_INDEX_URL=... (docs/container.md).

# Any Debian-based image with python3 (>= 3.11) and its venv module. Pinned, so
# a rebuild gets the same interpreter; the pipeline passes it explicitly.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm

# ---- builder: a virtualenv with the locked dependencies and the service wheel
FROM ${BASE_IMAGE} AS builder
# Read by pip inside RUN: point them at a mirror when building air-gapped.
ARG PIP_INDEX_URL
ARG PIP_TRUSTED_HOST
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/venv
# Dependencies first: this layer is reused until requirements.lock changes.
# Hashed, no resolution (--no-deps) and wheels only: nothing is compiled. The lock
# also holds the build backend (hatchling and what only it needs; scripts/lock).
COPY requirements.lock /build/requirements.lock
RUN /opt/venv/bin/pip install --require-hashes --no-deps --only-binary=:all: --no-compile \
      -r /build/requirements.lock
COPY pyproject.toml README.md /build/
COPY service /build/service
# The project itself: built by that hashed backend with no index and no build
# isolation (nothing is downloaded here), installed without dependencies. Then the
# build-only packages, pip and setuptools leave the venv: nothing installs at run time.
# BUILD-ONLY (tests/unit/test_locks.py): hatchling pathspec pluggy tomlkit trove-classifiers
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation --no-index --no-compile /build \
    && /opt/venv/bin/python -m pip uninstall --yes \
         hatchling pathspec pluggy tomlkit trove-classifiers pip setuptools
# Size (goal: under 60 MB over the base) without slowing start-up:
# - debug symbols stripped from the extension modules (asyncpg's alone are 9 MB);
# - third-party code shipped as bytecode only (`compileall -b` writes foo.pyc beside
#   foo.py, which is then removed): the read-only root filesystem could not cache
#   bytecode, and importing from sources costs ~1 s more at every start. Tracebacks
#   in logs keep file and line, not the source text. The service's own package keeps
#   its sources (Alembic loads migrations by path) plus a bytecode cache.
# binutils only lives in this stage; Debian stable's version is what we want.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && find /opt/venv -name '*.so' -exec strip --strip-unneeded {} + \
    && rm -rf /var/lib/apt/lists/*
RUN site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
    && /opt/venv/bin/python -m compileall -q -b -j 0 -x '/site-packages/service/' "$site" \
    && find "$site" -name '*.py' -not -path "$site/service/*" -delete \
    && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash "$site/service" \
    && PYTHONDONTWRITEBYTECODE=1 /opt/venv/bin/hello-api --help > /dev/null

# ---- runtime: the interpreter, the venv, an unprivileged user; no compilers, no pip
FROM ${BASE_IMAGE}
ARG VERSION=unknown
ARG GIT_SHA=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="hello-world-api" \
      org.opencontainers.image.description="A production-grade Hello-World API on Litestar" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}"
RUN groupadd --system --gid 1001 app \
    && useradd --system --uid 1001 --gid 1001 --no-create-home \
         --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONFAULTHANDLER=1 \
    APP_ENV=production \
    PORT=8000 \
    GIT_SHA=${GIT_SHA}
WORKDIR /tmp
USER 1001:1001
EXPOSE 8000
# No curl in the image: the venv's Python asks /health/live.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('PORT', '8000'), timeout=2)"]
# Exec form: the Python server is PID 1 and receives SIGTERM itself.
STOPSIGNAL SIGTERM
ENTRYPOINT ["hello-api"]
CMD ["serve"]
