package memory_test

import (
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/conformance"
	"github.com/funchost/funchost/storageprovider/memory"
)

const conformanceLockTimeout = 500 * time.Millisecond

// TestConformance runs the provider conformance suite against the memory
// hub with a short lock timeout.
func TestConformance(t *testing.T) {
	conformance.RunWithOptions(t, conformance.Options{LockTimeout: conformanceLockTimeout},
		func(t *testing.T) sp.TaskHub {
			return memory.New(memory.Options{Name: "conformance", LockTimeout: conformanceLockTimeout})
		})
}

// TestConformanceKeepTerminalHistory runs the suite with history
// compaction off.
func TestConformanceKeepTerminalHistory(t *testing.T) {
	conformance.RunWithOptions(t, conformance.Options{LockTimeout: conformanceLockTimeout},
		func(t *testing.T) sp.TaskHub {
			return memory.New(memory.Options{LockTimeout: conformanceLockTimeout, KeepTerminalHistory: true})
		})
}
