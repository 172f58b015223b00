package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/funchost/funchost/host/dfwire"
	sp "github.com/funchost/funchost/storageprovider"
)

// httpTarget drives a running host over its HTTP API: it starts instances
// with POST {base}/api/orchestrators/{name} (the sample app's HttpStart) and
// polls the statusQueryGetUri of the answer until the instance is
// terminal. Latency is therefore measured to within one polling interval,
// and the polling itself is load on the host.
type httpTarget struct {
	base     string
	client   *http.Client
	poll     time.Duration
	hostPID  int // 0: the host's CPU and memory are not measured
	provider string
}

func newHTTPTarget(base string, concurrency int, poll time.Duration, hostPID int, provider string) *httpTarget {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = concurrency + 8
	tr.MaxIdleConnsPerHost = concurrency + 8
	return &httpTarget{base: strings.TrimRight(base, "/"), client: &http.Client{Transport: tr, Timeout: time.Minute},
		poll: poll, hostPID: hostPID, provider: provider}
}

func (h *httpTarget) run(ctx context.Context, orchestrator string, input any) (outcome, error) {
	var body io.Reader
	if input != nil {
		b, err := json.Marshal(input)
		if err != nil {
			return outcome{}, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/api/orchestrators/"+orchestrator, body)
	if err != nil {
		return outcome{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return outcome{}, fmt.Errorf("starting %s: %w", orchestrator, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return outcome{}, fmt.Errorf("starting %s: HTTP %d: %s", orchestrator, resp.StatusCode, bytes.TrimSpace(b))
	}
	var payload dfwire.CheckStatus
	if err := json.Unmarshal(b, &payload); err != nil || payload.StatusQueryGetURI == "" {
		return outcome{}, fmt.Errorf("starting %s: no statusQueryGetUri in %q", orchestrator, b)
	}
	for {
		select {
		case <-ctx.Done():
			return outcome{instanceID: payload.ID}, fmt.Errorf("instance %s: %w", payload.ID, ctx.Err())
		case <-time.After(h.poll):
		}
		st, err := h.status(ctx, payload.StatusQueryGetURI)
		if err != nil {
			return outcome{instanceID: payload.ID}, fmt.Errorf("instance %s: %w", payload.ID, err)
		}
		if s, err := sp.ParseOrchestrationStatus(st.RuntimeStatus); err == nil && s.IsTerminal() {
			return outcome{instanceID: payload.ID, status: st.RuntimeStatus, finished: time.Now()}, nil
		}
	}
}

func (h *httpTarget) status(ctx context.Context, uri string) (*dfwire.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return nil, fmt.Errorf("status query: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var st dfwire.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("status query: %w", err)
	}
	return &st, nil
}

func (h *httpTarget) requests() map[string]int64 { return nil }
func (h *httpTarget) usage() procUsage {
	if h.hostPID <= 0 {
		return procUsage{pid: -1}
	}
	return procUsage{pid: h.hostPID}
}
func (h *httpTarget) providerName() string            { return h.provider }
func (h *httpTarget) mode() string                    { return "http" }
func (h *httpTarget) close(ctx context.Context) error { return nil }
