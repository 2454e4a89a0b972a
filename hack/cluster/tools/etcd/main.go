// Command etcd is etcd's own server entry point, built from the Go module
// go.etcd.io/etcd/server/v3 at the version pinned in hack/versions.env.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
