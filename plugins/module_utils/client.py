# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Kubernetes client of the collection.

Authentication options and client construction are kubernetes.core's own (AUTH_ARG_SPEC,
``get_api_client``), so ``kubeconfig``, ``context``, ``host``, ``api_key``, ``validate_certs``,
the ``K8S_AUTH_*`` environment variables and ``module_defaults: group/kubernetes.core.k8s``
behave exactly as in kubernetes.core.k8s. On top of that this module adds what Fluid modules
need: paths for Fluid kinds without a discovery round trip, server-side apply (optionally as a
dry run), deletes, and list/watch for the waiter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import socket

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils.errors import (
    explain_status,
    explain_unreachable,
    missing_kubeconfig,
)
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Gone, Transient

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC as _K8S_AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
# Re-exported: the driver builds kubernetes.core's AnsibleK8SModule from here.
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule  # pylint: disable=unused-import
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

try:
    import urllib3

    _CONNECTION_ERRORS = (urllib3.exceptions.HTTPError, OSError)
except ImportError:  # pragma: no cover
    _CONNECTION_ERRORS = (OSError,)

FIELD_MANAGER = "cloudnative.fluid"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"

# kubernetes.core's auth options, verbatim (a copy, so callers may extend their own spec).
AUTH_ARG_SPEC = copy.deepcopy(_K8S_AUTH_ARG_SPEC)

# Core kinds the diagnosis and waiter read.
_CORE = {
    "Node": ("nodes", False),
    "Pod": ("pods", True),
    "PersistentVolumeClaim": ("persistentvolumeclaims", True),
    "PersistentVolume": ("persistentvolumes", False),
    "Event": ("events", True),
    "Namespace": ("namespaces", False),
    "Secret": ("secrets", True),
}
# Kubernetes kinds of other API groups: kind -> (API path, plural, namespaced)
_GROUPED = {
    "HorizontalPodAutoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers", True),
    "Job": ("/apis/batch/v1", "jobs", True),
    "CronJob": ("/apis/batch/v1", "cronjobs", True),
    "Lease": ("/apis/coordination.k8s.io/v1", "leases", True),  # a Fluid controller's leader election (leader.py)
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "CustomResourceDefinition": ("/apis/apiextensions.k8s.io/v1", "customresourcedefinitions", False),
}


class FluidNotInstalled(Exception):
    """The data.fluid.io API group (Fluid's CRDs) is not served by the cluster."""

    def __init__(self, kind=None):
        super(FluidNotInstalled, self).__init__(fluid.INSTALL_HINT)
        self.kind = kind


class ApiError(Exception):
    """An API call failed; ``status`` is the HTTP status (None for connection failures)."""

    def __init__(self, message, status=None, reason=None):
        super(ApiError, self).__init__(message)
        self.status, self.reason = status, reason


def _message(e):
    body = getattr(e, "body", None)
    if body:
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("message"):
                return data["message"]
        except (TypeError, ValueError):
            pass
        return body if isinstance(body, str) else body.decode("utf-8", "replace")
    return "%s %s" % (getattr(e, "status", "") or "", getattr(e, "reason", "") or str(e))


def _for_waiter(e):
    """An ApiError as the waiter handles it: Gone (410: re-list), Transient (connection, 5xx, 429: reconnect)."""
    if e.status == 410:
        return Gone(str(e))
    if e.status is None or e.status in (429, 500, 502, 503, 504):
        return Transient(str(e))
    return e


