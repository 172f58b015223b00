package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/jsonpos"
	sp "github.com/funchost/funchost/storageprovider"
)

// actionRequest is the JSON body of an action. Which fields count depends
// on the action: Event and Data for raise (Data is the payload as JSON
// text, so the server can say where it is malformed), Reason for
// terminate, suspend, resume and rewind, NewInstanceID for restart.
type actionRequest struct {
	Event         string  `json:"event"`
	Data          *string `json:"data"`
	Reason        string  `json:"reason"`
	NewInstanceID bool    `json:"newInstanceId"`
}

// actionResult is the answer to an action.
type actionResult struct {
	Message string `json:"message"`
	// InstanceID is the instance the action leaves to look at (restart
	// under a new ID names the new one).
	InstanceID string `json:"instanceId,omitempty"`
	// Location is where the page goes next, when it should leave.
	Location string `json:"location,omitempty"`
}

// maxEventNameLength bounds event names (Durable Functions takes them as
// part of a URL path).
const maxEventNameLength = 256

func (h *Handler) serveAction(w http.ResponseWriter, r *http.Request) {
	if msg := sameOriginJSON(r); msg != "" {
		h.fail(w, r, http.StatusForbidden, msg)
		return
	}
	id, ok := h.instanceID(w, r)
	if !ok {
		return
	}
	action := r.PathValue("action")
	run, known := actionFuncs[action]
	if !known {
		h.fail(w, r, http.StatusNotFound, fmt.Sprintf("%q is not an action; use raise, terminate, suspend, resume, rewind, restart or purge.", action))
		return
	}
	var req actionRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request is larger than %d bytes.", h.maxBody))
			return
		}
		h.fail(w, r, http.StatusBadRequest, "Reading the request failed: "+err.Error())
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			h.fail(w, r, http.StatusBadRequest, "The request body is not a valid action: "+err.Error())
			return
		}
	}
	res, err := run(h, r.Context(), id, &req)
	if err != nil {
		h.actionError(w, r, action, id, err)
		return
	}
	if res.Location != "" {
		res.Location = h.link(r, res.Location)
	}
	writeJSON(w, http.StatusOK, res)
}

// sameOriginJSON refuses requests another web site could make from a
// user's browser: actions must be JSON (which cross-site forms cannot
// send without a preflight the dashboard never grants) and, when the
// browser says where they come from, from this origin.
func sameOriginJSON(r *http.Request) string {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		return "Actions must be sent as application/json by the dashboard page."
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return "Actions are accepted only from the dashboard's own pages (Sec-Fetch-Site: " + s + ")."
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return "Actions are accepted only from the dashboard's own pages (Origin " + o + ")."
		}
	}
	return ""
}

// errBadRequest marks validation failures of an action's fields.
var errBadRequest = errors.New("invalid action request")

type actionFunc func(h *Handler, ctx context.Context, id string, req *actionRequest) (actionResult, error)

var actionFuncs = map[string]actionFunc{
	"raise":     raiseAction,
	"terminate": reasonAction("terminate", "Terminate requested", bindings.DurableClient.Terminate),
	"suspend":   reasonAction("suspend", "Suspend requested", bindings.DurableClient.Suspend),
	"resume":    reasonAction("resume", "Resume requested", bindings.DurableClient.Resume),
	"rewind":    reasonAction("rewind", "Rewind requested", bindings.DurableClient.Rewind),
	"restart":   restartAction,
	"purge":     purgeAction,
}

func raiseAction(h *Handler, ctx context.Context, id string, req *actionRequest) (actionResult, error) {
	name := strings.TrimSpace(req.Event)
	switch {
	case name == "":
		return actionResult{}, fmt.Errorf("%w: give the event's name", errBadRequest)
	case utf8.RuneCountInString(name) > maxEventNameLength:
		return actionResult{}, fmt.Errorf("%w: the event name is longer than %d characters", errBadRequest, maxEventNameLength)
	case strings.ContainsAny(name, "/\\#?") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return actionResult{}, fmt.Errorf("%w: the event name must not contain '/', '\\', '#', '?' or control characters", errBadRequest)
	}
	data := json.RawMessage("null")
	if req.Data != nil && strings.TrimSpace(*req.Data) != "" {
		if err := checkJSON(*req.Data); err != nil {
			return actionResult{}, fmt.Errorf("%w: the payload is not valid JSON: %v", errBadRequest, err)
		}
		data = json.RawMessage(*req.Data)
	}
	if err := h.client.RaiseEvent(ctx, id, name, data); err != nil {
		return actionResult{}, err
	}
	return actionResult{Message: fmt.Sprintf("Event %q sent.", name), InstanceID: id}, nil
}

