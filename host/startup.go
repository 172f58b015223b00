package host

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funchost/funchost/host/adminapi"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/httpserver"
)

// SettingStorageWaitTimeout bounds how long the host waits at start-up for
// an unreachable storage account (a Go duration such as "5m"; "0" waits
// for ever). Options.StorageWaitTimeout wins when set.
const SettingStorageWaitTimeout = "FUNCHOST_STORAGE_WAIT_TIMEOUT"

// DefaultStorageWaitTimeout is how long the host waits for storage at
// start-up unless told otherwise: long enough for an emulator or a
// storage account's network to come up, short enough that a wrong
// connection string ends in an error a supervisor reports.
const DefaultStorageWaitTimeout = 5 * time.Minute

// Backoff between start-up attempts while storage is unreachable.
const (
	firstStorageRetry = time.Second
	maxStorageRetry   = 15 * time.Second
)

// storageWait resolves the start-up wait for storage (0 = for ever).
func storageWait(opts Options) (time.Duration, error) {
	if opts.StorageWaitTimeout != 0 {
		return max(opts.StorageWaitTimeout, 0), nil
	}
	v, ok := opts.Env.LookupEnv(SettingStorageWaitTimeout)
	if !ok || v == "" {
		return DefaultStorageWaitTimeout, nil
	}
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 5m or 30s (0 waits for ever)", SettingStorageWaitTimeout, v)
	}
	return d, nil
}

// startupState is what the host reports while it starts: the admin API's
// host status reads it until the real handler takes over.
type startupState struct {
	mu       sync.Mutex
	attempts int
	lastErr  string
	since    time.Time
}

func (s *startupState) failed(err error) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts == 0 {
		s.since = time.Now()
	}
	s.attempts++
	s.lastErr = durableclient.PublicMessage(err)
	return s.attempts
}

func (s *startupState) errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts == 0 {
		return []string{}
	}
	return []string{fmt.Sprintf("Waiting for storage since %s (%d attempts): %s",
		s.since.UTC().Format(time.RFC3339), s.attempts, s.lastErr)}
}

// retryUnavailable runs start until it succeeds, fails for another reason
// than unavailable storage (returned at once: a wrong setting does not get
// better by waiting), ctx ends, or wait has passed. It logs one line per
// failed attempt.
func retryUnavailable(ctx context.Context, log *slog.Logger, wait time.Duration, st *startupState, start func(context.Context) error) error {
	began := time.Now()
	delay := firstStorageRetry
	for {
		err := start(ctx)
		if err == nil || !durableclient.IsUnavailable(err) || ctx.Err() != nil {
			return err
		}
		n := st.failed(err)
		waited := time.Since(began)
		if wait > 0 && waited+delay > wait {
			return fmt.Errorf("storage was unreachable for %s (%d attempts; %s=%s): %w",
				waited.Round(time.Second), n, SettingStorageWaitTimeout, wait, err)
		}
		log.Warn(fmt.Sprintf("Waiting for storage (attempt %d, next in %s): %s", n, delay, durableclient.PublicMessage(err)),
			"attempt", n, "retryIn", delay.String(), "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, maxStorageRetry)
	}
}

// bootServer is the main listener's server from the moment the host
// listens: while the durable side waits for storage it answers
// /admin/host/status (state "Starting", with what it waits for) and 503
// with Retry-After to everything else; then serve swaps in the real
// handler on the same server and connections.
type bootServer struct {
	hs      *http.Server
	handler atomic.Pointer[http.Handler]
	errc    chan error
}

// startBootServer serves ln at once with the start-up handler.
func startBootServer(ln net.Listener, t httpserver.Timeouts, keys httpserver.Keys, hostID, instanceID string, st *startupState, log *slog.Logger) *bootServer {
	b := &bootServer{errc: make(chan error, 2)}
	var h http.Handler = startingHandler(keys, hostID, instanceID, st)
	b.handler.Store(&h)
	b.hs = httpserver.NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*b.handler.Load()).ServeHTTP(w, r)
	}), t, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	go func() { b.errc <- b.hs.Serve(httpserver.GuardFraming(ln)) }()
	return b
}

// use makes h serve every request from now on.
func (b *bootServer) use(h http.Handler) { b.handler.Store(&h) }

// startingHandler is the start-up handler: the host status (behind the
// master key, like the admin API) and 503 for the rest.
func startingHandler(keys httpserver.Keys, hostID, instanceID string, st *startupState) http.Handler {
	started := time.Now()
	status := httpserver.RequireMasterKey(keys)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		computer, _ := os.Hostname()
		body := struct {
			adminapi.HostStatus
			Errors []string `json:"errors"`
		}{adminapi.HostStatus{ID: hostID, State: "Starting", Version: "funchost", InstanceID: instanceID,
			ComputerName: computer, ProcessUptime: time.Since(started).Milliseconds()}, st.errors()}
		writeStartupJSON(w, http.StatusOK, body)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/admin/host/status" {
			status.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(durableclient.UnavailableRetryAfter/time.Second)))
		msg := "The host is starting"
		if errs := st.errors(); len(errs) > 0 {
			msg += ": " + errs[0]
		}
		writeStartupJSON(w, http.StatusServiceUnavailable, map[string]any{"error": msg + ".", "status": http.StatusServiceUnavailable})
	})
}

func writeStartupJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
