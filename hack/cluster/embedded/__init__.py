"""The embedded cluster's driver, cut by job; hack/cluster/cluster.py is its command line.

paths (where the cluster lives: its folders, files and name), build (the pinned binaries and
charts: where they are cached, how they are built), helpers (kubectl, kwokctl, the processes and
ports of the cluster), config (kwokctl's configuration, KWOK's stages and execs, the nodes),
lifecycle (up, down, ports, status), faults (restart-component, start-components, pause, resume)
and supervisor (`supervise`: the HTTP fixtures, the simulators' watchers, Fluid's controllers and
the kubelet stand-in). Each module imports only those before it in this list; gen_gomod (in
hack/cluster, on sys.path as cluster.py runs as a script) is the one reader of hack/versions.env.
"""
