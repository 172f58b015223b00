package mgmtapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/mgmtapi"
	"github.com/funchost/funchost/internal/invocation"
	"github.com/funchost/funchost/samples/sampleapp"
	sp "github.com/funchost/funchost/storageprovider"
)

const webhookPath = "/runtime/webhooks/durabletask"

// server is a test host: the management API mounted as the host mounts it,
// plus the sample app's HTTP starters at /api/orchestrators/….
type server struct {
	*httptest.Server
	client *durableclient.Client
	base   string // URL of the management API
}

// newServer serves hub over real HTTP. isOrch limits the orchestrator
// names StartNew accepts (nil: the sample app's orchestrators).
func newServer(t *testing.T, hub sp.TaskHub, isOrch func(string) bool) *server {
	t.Helper()
	if isOrch == nil {
		names := map[string]bool{}
		for _, n := range sampleapp.Orchestrators() {
			names[n] = true
		}
		isOrch = func(n string) bool { return names[n] }
	}
	client := durableclient.New(durableclient.Options{Hub: hub, IsOrchestrator: isOrch})
	mux := http.NewServeMux()
	api := mgmtapi.New(mgmtapi.Options{Client: mgmtapi.Hubs(client)})
	mux.Handle(webhookPath+"/", http.StripPrefix(webhookPath, api))
	mux.Handle("POST /api/orchestrators/{functionName}", starter(sampleapp.HttpStart, client))
	mux.Handle("POST /api/orchestrators/{functionName}/{instanceId}", starter(sampleapp.HttpStartSingle, client))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &server{Server: srv, client: client, base: srv.URL + webhookPath}
}

// starter runs an HTTP function the way the host does: with its route
// values and its durable client in the request's invocation.
func starter(f http.HandlerFunc, c bindings.DurableClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv := &invocation.Invocation[bindings.DurableClient]{
			FunctionName: "HttpStart",
			RouteValues:  map[string]string{"functionName": r.PathValue("functionName")},
			Clients:      []invocation.Client[bindings.DurableClient]{{Name: "starter", Client: c}},
		}
		if id := r.PathValue("instanceId"); id != "" {
			inv.RouteValues["instanceId"] = id
		}
		f(w, r.WithContext(invocation.With(r.Context(), inv)))
	})
}

// response is a finished HTTP exchange.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r *response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response body %q is not JSON: %v", truncate(r.body), err)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// do sends a request; headers alternate name, value.
func do(t *testing.T, method, url string, body []byte, headers ...string) *response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{code: resp.StatusCode, header: resp.Header, body: b}
}

// expect checks a response's status code and, when wantBody is not "-",
// its exact body.
func expect(t *testing.T, r *response, code int, wantBody string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d (body %s)", r.code, code, truncate(r.body))
	}
	if wantBody != "-" && string(r.body) != wantBody {
		t.Fatalf("body\n got %s\nwant %s", truncate(r.body), wantBody)
	}
}

// errorBody is the API's error body for msg.
func errorBody(msg string) string {
	b, _ := json.Marshal(map[string]string{"Message": msg})
	return string(b)
}

func messageOf(t *testing.T, r *response) string {
	t.Helper()
	var m struct{ Message string }
	r.json(t, &m)
	if m.Message == "" {
		t.Fatalf("error body %s has no Message", truncate(r.body))
	}
	return m.Message
}

// checkStatus decodes a check-status payload and checks its basics.
func checkStatus(t *testing.T, r *response) bindings.HTTPManagementPayload {
	t.Helper()
	expect(t, r, http.StatusAccepted, "-")
	var p bindings.HTTPManagementPayload
	r.json(t, &p)
	if p.ID == "" || p.StatusQueryGetURI == "" || r.header.Get("Location") != p.StatusQueryGetURI || r.header.Get("Retry-After") != "10" {
		t.Fatalf("check-status response: headers %v body %s", r.header, r.body)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
	}
	return p
}

// newTestServer serves h and returns its URL.
func newTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
