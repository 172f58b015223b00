package mgmtapi_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/memory"
)

// TestDurableFunctionsNodeClient drives the API with Microsoft's
// durable-functions npm client (testdata/dfnode/check.js). It is an
// optional compatibility check: it needs node and `npm install` in
// testdata/dfnode, and is skipped when those are missing.
func TestDurableFunctionsNodeClient(t *testing.T) {
	dir := filepath.Join("testdata", "dfnode")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "durable-functions")); err != nil {
		t.Skip("optional: run `npm install` in host/mgmtapi/testdata/dfnode to check the durable-functions npm client")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("optional: node is not installed")
	}
	hub := memory.New(memory.Options{Name: "NodeHub"})
	runHub(t, hub)
	s := newServer(t, hub, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "check.js", s.base, "NodeHub")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("check.js failed: %v", err)
	}
}
