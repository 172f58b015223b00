package mgmtapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/memory"
)

// TestEntityRoutes drives the entity routes against the sample's Counter
// on a running engine: signal bodies by content type, reads, the list
// with paging, delete, and the 400s.
func TestEntityRoutes(t *testing.T) {
	hub := memory.New(memory.Options{Name: "TestHub"})
	runHub(t, hub)
	s := newServer(t, hub, nil)
	e := s.base + "/entities/counter/"
	steps := []struct {
		name, method, path, body, ctype string
		code                            int
		msg                             string
	}{
		{"json input", "POST", "k1?op=add", "5", "application/json", 202, ""},
		{"text input becomes a string (add fails)", "POST", "k1?op=add", "3", "text/plain", 202, ""},
		{"media type with parameters", "POST", "k1?op=Add", "2", "application/json; charset=utf-8", 202, ""},
		{"bad JSON", "POST", "k1?op=add", "{", "application/json", 400, "Could not parse JSON content"},
		{"bad key", "POST", "a%23b?op=add", "", "", 400, "Entity keys must not contain"},
		{"second entity", "POST", "k2?op=add", "1", "application/json", 202, ""},
		{"no entity key route for PUT", "PUT", "k1", "", "", 404, ""},
	}
	for _, st := range steps {
		r := do(t, st.method, e+st.path, []byte(st.body), "Content-Type", st.ctype)
		if r.code != st.code || (st.msg != "" && !strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(st.msg))) {
			t.Fatalf("%s: %d %s, want %d %q", st.name, r.code, r.body, st.code, st.msg)
		}
	}
	waitBody(t, e+"k1", 200, `{"value":7}`)
	waitBody(t, e+"k2", 200, `{"value":1}`)
	expect(t, do(t, "GET", e+"nobody", nil), 404, "")

	// The list: one page of one, then the rest with the continuation token.
	r := do(t, "GET", s.base+"/entities/Counter?top=1&fetchState=true", nil)
	expect(t, r, 200, "-")
	var page []struct {
		EntityID          struct{ Name, Key string } `json:"entityId"`
		LastOperationTime time.Time                  `json:"lastOperationTime"`
		State             json.RawMessage            `json:"state"`
	}
	r.json(t, &page)
	token := r.header.Get("x-ms-continuation-token")
	// Pages follow the task hub's order (creation of the status row), not
	// the order of the first signal: either entity may come first.
	states := map[string]string{"k1": `{"value":7}`, "k2": `{"value":1}`}
	if len(page) != 1 || page[0].EntityID.Name != "counter" || states[page[0].EntityID.Key] == "" ||
		string(page[0].State) != states[page[0].EntityID.Key] || page[0].LastOperationTime.IsZero() || token == "" {
		t.Fatalf("first page %s (token %q)", r.body, token)
	}
	other := map[string]string{"k1": "k2", "k2": "k1"}[page[0].EntityID.Key]
	r = do(t, "GET", s.base+"/entities/counter", nil, "x-ms-continuation-token", token)
	r.json(t, &page)
	if len(page) != 1 || page[0].EntityID.Key != other || string(page[0].State) != "null" {
		t.Fatalf("second page %s, want %s without its state", r.body, other)
	}

	expect(t, do(t, "DELETE", e+"k1", nil), 202, "")
	waitBody(t, e+"k1", 404, "")
	r = do(t, "GET", s.base+"/entities", nil)
	r.json(t, &page)
	if len(page) != 1 || page[0].EntityID.Key != "k2" {
		t.Fatalf("list after delete %s", r.body)
	}
	// Purging an entity by ID works although entities never end.
	expect(t, do(t, "DELETE", s.base+"/instances/@counter@k2", nil), 200, `{"instancesDeleted":1}`)
}

// waitBody polls url until it answers code with body.
func waitBody(t *testing.T, url string, code int, body string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := do(t, "GET", url, nil)
		if r.code == code && string(r.body) == body {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d %s, want %d %s", url, r.code, r.body, code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
