"""Parts shared by the embedded cluster's simulators and stand-ins: the kube API reader
(kubeapi), the HTTP under-storage walker (ufs_walker), the per-pod KWOK Exec watcher
(exec_watcher), quantities, pod readiness, the per-runtime state store,
the command-failure exception and the invocation log (common)."""
