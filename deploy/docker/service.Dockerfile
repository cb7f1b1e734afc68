# syntax=docker/dockerfile:1
# The ANCoEF services image: `ancoef serve sim|trainer|agent` (deploy/k8s runs all three from it).
# Build from the repository root (docs/deploy.md):
#   docker build -f deploy/docker/service.Dockerfile -t ancoef/ancoef-service:0.1.0 .

# ---- builder: the wheel, with the TrueAsync extension compiled by maturin from pyproject.toml and
# sim-rs/ (an abi3 wheel: one build serves every CPython >= 3.10).
FROM rust:1.88-slim-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/maturin \
 && /opt/maturin/bin/pip install --no-cache-dir maturin==1.16.0
WORKDIR /src
COPY . .
RUN /opt/maturin/bin/maturin build --release --locked --compatibility linux --out /dist

# ---- runtime: slim Python, the wheel with every extra the services use, no compiler.
FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="ancoef-service" \
      org.opencontainers.image.description="ANCoEF gRPC services: simulator, trainer, agent" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=builder /dist /dist
# SpikingJelly 2.0 declares torchvision, torchaudio and tensorboard, which the trainer never
# imports: installed without them, as scripts/setup does.
RUN wheel="$(ls /dist/ancoef-*.whl)" \
 && pip install "${wheel}[all]" \
 && pip install --no-deps spikingjelly==2.0.0 \
 && rm -rf /dist
RUN groupadd --gid 1000 ancoef \
 && useradd --uid 1000 --gid 1000 --home-dir /home/ancoef --create-home --shell /usr/sbin/nologin ancoef
USER 1000:1000
WORKDIR /home/ancoef
EXPOSE 50051 9090
ENTRYPOINT ["ancoef"]
CMD ["serve", "sim", "--host", "0.0.0.0", "--port", "50051", "--metrics-port", "9090"]
