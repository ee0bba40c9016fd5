# The playground for a class: K Streamlit replicas behind nginx on port 8501 (the same launcher
# as `make serve-class`, deploy/serve_class.py). CPU only. docs/deploy.md says how to size it.
#
#   docker build -t nn-playground .
#   docker run -p 8501:8501 -v playground-data:/data -e REPLICAS=2 nn-playground
#
# Debian 12 (bookworm), as the project's CI: Python 3.11 and nginx from Debian's packages.
FROM python:3.11-slim-bookworm

# fonts-noto-cjk (and fontconfig's fc-list, which finds it): pictures the server draws with
# Pillow may carry Chinese labels (lang=zh), which the default font draws as empty boxes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx fontconfig fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# torch first, from PyTorch's CPU index: PyPI's torch wheel for Linux is the CUDA build (GBs of
# GPU libraries a CPU server never uses). The pin must match requirements.txt; the CPU wheel is
# "2.13.0+cpu", which satisfies `torch==2.13.0`, so the next install keeps it.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

# The run store, search studies and downloaded MNIST live in one volume, shared by the
# replicas (SQLite in WAL mode takes writers from several processes).
ENV PLAYGROUND_RUNS_DB=/data/runs.db \
    PLAYGROUND_SEARCH_DB=/data/search.db \
    PLAYGROUND_CACHE_DIR=/data/cache \
    REPLICAS=2 \
    PLAYGROUND_MAX_SESSIONS=16 \
    PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 playground \
    && mkdir -p /data && chown playground /data
USER playground
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=90s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"

# nginx and the replicas run as this user (nginx needs no root on port 8501); SIGTERM from
# `docker stop` stops them all.
CMD ["sh", "-c", "exec python -m deploy.serve_class --replicas \"$REPLICAS\" --port 8501 --listen 0.0.0.0"]
