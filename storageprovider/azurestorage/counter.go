package azurestorage

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// RequestCounter counts the storage requests a task hub sends, by service
// (blob, queue, table) and operation. It is an azcore pipeline policy
// installed on every client (per retry, so retried requests count too). The
// zero value is ready to use; one counter may be shared by several task hubs.
type RequestCounter struct {
	total atomic.Int64
	mu    sync.Mutex
	ops   map[string]int64 // "service.operation"
}

// RequestStats is a snapshot of a RequestCounter.
type RequestStats struct {
	// Total is the number of requests sent.
	Total int64
	// ByService maps "blob", "queue" and "table" to request counts.
	ByService map[string]int64
	// ByOperation maps "service.operation" (for example "queue.dequeue",
	// "table.batch", "blob.lease") to request counts.
	ByOperation map[string]int64
}

// Snapshot returns the counts so far.
func (c *RequestCounter) Snapshot() RequestStats {
	s := RequestStats{Total: c.total.Load(), ByService: map[string]int64{}, ByOperation: map[string]int64{}}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range c.ops {
		s.ByOperation[k] = v
		svc, _, _ := strings.Cut(k, ".")
		s.ByService[svc] += v
	}
	return s
}

// Sub returns the requests counted since prev (s - prev).
func (s RequestStats) Sub(prev RequestStats) RequestStats {
	d := RequestStats{Total: s.Total - prev.Total, ByService: map[string]int64{}, ByOperation: map[string]int64{}}
	for k, v := range s.ByService {
		if v -= prev.ByService[k]; v != 0 {
			d.ByService[k] = v
		}
	}
	for k, v := range s.ByOperation {
		if v -= prev.ByOperation[k]; v != 0 {
			d.ByOperation[k] = v
		}
	}
	return d
}

// String renders the operations sorted by name, for logs and reports.
func (s RequestStats) String() string {
	keys := make([]string, 0, len(s.ByOperation))
	for k := range s.ByOperation {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("total=")
	b.WriteString(strconv.FormatInt(s.Total, 10))
	for _, k := range keys {
		b.WriteString(" ")
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(strconv.FormatInt(s.ByOperation[k], 10))
	}
	return b.String()
}

func (c *RequestCounter) add(key string) {
	c.total.Add(1)
	c.mu.Lock()
	if c.ops == nil {
		c.ops = map[string]int64{}
	}
	c.ops[key]++
	c.mu.Unlock()
}

// countingPolicy is the pipeline policy of one service's clients.
type countingPolicy struct {
	c       *RequestCounter
	service string
}

func (p countingPolicy) Do(req *policy.Request) (*http.Response, error) {
	p.c.add(p.service + "." + operationName(p.service, req.Raw()))
	return req.Next()
}

// operationName classifies a storage REST request by its method and URL.
func operationName(service string, r *http.Request) string {
	q := r.URL.Query()
	path := r.URL.Path
	switch service {
	case "table":
		switch {
		case strings.HasSuffix(path, "$batch"):
			return "batch"
		case strings.HasSuffix(path, "/Tables") || strings.Contains(path, "/Tables("):
			return "table-" + strings.ToLower(r.Method)
		}
		switch r.Method {
		case http.MethodGet:
			if strings.HasSuffix(path, ")") && !strings.HasSuffix(path, "()") {
				return "get"
			}
			return "query"
		case http.MethodPost:
			return "insert"
		case http.MethodPut:
			if r.Header.Get("If-Match") != "" {
				return "update"
			}
			return "upsert"
		case "MERGE", http.MethodPatch:
			if r.Header.Get("If-Match") != "" {
				return "merge"
			}
			return "upsert-merge"
		case http.MethodDelete:
			return "delete"
		}
	case "queue":
		isMessages := strings.Contains(path, "/messages")
		switch {
		case isMessages && r.Method == http.MethodPost:
			return "enqueue"
		case isMessages && r.Method == http.MethodGet:
			if q.Get("peekonly") == "true" {
				return "peek"
			}
			return "dequeue"
		case isMessages && r.Method == http.MethodPut:
			return "update"
		case isMessages && r.Method == http.MethodDelete:
			if q.Get("popreceipt") != "" {
				return "delete"
			}
			return "clear"
		}
		return "queue-" + strings.ToLower(r.Method)
	case "blob":
		switch comp := q.Get("comp"); {
		case comp == "lease":
			action := r.Header.Get("x-ms-lease-action")
			if v := r.Header["x-ms-lease-action"]; len(v) > 0 {
				action = v[0]
			}
			return "lease-" + strings.ToLower(action)
		case comp == "list":
			return "list"
		case comp == "metadata":
			return "metadata"
		case q.Get("restype") == "container":
			return "container-" + strings.ToLower(r.Method)
		}
		switch r.Method {
		case http.MethodPut:
			return "upload"
		case http.MethodGet:
			return "download"
		case http.MethodDelete:
			return "delete"
		case http.MethodHead:
			return "properties"
		}
	}
	return strings.ToLower(r.Method)
}
