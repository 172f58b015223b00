package replaycheck_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/mgmtapi"
	"github.com/funchost/funchost/host/replaycheck"
	sp "github.com/funchost/funchost/storageprovider"
)

// serveAPI serves hub's management API over HTTP as a host mounts it and
// returns the host's base URL. standard drops funchost's exactHistory
// parameter, so that the server answers like any Durable Functions host.
func serveAPI(t *testing.T, hub sp.TaskHub, standard bool) string {
	t.Helper()
	client := durableclient.New(durableclient.Options{Hub: hub})
	api := http.StripPrefix(dfwire.WebhookPath, mgmtapi.New(mgmtapi.Options{Client: mgmtapi.Hubs(client)}))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("code") != "k1" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		if standard {
			q := r.URL.Query()
			q.Del(dfwire.ExactHistoryParam)
			r.URL.RawQuery = q.Encode()
		}
		api.ServeHTTP(w, r)
	})
	mux := http.NewServeMux()
	mux.Handle(dfwire.WebhookPath+"/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func eventsJSON(t *testing.T, evs []*sp.HistoryEvent) string {
	t.Helper()
	b, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAPISource: histories read through a funchost host's management API
// are the stored ones, event for event; instances are paged through the
// list; the verdicts on every kind of change are those of the task hub
// source, and from a host without funchost's extension (the standard
// historyEvents, rebuilt) the same or the stated approximation.
func TestAPISource(t *testing.T) {
	ctx := context.Background()
	hub := recordHistories(t, 3)
	stored, err := replaycheck.FromTaskHub(ctx, hub, replaycheck.Query{})
	if err != nil || len(stored) != 3 {
		t.Fatalf("FromTaskHub = %d histories, %v", len(stored), err)
	}
	exactURL, standardURL := serveAPI(t, hub, false), serveAPI(t, hub, true)

	hs, err := replaycheck.FromAPI(ctx, replaycheck.API{URL: exactURL, Key: "k1", PageSize: 2}, replaycheck.Query{})
	if err != nil || len(hs) != 3 {
		t.Fatalf("FromAPI (pages of 2) = %d histories, %v; want 3", len(hs), err)
	}
	for i, h := range hs {
		if h.InstanceID != stored[i].InstanceID || h.Version != "1.0" || h.RuntimeStatus != "Running" || h.Approximate != "" ||
			eventsJSON(t, h.Events) != eventsJSON(t, stored[i].Events) {
			t.Errorf("history %d over HTTP differs from the stored one:\n%s\n%s", i, eventsJSON(t, h.Events), eventsJSON(t, stored[i].Events))
		}
	}
	std, err := replaycheck.FromAPI(ctx, replaycheck.API{URL: standardURL + dfwire.WebhookPath + "/?code=k1"},
		replaycheck.Query{InstanceIDs: []string{"flow-1"}})
	if err != nil || len(std) != 1 || !strings.Contains(std[0].Approximate, "same instant") {
		t.Fatalf("FromAPI on a standard host = %+v, %v; want flow-1, approximate", std, err)
	}

	for _, src := range []struct {
		name string
		h    replaycheck.History
	}{{"exact", hs[0]}, {"standard", std[0]}} {
		for _, tc := range verdictCases() {
			t.Run(src.name+"/"+tc.name, func(t *testing.T) {
				want := tc.verdict
				if src.name == "standard" && tc.change.swap {
					want = "clean" // the stated approximation: A and B were scheduled at one instant
				}
				fs := functions(tc.change)
				if tc.missing {
					delete(fs, "Flow")
				}
				r := replaycheck.New(fs, replaycheck.Options{}).Check(src.h)
				if r.Verdict() != want {
					t.Fatalf("verdict %s (%s), want %s", r.Verdict(), r.Problem(), want)
				}
				for _, w := range tc.want {
					if want == tc.verdict && !strings.Contains(r.Problem(), w) {
						t.Errorf("problem %q lacks %q", r.Problem(), w)
					}
				}
				if (r.Approximate != "") != (src.name == "standard") {
					t.Errorf("report approximate = %q", r.Approximate)
				}
			})
		}
	}

	for _, tc := range []struct {
		name string
		api  replaycheck.API
		q    replaycheck.Query
		n    int
		err  string
		is   error
	}{
		{name: "terminal statuses only", api: replaycheck.API{URL: exactURL, Key: "k1"}, q: replaycheck.Query{Statuses: []sp.OrchestrationStatus{sp.StatusCompleted}}},
		{name: "missing instance", api: replaycheck.API{URL: exactURL, Key: "k1"}, q: replaycheck.Query{InstanceIDs: []string{"nope"}}, err: "nope", is: sp.ErrInstanceNotFound},
		{name: "no key", api: replaycheck.API{URL: exactURL}, err: "system key"},
		{name: "not a URL", api: replaycheck.API{URL: "localhost:7071"}, err: "base URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := replaycheck.FromAPI(ctx, tc.api, tc.q)
			if tc.err == "" && (err != nil || len(hs) != tc.n) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("FromAPI = %d histories, %v; want %d, error with %q", len(hs), err, tc.n, tc.err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}