class FluidClient(object):
    """Fluid and core objects as plain dicts, over kubernetes.core's API client."""

    def __init__(self, k8s_client):
        # k8s_client: kubernetes.core's K8SClient; .client is its (dynamic) client with request().
        self.k8s = k8s_client
        self.api = k8s_client.client
        self._served = None
        self._streams = {}

    # ------------------------------------------------------------------ paths

    def kinds_served(self):
        """The set of data.fluid.io/v1alpha1 kinds the cluster serves (empty: Fluid absent)."""
        if self._served is None:
            try:
                data = self._request("get", "/apis/%s" % fluid.API_VERSION)
            except ApiError as e:
                if e.status == 404:
                    self._served = set()
                    return self._served
                raise
            self._served = set(r.get("kind") for r in data.get("resources") or [] if "/" not in r.get("name", ""))
        return self._served

    def kind_served(self, kind):
        if kind in _CORE or kind in _GROUPED:
            return True
        return kind in self.kinds_served()

    def require(self, kind):
        """Raise FluidNotInstalled (or ApiError when only this kind is missing) unless kind is served."""
        served = self.kinds_served()
        if not served:
            raise FluidNotInstalled(kind)
        if kind not in served:
            raise ApiError("The cluster serves data.fluid.io/v1alpha1 but not the kind %s: the installed Fluid is older "
                           "than 1.0 or was installed without it. Upgrade Fluid with the role cloudnative.fluid.fluid."
                           % kind, status=404)

    def path(self, kind, namespace=None, name=None):
        if kind in _CORE:
            plural, namespaced = _CORE[kind]
            base = "/api/v1"
        elif kind in _GROUPED:
            base, plural, namespaced = _GROUPED[kind]
        else:
            plural, namespaced = fluid.plural(kind), kind not in fluid.CLUSTER_SCOPED
            base = "/apis/" + fluid.API_VERSION
        parts = [base]
        if namespaced and namespace:
            parts += ["namespaces", namespace]
        parts.append(plural)
        if name:
            parts.append(name)
        return "/".join(parts)

    # ------------------------------------------------------------------ requests

    @property
    def host(self):
        return getattr(getattr(self.api, "configuration", None), "host", None)

    def _request(self, method, path, stream=False, **params):
        try:
            resp = self.api.request(method, path, serialize=False, **params)
        except _CONNECTION_ERRORS as e:
            raise ApiError(explain_unreachable(self.host, e))
        except Exception as e:  # DynamicApiError and friends carry status/body
            status = getattr(e, "status", None)
            if status is None:
                raise
            raise ApiError(explain_status(status, _message(e), self.host), status=status,
                           reason=getattr(e, "reason", None))
        if stream:
            return resp
        data = resp.data
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return json.loads(data) if data else {}

    def read(self, path):
        """GET an API path (e.g. /version) as a dict."""
        return self._request("get", path)

    def get(self, kind, namespace, name):
        """The object as a dict, or None when it does not exist."""
        try:
            return self._request("get", self.path(kind, namespace, name))
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def list(self, kind, namespace, field_selector=None, label_selector=None, with_version=False):
        """Objects of a kind (namespace None: all namespaces); with_version also returns the list resourceVersion."""
        try:
            data = self._request("get", self.path(kind, namespace), field_selector=field_selector,
                                 label_selector=label_selector)
        except ApiError as e:
            raise _for_waiter(e)
        items = data.get("items") or []
        for item in items:  # list items carry no kind/apiVersion
            item.setdefault("kind", kind)
        if with_version:
            return items, (data.get("metadata") or {}).get("resourceVersion")
        return items

    def apply(self, body, dry_run=False):
        """Server-side apply of body (our fields only; force takes over fields others set). Returns the result."""
        meta = body["metadata"]
        params = dict(content_type=APPLY_CONTENT_TYPE, field_manager=FIELD_MANAGER, force_conflicts=True)
        if dry_run:
            params["dry_run"] = "All"
        return self._request("patch", self.path(body["kind"], meta.get("namespace"), meta["name"]), body=body, **params)

    def node_configz(self, name):
        """The kubelet's configuration of a node (its /configz, through the API server's node proxy)."""
        return (self._request("get", "/api/v1/nodes/%s/proxy/configz" % name) or {}).get("kubeletconfig") or {}

    def merge_patch(self, kind, namespace, name, body, dry_run=False):
        """JSON merge patch (RFC 7386; None values delete keys). Returns the stored object."""
        params = dict(content_type="application/merge-patch+json")
        if dry_run:
            params["dry_run"] = "All"
        return self._request("patch", self.path(kind, namespace, name), body=body, **params)

    def json_patch(self, kind, namespace, name, ops, dry_run=False):
        """JSON patch (RFC 6902; a failing "test" op fails the whole patch with 422). Returns the stored object,
        or None when the object is gone (the last finalizer of an object being deleted removed)."""
        params = dict(content_type="application/json-patch+json")
        if dry_run:
            params["dry_run"] = "All"
        return self._request("patch", self.path(kind, namespace, name), body=ops, **params) or None

    def delete(self, kind, namespace, name, dry_run=False):
        """Delete (foreground for nothing: Fluid's finalizers do the cleanup). Returns the object or None if gone."""
        params = {}
        if dry_run:
            params["dry_run"] = "All"
        try:
            return self._request("delete", self.path(kind, namespace, name), **params)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    # ------------------------------------------------------------------ waiter source

    def watch(self, kind, namespace, field_selector=None, resource_version=None, timeout_seconds=None, stop=None):
        """Watch events as dicts. Raises Gone (410) and Transient (connection, 5xx, 429) for the waiter."""
        try:
            resp = self._request(
                "get", self.path(kind, namespace), stream=True, watch=True, field_selector=field_selector,
                resource_version=resource_version, allow_watch_bookmarks=True, timeout_seconds=timeout_seconds,
                _request_timeout=(10, (timeout_seconds or 60) + 10))
        except ApiError as e:
            raise _for_waiter(e)
        if stop is not None:
            self._streams.setdefault(id(stop), []).append(resp)
        try:
            buf = b""
            for chunk in resp.stream(16384, decode_content=True):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line.decode("utf-8"))
                if stop is not None and stop.is_set():
                    return
            if buf.strip():
                yield json.loads(buf.decode("utf-8"))
        except _CONNECTION_ERRORS as e:
            raise Transient("watch stream dropped: %s" % e)
        except ValueError as e:  # a line cut by a dropped connection
            raise Transient("watch stream cut mid-event: %s" % e)
        finally:
            try:
                if stop is not None and stop.is_set():
                    resp.close()  # its socket was shut down by cancel(): never back to the pool
                else:
                    resp.release_conn()
            except Exception:  # pylint: disable=broad-except
                pass

    def cancel(self, stop):
        """End the streams opened for one wait (called by the waiter when it is done).

        The socket is shut down rather than the response closed: close() would wait for the
        reading thread, which is blocked until the server sends something; a shutdown wakes it.
        """
        for resp in self._streams.pop(id(stop), []):
            conn = getattr(resp, "_connection", None) or getattr(resp, "connection", None)
            sock = getattr(conn, "sock", None)
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except (OSError, ValueError):
                pass


