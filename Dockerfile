# convbot: `docker build -t convbot .`, then see README → Deployment.

# Stage 1 installs into a virtualenv rather than building wheels: the runtime stage then needs one
# COPY and no pip run of its own, so no wheel files or pip caches end up in its layers. Every
# dependency ships manylinux wheels for 3.11, so no compiler is needed here either.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
# Dependencies first, read from pyproject.toml: a change to bot/ alone then reuses this layer.
RUN python -c "import tomllib; project = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
      print(*project['dependencies'], sep='\n')" > requirements.txt \
 && pip install -r requirements.txt
COPY bot ./bot
# A regular (non-editable) install, so the migrations and static files are copied as package data.
RUN pip install --no-deps .

FROM python:3.11-slim
# A fixed uid, so a volume or a bind mount can be chowned to it ahead of time.
RUN useradd --uid 10001 --user-group --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin convbot \
 && mkdir /data && chown convbot:convbot /data
# Same path as in stage 1: the venv's scripts have /opt/venv/bin/python in their shebang.
COPY --from=build /opt/venv /opt/venv
# DATABASE_URL defaults to a path relative to the working directory; an absolute one keeps the
# SQLite files in the volume even under `docker run -w`. The environment outranks a .env file,
# so these three are changed with `-e`, never in /data/.env: that way the HEALTHCHECK below
# always probes the PORT the server listens on. CONVBOT_CONFIG stays unset: convbot.yml in the
# working directory (/data) may then be absent (no operations file yet), while a file named
# with CONVBOT_CONFIG must exist (a typo there would start the bot without its permissions).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite+aiosqlite:////data/convbot.db
# /data holds the SQLite database (with its -wal and -shm files), convbot.yml and any .env: the
# working directory, so `convbot conv …` run through `docker exec` finds the same ones.
WORKDIR /data
# Declared after the chown: a new named volume starts as a copy of /data, owned by convbot.
VOLUME /data
USER convbot
EXPOSE 3000
# slim has no curl. /healthz answers in Socket Mode too; start-period covers the migrations.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen( \
      'http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=3)"
ENTRYPOINT ["convbot"]
CMD ["serve"]
