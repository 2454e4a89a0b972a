"""The binaries and charts of the pins in hack/versions.env: where they are cached (Layout:
.cache/bin/tools-<k8s version>-<hash>/ and fluid-<version>-<hash>/, the hash covering the go.mod
and go.sum files, the Go version, the pins and BUILD_RECIPE), how they are built (one `go build`
per Go module, build_groups) and how Fluid's charts are copied out of its Go module
(prepare_charts, restore_library). `cluster.py build` is `build`; `up` calls it too.

Two Fluid releases can be built, each from a wrapper module of its own (FLUID_RELEASES):
FLUID_VERSION, always, and FLUID_PREVIOUS_VERSION, when the cluster starts on it
(FLUID_CLUSTER_FLUID_VERSION=<that version>, to test upgrades). The supervisor runs the binaries
of the release whose Deployments are installed.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

import yaml

from gen_gomod import pins  # the one reader of hack/versions.env

from .paths import CACHE, HERE, ROOT, RUN, log


def go_version():
    return subprocess.check_output(["go", "env", "GOVERSION"], text=True).strip()


def digest(*paths, extra=""):
    h = hashlib.sha256(extra.encode())
    for p in paths:
        with open(p, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:12]


# The Fluid releases the cluster can run: the pin in hack/versions.env -> its wrapper module's folder
# (hack/cluster/<folder>/go.mod, written by gen_gomod.py)
FLUID_RELEASES = (("FLUID_VERSION", "fluid"), ("FLUID_PREVIOUS_VERSION", "fluid-previous"))
# the cluster's file that keeps the release it was created on (`up` writes it, `down` removes it)
START_VERSION_FILE = os.path.join(RUN, "fluid-start-version")


class FluidRelease:
    """One Fluid release: its wrapper module, cached binaries and charts."""

    def __init__(self, version, folder, gov):
        self.version, self.moddir = version, os.path.join(HERE, folder)
        self.bin_dir = os.path.join(CACHE, "bin", "fluid-%s-%s" % (version, digest(
            os.path.join(self.moddir, "go.mod"), os.path.join(self.moddir, "go.sum"),
            extra=gov + BUILD_RECIPE + version + json.dumps(FLUID_BINARIES))))
        self.charts = os.path.join(CACHE, "charts", "fluid-" + version)

    @property
    def chart(self):
        return os.path.join(self.charts, "fluid", "fluid")

    def built(self):
        return all(os.path.exists(os.path.join(self.bin_dir, name)) for name, _ in FLUID_BINARIES) \
            and os.path.exists(os.path.join(self.charts, ".done"))


class Layout:
    """Where the cached binaries and charts of the current pins live; `fluid` is the Fluid release
    the cluster starts on ($FLUID_CLUSTER_FLUID_VERSION, else the one it was created on, else
    FLUID_VERSION), `fluid_releases` every release it can run, by version."""

    def __init__(self):
        self.pins = pins()
        gov = go_version()
        tools = os.path.join(HERE, "tools")
        self.tools_dir = os.path.join(CACHE, "bin", "tools-%s-%s" % (
            self.pins["KUBERNETES_VERSION"], digest(
                os.path.join(tools, "go.mod"), os.path.join(tools, "go.sum"),
                os.path.join(tools, "etcd", "main.go"),
                extra=gov + BUILD_RECIPE + json.dumps(self.pins, sort_keys=True))))
        self.fluid_releases = {}
        for pin, folder in FLUID_RELEASES:
            if self.pins.get(pin):
                self.fluid_releases[self.pins[pin]] = FluidRelease(self.pins[pin], folder, gov)
        self.fluid = self.fluid_releases[self.start_version()]

    def start_version(self):
        wanted = os.environ.get("FLUID_CLUSTER_FLUID_VERSION", "")
        if wanted == "previous":  # FLUID_PREVIOUS_VERSION, whatever it is (hack/gates.py's upgrade lane)
            wanted = self.pins["FLUID_PREVIOUS_VERSION"]
        if not wanted:
            try:
                wanted = open(START_VERSION_FILE).read().strip()
            except OSError:
                wanted = self.pins["FLUID_VERSION"]
        if wanted and not wanted.startswith("v"):
            wanted = "v" + wanted
        if wanted not in self.fluid_releases:
            sys.exit("FLUID_CLUSTER_FLUID_VERSION=%s: the embedded cluster runs Fluid %s; set it to one of them "
                     "(hack/versions.env: FLUID_VERSION, FLUID_PREVIOUS_VERSION; \"previous\" names the latter) or unset it"
                     % (wanted, " or ".join(sorted(self.fluid_releases))))
        return wanted

    def release_of(self, version):
        """The release of a version string such as 1.0.0 or v1.0.0-31f5433, or None."""
        m = re.match(r"v?(\d+\.\d+\.\d+)", version or "")
        return self.fluid_releases.get("v" + m.group(1)) if m else None

    def tool(self, name):
        if name == "kubectl":
            return self.kubectl()
        return os.path.join(self.tools_dir, name)

    def kubectl(self):
        built = os.path.join(self.tools_dir, "kubectl")
        if os.path.exists(built):
            return built
        return shutil.which("kubectl") or built

    @property
    def fluid_chart(self):
        return self.fluid.chart


# Bumped when the way binaries are built changes (flags, grouping): cached binaries are then rebuilt.
BUILD_RECIPE = "2"


def build_groups(lay):
    """[(module dir, output dir, ldflags, [(binary name, package, version)])]: one `go build` per Go module.

    Every binary of a module is built by one `go build -o DIR/ pkg...` so that Go compiles the shared
    packages once and links one binary while compiling the next (both cores busy). Version stamps
    (-X) of all binaries share one -ldflags: a -X for a package a binary does not link is ignored.
    -s -w drops the symbol table and DWARF (faster links; stack traces keep function names)."""
    p = lay.pins
    kube = p["KUBERNETES_VERSION"]
    major, minor = kube.lstrip("v").split(".")[:2]
    stamp = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        stamp += ["-X", "%s.gitVersion=%s" % (pkg, kube), "-X", "%s.gitMajor=%s" % (pkg, major),
                  "-X", "%s.gitMinor=%s" % (pkg, minor), "-X", "%s.gitTreeState=clean" % pkg,
                  "-X", "%s.buildDate=1970-01-01T00:00:00Z" % pkg]
    stamp += ["-X", "sigs.k8s.io/kwok/pkg/consts.Version=%s" % p["KWOK_VERSION"].lstrip("v"),
              "-X", "sigs.k8s.io/kwok/pkg/consts.KubeVersion=%s" % kube.lstrip("v"),
              "-X", "helm.sh/helm/v3/internal/version.version=%s" % p["HELM_VERSION"]]
    tools = [
        ("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", kube),
        ("kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager", kube),
        ("kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler", kube),
        ("etcd", "./etcd", p["ETCD_VERSION"]),
        ("kwok", "sigs.k8s.io/kwok/cmd/kwok", p["KWOK_VERSION"]),
        ("kwokctl", "sigs.k8s.io/kwok/cmd/kwokctl", p["KWOK_VERSION"]),
        ("helm", "helm.sh/helm/v3/cmd/helm", p["HELM_VERSION"]),
    ]
    if not shutil.which("kubectl"):
        tools.append(("kubectl", "k8s.io/kubernetes/cmd/kubectl", kube))
    groups = [(os.path.join(HERE, "tools"), lay.tools_dir, "-s -w " + " ".join(stamp), tools)]
    for rel in fluid_releases_to_build(lay):
        fluid_ld = "-s -w -checklinkname=0 -X github.com/fluid-cloudnative/fluid.version=%s" % rel.version
        fluid = [(name, "github.com/fluid-cloudnative/fluid/cmd/" + cmd, rel.version) for name, cmd in FLUID_BINARIES]
        groups.append((rel.moddir, rel.bin_dir, fluid_ld, fluid))
    return groups


def fluid_releases_to_build(lay):
    """FLUID_VERSION's release (always) and the one the cluster starts on."""
    current = lay.fluid_releases[lay.pins["FLUID_VERSION"]]
    return [current] + ([lay.fluid] if lay.fluid is not current else [])


