"""FluidClient over a stubbed kubernetes.core dynamic client: paths, apply, errors, the watch stream."""
import json
import threading

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import client as C
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Gone, Transient

try:
    import urllib3
except ImportError:  # pragma: no cover
    urllib3 = None


class Sock(object):
    def __init__(self):
        self.shut = None

    def shutdown(self, how):
        self.shut = how


class Conn(object):
    def __init__(self):
        self.sock = Sock()


class Resp(object):
    def __init__(self, data=b"", chunks=None, fail_after=None):
        self.data = data
        self.chunks = chunks or []
        self.fail_after = fail_after
        self.closed = False
        self.released = False
        self._connection = Conn()

    def stream(self, amt, decode_content=True):
        for i, chunk in enumerate(self.chunks):
            if self.fail_after is not None and i == self.fail_after:
                raise urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")
            yield chunk

    def release_conn(self):
        self.released = True

    def close(self):
        self.closed = True


class HTTPError(Exception):
    def __init__(self, status, message):
        super(HTTPError, self).__init__(message)
        self.status, self.reason = status, "Err"
        self.body = json.dumps({"kind": "Status", "message": message}).encode()


class Api(object):
    def __init__(self, responses):
        self.responses = list(responses)
        self.calls = []

    def request(self, method, path, **params):
        self.calls.append((method, path, params))
        r = self.responses.pop(0)
        if isinstance(r, Exception):
            raise r
        return r


class K8s(object):
    def __init__(self, api):
        self.client = api


def client(*responses):
    api = Api(responses)
    return C.FluidClient(K8s(api)), api


def only_client(*responses):
    return client(*responses)[0]


def test_auth_arg_spec_is_kubernetes_cores():
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    assert C.AUTH_ARG_SPEC == AUTH_ARG_SPEC
    assert C.AUTH_ARG_SPEC["api_key"]["no_log"] and C.AUTH_ARG_SPEC["kubeconfig"]["no_log"]


def test_paths():
    c = only_client()
    assert c.path("Dataset", "default", "cifar10") == "/apis/data.fluid.io/v1alpha1/namespaces/default/datasets/cifar10"
    assert c.path("AlluxioRuntime", "ns") == "/apis/data.fluid.io/v1alpha1/namespaces/ns/alluxioruntimes"
    assert c.path("AlluxioRuntime", None) == "/apis/data.fluid.io/v1alpha1/alluxioruntimes"
    assert c.path("Node", "ignored", "n1") == "/api/v1/nodes/n1"
    assert c.path("Pod", "ns") == "/api/v1/namespaces/ns/pods"


def test_kinds_served_and_missing_crds():
    group = {"resources": [{"name": "datasets", "kind": "Dataset"}, {"name": "datasets/status", "kind": "Dataset"},
                           {"name": "alluxioruntimes", "kind": "AlluxioRuntime"}]}
    c, api = client(Resp(json.dumps(group).encode()))
    assert c.kinds_served() == {"Dataset", "AlluxioRuntime"}
    c.require("Dataset")
    with pytest.raises(C.ApiError) as e:
        c.require("JindoRuntime")
    assert "not the kind JindoRuntime" in str(e.value) and "cloudnative.fluid.fluid" in str(e.value)
    assert len(api.calls) == 1  # discovery is read once
    c2 = only_client(HTTPError(404, "the server could not find the requested resource"))
    with pytest.raises(C.FluidNotInstalled) as e:
        c2.require("Dataset")
    assert "Install Fluid first with the role cloudnative.fluid.fluid" in str(e.value)


def test_get_returns_none_on_404_and_raises_others():
    c = only_client(HTTPError(404, "not found"), HTTPError(403, "datasets is forbidden"))
    assert c.get("Dataset", "default", "x") is None
    with pytest.raises(C.ApiError) as e:
        c.get("Dataset", "default", "x")
    assert e.value.status == 403 and "forbidden" in str(e.value)


