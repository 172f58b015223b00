package dashboard_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

var memoryEnv = map[string]string{
	"AzureFunctionsJobHost__extensions__durableTask__storageProvider__type": "memory",
}

// TestBrowserDashboard drives the dashboard in headless Chromium against a
// real host on the memory provider: the list with its counts and status
// filter, a failed instance's error and timeline, raising an event from
// the page until the instance completes, purging and terminating from the
// page, a 10,000-event history, a narrow window and the loopback listener.
func TestBrowserDashboard(t *testing.T) {
	t.Parallel()
	h := startHost(t, memoryEnv)
	if !strings.Contains(h.logs.String(), "Durable dashboard: http://localhost:") || h.rpc == "" {
		t.Fatalf("the start-up log does not print the dashboard URLs:\n%s", h.logs.String())
	}
	h.startInstance(t, "HelloSequence", "hello-1", nil)
	h.startInstance(t, "FailAlways", "fail-1", nil)
	h.startInstance(t, "WaitForApproval", "approval-1", nil)
	h.startInstance(t, "WaitForApproval", "approval-2", nil)
	h.startInstance(t, "ParentChild", "parent-1", nil)
	h.startInstance(t, "FanOutFanIn", "fanout-1", 12)
	h.startOrder(t, order{ID: "1001", Items: 3})
	h.startOrder(t, order{ID: "1002", Items: 1})
	h.startOrder(t, order{ID: "1003", Items: 2})
	h.startInstance(t, "FanOutFanIn", "big-5000", 5000)
	for _, id := range []string{"order-1001", "order-1002", "order-1003"} {
		waitCustomStatus(t, h, id, "awaiting payment")
	}
	h.raise(t, "order-1001", "Payment", map[string]any{"card": "4242"})
	h.raise(t, "order-1002", "Payment", map[string]any{"card": "4000", "declined": true})
	for id, want := range map[string]string{"hello-1": "Completed", "fail-1": "Failed", "parent-1": "Completed", "fanout-1": "Completed",
		"order-1001": "Completed", "order-1002": "Failed", "big-5000": "Completed", "approval-1": "Running", "approval-2": "Running"} {
		h.waitStatus(t, id, want)
	}

	ctx := tab(t)
	t.Run("list", func(t *testing.T) {
		if code := open(t, ctx, h.dashboard("/")); code != http.StatusOK {
			t.Fatalf("dashboard answered %d", code)
		}
		// Ten instances started, and four sub-orchestrations.
		waitFor(t, ctx, "the instance table", `document.querySelectorAll('table.instances tbody tr').length === 14`)
		var counts map[string]string
		counts = eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('.counts a')].map(a => [a.textContent.trim().split(/\s+/).pop(), a.querySelector('.n').textContent]))`)
		for status, want := range map[string]string{"Running": "3", "Completed": "9", "Failed": "2", "Terminated": "0"} {
			if counts[status] != want {
				t.Errorf("count of %s = %q, want %s (all: %v)", status, counts[status], want, counts)
			}
		}
		versions := eval[[]string](t, ctx, `[...document.querySelectorAll('table.instances tr[data-href*="order-"] td.ver')].map(td => td.textContent)`)
		if strings.Join(versions, ",") != orderVersion+","+orderVersion+","+orderVersion {
			t.Errorf("the Version column shows %q for the orders, want %s", versions, orderVersion)
		}
		screenshot(t, ctx, "dashboard-list", false)
	})

	t.Run("filter by status", func(t *testing.T) {
		run(t, ctx, chromedp.Click(chromedp.CSS(`.counts a.st-failed`)))
		waitFor(t, ctx, "the Failed filter", `location.search.includes('status=Failed') && document.querySelectorAll('table.instances tbody tr').length === 2`)
		var statuses []string
		statuses = eval[[]string](t, ctx, `[...document.querySelectorAll('table.instances tbody td:nth-child(3)')].map(td => td.textContent.trim())`)
		for _, s := range statuses {
			if !strings.HasSuffix(s, "Failed") {
				t.Errorf("the Failed filter shows a row with status %q", s)
			}
		}
		var ids []string
		ids = eval[[]string](t, ctx, `[...document.querySelectorAll('table.instances tbody td.id')].map(td => td.textContent.trim()).sort()`)
		if strings.Join(ids, ",") != "fail-1,order-1002" {
			t.Errorf("Failed instances listed: %v", ids)
		}
	})

	t.Run("failed instance", func(t *testing.T) {
		run(t, ctx, chromedp.Click(chromedp.CSS(`tr[data-href*="order-1002"] td.name a`)))
		waitFor(t, ctx, "the failure panel", `document.querySelector('.failure') !== null`)
		var failure string
		failure = eval[string](t, ctx, `document.querySelector('.failure').innerText`)
		if !strings.Contains(failure, "card declined: insufficient funds") {
			t.Errorf("failure panel: %q", failure)
		}
		waitFor(t, ctx, "the timeline", `document.querySelectorAll('.tl-row').length >= 6`)
		var kinds []string
		kinds = eval[[]string](t, ctx, `[...document.querySelectorAll('.tl-row .bar')].map(b => b.className.replace('bar ', ''))`)
		for _, want := range []string{"b-completed k-activity", "b-fired k-timer", "b-completed k-suborchestration", "b-received k-event", "b-failed k-activity", "b-failed k-orchestration"} {
			if !contains(kinds, want) {
				t.Errorf("no bar %q in the timeline: %v", want, kinds)
			}
		}
		var events string
		events = eval[string](t, ctx, `document.querySelector('.ev-inner').innerText`)
		for _, want := range []string{"TaskFailed", "EventRaised", "Payment", "TimerFired", "SubOrchestrationCompleted"} {
			if !strings.Contains(events, want) {
				t.Errorf("event list lacks %q:\n%s", want, events)
			}
		}
		// Selecting the failed bar shows its event in full.
		run(t, ctx, chromedp.Click(chromedp.CSS(`.tl-row:has(.bar.b-failed.k-activity)`)))
		waitFor(t, ctx, "the failed bar selected", `document.querySelector('.tl-row.sel .bar.b-failed.k-activity') && document.querySelector('.ev-row.sel')`)
		waitFor(t, ctx, "the event detail", `document.querySelector('.ev-detail pre') && document.querySelector('.ev-detail pre').textContent.includes('"TaskScheduled"')`)
		eval[bool](t, ctx, `(window.scrollTo(0, 0), true)`)
		screenshot(t, ctx, "dashboard-failed", true)
	})

	t.Run("raise event from the page", func(t *testing.T) {
		open(t, ctx, h.dashboard("/instances/approval-1"))
		waitFor(t, ctx, "the waiting bar", `[...document.querySelectorAll('.tl-row .bar')].some(b => b.classList.contains('b-waiting'))`)
		// The page must update in place: a reload would drop this marker.
		eval[bool](t, ctx, `window.stillSamePage = true`)
		run(t, ctx, chromedp.Click(chromedp.CSS(`button[data-action="raise"]`)), chromedp.WaitVisible(chromedp.CSS(`#action-dialog`)),
			chromedp.SendKeys(chromedp.CSS(`#event-name`), "Approval"), chromedp.SendKeys(chromedp.CSS(`#event-data`), `{"approved": yes}`),
			chromedp.Click(chromedp.CSS(`#action-confirm`)))
		waitFor(t, ctx, "the inline JSON error", `!document.querySelector('#action-error').hidden && document.querySelector('#action-error').textContent.includes('not valid JSON')`)
		screenshot(t, ctx, "dashboard-raise-event", false)
		run(t, ctx, chromedp.SetValue(chromedp.CSS(`#event-data`), `{"approved": true, "by": "ops"}`), chromedp.Click(chromedp.CSS(`#action-confirm`)))
		waitFor(t, ctx, "the instance to complete", `document.querySelector('#runtime-status').textContent === 'Completed' && window.stillSamePage === true`)
		var msg, output string
		msg = eval[string](t, ctx, `document.querySelector('#action-message').textContent`)
		output = eval[string](t, ctx, `document.querySelector('.payloads').innerText`)
		if !strings.Contains(msg, `Event "Approval" sent`) || !strings.Contains(output, `"by": "ops"`) {
			t.Errorf("after raising: message %q, payloads %q", msg, output)
		}
	})

	t.Run("purge from the page", func(t *testing.T) {
		run(t, ctx, chromedp.Click(chromedp.CSS(`button[data-action="purge"]`)), chromedp.WaitVisible(chromedp.CSS(`#action-dialog`)),
			chromedp.Click(chromedp.CSS(`#action-confirm`)))
		waitFor(t, ctx, "the list after purging", `document.querySelector('table.instances') && document.querySelector('#flash') && document.querySelector('#flash').textContent.includes('approval-1 purged')`)
		var listed bool
		listed = eval[bool](t, ctx, `!!document.querySelector('tr[data-href*="approval-1"]')`)
		if listed {
			t.Error("the purged instance is still listed")
		}
		if code, b := h.api(t, "GET", "/instances/approval-1", nil); code != http.StatusNotFound {
			t.Errorf("purged instance: %d %s", code, b)
		}
	})

	t.Run("terminate from the page", func(t *testing.T) {
		open(t, ctx, h.dashboard("/instances/approval-2"))
		run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`button[data-action="terminate"]`)), chromedp.Click(chromedp.CSS(`button[data-action="terminate"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#action-reason`)), chromedp.SendKeys(chromedp.CSS(`#action-reason`), "not needed any more"),
			chromedp.Click(chromedp.CSS(`#action-confirm`)))
		waitFor(t, ctx, "Terminated", `document.querySelector('#runtime-status').textContent === 'Terminated'`)
		// Purging a running instance is refused; here it is terminal, and
		// the page offers it again.
		var purge bool
		purge = eval[bool](t, ctx, `!document.querySelector('button[data-action="purge"]').disabled`)
		if !purge {
			t.Error("purge is not offered for the terminated instance")
		}
	})

	t.Run("large history", func(t *testing.T) {
		open(t, ctx, h.dashboard("/instances/big-5000"))
		waitFor(t, ctx, "the timeline", `document.querySelector('.tl-count') && document.querySelector('.tl-count').textContent.startsWith('10006 events')`)
		var rendered int
		rendered = eval[int](t, ctx, `document.querySelectorAll('.ev-row').length + document.querySelectorAll('.tl-row').length`)
		if rendered > 200 {
			t.Errorf("%d rows rendered for a 10,006-event history; only the rows in view should be", rendered)
		}
		eval[bool](t, ctx, `(() => { const l = document.querySelector('.ev-rows'); l.scrollTop = l.scrollHeight; return true; })()`)
		waitFor(t, ctx, "the last events after scrolling", `[...document.querySelectorAll('.ev-row')].some(r => r.textContent.includes('ExecutionCompleted'))`)
		// Keyboard: arrow keys move through the bars.
		run(t, ctx, chromedp.Focus(chromedp.CSS(`.tl-row[tabindex="0"]`)), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
		waitFor(t, ctx, "the second bar selected", `document.querySelector('.tl-row.sel') && document.querySelector('.tl-row.sel').dataset.r === '2' && document.activeElement.dataset.r === '2'`)
		screenshot(t, ctx, "dashboard-large-history", true)
	})

	t.Run("narrow window", func(t *testing.T) {
		run(t, ctx, chromedp.EmulateViewport(420, 860))
		defer run(t, ctx, chromedp.EmulateViewport(1280, 800))
		open(t, ctx, h.dashboard("/instances/order-1002"))
		waitFor(t, ctx, "the timeline", `document.querySelectorAll('.tl-row').length >= 6`)
		var overflow int
		overflow = eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`)
		if overflow > 0 {
			t.Errorf("the instance page is %d px wider than a 420 px window", overflow)
		}
		screenshot(t, ctx, "dashboard-narrow", false)
		open(t, ctx, h.dashboard("/"))
		waitFor(t, ctx, "the table", `document.querySelectorAll('table.instances tbody tr').length > 0`)
		overflow = eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`)
		if overflow > 0 {
			t.Errorf("the list is %d px wider than a 420 px window", overflow)
		}
	})

	t.Run("loopback listener", func(t *testing.T) {
		if code := open(t, ctx, h.rpc+"/durabletask/dashboard/"); code != http.StatusOK {
			t.Fatalf("loopback dashboard answered %d", code)
		}
		waitFor(t, ctx, "the table", `document.querySelectorAll('table.instances tbody tr').length === 13`)
		run(t, ctx, chromedp.Click(chromedp.CSS(`tr[data-href*="order-1001"] td.name a`)))
		waitFor(t, ctx, "the timeline", `document.querySelectorAll('.tl-row').length >= 6 && location.pathname.startsWith('/durabletask/dashboard/')`)
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// waitCustomStatus waits until an instance's custom status mentions want.
func waitCustomStatus(t *testing.T, h *testHost, id, want string) {
	t.Helper()
	for i := 0; ; i++ {
		_, b := h.api(t, "GET", "/instances/"+id, nil)
		if strings.Contains(string(b), want) {
			return
		}
		if i > 2400 {
			t.Fatalf("instance %s never reported %q: %s", id, want, b)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestBrowserDashboardKeys runs the dashboard on a host with keys: without
// a key the page is refused; opened with the system or the master key
// (?code=) it works, and its links, refreshes and actions carry the key.
func TestBrowserDashboardKeys(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"AzureFunctionsJobHost__extensions__durableTask__storageProvider__type": "memory",
		"FUNCTIONS_SYSTEM_KEY_DURABLETASK_EXTENSION":                            "system-key-1",
		"FUNCTIONS_MASTER_KEY": "master-key-1",
	}
	h := startHost(t, env)
	if !strings.Contains(h.logs.String(), "/runtime/webhooks/durabletask/dashboard/?code=<system or master key>") {
		t.Errorf("the start-up log does not say the dashboard needs a key:\n%s", h.logs.String())
	}
	h.startInstance(t, "WaitForApproval", "keyed-1", nil)
	h.startInstance(t, "HelloSequence", "keyed-2", nil)
	h.waitStatus(t, "keyed-2", "Completed")
	ctx := tab(t)

	for _, u := range []string{h.dashboard("/"), h.dashboard("/?code=wrong"), h.dashboard("/instances/keyed-1"), h.dashboard("/static/dashboard.js")} {
		if code := open(t, ctx, u); code != http.StatusUnauthorized {
			t.Errorf("%s answered %d without the key, want 401", u, code)
		}
	}
	if code := open(t, ctx, h.dashboard("/?code=master-key-1")); code != http.StatusOK {
		t.Errorf("the master key was refused: %d", code)
	}
	waitFor(t, ctx, "the list with the master key", `document.querySelectorAll('table.instances tbody tr').length === 2`)

	if code := open(t, ctx, h.dashboard("/?code=system-key-1")); code != http.StatusOK {
		t.Fatalf("the system key was refused: %d", code)
	}
	waitFor(t, ctx, "the list with the system key", `document.querySelectorAll('table.instances tbody tr').length === 2 && getComputedStyle(document.body).display === 'flex'`)
	run(t, ctx, chromedp.Click(chromedp.CSS(`tr[data-href*="keyed-1"] td.name a`)))
	waitFor(t, ctx, "the timeline loaded with the key", `location.search.includes('code=system-key-1') && document.querySelectorAll('.tl-row').length >= 2`)
	eval[bool](t, ctx, `window.stillSamePage = true`)
	run(t, ctx, chromedp.Click(chromedp.CSS(`button[data-action="raise"]`)), chromedp.WaitVisible(chromedp.CSS(`#event-name`)),
		chromedp.SendKeys(chromedp.CSS(`#event-name`), "Approval"), chromedp.SendKeys(chromedp.CSS(`#event-data`), `"approved"`),
		chromedp.Click(chromedp.CSS(`#action-confirm`)))
	waitFor(t, ctx, "the instance to complete", `document.querySelector('#runtime-status').textContent === 'Completed' && window.stillSamePage === true`)
}

// TestBrowserDashboardAzurite runs the dashboard against the Azure Storage
// provider on a private Azurite: the list reads the Instances table, the
// timeline the History table, and an action goes through the control
// queues.
func TestBrowserDashboardAzurite(t *testing.T) {
	t.Parallel()
	h := startHost(t, map[string]string{
		"AzureWebJobsStorage": azuritetest.ConnectionString(t),
		"AzureFunctionsJobHost__extensions__durableTask__hubName":                                  fmt.Sprintf("Dash%d", time.Now().UnixNano()%1_000_000_000),
		"AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxQueuePollingInterval": "00:00:01",
	})
	h.startInstance(t, "HelloSequence", "az-hello", nil)
	h.startInstance(t, "FailAlways", "az-fail", nil)
	h.startInstance(t, "WaitForApproval", "az-wait", nil)
	h.waitStatus(t, "az-hello", "Completed")
	h.waitStatus(t, "az-fail", "Failed")
	h.waitStatus(t, "az-wait", "Running")
	ctx := tab(t)
	open(t, ctx, h.dashboard("/?status=Failed&status=Running"))
	waitFor(t, ctx, "the filtered list", `document.querySelectorAll('table.instances tbody tr').length === 2 && document.querySelector('.counts a.st-completed .n').textContent === '1'`)
	run(t, ctx, chromedp.Click(chromedp.CSS(`tr[data-href*="az-fail"] td.name a`)))
	waitFor(t, ctx, "the failure and the timeline", `document.querySelector('.failure') && document.querySelector('.failure').innerText.includes('boom') && document.querySelector('.tl-row .bar.b-failed')`)
	open(t, ctx, h.dashboard("/instances/az-hello"))
	waitFor(t, ctx, "three activity bars", `document.querySelectorAll('.tl-row .bar.b-completed.k-activity').length === 3`)
	open(t, ctx, h.dashboard("/instances/az-wait"))
	run(t, ctx, chromedp.WaitVisible(chromedp.CSS(`button[data-action="raise"]`)), chromedp.Click(chromedp.CSS(`button[data-action="raise"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#event-name`)), chromedp.SendKeys(chromedp.CSS(`#event-name`), "Approval"),
		chromedp.SendKeys(chromedp.CSS(`#event-data`), `{"ok": true}`), chromedp.Click(chromedp.CSS(`#action-confirm`)))
	waitFor(t, ctx, "the instance to complete", `document.querySelector('#runtime-status').textContent === 'Completed'`)
	run(t, ctx, chromedp.Click(chromedp.CSS(`button[data-action="purge"]`)), chromedp.WaitVisible(chromedp.CSS(`#action-confirm`)), chromedp.Click(chromedp.CSS(`#action-confirm`)))
	waitFor(t, ctx, "the list after purging", `document.querySelector('#flash') && !document.querySelector('tr[data-href*="az-wait"]')`)
}
