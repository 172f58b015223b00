package mgmtapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/durableclient/fakehub"
	"github.com/funchost/funchost/host/mgmtapi"
	sp "github.com/funchost/funchost/storageprovider"
)

// TestRouteSpelling checks that route literals match case-insensitively
// while path parameters keep their case and their encoded characters,
// also when the ID spells a route literal.
func TestRouteSpelling(t *testing.T) {
	s, hub := fake(t)
	for _, id := range []string{"Terminate", "a b", "x%y", "instances"} {
		checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/"+pathEscape(id), nil))
		if _, err := hub.GetOrchestrationState(t.Context(), id, false); err != nil {
			t.Fatalf("instance %q not created: %v", id, err)
		}
	}
	setStatus(hub, "Terminate", sp.StatusRunning, "")
	tests := []struct {
		method, path string
		code         int
	}{
		{"GET", "/INSTANCES/Terminate", 202},
		{"GET", "/instances/terminate", 404}, // IDs are case-sensitive
		{"GET", "/Instances/a%20b/", 202},
		{"GET", "/instances/x%25y", 202},
		{"GET", "/instances/instances", 202},
		{"POST", "/instances/Terminate/SUSPEND", 202},
		{"POST", "/Orchestrators/Echo", 202},
		{"GET", "/instances/Terminate/terminate/x", 404},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			expect(t, do(t, tt.method, s.base+tt.path, nil), tt.code, "-")
		})
	}
}

func pathEscape(id string) string {
	out := ""
	for _, c := range []byte(id) {
		switch {
		case c == ' ':
			out += "%20"
		case c == '%':
			out += "%25"
		default:
			out += string(c)
		}
	}
	return out
}

// TestMountsAndChiParent serves the API the way the host does (mounted
// on a chi router) with an extra handler mounted under it.
func TestMountsAndChiParent(t *testing.T) {
	hub := fakehub.New("TestHub")
	client := durableclient.New(durableclient.Options{Hub: hub})
	extra := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "extra "+r.URL.Path)
	})
	api := mgmtapi.New(mgmtapi.Options{Client: mgmtapi.Hubs(client), Mounts: []mgmtapi.Mount{{Prefix: "/dashboard", Handler: extra}}})
	r := chi.NewRouter()
	r.Mount(webhookPath, http.StripPrefix(webhookPath, api))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	expect(t, do(t, "GET", srv.URL+webhookPath+"/dashboard/app.js", nil), 200, "extra /app.js")
	p := checkStatus(t, do(t, "POST", srv.URL+webhookPath+"/orchestrators/Echo/b%20c", nil))
	if p.ID != "b c" {
		t.Fatalf("instance ID %q, want %q", p.ID, "b c")
	}
	expect(t, do(t, "GET", p.StatusQueryGetURI, nil), 202, "-")
	// An encoded slash stays inside its segment: this addresses the
	// (missing) instance "b c/x", not "b c".
	setStatus(hub, "b c", sp.StatusRunning, "")
	expect(t, do(t, "POST", srv.URL+webhookPath+"/instances/b%20c%2Fx/terminate", nil), 404, "")
	expect(t, do(t, "POST", srv.URL+webhookPath+"/instances/b%20c/terminate", nil), 202, "")
}
