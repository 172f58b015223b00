// Package ioflag is checked with -io-packages=example.com/dvtest/ioflag/kv
// (TestIOPackagesFlag); without the flag it is clean.
package ioflag

import (
	"example.com/dvtest/ioflag/kv"
	"github.com/funchost/funchost/bindings"
)

func Lookup(ctx bindings.OrchestrationContext) (any, error) {
	return kv.Get("k") // want `^Lookup → kv\.Get: orchestrator code must not call network, storage or database clients; do it in an activity \(ctx\.CallActivity\)$`
}
