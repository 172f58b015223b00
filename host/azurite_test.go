package host

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestMain(m *testing.M) {
	// The test binary doubles as the sample app's command for TestMainCommand.
	if os.Getenv(envRunMain) == "1" {
		os.Args = append([]string{"samples"}, strings.Fields(os.Getenv(envMainArgs))...)
		Main(sampleApp())
		return
	}
	azuritetest.Main(m)
}

// azuriteEnv points the sample app at the private Azurite (or the account
// of FUNCHOST_TEST_STORAGE_CONNECTION), on a fresh task hub named hubPrefix
// and a number so that reruns against a shared account stay apart.
func azuriteEnv(t *testing.T, hubPrefix string) map[string]string {
	t.Helper()
	return map[string]string{
		"AzureWebJobsStorage": azuritetest.ConnectionString(t),
		"AzureFunctionsJobHost__extensions__durableTask__hubName": fmt.Sprintf("%s%d", hubPrefix, time.Now().UnixNano()%1_000_000_000),
		// Short polling keeps the test quick on an idle emulator.
		"AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxQueuePollingInterval": "00:00:01",
	}
}

// TestSampleAppEndToEndAzurite runs the real sample app on the Azure
// Storage provider against a private Azurite.
func TestSampleAppEndToEndAzurite(t *testing.T) {
	t.Parallel()
	h := start(t, sampleApp(), repoRoot(t), azuriteEnv(t, "HostTest"))
	runHelloSequence(t, h.base)
	if err := h.stop(); err != nil {
		t.Errorf("Run returned %v after cancel", err)
	}
}

