package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// listView is the instance list page.
type listView struct {
	Query    listQuery
	Result   *listResult
	Statuses []statusCount
	Sorts    []sortOption
	// Filtered is set when any filter is active (for "Clear filters").
	Filtered bool
	// First is the 1-based number of the page's first row.
	First int
	// RefreshURL is the list's own URL, fetched for refreshes in place.
	RefreshURL string
}

// statusCount is one status chip: its count, whether the filter selects
// it and the filter with it toggled.
type statusCount struct {
	Status   sp.OrchestrationStatus
	Count    int
	Selected bool
	Toggle   url.Values
}

type sortOption struct {
	Value, Label string
	Selected     bool
}

func (h *Handler) serveList(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		h.render(w, r, http.StatusBadRequest, "error", &page{Title: "Invalid filter", View: "instances",
			Error: "The list's query is not valid: " + err.Error()})
		return
	}
	res, err := h.list(r.Context(), q)
	if err != nil {
		h.storeError(w, r, "", err)
		return
	}
	v := &listView{Query: q, Result: res, First: res.Offset + 1}
	v.Filtered = len(q.Statuses) > 0 || q.Name != "" || q.Prefix != "" || !q.From.IsZero() || !q.To.IsZero()
	for i, s := range allStatuses {
		sel := slices.Contains(q.Statuses, s)
		// A chip adds its status to the filter, or takes it out.
		t := q
		t.After = ""
		t.Statuses = slices.DeleteFunc(slices.Clone(q.Statuses), func(x sp.OrchestrationStatus) bool { return x == s })
		if !sel {
			t.Statuses = append(t.Statuses, s)
		}
		v.Statuses = append(v.Statuses, statusCount{Status: s, Count: res.Counts[i], Selected: sel, Toggle: t.values()})
	}
	for _, o := range sortLabels {
		v.Sorts = append(v.Sorts, sortOption{Value: o.Value, Label: o.Label, Selected: o.Value == q.Sort})
	}
	vals := q.values()
	if q.After != "" {
		vals.Set("after", q.After)
	}
	v.RefreshURL = h.link(r, "/", vals)
	p := &page{Title: "Orchestrations", View: "instances", List: v}
	if r.URL.Query().Get("fragment") == "results" {
		h.renderFragment(w, r, "list", "results", p)
		return
	}
	h.render(w, r, http.StatusOK, "list", p)
}

// instanceView is an instance's page.
type instanceView struct {
	State        *sp.OrchestrationState
	Input        payload
	Output       payload
	CustomStatus payload
	// Failures is the failure and its inner failures, outermost first.
	Failures []*sp.FailureDetails
	Parent   *sp.ParentInstance
	Children []childLink
	Events   int
	Actions  []actionButton
	// Updated changes whenever the instance does (see stateMarker); the
	// page's script reloads the summary and the timeline only then.
	Updated string
}

// childLink is a sub-orchestration started by the instance.
type childLink struct {
	ID, Name, Outcome string
}

// payload is a JSON value made readable: indented, and cut at
// payloadLimit bytes so that a page never carries megabytes.
type payload struct {
	Text      string
	Size      int
	Truncated bool
}

const payloadLimit = 64 << 10

func makePayload(s string) payload {
	if s == "" {
		return payload{}
	}
	p := payload{Size: len(s)}
	var buf bytes.Buffer
	if len(s) <= 4*payloadLimit && json.Indent(&buf, []byte(s), "", "  ") == nil {
		s = buf.String()
	}
	if len(s) > payloadLimit {
		cut := payloadLimit
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s, p.Truncated = s[:cut], true
	}
	p.Text = s
	return p
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// instanceID returns the instance ID of the request's path, or answers 404
// for an ID no instance can have.
func (h *Handler) instanceID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if err := bindings.ValidateInstanceID(id); err != nil {
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("No instance can have the ID %q: %v.", id, err))
		return "", false
	}
	return id, true
}

// load reads an instance's status row (with payloads) and its history.
func (h *Handler) load(w http.ResponseWriter, r *http.Request) (*sp.OrchestrationState, []*sp.HistoryEvent, bool) {
	id, ok := h.instanceID(w, r)
	if !ok {
		return nil, nil, false
	}
	st, err := h.store.GetOrchestrationState(r.Context(), id, true)
	if err != nil {
		h.storeError(w, r, id, err)
		return nil, nil, false
	}
	var history []*sp.HistoryEvent
	if st.RuntimeStatus != sp.StatusPending {
		history, err = h.store.GetOrchestrationHistory(r.Context(), id)
		if err != nil && !errors.Is(err, sp.ErrInstanceNotFound) {
			h.storeError(w, r, id, err)
			return nil, nil, false
		}
	}
	return st, history, true
}

// stateMarker identifies a version of an instance's status row: every
// checkpoint, re-creation and rewind changes its last-updated time.
func stateMarker(st *sp.OrchestrationState) string {
	return strconv.FormatInt(unixNano(st.LastUpdatedTime), 10) + "/" + st.ExecutionID + "/" + st.RuntimeStatus.String()
}

