"""Error messages that name the field (or the permission) and the fix: client.py's 401/403/unreachable/
missing-kubeconfig formatting and validate.py's wait_timeout and one-or-many checks."""
import json

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import errors
from ansible_collections.cloudnative.fluid.plugins.module_utils import client as C
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate as V

try:
    import urllib3
except ImportError:  # pragma: no cover
    urllib3 = None

NS_403 = ('datasets.data.fluid.io "d" is forbidden: User "system:serviceaccount:team:bot" cannot get resource '
          '"datasets" in API group "data.fluid.io" in the namespace "team"')
CLUSTER_403 = ('nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope')


class HTTPError(Exception):
    def __init__(self, status, message):
        super(HTTPError, self).__init__(message)
        self.status, self.reason = status, "Err"
        self.body = json.dumps({"kind": "Status", "message": message}).encode()


class Config(object):
    host = "https://10.0.0.1:6443"


class Api(object):
    configuration = Config()

    def __init__(self, error):
        self.error = error

    def request(self, method, path, **params):
        raise self.error


class K8s(object):
    def __init__(self, api):
        self.client = api


class Failed(Exception):
    pass


class Module(object):
    def __init__(self, **params):
        self.params = dict(dict(kubeconfig=None, context=None, host=None), **params)

    def fail_json(self, msg, **kw):
        raise Failed(msg)


def test_forbidden_in_a_namespace_names_user_verb_resource_namespace_and_the_grant():
    msg = errors.explain_forbidden(NS_403)
    assert ("forbidden (403): system:serviceaccount:team:bot may not get datasets.data.fluid.io in namespace team"
            in msg)
    assert "Grant 'get' on datasets.data.fluid.io in namespace team to system:serviceaccount:team:bot" in msg
    assert "a Role and RoleBinding in namespace team" in msg
    assert "get, list, watch, patch and delete on datasets.data.fluid.io" in msg
    assert "cloudnative.fluid.automation_account" in msg
    assert msg.endswith(NS_403)  # the server's own words are kept


def test_forbidden_at_cluster_scope_asks_for_a_cluster_role():
    msg = errors.explain_forbidden(CLUSTER_403)
    assert "alice may not list nodes cluster-wide" in msg
    assert "Grant 'list' on nodes cluster-wide to alice (a ClusterRole and ClusterRoleBinding)" in msg
    assert "patch and delete on" not in msg  # the Fluid-specific list is only for data.fluid.io


def test_forbidden_that_cannot_be_parsed_still_says_what_to_do():
    msg = errors.explain_forbidden("access denied by webhook")
    assert msg.startswith("forbidden (403): access denied by webhook") and "grant it" in msg


def test_unauthorized_names_the_host_and_how_to_refresh():
    msg = errors.explain_status(401, "Unauthorized", "https://h:1")
    assert msg.startswith("unauthorized (401): the API server at https://h:1 rejected the credentials")
    assert "kubectl create token" in msg and "kubeconfig" in msg


@pytest.mark.parametrize("error, why", [
    ("[Errno 111] Connection refused", "connection refused: nothing listens at that address"),
    ("SSLError(CERTIFICATE_VERIFY_FAILED)", "TLS verification failed"),
    ("Failed to resolve: Name or service not known", "the host name does not resolve"),
    ("Read timed out.", "the connection timed out"),
    ("something else", "the connection failed"),
])
def test_unreachable_says_where_and_why(error, why):
    msg = errors.explain_unreachable("https://127.0.0.1:9", OSError(error))
    assert msg.startswith("cannot reach the Kubernetes API server at https://127.0.0.1:9 (%s" % why)
    assert "kubeconfig and context" in msg and error in msg


def test_other_statuses_keep_the_server_message():
    assert errors.explain_status(422, "spec.mounts: Required value") == "spec.mounts: Required value"


def test_api_error_text_explains_a_missing_namespace_and_a_rejected_field():
    gone = C.ApiError('namespaces "team" not found', status=404)
    assert errors.explain_api_error(gone, "team").startswith("namespace team does not exist; create it first")
    # without a namespace (cluster-scoped objects), or a 404 of the object itself: the server's text
    assert errors.explain_api_error(gone) == 'namespaces "team" not found'
    assert errors.explain_api_error(C.ApiError('datasets "d" not found', status=404), "team") == 'datasets "d" not found'
    bad = C.ApiError('Dataset "d" is invalid: spec.mounts[0].mountPoint: Required value', status=422)
    assert errors.explain_api_error(bad, "team") == str(bad) + " (the API server rejected a field; the message above names it)"
    # 403 was explained when the client raised it: not explained twice
    forbidden = C.ApiError(errors.explain_status(403, NS_403), status=403)
    assert errors.explain_api_error(forbidden, "team") == str(forbidden)


