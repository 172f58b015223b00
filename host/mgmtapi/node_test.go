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
// durable-functions npm client (testdata/dfnode/check.js), pinned by
// testdata/dfnode/package-lock.json. The client is installed with `npm ci`
// when missing; the test fails, never skips, when node or npm is absent.
func TestDurableFunctionsNodeClient(t *testing.T) {
	dir := filepath.Join("testdata", "dfnode")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the durable-functions client check: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "durable-functions")); err != nil {
		install := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		install.Dir = dir
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("installing the pinned durable-functions client (npm ci in %s): %v\n%s", dir, err, out)
		}
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
