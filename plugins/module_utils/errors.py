# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an API error means and what to do about it: 401, 403, 404 (namespace), 422, an unreachable
API server and a missing kubeconfig, each explained once for every module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.cloudnative.fluid.plugins.module_utils.fluid import API_VERSION

# "User \"u\" cannot get resource \"datasets\" in API group \"data.fluid.io\" in the namespace \"ns\""
_FORBIDDEN = re.compile(r'User "(?P<user>[^"]*)" cannot (?P<verb>[^ ]+) resource "(?P<resource>[^"]+)"'
                        r'(?: in API group "(?P<group>[^"]*)")?(?: in the namespace "(?P<namespace>[^"]+)")?')
AUTOMATION_HINT = ("the role cloudnative.fluid.automation_account creates a least-privilege account for this "
                   "collection")


def _resource_name(resource, group):
    return "%s.%s" % (resource, group) if group else resource


def explain_forbidden(message):
    """A 403 message that says who may not do what where, and what to grant (the server's text last)."""
    m = _FORBIDDEN.search(message or "")
    if not m:
        return ("forbidden (403): %s. The credentials in use lack an RBAC permission; grant it to the user or "
                "service account in kubeconfig (%s)." % (message, AUTOMATION_HINT))
    user, verb, group, ns = m.group("user"), m.group("verb"), m.group("group"), m.group("namespace")
    resource = _resource_name(m.group("resource"), group)
    if ns:
        where, how = "in namespace %s" % ns, "a Role and RoleBinding in namespace %s" % ns
    else:
        where, how = "cluster-wide", "a ClusterRole and ClusterRoleBinding"
    needs = ""
    if group == API_VERSION.split("/", 1)[0]:
        needs = (" The modules need get, list, watch, patch and delete on %s (and get, list, watch on events, pods "
                 "and persistentvolumeclaims to explain a wait)." % resource)
    return ("forbidden (403): %s may not %s %s %s. Grant '%s' on %s %s to %s (%s), or run with credentials that "
            "have it; %s.%s The API server said: %s"
            % (user, verb, resource, where, verb, resource, where, user, how, AUTOMATION_HINT, needs, message))


def explain_unauthorized(host, message):
    return ("unauthorized (401): the API server at %s rejected the credentials in use (%s): the token or client "
            "certificate in kubeconfig (or api_key) is invalid or expired. Refresh kubeconfig / api_key (for a "
            "service account: kubectl create token <name> -n <namespace>) and run again."
            % (host or "the configured host", message))


def explain_unreachable(host, e):
    """A connection failure with the address, the likely reason and what to check."""
    text = str(e)
    low = text.lower()
    if "refused" in low:
        why = "connection refused: nothing listens at that address"
    elif "certificate" in low or "ssl" in low:
        why = ("TLS verification failed: the server's certificate does not match the CA in kubeconfig "
               "(or ca_cert / validate_certs)")
    elif "name or service not known" in low or "name resolution" in low or "nodename nor servname" in low:
        why = "the host name does not resolve"
    elif "timed out" in low or "timeout" in low:
        why = "the connection timed out"
    else:
        why = "the connection failed"
    return ("cannot reach the Kubernetes API server at %s (%s). Check that the cluster is running and that "
            "kubeconfig and context (or host, or the K8S_AUTH_* environment variables) point at it. Details: %s"
            % (host or "the configured host", why, text))


def explain_status(status, message, host=None):
    if status == 401:
        return explain_unauthorized(host, message)
    if status == 403:
        return explain_forbidden(message)
    return message


def explain_api_error(e, namespace=None):
    """An ApiError's text with what to do, for a missing namespace (404) or a rejected field (422).
    401/403 and connection failures are explained where the ApiError is raised."""
    text = str(e)
    status = getattr(e, "status", None)
    if status == 404 and namespace and "namespaces" in text and "not found" in text:
        return ("namespace %s does not exist; create it first (for example with kubernetes.core.k8s, kind: "
                "Namespace) or set namespace to an existing one." % namespace)
    if status == 422:
        return text + " (the API server rejected a field; the message above names it)"
    return text


def missing_kubeconfig(kubeconfig):
    """An error string when kubeconfig names file(s) none of which exist (None otherwise)."""
    if not isinstance(kubeconfig, str) or not kubeconfig:
        return None
    paths = [p for p in kubeconfig.split(os.pathsep) if p]
    if any(os.path.exists(os.path.expanduser(p)) for p in paths):
        return None
    return ("kubeconfig: %s does not exist; point kubeconfig (or K8S_AUTH_KUBECONFIG) at your cluster's kubeconfig "
            "file (kubectl config view --raw prints the one kubectl uses), or leave both unset to use "
            "~/.kube/config or in-cluster credentials." % kubeconfig)
