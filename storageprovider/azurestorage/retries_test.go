package azurestorage

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// lostAnswers is a fault-injecting pipeline policy: the first try of
// every request it matches reaches storage, and then its answer is
// "lost" (the policy returns a network error instead), so the SDK retries
// a write that already happened — what a dropped connection or an
// overloaded account does.
type lostAnswers struct {
	match func(*http.Request) bool
	mu    sync.Mutex
	seen  map[[32]byte]bool
	lost  int
}

func (p *lostAnswers) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	if !p.match(r) {
		return req.Next()
	}
	var body []byte
	if b := req.Body(); b != nil {
		body, _ = io.ReadAll(b)
		_ = req.RewindBody()
	}
	key := sha256.Sum256(append([]byte(r.Method+" "+r.URL.String()+"\n"), body...))
	resp, err := req.Next()
	p.mu.Lock()
	first := !p.seen[key]
	p.seen[key] = true
	if first && err == nil {
		p.lost++
	}
	p.mu.Unlock()
	if first && err == nil {
		resp.Body.Close()
		return nil, errors.New("injected fault: the connection dropped before the answer arrived")
	}
	return resp, err
}

// instanceWrites matches the conditional writes of status rows that
// CreateInstance makes: the insert (POST to the Instances table) and the
// If-Match replace of a terminal instance's row.
func instanceWrites(table string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/"+table) {
			return false
		}
		return r.Method == http.MethodPost || (r.Method == http.MethodPut && r.Header.Get("If-Match") != "" && r.Header.Get("If-Match") != "*")
	}
}

// TestCreateInstanceUnderLostAnswers: a start whose conditional insert
// (or replace) succeeded but whose answer was lost is retried by the SDK
// into a conflict with its own row; CreateInstance recognises its
// execution ID, answers success and sends the start message once. Other
// starters of the ID still get ErrInstanceExists, and of racing starters
// exactly one wins.
func TestCreateInstanceUnderLostAnswers(t *testing.T) {
	t.Parallel()
	faults := &lostAnswers{seen: map[[32]byte]bool{}}
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) {
		o.faults = faults
		faults.match = instanceWrites(newResourceNames(o.TaskHubName, 1).instancesTable)
	})
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// A new ID: the insert's answer is lost.
	id := "lost-" + newExecID()[:6]
	wi := createAndLock(ctx, t, h, startMsg(id, `1`))
	if wi.InstanceID != id || len(wi.NewMessages) != 1 {
		t.Fatalf("work item for %q with %d messages, want %q with 1", wi.InstanceID, len(wi.NewMessages), id)
	}
	if err := h.CreateInstance(ctx, startMsg(id, `2`)); !errors.Is(err, sp.ErrInstanceExists) {
		t.Fatalf("a second starter of a Pending instance: %v, want ErrInstanceExists", err)
	}
	// Complete it, then restart the ID: the replace's answer is lost.
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, (&miniEngine{steps: 1, local: true}).episode(wi)); err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, h, []string{id}, 30*time.Second)
	if err := h.CreateInstance(ctx, startMsg(id, `3`)); err != nil {
		t.Fatalf("restarting a completed instance under a lost answer: %v", err)
	}
	st, err := h.GetOrchestrationState(ctx, id, true)
	if err != nil || st.RuntimeStatus != sp.StatusPending || st.Generation != 1 || st.Input != `3` {
		t.Fatalf("after the restart: %+v, %v", st, err)
	}

	// Racing starters of one ID, every first answer lost.
	race := "race-" + newExecID()[:6]
	const n = 20
	errs := make(chan error, n)
	for range n {
		go func() { errs <- h.CreateInstance(ctx, startMsg(race, `1`)) }()
	}
	wins := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			wins++
		case !errors.Is(err, sp.ErrInstanceExists):
			t.Errorf("racing starter: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d racing starters won, want exactly 1", wins)
	}
	if faults.lost < 3 {
		t.Errorf("only %d answers were lost; the test did not exercise the retries", faults.lost)
	}
}