def test_request_turns_403_and_401_into_explained_api_errors():
    c = C.FluidClient(K8s(Api(HTTPError(403, NS_403))))
    with pytest.raises(C.ApiError) as e:
        c.get("Dataset", "team", "d")
    assert e.value.status == 403 and "Grant 'get' on datasets.data.fluid.io in namespace team" in str(e.value)
    c = C.FluidClient(K8s(Api(HTTPError(401, "Unauthorized"))))
    with pytest.raises(C.ApiError) as e:
        c.kinds_served()
    assert e.value.status == 401 and "at https://10.0.0.1:6443 rejected the credentials" in str(e.value)


@pytest.mark.skipif(urllib3 is None, reason="urllib3 missing")
def test_request_turns_a_refused_connection_into_an_explained_api_error():
    c = C.FluidClient(K8s(Api(urllib3.exceptions.NewConnectionError(None, "[Errno 111] Connection refused"))))
    with pytest.raises(C.ApiError) as e:
        c.get("Dataset", "team", "d")
    assert e.value.status is None
    assert "cannot reach the Kubernetes API server at https://10.0.0.1:6443 (connection refused" in str(e.value)


def test_missing_kubeconfig(tmp_path):
    real = tmp_path / "config"
    real.write_text("apiVersion: v1\n")
    assert errors.missing_kubeconfig(None) is None
    assert errors.missing_kubeconfig({"apiVersion": "v1"}) is None  # an in-memory kubeconfig
    assert errors.missing_kubeconfig(str(real)) is None
    assert errors.missing_kubeconfig("/nope/a:%s" % real) is None  # KUBECONFIG-style list: one file is enough
    msg = errors.missing_kubeconfig("/nope/kubeconfig")
    assert msg.startswith("kubeconfig: /nope/kubeconfig does not exist; point kubeconfig (or K8S_AUTH_KUBECONFIG)")


def test_connect_fails_on_a_missing_kubeconfig_before_building_a_client(monkeypatch):
    monkeypatch.setattr(C, "get_api_client", lambda module: pytest.fail("client built for a missing kubeconfig"))
    with pytest.raises(Failed) as e:
        C.connect(Module(kubeconfig="/nope/kubeconfig"))
    assert "kubeconfig: /nope/kubeconfig does not exist" in str(e.value)
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", "/nope/from-env")
    with pytest.raises(Failed) as e:
        C.connect(Module())
    assert "kubeconfig: /nope/from-env does not exist" in str(e.value)


@pytest.mark.skipif(urllib3 is None, reason="urllib3 missing")
def test_connect_explains_an_unreachable_server_and_credentials_refused_while_building(monkeypatch):
    def refuse(module):
        raise urllib3.exceptions.MaxRetryError(None, "/version", "[Errno 111] Connection refused")
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)
    monkeypatch.setattr(C, "get_api_client", refuse)
    with pytest.raises(Failed) as e:
        C.connect(Module(host="https://127.0.0.1:9"))
    assert str(e.value).startswith("cannot reach the Kubernetes API server at https://127.0.0.1:9 (connection refused")

    def unauthorized(module):
        raise HTTPError(401, "Unauthorized")
    monkeypatch.setattr(C, "get_api_client", unauthorized)
    with pytest.raises(Failed) as e:
        C.connect(Module(host="https://h"))
    assert str(e.value).startswith("unauthorized (401): the API server at https://h")


def test_connect_config_errors_say_what_to_check(monkeypatch):
    def broken(module):
        raise C.CoreException("Could not create API client: Invalid kube-config file. No configuration found.")
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)
    monkeypatch.setattr(C, "get_api_client", broken)
    with pytest.raises(Failed) as e:
        C.connect(Module())
    assert "No configuration found" in str(e.value) and "Check kubeconfig and context" in str(e.value)


def test_positive_names_the_field_and_an_example():
    assert V.positive("wait_timeout", 5) == []
    assert V.positive("wait_timeout", None) == []
    for bad in (0, -5):
        (err,) = V.positive("wait_timeout", bad)
        assert err.startswith("wait_timeout: must be a positive number of seconds, got %d" % bad)
        assert "give e.g. wait_timeout: 300" in err and "wait: false" in err


def test_one_or_many():
    assert V.one_or_many({"name": "a", "datasets": None}, "name", "datasets", "Dataset") == []
    assert V.one_or_many({"name": None, "datasets": [{}]}, "name", "datasets", "Dataset") == []
    (err,) = V.one_or_many({"name": "a", "datasets": [{"name": "b"}]}, "name", "datasets", "Dataset")
    assert err.startswith("name, datasets: give one of them, not both")
    assert "name for a single Dataset" in err and "move name=a into datasets" in err
