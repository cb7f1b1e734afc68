"""deploy/docker: no Docker engine runs here, so the Dockerfiles are parsed (with BuildKit's own
parser, the `dockerfile` package) and their structure checked: a maturin build stage, a slim
runtime stage that installs only the built wheel, a numeric non-root user, an exec-form entrypoint,
pinned base images, and names and versions that agree with pyproject.toml and the manifests."""

from __future__ import annotations

import re
import shlex

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import dockerfile
import pytest

from deploy_support import DOCKER, REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
IMAGES = {"service.Dockerfile": "ancoef-service", "ray.Dockerfile": "ancoef-ray"}


def stages(path) -> list[list[dockerfile.Command]]:
    """The Dockerfile's instructions split into build stages (each starting at FROM)."""
    found: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(path)):
        if command.cmd == "FROM":
            found.append([])
        assert found, f"{path.name}: {command.original!r} before the first FROM"
        found[-1].append(command)
    return found


def stage_name(stage) -> str:
    value = stage[0].value
    assert len(value) == 3 and value[1].upper() == "AS", f"unnamed stage: {stage[0].original}"
    return value[2]


def runs(stage) -> str:
    return "\n".join(" ".join(c.value) for c in stage if c.cmd == "RUN")


def last(stage, instruction):
    found = [c for c in stage if c.cmd == instruction]
    return found[-1] if found else None


@pytest.fixture(params=sorted(IMAGES), scope="module")
def image(request):
    path = DOCKER / request.param
    return request.param, stages(path)


def test_two_named_stages_builder_then_runtime(image):
    name, parsed = image
    assert [stage_name(s) for s in parsed] == ["builder", "runtime"], name


def test_builder_compiles_the_wheel_with_maturin_from_pyproject(image):
    name, (builder, _) = image
    base = builder[0].value[0]
    assert base.startswith("rust:") and "slim" in base, base
    rust = tuple(int(x) for x in re.match(r"rust:(\d+)\.(\d+)", base).groups())
    minimum = tomllib.loads((REPO / "sim-rs" / "Cargo.toml").read_text())["workspace"]["package"]["rust-version"]
    assert rust >= tuple(int(x) for x in minimum.split(".")), f"{base} is older than rust-version {minimum}"
    copies = [c.value for c in builder if c.cmd == "COPY"]
    assert (".", ".") in copies, "the build context (pyproject.toml, sim-rs/, the packages) is copied"
    maturin_pin = re.search(r"maturin==(\d+\.\d+\.\d+)", runs(builder))
    assert maturin_pin, "maturin is pinned"
    major = int(maturin_pin.group(1).split(".")[0])
    assert any(r.startswith("maturin") and f"<{major + 1}" in r for r in PYPROJECT["build-system"]["requires"])
    build = shlex.split(next(line for line in runs(builder).splitlines() if "maturin build" in line))
    assert "--release" in build and "--locked" in build
    assert build[build.index("--out") + 1] == "/dist"


def test_runtime_is_slim_python_and_installs_only_the_wheel(image):
    name, (_, runtime) = image
    base = runtime[0].value[0]
    assert re.fullmatch(r"python:3\.(1[0-2])-slim-\w+", base), base
    minor = int(base.split(":")[1].split("-")[0].split(".")[1])
    low, high = re.findall(r"\d+\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert int(low) <= minor < int(high), f"{base} is outside requires-python"
    copied = [c for c in runtime if c.cmd == "COPY"]
    assert [c.flags for c in copied] == [("--from=builder",)], "only the built wheel crosses stages"
    assert copied[0].value == ("/dist", "/dist")
    install = runs(runtime)
    assert re.search(r'pip install "\$\{wheel\}\[all\]"', install), "the wheel with its extras"
    assert "rm -rf /dist" in install
    assert "cargo" not in install and "rustc" not in install and "maturin" not in install
    # The same SpikingJelly install as scripts/setup (without its torchvision/torchaudio pins).
    setup = (REPO / "scripts" / "setup").read_text()
    spikingjelly = re.search(r"--no-deps (spikingjelly==\S+)", setup).group(1)
    assert f"--no-deps {spikingjelly}" in install


def test_runtime_runs_as_a_numeric_non_root_user(image):
    name, (_, runtime) = image
    user = last(runtime, "USER")
    assert user is not None, f"{name}: no USER"
    uid, _, gid = user.value[0].partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0, user.original
    # Kubernetes can verify runAsNonRoot only for a numeric user; the manifests run the same uid.
    assert f"--uid {uid}" in runs(runtime) and f"--gid {gid}" in runs(runtime)
    instructions = [c.cmd for c in runtime]
    assert instructions.index("USER") > max(i for i, c in enumerate(instructions) if c == "RUN"), \
        "nothing runs as root after USER"


def test_runtime_has_an_exec_form_entrypoint(image):
    name, (_, runtime) = image
    entrypoint, cmd = last(runtime, "ENTRYPOINT"), last(runtime, "CMD")
    assert entrypoint is not None and entrypoint.json, f"{name}: ENTRYPOINT in exec form"
    assert cmd is not None and cmd.json
    if name == "service.Dockerfile":
        assert entrypoint.value == ("ancoef",)
        assert PYPROJECT["project"]["scripts"]["ancoef"] == "services.cli:main"
        assert cmd.value[:2] == ("serve", "sim")
    else:
        assert entrypoint.value == ("ray",) and cmd.value[0] == "start"


def test_ray_image_has_what_kuberay_needs_and_the_project_pins():
    _, runtime = stages(DOCKER / "ray.Dockerfile")
    install = runs(runtime)
    ray_pin = next(d for d in PYPROJECT["project"]["optional-dependencies"]["search"] if d.startswith("ray["))
    assert f'"ray[default]=={ray_pin.split("==")[1]}"' in install, "ray[default] at the project's Ray version"
    assert re.search(r"apt-get install .*\bwget\b", install), "KubeRay's health probes call wget"
    assert re.search(r"--shell /bin/bash", install), "KubeRay starts Ray through bash"


def test_image_titles_name_the_images_the_manifests_run(image):
    name, (_, runtime) = image
    labels = " ".join(" ".join(c.value) for c in runtime if c.cmd == "LABEL")
    assert f"org.opencontainers.image.title {IMAGES[name]}" in labels.replace('"', "")
    docs = (REPO / "docs" / "deploy.md").read_text()
    version = PYPROJECT["project"]["version"]
    assert f"docker build -f deploy/docker/{name} -t ancoef/{IMAGES[name]}:{version} ." in docs


def test_the_build_context_leaves_out_local_environments():
    ignored = (REPO / ".dockerignore").read_text().split()
    for path in (".venv", "sim-rs/target", ".git", "**/*.so"):
        assert path in ignored, path


def test_both_images_build_the_same_wheel():
    """The two builder stages must not drift apart: the Ray nodes run the code the services run."""
    builders = [[c.original for c in stages(DOCKER / name)[0]] for name in sorted(IMAGES)]
    assert builders[0] == builders[1]
