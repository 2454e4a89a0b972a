#!/usr/bin/env python3
"""Write a copy of execution-environment.yml that installs cloudnative.fluid from a local tarball
(`make ee`): the published definition takes it from Galaxy at the released version, which a
change not yet released is not.

    ee_local.py TARBALL OUT_DEFINITION

The copy differs only there: its Galaxy requirements are the published ones with
cloudnative.fluid replaced by the tarball (type: file, put in the build context), and its build
files' paths are absolute (the copy lives elsewhere)."""
import os
import shutil
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTION = "cloudnative.fluid"


def local_definition(tarball, out):
    with open(os.path.join(ROOT, "execution-environment.yml")) as fh:
        definition = yaml.safe_load(fh)
    deps = definition["dependencies"]
    with open(os.path.join(ROOT, deps["galaxy"])) as fh:
        requirements = yaml.safe_load(fh)
    names = [c["name"] for c in requirements["collections"]]
    if COLLECTION not in names:
        sys.exit("ee_local.py: %s lists no %s" % (deps["galaxy"], COLLECTION))
    out_dir = os.path.dirname(os.path.abspath(out))
    name = os.path.basename(tarball)
    if os.path.abspath(tarball) != os.path.join(out_dir, name):
        shutil.copy(tarball, os.path.join(out_dir, name))
    requirements["collections"] = [{"name": name, "type": "file"} if c["name"] == COLLECTION else c
                                   for c in requirements["collections"]]
    deps["galaxy"] = requirements  # inline: ansible-builder writes it to _build/requirements.yml
    files = definition.setdefault("additional_build_files", [])
    for entry in files:
        entry["src"] = os.path.join(ROOT, entry["src"])
    # the galaxy stage installs from /build, which holds _build/: the tarball goes there
    files.append({"src": os.path.join(out_dir, name), "dest": "."})
    with open(out, "w") as fh:
        fh.write("# Written by hack/ee_local.py from execution-environment.yml: %s from %s\n" % (COLLECTION, name))
        yaml.safe_dump(definition, fh, sort_keys=False)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    local_definition(sys.argv[1], sys.argv[2])
