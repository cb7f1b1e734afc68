# syntax=docker/dockerfile:1
# The ANCoEF Ray node image: head, workers and the RayJob submitter of deploy/k8s (KubeRay sets the
# `ray start` / `ray job submit` command of each container). Build from the repository root:
#   docker build -f deploy/docker/ray.Dockerfile -t ancoef/ancoef-ray:0.1.0 .

# ---- builder: the same wheel as the services image.
FROM rust:1.88-slim-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/maturin \
 && /opt/maturin/bin/pip install --no-cache-dir maturin==1.16.0
WORKDIR /src
COPY . .
RUN /opt/maturin/bin/maturin build --release --locked --compatibility linux --out /dist

# ---- runtime: slim Python with ANCoEF and Ray. ray[default] adds the dashboard and job server that
# KubeRay's job submission and health probes talk to; KubeRay's probes run wget in bash.
FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="ancoef-ray" \
      org.opencontainers.image.description="ANCoEF Ray node for sweeps on KubeRay" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends wget \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /dist /dist
RUN wheel="$(ls /dist/ancoef-*.whl)" \
 && pip install "${wheel}[all]" "ray[default]==2.60.0" \
 && pip install --no-deps spikingjelly==2.0.0 \
 && rm -rf /dist
RUN groupadd --gid 1000 ancoef \
 && useradd --uid 1000 --gid 1000 --home-dir /home/ancoef --create-home --shell /bin/bash ancoef
USER 1000:1000
WORKDIR /home/ancoef
EXPOSE 6379 8265 10001 8080
ENTRYPOINT ["ray"]
CMD ["start", "--head", "--dashboard-host=0.0.0.0", "--block"]
