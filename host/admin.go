package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/adminapi"
	"github.com/funchost/funchost/host/functions"
	"github.com/funchost/funchost/host/invoke"
	"github.com/funchost/funchost/host/settingref"
	"github.com/funchost/funchost/host/storagebindings"
	"github.com/funchost/funchost/host/triggers/queue"
	"github.com/funchost/funchost/host/triggers/timer"
	"github.com/funchost/funchost/internal/invocation"
	"github.com/funchost/funchost/internal/iobind"
)

// wrapActivities runs every activity through the runner, so that
// activities get storage bindings, invocation logs and functionTimeout. An
// activity past the timeout fails as a task failure, as in Durable
// Functions, so the orchestration's retry policy applies.
func wrapActivities(r *runner, fns []*functions.Function) {
	for _, f := range fns {
		if f.Def.Kind != functions.KindActivity {
			continue
		}
		inner := f.Activity
		f.Activity = func(actx bindings.ActivityContext) (any, error) {
			var out any
			err := r.run(actx, f, "", nil, func(ctx context.Context) error {
				var err error
				out, err = inner(activityContext{ActivityContext: actx, ctx: ctx})
				return err
			})
			var te *invoke.TimeoutError
			if errors.As(err, &te) {
				return nil, fmt.Errorf("Activity function '%s' failed: %w", f.Def.Name, err)
			}
			return out, err
		}
	}
}

// activityContext is an activity's context with the runner's context
// (storage bindings, durable clients, timeout) in place of the engine's.
type activityContext struct {
	bindings.ActivityContext
	ctx context.Context
}

func (a activityContext) Deadline() (time.Time, bool) { return a.ctx.Deadline() }
func (a activityContext) Done() <-chan struct{}       { return a.ctx.Done() }
func (a activityContext) Err() error                  { return a.ctx.Err() }
func (a activityContext) Value(key any) any           { return a.ctx.Value(key) }

// adminFunctions lists the app's functions for the admin API: the loaded
// ones with their admin invocation, and those in error with their errors.
func adminFunctions(r *runner, fns []*functions.Function, broken []*functions.Broken, baseURL string, routePrefix string) []adminapi.Function {
	var out []adminapi.Function
	for _, f := range fns {
		af := adminapi.Function{Name: f.Def.Name, Config: f.Def.Config, Trigger: f.Def.Trigger.Type, Disabled: f.Def.Disabled}
		switch f.Def.Kind {
		case functions.KindHTTP:
			p := strings.Trim(routePrefix, "/")
			if p != "" {
				p += "/"
			}
			af.InvokeURL = baseURL + "/" + p + f.Def.Route()
		case functions.KindTimer:
			af.Invoke = func(ctx context.Context, _ string) error {
				info := timer.Info{}
				info.Schedule.AdjustForDST = true
				return r.runTimerDirect(ctx, f, info)
			}
		case functions.KindQueue:
			af.Invoke = func(ctx context.Context, input string) error {
				now := time.Now().UTC()
				m := &queue.Message{ID: uuid.NewString(), Body: []byte(input), DequeueCount: 1, InsertionTime: now, NextVisibleTime: now}
				return r.runQueueAs(ctx, f, invoke.ReasonHostAPI, m)
			}
		case functions.KindManual:
			af.Invoke = func(ctx context.Context, input string) error {
				return r.run(ctx, f, invoke.ReasonHostAPI, storagebindings.Data{"input": input}, func(ctx context.Context) error {
					return f.Manual(ctx, input)
				})
			}
		}
		out = append(out, af)
	}
	for _, b := range broken {
		out = append(out, adminapi.Function{Name: b.Name, Config: b.Config, Trigger: b.Trigger, Errors: b.Messages()})
	}
	return out
}

func hostInstanceID() string {
	h, _ := os.Hostname()
	return h + "-" + uuid.NewString()[:8]
}

// wrapHTTPOutputs gives HTTP functions that declare queue or blob bindings
// their values: the response is buffered so that the outputs are written
// only when the function succeeds (status below 500), before the client
// sees the answer; a failed write turns it into a 500.
func wrapHTTPOutputs(r *runner, fns []*functions.Function) {
	for _, f := range fns {
		sbs := storageBindings(f.Def)
		if f.Def.Kind != functions.KindHTTP || len(sbs) == 0 {
			continue
		}
		inner := f.HTTP
		f.HTTP = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			data := storagebindings.Data{}
			if inv := invocation.From[bindings.DurableClient](req.Context()); inv != nil {
				maps.Copy(data, inv.RouteValues)
			}
			for k, v := range req.URL.Query() {
				if len(v) > 0 {
					data[k] = v[0]
				}
			}
			resolve := func(s string) (string, error) { return settingref.Resolve(s, r.env.LookupEnv) }
			vals, err := r.accounts.Prepare(req.Context(), sbs, data, r.cfg.Host.Queues.MessageEncoding, resolve)
			if err != nil {
				r.log.Error(fmt.Sprintf("Function '%s': preparing its bindings failed", f.Def.Name), "err", err)
				http.Error(w, "Exception while executing function: Functions."+f.Def.Name, http.StatusInternalServerError)
				return
			}
			buf := httptest.NewRecorder()
			inner.ServeHTTP(buf, req.WithContext(iobind.With(req.Context(), valuesAdapter{vals})))
			if buf.Code < 500 {
				if err := vals.Flush(req.Context()); err != nil {
					r.log.Error(fmt.Sprintf("Function '%s': writing its output bindings failed", f.Def.Name), "err", err)
					http.Error(w, "Exception while executing function: Functions."+f.Def.Name, http.StatusInternalServerError)
					return
				}
			}
			maps.Copy(w.Header(), buf.Header())
			w.WriteHeader(buf.Code)
			_, _ = w.Write(buf.Body.Bytes())
		})
	}
}
