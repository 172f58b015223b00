package host

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// startedCode starts HelloSequence through the sample's starter with the
// given key and returns the code every management URL of the answer
// carries (they must all carry the same one).
func startedCode(t *testing.T, base, key string) string {
	t.Helper()
	resp, err := http.Post(base+"/api/orchestrators/HelloSequence?code="+key, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start: %d %v", resp.StatusCode, err)
	}
	code := ""
	for _, field := range []string{"statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri"} {
		u, err := url.Parse(p[field])
		if err != nil {
			t.Fatalf("%s %q: %v", field, p[field], err)
		}
		c := u.Query().Get("code")
		if code == "" {
			code = c
		}
		if c == "" || c != code {
			t.Fatalf("%s = %q: code %q, want one code in every URL (first %q)", field, p[field], c, code)
		}
	}
	return code
}

// getStatus is the status of a GET.
func getStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestGeneratedSystemKeyAzurite: with a master key and a host key but no
// system key, the management URLs a starter hands out carry a generated
// durabletask_extension key, never the master key; the key is kept in
// the storage account, and a second host of the app uses the same one.
func TestGeneratedSystemKeyAzurite(t *testing.T) {
	t.Parallel()
	env := azuriteEnv(t, "HostKeys")
	env["FUNCTIONS_MASTER_KEY"] = "master-key"
	env["FUNCTIONS_HOST_KEY"] = "host-key"
	hostID := fmt.Sprintf("keys%d", time.Now().UnixNano()%1_000_000_000)
	env["AzureFunctionsWebHost__hostid"] = hostID
	h1 := start(t, sampleApp(), repoRoot(t), env)
	h2 := start(t, sampleApp(), repoRoot(t), maps.Clone(env))

	code := startedCode(t, h1.base, "host-key")
	if code == "master-key" || code == "host-key" || len(code) < 40 {
		t.Fatalf("management URLs carry code %q, want a generated system key", code)
	}
	if got := startedCode(t, h2.base, "host-key"); got != code {
		t.Errorf("second host hands out code %q, first %q: hosts of one app must share the key", got, code)
	}
	for _, tc := range []struct {
		key    string
		status int
	}{{code, 200}, {"master-key", 200}, {"host-key", 401}, {"", 401}} {
		for _, h := range []*running{h1, h2} {
			if got := getStatus(t, h.base+"/runtime/webhooks/durabletask/instances?code="+tc.key); got != tc.status {
				t.Errorf("management API with code %q: %d, want %d", tc.key, got, tc.status)
			}
		}
	}

	conn, err := azurestorage.ParseConnectionString(azuritetest.ConnectionString(t))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := conn.BlobServiceClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	store := blobSecrets{svc: svc, hostID: hostID}
	data, ok, err := store.Read(t.Context())
	if err != nil || !ok {
		t.Fatalf("%s: ok=%v err=%v", store.Where(), ok, err)
	}
	if stored, err := systemKeyFrom(data, store.Where()); err != nil || stored != code {
		t.Errorf("%s holds %q (%v), hosts hand out %q", store.Where(), stored, err, code)
	}
	if !strings.Contains(h1.logs.String(), "system key kept in "+store.Where()) {
		t.Errorf("the log does not say where the key is kept:\n%s", h1.logs.String())
	}
}

// TestGeneratedSystemKeyMemory: on the memory provider (no storage
// account to keep a key in) with only a host key, the host generates a
// system key for the process, says so, and closes the management API to
// the host key.
func TestGeneratedSystemKeyMemory(t *testing.T) {
	t.Parallel()
	env := maps.Clone(memoryEnv)
	env["FUNCTIONS_HOST_KEY"] = "host-key"
	h := start(t, sampleApp(), repoRoot(t), env)
	code := startedCode(t, h.base, "host-key")
	if code == "host-key" || len(code) < 40 {
		t.Fatalf("management URLs carry code %q, want a generated system key", code)
	}
	mgmt := h.base + "/runtime/webhooks/durabletask/instances?code="
	if got := getStatus(t, mgmt+code); got != 200 {
		t.Errorf("management API with the generated key: %d", got)
	}
	if got := getStatus(t, mgmt+"host-key"); got != 401 {
		t.Errorf("management API with the host key: %d, want 401", got)
	}
	if !strings.Contains(h.logs.String(), "for this process only") {
		t.Errorf("no warning about the process-only key:\n%s", h.logs.String())
	}
}

// TestSystemKeyRace: hosts starting together all end up with one key, the
// one stored first.
func TestSystemKeyRace(t *testing.T) {
	t.Parallel()
	conn, err := azurestorage.ParseConnectionString(azuritetest.ConnectionString(t))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := conn.BlobServiceClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	store := blobSecrets{svc: svc, hostID: fmt.Sprintf("race%d", time.Now().UnixNano()%1_000_000_000)}
	const n = 8
	keys := make(chan string, n)
	for range n {
		go func() {
			k, err := loadOrCreateSystemKey(t.Context(), store)
			if err != nil {
				t.Error(err)
			}
			keys <- k
		}()
	}
	first := <-keys
	for range n - 1 {
		if k := <-keys; k != first || k == "" {
			t.Errorf("racing hosts got keys %q and %q", first, k)
		}
	}
}

// TestOpenHostRefusesCrossSite: with no keys the main listener's
// management and admin APIs are open, so changes a page of another site
// makes a browser send are refused there; HTTP functions follow the app's
// CORS settings instead.
func TestOpenHostRefusesCrossSite(t *testing.T) {
	t.Parallel()
	h := start(t, sampleApp(), repoRoot(t), maps.Clone(memoryEnv))
	for _, tc := range []struct {
		name, path string
		crossSite  bool
		want       int
	}{
		{"cross-site start through the management API", "/runtime/webhooks/durabletask/orchestrators/HelloSequence", true, 403},
		{"cross-site admin call", "/admin/host/status", true, 403},
		{"management API from a tool", "/runtime/webhooks/durabletask/orchestrators/HelloSequence", false, 202},
		{"cross-site call of an HTTP function", "/api/orchestrators/HelloSequence", true, 202},
	} {
		req, _ := http.NewRequest("POST", h.base+tc.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "text/plain")
		if tc.crossSite {
			req.Header.Set("Origin", "https://evil.example")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}
