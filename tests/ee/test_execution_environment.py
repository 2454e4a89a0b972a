"""The execution environment: execution-environment.yml (shipped in the collection), `make ee`
(the same definition with this work tree's collection instead of Galaxy's) and ee/install-helm.sh.

Not unit tests: they build the collection and EE build contexts (in temporary folders, never in
the work tree) with ansible-builder, offline (`ansible-builder create` needs no container engine).
`make ee-test` runs them; `make test` and `make check` run them as the gate `ee`."""
import hashlib
import io
import os
import re
import subprocess
import tarfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
ARCHES = ("amd64", "arm64")  # the architectures that must have a pinned helm checksum


def pins():
    with open(os.path.join(ROOT, "hack", "versions.env")) as fh:
        return dict(line.strip().split("=", 1) for line in fh if "=" in line and not line.startswith("#"))


def load(path):
    with open(os.path.join(ROOT, path)) as fh:
        return yaml.safe_load(fh)


def helm_sums():
    """{arch: (sha256, file name)} of ee/helm.sha256sum."""
    out = {}
    with open(os.path.join(ROOT, "ee", "helm.sha256sum")) as fh:
        for line in fh:
            m = re.match(r"^([0-9a-f]{64})  (helm-(v[0-9.]+)-linux-([a-z0-9]+)\.tar\.gz)$", line.rstrip("\n"))
            assert m, "not a sha256sum line of a helm release tarball: %r" % line
            assert m.group(4) not in out, "two checksums for %s" % m.group(4)
            out[m.group(4)] = (m.group(1), m.group(2), m.group(3))
    return out


def create(definition, context, cwd):
    r = subprocess.run([os.path.join(VENV_BIN, "ansible-builder"), "create", "-f", definition, "--context", context,
                        "-v", "2"], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    # ansible-builder only warns about build files it cannot find: none may be missing
    assert "does not exist" not in r.stdout + r.stderr and "No matches" not in r.stdout + r.stderr, r.stdout
    with open(os.path.join(context, "Dockerfile")) as fh:
        return fh.read()


def assert_helm_step(dockerfile, build):
    """The final stage installs helm for the image's architecture, checked against the pinned sums."""
    final = dockerfile[dockerfile.index("FROM base AS final"):]
    assert "ARG TARGETARCH" in final
    assert re.search(r'RUN sh /tmp/helm-install/install-helm\.sh /tmp/helm-install/helm\.sha256sum "\$\{TARGETARCH\}"'
                     r' && .*helm version', final), final
    assert final.index("ARG TARGETARCH") < final.index("install-helm.sh")
    for name in ("install-helm.sh", "helm.sha256sum"):
        with open(os.path.join(build, "helm", name)) as got, open(os.path.join(ROOT, "ee", name)) as want:
            assert got.read() == want.read()
    assert "get.helm.sh" not in dockerfile  # no download outside the verifying script


def test_make_ee_builds_a_context_with_this_work_trees_collection(tmp_path):
    context = str(tmp_path / "context")
    # this test runs in the venv: it exists (-o: make does not rebuild it when a requirement file is newer)
    r = subprocess.run(["make", "-s", "-o", os.path.join(ROOT, ".venv", ".done"), "ee", "EE_CONTEXT=" + context],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(context, "Dockerfile")) as fh:
        dockerfile = fh.read()
    build = os.path.join(context, "_build")
    version = load("galaxy.yml")["version"]
    tarball = "cloudnative-fluid-%s.tar.gz" % version
    with open(os.path.join(build, "requirements.yml")) as fh:
        requirements = yaml.safe_load(fh)["collections"]
    assert {"name": tarball, "type": "file"} in requirements
    assert not [c for c in requirements if c["name"] == "cloudnative.fluid"]
    assert os.path.getsize(os.path.join(build, tarball)) > 10000
    # the rest is the published definition's
    assert 'ARG EE_BASE_IMAGE="%s"' % load("execution-environment.yml")["images"]["base_image"]["name"] in dockerfile
    assert_helm_step(dockerfile, build)


def test_the_published_definition_builds_from_the_collection_alone(tmp_path):
    """From the built tarball, unpacked: nothing outside the collection, the collection from Galaxy."""
    r = subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                        str(tmp_path), ROOT], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    galaxy = load("galaxy.yml")
    unpacked = tmp_path / "collection"
    with tarfile.open(str(tmp_path / ("cloudnative-fluid-%s.tar.gz" % galaxy["version"]))) as tf:
        tf.extractall(str(unpacked), filter="data")
    dockerfile = create("execution-environment.yml", str(tmp_path / "context"), str(unpacked))
    build = str(tmp_path / "context" / "_build")
    with open(os.path.join(build, "requirements.yml")) as fh:
        requirements = {c["name"]: c for c in yaml.safe_load(fh)["collections"]}
    # this collection from Galaxy at the version the definition ships with
    assert requirements["cloudnative.fluid"] == {"name": "cloudnative.fluid", "version": "==%s" % galaxy["version"]}
    # kubernetes.core pinned exactly, inside galaxy.yml's range
    core = requirements["kubernetes.core"]["version"]
    assert core.startswith("==")
    low, high = re.match(r">=([0-9.]+),<([0-9.]+)", galaxy["dependencies"]["kubernetes.core"]).groups()

    def v(s):
        return tuple(int(x) for x in s.split("."))
    assert v(low) <= v(core[2:]) < v(high)
    assert_helm_step(dockerfile, build)
    # ansible-core pinned at the release the collection is tested with, within meta/runtime.yml's
    definition = load("execution-environment.yml")
    assert re.fullmatch(r"ansible-core==2\.19\.[0-9]+", definition["dependencies"]["ansible_core"]["package_pip"])
    # a base image pinned to a release, not a moving tag, and no longer the end-of-life Fedora 40
    image = definition["images"]["base_image"]["name"]
    assert re.fullmatch(r"registry\.access\.redhat\.com/ubi10/ubi:10\.[0-9]+", image), image