def connect(module):
    """A FluidClient for an AnsibleK8SModule, configured exactly as kubernetes.core would."""
    missing = missing_kubeconfig(module.params.get("kubeconfig") or os.environ.get("K8S_AUTH_KUBECONFIG"))
    if missing:
        module.fail_json(msg=missing)
    try:
        return FluidClient(get_api_client(module=module))
    except CoreException as e:
        module.fail_json(msg="%s. Check kubeconfig and context (or host and api_key, or the K8S_AUTH_* environment "
                             "variables): they must name a readable kubeconfig file and a context in it." % e)
    except Exception as e:  # kubeconfig errors surface as many types
        local_file_error = isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError))
        if isinstance(e, _CONNECTION_ERRORS) and not local_file_error:
            # the client reads the server's version and API list when it is created
            module.fail_json(msg=explain_unreachable(module.params.get("host") or _kubeconfig_host(module), e))
        status = getattr(e, "status", None)
        if status in (401, 403):
            module.fail_json(msg=explain_status(status, _message(e), module.params.get("host")))
        module.fail_json(msg="Could not create the Kubernetes API client: %s. Check kubeconfig/context/host "
                             "(or the K8S_AUTH_* environment variables)." % e)


def _kubeconfig_host(module):
    """The server of the kubeconfig's context, for messages (None when it cannot be told)."""
    try:
        import kubernetes

        cfg = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=module.params.get("kubeconfig"),
                                           context=module.params.get("context"), client_configuration=cfg)
        return cfg.host
    except Exception:  # pylint: disable=broad-except
        return None