def test_apply_is_server_side_apply_with_our_field_manager():
    body = {"apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset", "metadata": {"name": "a", "namespace": "n"}, "spec": {}}
    c, api = client(Resp(json.dumps(body).encode()), Resp(json.dumps(body).encode()))
    assert c.apply(body, dry_run=True) == body
    c.apply(body)
    (m1, p1, a1), (m2, p2, a2) = api.calls
    assert m1 == "patch" and p1 == "/apis/data.fluid.io/v1alpha1/namespaces/n/datasets/a"
    assert a1["content_type"] == "application/apply-patch+yaml" and a1["field_manager"] == "cloudnative.fluid"
    assert a1["force_conflicts"] is True and a1["dry_run"] == "All" and a1["body"] == body
    assert "dry_run" not in a2


def test_delete_dry_run_and_gone():
    c, api = client(Resp(b"{}"), HTTPError(404, "gone"))
    c.delete("Dataset", "n", "a", dry_run=True)
    assert api.calls[0][2]["dry_run"] == "All"
    assert c.delete("Dataset", "n", "a") is None


def test_list_maps_errors_for_the_waiter():
    items = {"metadata": {"resourceVersion": "42"}, "items": [{"metadata": {"name": "a"}}]}
    c, api = client(Resp(json.dumps(items).encode()), HTTPError(410, "expired"), HTTPError(503, "unavailable"),
                    ConnectionRefusedError("refused"))
    got, rv = c.list("Dataset", "n", field_selector="metadata.name=a", with_version=True)
    assert rv == "42" and got[0]["kind"] == "Dataset"
    assert api.calls[0][2]["field_selector"] == "metadata.name=a"
    with pytest.raises(Gone):
        c.list("Dataset", "n", with_version=True)
    with pytest.raises(Transient):
        c.list("Dataset", "n", with_version=True)
    with pytest.raises(Transient):
        c.list("Dataset", "n", with_version=True)


def _line(etype, name, rv):
    return json.dumps({"type": etype, "object": {"metadata": {"name": name, "resourceVersion": rv}}}).encode() + b"\n"


def test_watch_splits_events_across_chunks_and_passes_watch_params():
    data = _line("ADDED", "a", "1") + _line("MODIFIED", "a", "2") + _line("BOOKMARK", "", "3")
    chunks = [data[:10], data[10:50], data[50:]]
    resp = Resp(chunks=chunks)
    c, api = client(resp)
    events = list(c.watch("Dataset", "n", field_selector="metadata.name=a", resource_version="0", timeout_seconds=30))
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "BOOKMARK"]
    params = api.calls[0][2]
    assert params["watch"] is True and params["allow_watch_bookmarks"] is True and params["resource_version"] == "0"
    assert params["timeout_seconds"] == 30 and params["_request_timeout"] == (10, 40)
    assert resp.released


def test_watch_dropped_mid_stream_is_transient():
    resp = Resp(chunks=[_line("ADDED", "a", "1"), b'{"type": "MODI'], fail_after=1)
    c = only_client(resp)
    it = c.watch("Dataset", "n", resource_version="0", timeout_seconds=5)
    assert next(it)["type"] == "ADDED"
    with pytest.raises(Transient):
        next(it)


def test_watch_start_errors():
    c = only_client(HTTPError(410, "too old"), HTTPError(500, "etcd"), HTTPError(403, "no"))
    with pytest.raises(Gone):
        list(c.watch("Dataset", "n", resource_version="1"))
    with pytest.raises(Transient):
        list(c.watch("Dataset", "n", resource_version="1"))
    with pytest.raises(C.ApiError):
        list(c.watch("Dataset", "n", resource_version="1"))


def test_cancel_shuts_the_sockets_of_one_wait_down():
    import socket
    stop, other = threading.Event(), threading.Event()
    resp, resp2 = Resp(chunks=[_line("ADDED", "a", "1")]), Resp(chunks=[])
    c = only_client(resp, resp2)
    it = c.watch("Dataset", "n", resource_version="1", stop=stop)
    assert next(it)["type"] == "ADDED"
    list(c.watch("Dataset", "m", resource_version="1", stop=other))
    stop.set()
    c.cancel(stop)
    # a reader blocked in recv() wakes up on shutdown; close() would wait for it
    assert resp._connection.sock.shut == socket.SHUT_RDWR
    assert resp2._connection.sock.shut is None  # another wait's stream is left alone
    assert list(it) == [] and resp.closed and not resp.released  # never returned to the pool
