package dashboard

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// entityClient serves two pages of entities and records the queries.
type entityClient struct {
	fakeClient
	bindings.EntityClient
	queries []bindings.EntityQuery
}

func (c *entityClient) ListEntities(_ context.Context, q bindings.EntityQuery) (*bindings.EntityPage, error) {
	c.queries = append(c.queries, q)
	switch q.ContinuationToken {
	case "":
		return &bindings.EntityPage{Entities: []*bindings.EntityStatus{
			{ID: bindings.NewEntityID("Counter", "c1"), LastOperationTime: t0, State: []byte(`{"value":42}`)},
			{ID: bindings.NewEntityID("Account", "alice"), LastOperationTime: t0},
		}, ContinuationToken: "page2"}, nil
	case "page2":
		return &bindings.EntityPage{Entities: []*bindings.EntityStatus{
			{ID: bindings.NewEntityID("Counter", "c2"), LastOperationTime: t0, State: []byte(`7`)},
		}}, nil
	}
	return nil, errors.New("bad continuation token")
}

func newEntityHandler(store *fakeStore, c bindings.DurableClient) *Handler {
	return New(Options{Client: c, Store: store, BasePath: "/d",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func TestEntitiesView(t *testing.T) {
	store := &fakeStore{states: testStates()}
	ec := &entityClient{fakeClient: fakeClient{store: store}}
	h := newEntityHandler(store, ec)
	for _, tc := range []struct {
		name, target string
		code         int
		want, not    []string
		query        bindings.EntityQuery // the last query the client saw
	}{
		{"first page", "/entities", http.StatusOK,
			[]string{`<td class="name">counter</td>`, `<code>c1</code>`, "&#34;value&#34;: 42", `<code>alice</code>`, "no state",
				`href="/d/entities?after=page2&amp;size=50"`, `aria-current="page">Entities`},
			[]string{"First page"}, bindings.EntityQuery{PageSize: 50, FetchState: true}},
		{"second page, filtered", "/entities?name=Counter&size=20&after=page2", http.StatusOK,
			[]string{`<code>c2</code>`, "First page", `value="Counter"`}, []string{"Next page", "alice"},
			bindings.EntityQuery{Name: "Counter", PageSize: 20, ContinuationToken: "page2", FetchState: true}},
		{"forged token", "/entities?after=nonsense", http.StatusBadRequest, []string{"not valid"}, nil,
			bindings.EntityQuery{PageSize: 50, ContinuationToken: "nonsense", FetchState: true}},
		{"bad size", "/entities?size=0", http.StatusBadRequest, []string{"page size"}, nil, bindings.EntityQuery{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ec.queries = nil
			code, body, _ := do(t, h, "GET", tc.target, "")
			if code != tc.code {
				t.Fatalf("status %d, want %d:\n%.2000s", code, tc.code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%.3000s", w, body)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("page has %q", n)
				}
			}
			var last bindings.EntityQuery
			if len(ec.queries) > 0 {
				last = ec.queries[len(ec.queries)-1]
			}
			if last != tc.query {
				t.Errorf("query %+v, want %+v", last, tc.query)
			}
		})
	}
}

func TestEntitiesViewWithoutEntityClient(t *testing.T) {
	store := &fakeStore{states: testStates()}
	code, body, _ := do(t, newEntityHandler(store, &fakeClient{store: store}), "GET", "/entities", "")
	if code != http.StatusOK || !strings.Contains(body, "does not serve entities") {
		t.Fatalf("status %d:\n%.1500s", code, body)
	}
}

// TestOrchestrationListLeavesEntitiesOut: entity status rows ("@name@key")
// appear in the entities view, not among the orchestrations.
func TestOrchestrationListLeavesEntitiesOut(t *testing.T) {
	states := append(testStates(), &sp.OrchestrationState{InstanceID: "@counter@c1", Name: "counter",
		RuntimeStatus: sp.StatusRunning, CreatedTime: t0, LastUpdatedTime: t0})
	store := &fakeStore{states: states}
	code, body, _ := do(t, newEntityHandler(store, &fakeClient{store: store}), "GET", "/?size=100", "")
	if code != http.StatusOK || strings.Contains(body, "@counter@c1") || !strings.Contains(body, "30 matching") {
		t.Fatalf("status %d; the list shows the entity or miscounts:\n%.4000s", code, body)
	}
}
