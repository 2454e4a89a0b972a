"""The binaries and charts of the pins in hack/versions.env: where they are cached (Layout:
.cache/bin/tools-<k8s version>-<hash>/ and fluid-<version>-<hash>/, the hash covering the go.mod
and go.sum files, the Go version, the pins and BUILD_RECIPE), how they are built (one `go build`
per Go module, build_groups) and how Fluid's charts are copied out of its Go module
(prepare_charts, restore_library). `cluster.py build` is `build`; `up` calls it too.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import yaml

from gen_gomod import pins  # the one reader of hack/versions.env

from .paths import CACHE, HERE, ROOT, log


def go_version():
    return subprocess.check_output(["go", "env", "GOVERSION"], text=True).strip()


def digest(*paths, extra=""):
    h = hashlib.sha256(extra.encode())
    for p in paths:
        with open(p, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:12]


class Layout:
    """Where the cached binaries and charts of the current pins live."""

    def __init__(self):
        self.pins = pins()
        gov = go_version()
        tools = os.path.join(HERE, "tools")
        fluid = os.path.join(HERE, "fluid")
        self.tools_dir = os.path.join(CACHE, "bin", "tools-%s-%s" % (
            self.pins["KUBERNETES_VERSION"], digest(
                os.path.join(tools, "go.mod"), os.path.join(tools, "go.sum"),
                os.path.join(tools, "etcd", "main.go"),
                extra=gov + BUILD_RECIPE + json.dumps(self.pins, sort_keys=True))))
        self.fluid_dir = os.path.join(CACHE, "bin", "fluid-%s-%s" % (
            self.pins["FLUID_VERSION"], digest(
                os.path.join(fluid, "go.mod"), os.path.join(fluid, "go.sum"),
                extra=gov + BUILD_RECIPE + self.pins["FLUID_VERSION"] + json.dumps(FLUID_BINARIES))))
        self.charts = os.path.join(CACHE, "charts", "fluid-" + self.pins["FLUID_VERSION"])

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
        return os.path.join(self.charts, "fluid", "fluid")


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
    fluid_ld = "-s -w -checklinkname=0 -X github.com/fluid-cloudnative/fluid.version=%s" % p["FLUID_VERSION"]
    fluid = [(name, "github.com/fluid-cloudnative/fluid/cmd/" + cmd, p["FLUID_VERSION"]) for name, cmd in FLUID_BINARIES]
    return [(os.path.join(HERE, "tools"), lay.tools_dir, "-s -w " + " ".join(stamp), tools),
            (os.path.join(HERE, "fluid"), lay.fluid_dir, fluid_ld, fluid)]


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
    # ddc-helm is the name Fluid's controllers call helm by.
    ddc = os.path.join(lay.fluid_dir, "ddc-helm")
    if not os.path.exists(ddc):
        os.symlink(lay.tool("helm"), ddc)
    log("Fluid %s charts: %s" % (lay.pins["FLUID_VERSION"], prepare_charts(lay)))
    log("build done in %.0f s" % (time.time() - t_all))
    return lay


def prepare_charts(lay):
    """Copy Fluid's charts out of the Go module (read-only) and restore the library copies."""
    if os.path.exists(os.path.join(lay.charts, ".done")):
        restore_library(lay.charts)  # caches prepared before the nested data-operation charts were handled
        return lay.charts
    info = json.loads(subprocess.check_output(
        ["go", "mod", "download", "-json", "github.com/fluid-cloudnative/fluid@" + lay.pins["FLUID_VERSION"]],
        cwd=os.path.join(HERE, "fluid")))
    shutil.rmtree(lay.charts, ignore_errors=True)
    shutil.copytree(os.path.join(info["Dir"], "charts"), lay.charts)
    for dirpath, dirnames, filenames in os.walk(lay.charts):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    restore_library(lay.charts)
    open(os.path.join(lay.charts, ".done"), "w").close()
    return lay.charts


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
