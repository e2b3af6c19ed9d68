# jepa-serve images. Build from the repository root:
#   docker build --target gateway -t jepa-serve/gateway .
#   docker build --target export  -t jepa-serve/export  .
#   docker run --gpus all -v "$PWD/artifacts:/workspace/artifacts" jepa-serve/export --target gpu --out artifacts ...
# Both images install the project from the same sources; only the export image has torch.
# The gateway gets the client distribution (clients/, the gRPC stubs) and jepa-serve[server].

ARG PYTHON_VERSION=3.11
ARG NGC_TAG=25.06

# ---------------------------------------------------------------------------------------------
# Gateway, build stage: a virtual environment with jepa-serve[server] and nothing that needs a
# compiler at run time.
FROM python:${PYTHON_VERSION}-slim-bookworm AS gateway-build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY clients ./clients
COPY server ./server
COPY export ./export
COPY media ./media
# The gateway never imports torch: fail the build if any dependency pulled it in.
RUN pip install --no-cache-dir ./clients "./[server]" \
 && python -c "import importlib.util, sys; sys.exit('torch is in the gateway image' if importlib.util.find_spec('torch') else 0)"

# ---------------------------------------------------------------------------------------------
# Gateway, runtime stage: the venv, a health probe, a non-root user.
FROM python:${PYTHON_VERSION}-slim-bookworm AS gateway
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JEPA_HOST=0.0.0.0 \
    JEPA_PORT=50051 \
    JEPA_HTTP_PORT=8080 \
    JEPA_METRICS_PORT=9100
RUN groupadd --system --gid 10001 jepa \
 && useradd --system --uid 10001 --gid jepa --home-dir /var/lib/jepa --create-home --shell /usr/sbin/nologin jepa
COPY --from=gateway-build /opt/venv /opt/venv
COPY deploy/docker/healthcheck.py /opt/jepa/healthcheck.py
USER 10001:10001
# Milvus Lite's default index file (data/index.db) lands here when no JEPA_INDEX_URI is given.
WORKDIR /var/lib/jepa
# 50051: gRPC (jepa.v1, health, reflection); 8080: HTTP/JSON API and search page; 9100: Prometheus /metrics.
EXPOSE 50051 8080 9100
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/opt/jepa/healthcheck.py", "localhost:50051"]
ENTRYPOINT ["jepa-serve"]
CMD ["serve"]

# ---------------------------------------------------------------------------------------------
# Export: NGC PyTorch (CUDA, cuDNN, TensorRT) plus the export dependencies. The image's own torch
# build stays; it is pinned as a constraint so pip cannot swap it for a generic wheel.
FROM nvcr.io/nvidia/pytorch:${NGC_TAG}-py3 AS export
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY server ./server
COPY export ./export
COPY media ./media
COPY deploy/docker/export_requirements.py /tmp/export_requirements.py
RUN python /tmp/export_requirements.py pyproject.toml > /tmp/export-requirements.txt \
 && python -c "import importlib.metadata as m; print('torch==' + m.version('torch'))" > /tmp/torch-constraint.txt \
 && pip install --no-cache-dir --constraint /tmp/torch-constraint.txt --requirement /tmp/export-requirements.txt \
 && pip install --no-cache-dir --no-deps ./ \
 && rm /tmp/export-requirements.txt /tmp/torch-constraint.txt /tmp/export_requirements.py
WORKDIR /workspace
# The export stage's own command; the server's (`jepa-serve`) needs the [server] extra, not installed here.
ENTRYPOINT ["jepa-export"]
CMD ["--help"]
