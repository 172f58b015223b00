package mgmtapi_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/funchost/funchost/host/durableclient/fakehub"
	sp "github.com/funchost/funchost/storageprovider"
)

// downHub is a task hub whose storage goes away while down is set: every
// call fails the way the storage SDK does when nothing listens on the
// account's port (the error names the endpoint, which must not reach
// clients).
type downHub struct {
	sp.TaskHub
	down atomic.Bool
}

func (h *downHub) fail(op string) error {
	return fmt.Errorf("azurestorage: %s: Post \"http://127.0.0.1:10002/devstoreaccount1/TestHubInstances\": %w", op,
		&net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: syscall.ECONNREFUSED.Error(), Addr: "127.0.0.1:10002"}})
}

func (h *downHub) CreateInstance(ctx context.Context, m *sp.TaskMessage) error {
	if h.down.Load() {
		return h.fail("creating instance")
	}
	return h.TaskHub.CreateInstance(ctx, m)
}

func (h *downHub) SendTaskMessages(ctx context.Context, msgs ...*sp.TaskMessage) error {
	if h.down.Load() {
		return h.fail("sending messages")
	}
	return h.TaskHub.SendTaskMessages(ctx, msgs...)
}

func (h *downHub) GetOrchestrationState(ctx context.Context, id string, fetch bool) (*sp.OrchestrationState, error) {
	if h.down.Load() {
		return nil, errors.Join(h.fail("reading instance"), context.DeadlineExceeded)
	}
	return h.TaskHub.GetOrchestrationState(ctx, id, fetch)
}

// TestStorageOutageAnswers503: while storage is unreachable, starts (the
// API's and an HTTP starter's), raise-event, terminate and status reads
// answer 503 with Retry-After and a body saying storage is unavailable,
// never 202 and never the storage endpoint; once storage is back the
// same requests succeed.
func TestStorageOutageAnswers503(t *testing.T) {
	hub := &downHub{TaskHub: fakehub.New("TestHub")}
	s := newServer(t, hub, nil)
	checkStatus(t, do(t, "POST", s.base+"/orchestrators/Echo/running", nil))
	json := []string{"Content-Type", "application/json"}
	requests := []struct {
		name, method, url string
		headers           []string
		after             int // status once storage is back
	}{
		{"start through the API", "POST", s.base + "/orchestrators/Echo", nil, 202},
		{"singleton start through the API", "POST", s.base + "/orchestrators/Echo/single", nil, 202},
		{"start through an HTTP starter", "POST", s.URL + "/api/orchestrators/Echo", nil, 202},
		{"raise event", "POST", s.base + "/instances/running/raiseEvent/E", json, 202},
		{"terminate", "POST", s.base + "/instances/running/terminate", nil, 202},
		{"status", "GET", s.base + "/instances/running", nil, 202},
	}
	hub.down.Store(true)
	for _, rq := range requests {
		var body []byte
		if rq.headers != nil {
			body = []byte(`1`)
		}
		r := do(t, rq.method, rq.url, body, rq.headers...)
		if r.code != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("%s during the outage: %d (Retry-After %q) %s, want 503 with Retry-After", rq.name, r.code, r.header.Get("Retry-After"), r.body)
			continue
		}
		if m := messageOf(t, r); !strings.Contains(strings.ToLower(m), "storage is unavailable") || strings.Contains(m, "127.0.0.1") {
			t.Errorf("%s: message %q, want one saying storage is unavailable, without the endpoint", rq.name, m)
		}
	}
	hub.down.Store(false)
	for _, rq := range requests {
		var body []byte
		if rq.headers != nil {
			body = []byte(`1`)
		}
		if r := do(t, rq.method, rq.url, body, rq.headers...); r.code != rq.after {
			t.Errorf("%s after the outage: %d %s, want %d", rq.name, r.code, r.body, rq.after)
		}
	}
}
