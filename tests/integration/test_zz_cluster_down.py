"""Issue 2: `make cluster-down` leaves no process and no listening port.

Deselected by default (marker `teardown`): `make test` runs it last.
"""
import socket
import subprocess
import sys

import pytest

from conftest import DRIVER


@pytest.mark.teardown
def test_cluster_down_leaves_no_listening_port(cluster):
    ports = [int(p) for p in subprocess.run([sys.executable, DRIVER, "ports"], capture_output=True,
                                            text=True, check=True).stdout.split()]
    assert ports, "a running cluster listens on some ports"
    subprocess.run([sys.executable, DRIVER, "down"], check=True)
    still = []
    for port in ports:
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                still.append(port)
    assert not still, "ports still listening after cluster-down: %s" % still
    out = subprocess.run([sys.executable, DRIVER, "ports"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
    status = subprocess.run([sys.executable, DRIVER, "status"], capture_output=True, text=True).stdout
    assert "cluster: Stopped" in status