def test_helm_checksums_are_pinned_for_the_version_of_versions_env():
    sums = helm_sums()
    for arch in ARCHES:
        assert arch in sums, "ee/helm.sha256sum has no checksum for linux-%s" % arch
    assert {s[2] for s in sums.values()} == {pins()["HELM_VERSION"]}
    assert len({s[0] for s in sums.values()}) == len(sums)


# ee/install-helm.sh, run here with a stand-in curl that serves a local tarball: the checksum and
# architecture logic is the script's own.
CURL_STANDIN = """#!/bin/sh
# curl -fsSL --retry 3 -o OUT URL: copy $FAKE_HELM_TARBALL to OUT, log the URL
while [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift 2 ;; -*) shift ;; *) url=$1; shift ;; esac; done
echo "$url" >> "$FAKE_CURL_LOG"
cp "$FAKE_HELM_TARBALL" "$out"
"""


@pytest.fixture
def fake_release(tmp_path):
    """A stand-in curl and a helm release tarball for linux-amd64 and -arm64; returns a runner."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(CURL_STANDIN)
    (bin_dir / "curl").chmod(0o755)
    dest = tmp_path / "bin"
    dest.mkdir()

    def tarball(arch, content=b"#!/bin/sh\necho fake helm\n"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            info = tarfile.TarInfo("linux-%s/helm" % arch)
            info.size, info.mode = len(content), 0o755
            tf.addfile(info, io.BytesIO(content))
        path = tmp_path / ("helm-%s-%s.tgz" % (arch, hashlib.sha256(content).hexdigest()[:8]))
        path.write_bytes(buf.getvalue())
        return path

    def run(sums, arch, served):
        sums_file = tmp_path / "helm.sha256sum"
        sums_file.write_text("".join("%s  %s\n" % s for s in sums))
        env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]), FAKE_HELM_TARBALL=str(served),
                   FAKE_CURL_LOG=str(tmp_path / "curl.log"))
        r = subprocess.run(["sh", os.path.join(ROOT, "ee", "install-helm.sh"), str(sums_file), arch, str(dest)],
                           capture_output=True, text=True, env=env, timeout=60)
        urls = (tmp_path / "curl.log").read_text().split() if (tmp_path / "curl.log").exists() else []
        return r, dest / "helm", urls

    run.tarball = tarball
    return run


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("arch", ARCHES)
def test_install_helm_installs_the_tarball_of_the_architecture_when_its_checksum_matches(fake_release, arch):
    amd64, arm64 = fake_release.tarball("amd64"), fake_release.tarball("arm64", b"#!/bin/sh\necho arm64\n")
    served = {"amd64": amd64, "arm64": arm64}[arch]
    sums = [(sha(amd64), "helm-v9.9.9-linux-amd64.tar.gz"), (sha(arm64), "helm-v9.9.9-linux-arm64.tar.gz")]
    r, helm, urls = fake_release(sums, arch, served)
    assert r.returncode == 0, r.stderr
    assert urls == ["https://get.helm.sh/helm-v9.9.9-linux-%s.tar.gz" % arch]
    assert os.access(str(helm), os.X_OK)
    with tarfile.open(str(served)) as tf:
        assert helm.read_bytes() == tf.extractfile("linux-%s/helm" % arch).read()


def test_install_helm_refuses_a_tarball_that_does_not_match(fake_release):
    good, evil = fake_release.tarball("amd64"), fake_release.tarball("amd64", b"#!/bin/sh\necho tampered\n")
    r, helm, _ = fake_release([(sha(good), "helm-v9.9.9-linux-amd64.tar.gz")], "amd64", evil)
    assert r.returncode != 0
    assert "does not match the SHA-256 pinned" in r.stderr
    assert not helm.exists()


def test_install_helm_refuses_an_architecture_without_a_pinned_checksum(fake_release):
    amd64 = fake_release.tarball("amd64")
    r, helm, urls = fake_release([(sha(amd64), "helm-v9.9.9-linux-amd64.tar.gz")], "riscv64", amd64)
    assert r.returncode != 0
    assert "no checksum for linux-riscv64" in r.stderr and "amd64" in r.stderr
    assert urls == [] and not helm.exists()


def test_install_helm_takes_the_machines_architecture_when_none_is_given(fake_release):
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine)
    if arch is None:
        pytest.skip("no helm tarball in this test for %s" % os.uname().machine)
    served = fake_release.tarball(arch)
    r, helm, urls = fake_release([(sha(served), "helm-v9.9.9-linux-%s.tar.gz" % arch)], "", served)
    assert r.returncode == 0, r.stderr
    assert urls == ["https://get.helm.sh/helm-v9.9.9-linux-%s.tar.gz" % arch] and helm.exists()