# Fluid's controllers the supervisor runs: (binary name, package under github.com/fluid-cloudnative/fluid/cmd/)
FLUID_BINARIES = [("dataset-controller", "dataset"), ("alluxioruntime-controller", "alluxio"),
                  ("juicefsruntime-controller", "juicefs"), ("thinruntime-controller", "thin")]


def build(args=None):
    lay = Layout()
    groups = build_groups(lay)
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod")
    t_all = time.time()
    for moddir, outdir, ldflags, binaries in groups:
        todo = [b for b in binaries if not os.path.exists(os.path.join(outdir, b[0]))]
        for name, _, version in binaries:
            if (name, _, version) not in todo:
                log("%s %s: cached (%s)" % (name, version, os.path.relpath(os.path.join(outdir, name), ROOT)))
        if not todo:
            continue
        log("building %s (a cold build takes minutes) ..." % ", ".join("%s %s" % (n, v) for n, _, v in todo))
        tmp = os.path.join(outdir, ".build")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        t0 = time.time()
        cmd = ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", tmp + os.sep] + [pkg for _, pkg, _ in todo]
        r = subprocess.run(cmd, cwd=moddir, env=env)
        if r.returncode != 0:
            sys.exit("build failed (exit %d): %s" % (r.returncode, " ".join(cmd)))
        for name, pkg, _ in todo:  # go names each binary after its package's last path element
            os.rename(os.path.join(tmp, pkg.rstrip("/").rsplit("/", 1)[-1]), os.path.join(outdir, name))
        os.rmdir(tmp)
        log("built %s in %.0f s" % (", ".join(n for n, _, _ in todo), time.time() - t0))
    for rel in fluid_releases_to_build(lay):
        # ddc-helm is the name Fluid's controllers call helm by.
        ddc = os.path.join(rel.bin_dir, "ddc-helm")
        if not os.path.exists(ddc):
            os.symlink(lay.tool("helm"), ddc)
        log("Fluid %s charts: %s" % (rel.version, prepare_charts(rel)))
    log("build done in %.0f s" % (time.time() - t_all))
    return lay