// checkJSON validates text as one JSON value, naming the line and column
// of the first error.
func checkJSON(text string) error {
	var v any
	err := jsonpos.Unmarshal([]byte(text), &v)
	var pe *jsonpos.Error
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d, column %d: %s", pe.Line, pe.Column, pe.Detail)
	}
	return err
}

// reasonAction is an action that takes only a reason.
func reasonAction(verb, defaultReason string, do func(bindings.DurableClient, context.Context, string, string) error) actionFunc {
	return func(h *Handler, ctx context.Context, id string, req *actionRequest) (actionResult, error) {
		reason := strings.TrimSpace(req.Reason)
		if reason == "" {
			reason = defaultReason + " from the dashboard"
		}
		if err := do(h.client, ctx, id, reason); err != nil {
			return actionResult{}, err
		}
		return actionResult{Message: strings.ToUpper(verb[:1]) + verb[1:] + " sent; the instance changes once the engine processes it.", InstanceID: id}, nil
	}
}

func restartAction(h *Handler, ctx context.Context, id string, req *actionRequest) (actionResult, error) {
	newID, err := h.client.Restart(ctx, id, req.NewInstanceID)
	if err != nil {
		return actionResult{}, err
	}
	res := actionResult{Message: "Restarted as " + newID + ".", InstanceID: newID}
	if newID != id {
		res.Location = instancePath(newID)
	}
	return res, nil
}

func purgeAction(h *Handler, ctx context.Context, id string, _ *actionRequest) (actionResult, error) {
	if _, err := h.client.PurgeInstance(ctx, id); err != nil {
		return actionResult{}, err
	}
	return actionResult{Message: "Instance " + id + " purged.", Location: "/"}, nil
}

// actionError answers a failed action with the status code the
// management API would give and a message that says what to do.
func (h *Handler) actionError(w http.ResponseWriter, r *http.Request, action, id string, err error) {
	msg := err.Error()
	var code int
	switch {
	case errors.Is(err, errBadRequest):
		code, msg = http.StatusBadRequest, strings.TrimPrefix(msg, errBadRequest.Error()+": ")
	case errors.Is(err, sp.ErrInstanceNotFound):
		code, msg = http.StatusNotFound, fmt.Sprintf("No instance with ID %q exists (it may have been purged).", id)
	case errors.Is(err, bindings.ErrInstanceNotRunning):
		code, msg = http.StatusConflict, "The instance is no longer running, so it cannot be sent "+action+": "+lastPart(msg)
	case errors.Is(err, bindings.ErrInstanceNotFailed):
		code, msg = http.StatusConflict, "Only Failed instances can be rewound: "+lastPart(msg)
	case errors.Is(err, bindings.ErrInstanceNotTerminal):
		code, msg = http.StatusConflict, "Only Completed, Failed, Terminated or Canceled instances can be purged; terminate it first: "+lastPart(msg)
	case errors.Is(err, sp.ErrInstanceExists):
		code, msg = http.StatusConflict, "The instance is still running; restart it under a new instance ID, or terminate it first."
	case errors.Is(err, bindings.ErrUnknownOrchestrator):
		code = http.StatusConflict
		msg = "The orchestrator no longer exists in this app: " + lastPart(msg)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code, msg = http.StatusGatewayTimeout, "The action took too long or was cancelled."
	default:
		h.log.Error("dashboard action failed", "action", action, "instanceId", id, "err", err)
		code, msg = http.StatusBadGateway, "The action failed: "+msg
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

// lastPart drops the "durableclient: op instance "x": " prefix of a client
// error, keeping what went wrong.
func lastPart(msg string) string {
	if i := strings.LastIndex(msg, `": `); i >= 0 {
		return msg[i+3:]
	}
	return msg
}