// TestSampleAppUserErrorsAzurite sends what users get wrong to the real
// sample app on Azurite, through the host's router, and checks each answer
// (status, JSON error body, headers) and that 100 racing singleton starts
// give exactly one 202.
func TestSampleAppUserErrorsAzurite(t *testing.T) {
	t.Parallel()
	h := start(t, sampleApp(), repoRoot(t), azuriteEnv(t, "HostErr"))
	mgmt := h.base + "/runtime/webhooks/durabletask"

	// A running instance to raise events on.
	waiting := mustStart(t, h.base+"/api/orchestrators/WaitForApproval/waiting-1")

	for _, tc := range []struct {
		name, method, url, contentType, body string
		status                               int
		message                              string // substring of the JSON error message; "" = no body check
		header, value                        string // a response header that must have this value
	}{
		{"invalid JSON to a starter", "POST", h.base + "/api/orchestrators/Echo", "application/json", "{bad", 400, "Invalid JSON content", "", ""},
		{"invalid JSON to the API", "POST", mgmt + "/orchestrators/Echo", "application/json", "[1,", 400, "Invalid JSON content", "", ""},
		{"unknown orchestrator", "POST", h.base + "/api/orchestrators/NoSuchOrchestrator", "", "", 400, "unknown orchestrator", "", ""},
		{"an activity is not an orchestrator", "POST", mgmt + "/orchestrators/SayHello", "", "", 400, "unknown orchestrator", "", ""},
		{"ID starting with @", "POST", h.base + "/api/orchestrators/Echo/@x", "", "", 400, "invalid instance ID", "", ""},
		{"ID with #", "POST", h.base + "/api/orchestrators/Echo/a%23b", "", "", 400, "invalid instance ID", "", ""},
		{"ID with a control character", "POST", mgmt + "/orchestrators/Echo/a%01b", "", "", 400, "invalid instance ID", "", ""},
		{"ID ..", "POST", h.base + "/api/orchestrators/Echo/%2E%2E", "", "", 400, "relative path segment", "", ""},
		{"ID with invalid UTF-8", "POST", mgmt + "/orchestrators/Echo/a%FFb", "", "", 400, "not valid UTF-8", "", ""},
		{"ID of 257 characters", "POST", h.base + "/api/orchestrators/Echo/" + strings.Repeat("x", 257), "", "", 400, "invalid instance ID", "", ""},
		{"raiseEvent without a JSON content type", "POST", waiting + "/raiseEvent/Approval", "text/plain", `"yes"`, 400, "application/json", "", ""},
		{"raiseEvent with a non-JSON body", "POST", waiting + "/raiseEvent/Approval", "application/json", "yes", 400, "Invalid JSON content", "", ""},
		{"GET on a POST-only starter", "GET", h.base + "/api/orchestrators/Echo", "", "", 405, "not allowed", "Allow", "POST"},
		{"unknown function route", "GET", h.base + "/api/no/such/route", "", "", 404, "No route matches", "", ""},
		{"unknown instance", "GET", mgmt + "/instances/no-such-instance", "", "", 404, "", "", ""},
		{"list with a bad filter", "GET", mgmt + "/instances?createdTimeFrom=yesterday", "", "", 400, "createdTimeFrom", "", ""},
		{"list with a bad top", "GET", mgmt + "/instances?top=-1", "", "", 400, "top", "", ""},
		{"purge by filter without createdTimeFrom", "DELETE", mgmt + "/instances", "", "", 400, "createdTimeFrom", "", ""},
		{"purge by filter matching nothing", "DELETE", mgmt + "/instances?createdTimeFrom=2999-01-01T00:00:00Z", "", "", 404, "", "", ""},
		{"purge of a running instance", "DELETE", waiting, "", "", 412, "not in a terminal state", "", ""},
		{"purge of an unknown instance", "DELETE", mgmt + "/instances/no-such-instance", "", "", 404, "", "", ""},
		{"terminate an unknown instance", "POST", mgmt + "/instances/no-such-instance/terminate", "", "", 404, "", "", ""},
		{"raise an event on an unknown instance", "POST", mgmt + "/instances/no-such-instance/raiseEvent/Approval", "application/json", "1", 404, "", "", ""},
		{"rewind an instance that did not fail", "POST", waiting + "/rewind", "", "", 412, "", "", ""},
		{"restart an unknown instance", "POST", mgmt + "/instances/no-such-instance/restart", "", "", 400, "does not match a valid orchestration instance", "", ""},
		{"start a running singleton through the API", "POST", mgmt + "/orchestrators/WaitForApproval/waiting-1", "", "", 409, "An instance with ID 'waiting-1' already exists.", "", ""},
		{"a task hub this host does not serve", "GET", mgmt + "/instances?taskHub=NotThisHub", "", "", 404, "NotThisHub", "", ""},
		{"unknown management route", "GET", mgmt + "/no/such/route", "", "", 404, "", "", ""},
		{"PATCH on the management API", "PATCH", mgmt + "/instances", "", "", 405, "", "Allow", "GET, PUT, POST, DELETE, OPTIONS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tc.status)
			}
			if tc.header != "" && resp.Header.Get(tc.header) != tc.value {
				t.Errorf("%s: %q, want %q", tc.header, resp.Header.Get(tc.header), tc.value)
			}
			if tc.message == "" {
				return
			}
			// The management API answers {"Message": …} like Durable
			// Functions, the host's router {"error": …}.
			var e struct{ Message, Error string }
			if err := json.Unmarshal(b, &e); err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("body %q (%s) is not a JSON error: %v", b, resp.Header.Get("Content-Type"), err)
			}
			if !strings.Contains(e.Message+e.Error, tc.message) {
				t.Errorf("error %q lacks %q", b, tc.message)
			}
		})
	}

	t.Run("100 racing singleton starts", func(t *testing.T) {
		const n = 100
		url := h.base + "/api/orchestrators/WaitForApproval/race-1"
		codes := make(chan int, n)
		bodies := make(chan string, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, err := http.Post(url, "application/json", nil)
				if err != nil {
					t.Error(err)
					codes <- 0
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				codes <- resp.StatusCode
				if resp.StatusCode == http.StatusConflict {
					bodies <- string(b)
				}
			})
		}
		wg.Wait()
		close(codes)
		close(bodies)
		count := map[int]int{}
		for c := range codes {
			count[c]++
		}
		if count[202] != 1 || count[409] != n-1 {
			t.Fatalf("status counts %v, want one 202 and %d 409", count, n-1)
		}
		for b := range bodies {
			if !strings.Contains(b, "An instance with ID 'race-1' already exists.") {
				t.Fatalf("409 body %q", b)
			}
		}
	})
}

// mustStart POSTs to a starter URL, expects the 202 check-status response
// and returns the instance's management URL without its query.
func mustStart(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		StatusQueryGetURI string `json:"statusQueryGetUri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start %s: %d %v", url, resp.StatusCode, err)
	}
	u, _, _ := strings.Cut(p.StatusQueryGetURI, "?")
	return u
}