def prepare_charts(rel):
    """Copy a Fluid release's charts out of its Go module (read-only) and restore the library copies."""
    if os.path.exists(os.path.join(rel.charts, ".done")):
        restore_library(rel.charts)  # caches prepared before the nested data-operation charts were handled
        return rel.charts
    info = json.loads(subprocess.check_output(
        ["go", "mod", "download", "-json", "github.com/fluid-cloudnative/fluid@" + rel.version], cwd=rel.moddir))
    shutil.rmtree(rel.charts, ignore_errors=True)
    shutil.copytree(os.path.join(info["Dir"], "charts"), rel.charts)
    for dirpath, dirnames, filenames in os.walk(rel.charts):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    restore_library(rel.charts)
    open(os.path.join(rel.charts, ".done"), "w").close()
    return rel.charts


def restore_library(charts):
    """Module zips drop symlinks: copy charts/library into every chart that depends on it
    (charts/alluxio, and nested ones such as fluid-dataloader/alluxio)."""
    lib = os.path.join(charts, "library")
    for dirpath, _, filenames in os.walk(charts):
        if "Chart.yaml" not in filenames or dirpath.startswith(lib):
            continue
        with open(os.path.join(dirpath, "Chart.yaml")) as fh:
            deps = (yaml.safe_load(fh) or {}).get("dependencies") or []
        target = os.path.join(dirpath, "charts", "library")
        if any(d.get("name") == "library" for d in deps) and not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copytree(lib, target)