func (h *Handler) serveInstance(w http.ResponseWriter, r *http.Request) {
	// A refresh names the version it shows (since=…): while the status row
	// has not changed it gets 204 after one cheap read, and the history is
	// not read at all.
	if since := r.URL.Query().Get("since"); since != "" {
		id, ok := h.instanceID(w, r)
		if !ok {
			return
		}
		st, err := h.store.GetOrchestrationState(r.Context(), id, false)
		if err != nil {
			h.storeError(w, r, id, err)
			return
		}
		if stateMarker(st) == since {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	st, history, ok := h.load(w, r)
	if !ok {
		return
	}
	v := &instanceView{
		State: st, Input: makePayload(st.Input), CustomStatus: makePayload(st.CustomStatus),
		Events: len(history), Actions: actionsFor(st.RuntimeStatus),
		Updated: stateMarker(st),
	}
	if st.RuntimeStatus != sp.StatusFailed || st.FailureDetails == nil {
		v.Output = makePayload(st.Output)
	}
	for f := st.FailureDetails; f != nil && len(v.Failures) < 10; f = f.InnerFailure {
		v.Failures = append(v.Failures, f)
	}
	if st.RuntimeStatus == sp.StatusFailed && len(v.Failures) == 0 {
		// No structured details: the output holds the failure as text.
		var msg string
		if json.Unmarshal([]byte(st.Output), &msg) != nil {
			msg = st.Output
		}
		v.Failures = []*sp.FailureDetails{{ErrorMessage: msg}}
	}
	tl := buildTimeline(history, st, h.now())
	for _, e := range history {
		if e.EventType == sp.EventExecutionStarted && e.ParentInstance != nil && e.ParentInstance.OrchestrationInstance != nil {
			v.Parent = e.ParentInstance
		}
	}
	for _, s := range tl.Spans {
		if s.Kind == kindSubOrchestration && s.Child != "" {
			v.Children = append(v.Children, childLink{ID: s.Child, Name: s.Name, Outcome: s.Outcome})
		}
	}
	p := &page{Title: st.Name + " " + st.InstanceID, View: "instances", Instance: v}
	if r.URL.Query().Get("fragment") == "summary" {
		h.renderFragment(w, r, "instance", "summary", p)
		return
	}
	h.render(w, r, http.StatusOK, "instance", p)
}

func (h *Handler) serveTimeline(w http.ResponseWriter, r *http.Request) {
	st, history, ok := h.load(w, r)
	if !ok {
		return
	}
	writeJSONTo(w, r, http.StatusOK, buildTimeline(history, st, h.now()))
}

// serveEvent answers one history event in full, in the Durable Task
// Framework's JSON shape, with its payloads.
func (h *Handler) serveEvent(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		h.fail(w, r, http.StatusBadRequest, fmt.Sprintf("%q is not an event number; use the event's position in history, from 0.", r.PathValue("n")))
		return
	}
	_, history, ok := h.load(w, r)
	if !ok {
		return
	}
	if n >= len(history) {
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("The history has %d events; there is no event %d (the instance may have been rewound or restarted).", len(history), n))
		return
	}
	writeJSON(w, http.StatusOK, eventJSON(history[n]))
}

// eventJSON renders an event as stored, with its type and status by name
// rather than by number.
func eventJSON(e *sp.HistoryEvent) any {
	b, err := json.Marshal(e)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]string{"error": err.Error()}
	}
	m["EventType"] = e.EventType.String()
	if _, ok := m["OrchestrationStatus"]; ok {
		m["OrchestrationStatus"] = e.OrchestrationStatus.String()
	}
	// Payloads are JSON text: shown as the values they hold.
	for _, k := range []string{"Input", "Result", "Data"} {
		if s, ok := m[k].(string); ok && json.Valid([]byte(s)) {
			m[k] = json.RawMessage(s)
		}
	}
	return m
}

// actionButton is one of the instance page's actions.
type actionButton struct {
	Name, Label, Help string
	Enabled           bool
	Danger            bool
}

// actionsFor lists the actions with whether the status allows them; the
// server checks again when one is sent.
func actionsFor(s sp.OrchestrationStatus) []actionButton {
	active := !s.IsTerminal()
	return []actionButton{
		{Name: "raise", Label: "Raise event", Help: "Send an external event to the instance", Enabled: active},
		{Name: "suspend", Label: "Suspend", Help: "Pause the instance; events are held until it resumes", Enabled: active && s != sp.StatusSuspended},
		{Name: "resume", Label: "Resume", Help: "Continue the suspended instance", Enabled: s == sp.StatusSuspended},
		{Name: "terminate", Label: "Terminate", Help: "End the instance now", Enabled: active, Danger: true},
		{Name: "rewind", Label: "Rewind", Help: "Re-run the failed work of the instance", Enabled: s == sp.StatusFailed},
		{Name: "restart", Label: "Restart", Help: "Start the orchestrator again with the same input", Enabled: true},
		{Name: "purge", Label: "Purge", Help: "Delete the instance's history and status", Enabled: s.IsTerminal(), Danger: true},
	}
}

// pluralize is "1 event" / "3 events".
func pluralize(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
