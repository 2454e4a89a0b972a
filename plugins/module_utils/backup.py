# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fluid's DataBackup (v1.0.8): its backup path, its runAs user, which runtimes back up, where the backup
went, and the dataset-controller crash that a DataBackup causes in Fluid 1.0.0 to 1.0.8.

Fluid source: github.com/fluid-cloudnative/fluid@v1.0.8, paths below relative to it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import observe
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate

# Only these engines generate DataBackup values (pkg/ddc/alluxio/operate.go:30-33, pkg/ddc/goosefs/operate.go);
# every other engine returns NotSupported and the DataBackup becomes Failed (pkg/ddc/base/operation.go:138-150).
BACKUP_RUNTIMES = ("AlluxioRuntime", "GooseFSRuntime")

# Fluid accepts local://<path> and pvc://<pvc name>/<path> (pkg/controllers/v1alpha1/databackup/implement.go:85-103,
# parsed by pkg/utils/databackup.go:70-93); a local path is a folder on the node of the runtime's master.
_LOCAL = re.compile(r"^local://(/.*)$")
_PVC = re.compile(r"^pvc://([^/]+)(/.*)?$")
PATH_EXAMPLE = "local:///var/lib/fluid-backups or pvc://backup-pvc/imagenet"

# status.infos keys of a Complete DataBackup (pkg/databackup/constants.go; written by
# dataBackupOperation.UpdateStatusInfoForCompleted, implement.go:65-83; NodeName is "NA" for a pvc:// path)
INFO_PATH = "BackupLocationPath"
INFO_NODE = "BackupLocationNodeName"

# The option that creates a DataBackup in spite of Fluid's bug (BUG below).
OPT_IN = "allow_controller_crash"

# dataBackupOperation.GetStatusHandler() returns &OnceHandler{} without its dataBackup field
# (pkg/controllers/v1alpha1/databackup/implement.go:139-141) and OnceHandler.GetOperationStatus dereferences it
# (status_handler.go:41-43). It runs for a DataBackup in Executing (pkg/ddc/base/operation.go:157-163) and in
# Failed (operation.go:307-313); the manager does not set RecoverPanic (cmd/dataset/app/dataset.go:127-158), so
# controller-runtime v0.17.5 re-panics and the process exits. Present from v1.0.0 (commit 05b0f8526) to v1.0.8
# and on Fluid's master branch as of 2026-07 (a826600); no Fluid release fixes it, so no version is exempt.
BUG = ("Fluid 1.0.0 to 1.0.8 cannot run a DataBackup: as soon as one is Executing or Failed, Fluid's "
       "dataset-controller dereferences a nil pointer (pkg/controllers/v1alpha1/databackup/implement.go:139-141 "
       "returns an OnceHandler without its DataBackup, status_handler.go:43 reads it), exits, and crashes again on "
       "the same DataBackup each time it restarts. While it crash-loops, no Dataset, DataLoad or DataProcess of the "
       "cluster is reconciled either, and the DataBackup never becomes Complete. Deleting the DataBackup "
       "(state: absent) ends the crash loop.")


def validate_backup_path(field, value):
    """Fluid's two backup path forms, with an absolute local path and a valid PVC name."""
    value = "" if value is None else str(value)
    pvc = _PVC.match(value)
    if _LOCAL.match(value):
        return []
    if pvc:
        return validate.object_name(field + " (PVC name)", pvc.group(1), "PersistentVolumeClaim")
    if value.startswith("local://"):
        return ["%s: %r is not an absolute path; write local:// followed by the absolute folder on the master's "
                "node, e.g. local:///var/lib/fluid-backups" % (field, value)]
    return ["%s: %r is not a path Fluid backs up to; use local:///<absolute folder> (on the node of the runtime's "
            "master) or pvc://<PVC name>/<folder> (a PVC in the same namespace), e.g. %s" % (field, value, PATH_EXAMPLE)]


def validate_run_as(field, run_as):
    """runAs: Fluid's CRD requires uid, gid, user and group together (api/v1alpha1/common.go:124-134)."""
    if not run_as:
        return []
    missing = [k for k in ("uid", "gid", "user", "group") if run_as.get(k) in (None, "")]
    errors = []
    if missing:
        errors.append("%s: also give %s; Fluid needs uid, gid, user and group together, e.g. {uid: 1000, gid: 1000, "
                      "user: alluxio, group: alluxio}" % (field, ", ".join(missing)))
    for k in ("uid", "gid"):
        if (run_as.get(k) or 0) < 0:
            errors.append("%s.%s: must be 0 or more, got %r" % (field, k, run_as[k]))
    return errors


def build_run_as(run_as):
    return {"uid": run_as["uid"], "gid": run_as["gid"], "user": run_as["user"], "group": run_as["group"]}


def bound_runtime_kinds(dataset):
    """The runtime kinds a Dataset is bound to (status.runtimes), e.g. ['AlluxioRuntime']."""
    return [observe.RUNTIME_TYPE_KINDS.get((r.get("type") or "").lower(), r.get("type"))
            for r in fluid.dataset_runtimes(dataset)]


def runtime_problem(dataset):
    """Why Fluid cannot back up this Dataset (None when it can): not bound, or bound to a runtime that does not
    support DataBackup."""
    meta = (dataset or {}).get("metadata") or {}
    ref = "Dataset %s/%s" % (meta.get("namespace"), meta.get("name"))
    kinds = bound_runtime_kinds(dataset)
    if not kinds:
        return ("dataset: %s is not bound to a runtime yet (phase %s); Fluid backs up the metadata of an "
                "AlluxioRuntime or GooseFSRuntime master. Create the runtime first (cloudnative.fluid.runtime waits "
                "until the Dataset is Bound)." % (ref, fluid.phase(dataset) or "none"))
    if not set(kinds) & set(BACKUP_RUNTIMES):
        return ("dataset: %s is bound to a %s, and Fluid backs up only Datasets of an AlluxioRuntime or a "
                "GooseFSRuntime (pkg/ddc/*/operate.go); on any other runtime the DataBackup fails with "
                "DataOperationNotSupport. Nothing was written." % (ref, " and ".join(kinds)))
    return None


def refusal(ref, replacing=False):
    """The failure of a task that would create (or re-create) a DataBackup without the opt-in."""
    what = "replace %s (delete it and create it again)" % ref if replacing else "create %s" % ref
    return ("Refusing to %s; nothing was written. %s To create it anyway (a Fluid build with this fixed, or on a "
            "cluster where the crash is acceptable), set %s: true." % (what, BUG, OPT_IN))


def location(obj):
    """backup_location_path and backup_location_node from status.infos (None until Complete)."""
    infos = fluid.status_of(obj).get("infos") or {}
    return {"backup_location_path": infos.get(INFO_PATH) or None, "backup_location_node": infos.get(INFO_NODE) or None}
