// Package adminapi serves the Functions host's admin API, which the host
// mounts behind the master key:
//
//	GET  /admin/functions                 metadata of every listed function
//	GET  /admin/functions/{name}          one function's metadata
//	GET  /admin/functions/{name}/status   {"errors":[…]} for a function in error, {} otherwise
//	POST /admin/functions/{name}          run a non-HTTP function with {"input": …} (202)
//	GET  /admin/host/status               the host's state
//
// Function names match case-insensitively. Bodies and status codes follow
// the Functions host; docs/triggers.md lists them.
package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

// Function is what the admin API knows of one function.
type Function struct {
	Name string
	// Config is the function.json content (standard JSON), nil when the file
	// could not be parsed: such functions are absent from the list, as in
	// the Functions host, but their status still shows the error.
	Config json.RawMessage
	// Trigger is the trigger binding type ("" when unknown).
	Trigger string
	// InvokeURL is an HTTP function's URL template, e.g.
	// "http://localhost:7071/api/orchestrators/{functionName}".
	InvokeURL string
	Disabled  bool
	// Errors are the function's load errors; a function with errors is not
	// loaded and cannot be invoked.
	Errors []string
	// Invoke runs the function with the admin input (the "input" value: a
	// JSON string is passed unquoted, other JSON as written). nil when the
	// function cannot be run this way (HTTP functions, durable triggers).
	Invoke func(ctx context.Context, input string) error
}

// HostStatus is GET /admin/host/status's body.
type HostStatus struct {
	ID            string `json:"id"`
	State         string `json:"state"`
	Version       string `json:"version"`
	InstanceID    string `json:"instanceId"`
	ComputerName  string `json:"computerName"`
	ProcessUptime int64  `json:"processUptime"`
}

// Options configure New.
type Options struct {
	// Functions lists the app's functions (called per request).
	Functions func() []Function
	// HostID, InstanceID and Version fill the host status.
	HostID, InstanceID, Version string
	// Started is the process start, for processUptime.
	Started time.Time
	// BaseURL is the host's absolute URL, e.g. "http://localhost:7071",
	// used in hrefs (default: from the request).
	BaseURL string
	// Background runs invocations (default: a goroutine); its context
	// outlives the request.
	Background context.Context
	Logger     *slog.Logger
	// Metrics, when set, serves GET /admin/metrics (the Prometheus
	// scrape endpoint, docs/observability.md).
	Metrics http.Handler
}

// New returns the handler to mount at /admin: it sees paths below it
// ("/functions", …).
func New(opts Options) http.Handler {
	if opts.Functions == nil {
		opts.Functions = func() []Function { return nil }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Background == nil {
		opts.Background = context.Background()
	}
	if opts.Started.IsZero() {
		opts.Started = time.Now()
	}
	a := &api{o: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /functions", a.list)
	mux.HandleFunc("GET /functions/{name}", a.get)
	mux.HandleFunc("GET /functions/{name}/status", a.status)
	mux.HandleFunc("POST /functions/{name}", a.invoke)
	mux.HandleFunc("GET /host/status", a.hostStatus)
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("No admin route matches %s /admin%s.", r.Method, r.URL.Path))
	})
	return mux
}

type api struct{ o Options }

// metadata is the Functions host's FunctionMetadataResponse.
type metadata struct {
	Name              string          `json:"name"`
	ScriptRootPathRef string          `json:"script_root_path_href"`
	ScriptHref        string          `json:"script_href"`
	ConfigHref        string          `json:"config_href"`
	TestDataHref      string          `json:"test_data_href"`
	Href              string          `json:"href"`
	InvokeURLTemplate *string         `json:"invoke_url_template"`
	Language          string          `json:"language"`
	Config            json.RawMessage `json:"config"`
	Files             []string        `json:"files"`
	TestData          string          `json:"test_data"`
	IsDisabled        bool            `json:"isDisabled"`
	IsDirect          bool            `json:"isDirect"`
	IsProxy           bool            `json:"isProxy"`
}

func (a *api) base(r *http.Request) string {
	if a.o.BaseURL != "" {
		return strings.TrimRight(a.o.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (a *api) meta(r *http.Request, f Function) metadata {
	base := a.base(r)
	m := metadata{
		Name:              f.Name,
		ScriptRootPathRef: base + "/admin/vfs/functions/" + f.Name + "/",
		ConfigHref:        base + "/admin/vfs/functions/" + f.Name + "/function.json",
		TestDataHref:      base + "/admin/vfs/data/Functions/sampledata/" + f.Name + ".dat",
		Href:              base + "/admin/functions/" + f.Name,
		Language:          "go",
		Config:            f.Config,
		Files:             []string{"function.json"},
		IsDisabled:        f.Disabled,
	}
	if f.InvokeURL != "" {
		u := f.InvokeURL
		m.InvokeURLTemplate = &u
	}
	return m
}

func (a *api) find(name string) (Function, bool) {
	for _, f := range a.o.Functions() {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Function{}, false
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	fns := a.o.Functions()
	sort.Slice(fns, func(i, j int) bool { return fns[i].Name < fns[j].Name })
	out := []metadata{}
	for _, f := range fns {
		if f.Config != nil {
			out = append(out, a.meta(r, f))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	f, ok := a.find(r.PathValue("name"))
	if !ok || f.Config == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("The function '%s' does not exist.", r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, a.meta(r, f))
}

func (a *api) status(w http.ResponseWriter, r *http.Request) {
	f, ok := a.find(r.PathValue("name"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("The function '%s' does not exist.", r.PathValue("name")))
		return
	}
	if len(f.Errors) == 0 {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"errors": f.Errors})
}

// maxInvokeBody bounds POST /admin/functions/{name} bodies.
const maxInvokeBody = 1 << 20

func (a *api) invoke(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f, ok := a.find(name)
	switch {
	case !ok || len(f.Errors) > 0:
		writeError(w, http.StatusNotFound, fmt.Sprintf("The function '%s' does not exist or is in error.", name))
		return
	case f.Invoke == nil:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("The function '%s' has a %s trigger and cannot be run through the admin API.", f.Name, f.Trigger))
		return
	}
	input, err := readInput(http.MaxBytesReader(w, r.Body, maxInvokeBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	bg := context.WithoutCancel(a.o.Background)
	go func() {
		if err := f.Invoke(bg, input); err != nil {
			a.o.Logger.Warn(fmt.Sprintf("Admin invocation of '%s' failed", f.Name), "function", f.Name, "err", err)
		}
	}()
	w.WriteHeader(http.StatusAccepted)
}

// readInput reads {"input": …}; an empty body is an empty input.
func readInput(body io.Reader) (string, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", fmt.Errorf("the request body is larger than %d bytes", maxInvokeBody)
		}
		return "", err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return "", nil
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(data, &req); err != nil {
		return "", fmt.Errorf(`the body must be a JSON object such as {"input": "…"}: %v`, err)
	}
	var raw json.RawMessage
	for k, v := range req {
		if strings.EqualFold(k, "input") {
			raw = v
		}
	}
	if raw == nil || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	return string(raw), nil
}

func (a *api) hostStatus(w http.ResponseWriter, r *http.Request) {
	host, _ := os.Hostname()
	st := HostStatus{
		ID: a.o.HostID, State: "Running", Version: a.o.Version, InstanceID: a.o.InstanceID,
		ComputerName: host, ProcessUptime: time.Since(a.o.Started).Milliseconds(),
	}
	writeJSON(w, http.StatusOK, st)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg, "status": status})
}
