package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

//go:embed templates/*.html static/*
var assets embed.FS

// view names the dashboard's top-level views, in navigation order.
var views = []struct{ ID, Label, Path string }{
	{"instances", "Orchestrations", "/"},
	{"entities", "Entities", "/entities"},
}

// page is what every template gets.
type page struct {
	Title string
	Hub   string
	View  string // the navigation entry that is current
	Error string
	// Code is the key the page was opened with; every link and request
	// carries it on.
	Code     string
	List     *listView
	Instance *instanceView
	Entities *entitiesView
}

var (
	pages     = map[string]*template.Template{}
	assetHash = map[string]string{} // file → content hash, for cache busting and ETags
)

func init() {
	static, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err)
	}
	entries, err := fs.ReadDir(static, ".")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, _ := fs.ReadFile(static, e.Name())
		sum := sha256.Sum256(b)
		assetHash[e.Name()] = hex.EncodeToString(sum[:6])
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/parts.html"))
	for _, name := range []string{"list", "instance", "entities", "error"} {
		t := template.Must(template.Must(base.Clone()).ParseFS(assets, "templates/"+name+".html"))
		pages[name] = t
	}
}

// funcs are the templates' helpers. Links are built by the handler-bound
// "link" installed per request (see render).
var funcs = template.FuncMap{
	"link":        func(string, ...any) string { return "" },
	"asset":       func(string) string { return "" },
	"views":       func() any { return views },
	"statusClass": statusClass,
	"statusIcon":  statusIcon,
	"time":        formatTime,
	"ago":         func(time.Time) string { return "" },
	"duration":    formatDuration,
	"add":         func(a, b int) int { return a + b },
	"plural":      pluralize,
	"list":        func(v ...int) []int { return v },
	"base":        func() string { return "" },
	"path":        instancePath,
}

// statusClass is the CSS class of a status badge.
func statusClass(s sp.OrchestrationStatus) string { return "st-" + strings.ToLower(s.String()) }

// statusIcon is a status's symbol, so that status reads without colour
// next to its name.
func statusIcon(s sp.OrchestrationStatus) string {
	switch s {
	case sp.StatusRunning:
		return "▶"
	case sp.StatusPending:
		return "…"
	case sp.StatusSuspended:
		return "‖"
	case sp.StatusCompleted:
		return "✓"
	case sp.StatusFailed:
		return "✗"
	case sp.StatusTerminated:
		return "■"
	case sp.StatusCanceled:
		return "⊘"
	case sp.StatusContinuedAsNew:
		return "↻"
	}
	return "?"
}

// timeLayout renders times on the pages; every time is UTC.
const timeLayout = "2006-01-02 15:04:05"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeLayout)
}

// render executes the named page into a buffer, so that a template error
// becomes a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, name string, p *page) {
	h.renderTemplate(w, r, code, name, "layout.html", p)
}

// renderFragment executes one named block of a page: what the page's
// script swaps in when it refreshes in place.
func (h *Handler) renderFragment(w http.ResponseWriter, r *http.Request, name, block string, p *page) {
	h.renderTemplate(w, r, http.StatusOK, name, block, p)
}

func (h *Handler) renderTemplate(w http.ResponseWriter, r *http.Request, code int, name, block string, p *page) {
	p.Code = requestKey(r)
	if p.Hub == "" && h.client != nil {
		p.Hub = h.client.TaskHubName()
	}
	t, err := pages[name].Clone()
	if err == nil {
		now := h.now()
		t.Funcs(template.FuncMap{
			"link":  func(p string, kv ...any) string { return h.link(r, p, kv...) },
			"asset": func(file string) string { return h.link(r, "/static/"+file, "v", assetHash[file]) },
			"ago":   func(t time.Time) string { return ago(now, t) },
			"base":  func() string { return h.basePath(r) },
		})
		var buf bytes.Buffer
		if err = t.ExecuteTemplate(&buf, block, p); err == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(code)
			_, _ = buf.WriteTo(w)
			return
		}
	}
	h.log.Error("dashboard: rendering a page failed", "page", name, "err", err)
	http.Error(w, "The dashboard failed to render this page; the host log has the details.", http.StatusInternalServerError)
}

// requestKey is the key the request carries in its code parameter: the
// one the page was opened with, which its links carry on. A key sent only
// in the x-functions-key header is not copied into the page.
func requestKey(r *http.Request) string {
	q := r.URL.Query()
	if v := q.Get("code"); v != "" {
		return v
	}
	for k, vs := range q {
		if strings.EqualFold(k, "code") && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// link builds a dashboard URL: the base path, p (already escaped), the
// key of the request and the given name/value pairs (a url.Values value
// adds all of its pairs).
func (h *Handler) link(r *http.Request, p string, kv ...any) string {
	v := url.Values{}
	for i := 0; i < len(kv); i++ {
		if vals, ok := kv[i].(url.Values); ok {
			for k, vs := range vals {
				v[k] = append(v[k], vs...)
			}
			continue
		}
		if i+1 < len(kv) {
			if s := fmt.Sprint(kv[i+1]); s != "" {
				v.Add(fmt.Sprint(kv[i]), s)
			}
			i++
		}
	}
	if code := requestKey(r); code != "" {
		v.Set("code", code)
	}
	u := h.basePath(r) + p
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return u
}

// instancePath is the escaped path of an instance's page.
func instancePath(id string) string { return "/instances/" + url.PathEscape(id) }

// ago renders how long before now t was: "5 s ago", "3 min ago".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in " + formatDuration(-d)
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	writeJSONTo(w, nil, code, v)
}

// gzipAbove is the size from which answers are compressed: a
// 10,000-event timeline is over a megabyte of JSON, a tenth of it gzipped.
const gzipAbove = 32 << 10

// writeJSONTo writes v as JSON, gzipped when it is large and r accepts it.
func writeJSONTo(w http.ResponseWriter, r *http.Request, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	if r != nil && len(b) > gzipAbove && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		w.WriteHeader(code)
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		_, _ = zw.Write(b)
		_ = zw.Close()
		return
	}
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// serveStatic serves the embedded stylesheet and scripts.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	hash, ok := assetHash[name]
	if !ok {
		http.Error(w, "no such dashboard asset", http.StatusNotFound)
		return
	}
	b, err := assets.ReadFile("static/" + name)
	if err != nil {
		http.Error(w, "no such dashboard asset", http.StatusNotFound)
		return
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("ETag", `"`+hash+`"`)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}
