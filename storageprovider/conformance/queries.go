package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// createAt creates an instance whose ExecutionStarted timestamp (and so
// its CreatedTime) is at, and drives it to status.
func (s *suite) createAt(id string, at time.Time, status sp.OrchestrationStatus) {
	s.t.Helper()
	m := startMessage(id, "Orch", fmt.Sprintf(`"input of %s"`, id))
	m.Event.Timestamp = at
	if err := s.hub.CreateInstance(s.waitCtx(), m); err != nil {
		s.t.Fatalf("CreateInstance(%s): %v", id, err)
	}
	s.runToStatus(id, status)
}

// queryAll pages through q and returns the instance IDs, checking page
// sizes and duplicates.
func (s *suite) queryAll(q sp.InstanceQuery) []string {
	s.t.Helper()
	var ids []string
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page > 10000 {
			s.t.Fatal("query does not terminate")
		}
		res, err := s.hub.QueryOrchestrationStates(s.waitCtx(), q)
		if err != nil {
			s.t.Fatalf("QueryOrchestrationStates(%+v): %v", q, err)
		}
		limit := q.PageSize
		if limit <= 0 {
			limit = 100
		}
		if len(res.States) > limit {
			s.t.Errorf("page of %d states, PageSize %d", len(res.States), limit)
		}
		for _, st := range res.States {
			if seen[st.InstanceID] {
				s.t.Errorf("instance %s returned twice", st.InstanceID)
			}
			seen[st.InstanceID] = true
			ids = append(ids, st.InstanceID)
		}
		if res.ContinuationToken == "" {
			break
		}
		q.ContinuationToken = res.ContinuationToken
	}
	slices.Sort(ids)
	return ids
}

// testQueryFilters: each filter of InstanceQuery alone and combined.
func testQueryFilters(s *suite) {
	p := "qf-" + newID()[:8] + "-"
	base := sp.Now().Add(-10 * time.Hour).Truncate(time.Second)
	hour := time.Hour
	rows := []struct {
		id     string
		at     time.Time
		status sp.OrchestrationStatus
	}{
		{p + "a", base, sp.StatusCompleted},
		{p + "b", base.Add(hour), sp.StatusRunning},
		{p + "x-d", base.Add(3 * hour), sp.StatusFailed},
		{p + "c", base.Add(2 * hour), sp.StatusPending}, // last: its start stays queued
	}
	for _, r := range rows {
		s.createAt(r.id, r.at, r.status)
	}
	ids := func(suffixes ...string) []string {
		out := make([]string, len(suffixes))
		for i, x := range suffixes {
			out[i] = p + x
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		name string
		q    sp.InstanceQuery
		want []string
	}{
		{"prefix only", sp.InstanceQuery{}, ids("a", "b", "c", "x-d")},
		{"longer prefix", sp.InstanceQuery{InstanceIDPrefix: p + "x"}, ids("x-d")},
		{"created from (inclusive)", sp.InstanceQuery{CreatedTimeFrom: base.Add(hour)}, ids("b", "c", "x-d")},
		{"created to (inclusive)", sp.InstanceQuery{CreatedTimeTo: base.Add(hour)}, ids("a", "b")},
		{"created range", sp.InstanceQuery{CreatedTimeFrom: base.Add(hour / 2), CreatedTimeTo: base.Add(5 * hour / 2)}, ids("b", "c")},
		{"running", sp.InstanceQuery{RuntimeStatus: []sp.OrchestrationStatus{sp.StatusRunning}}, ids("b")},
		{"pending", sp.InstanceQuery{RuntimeStatus: []sp.OrchestrationStatus{sp.StatusPending}}, ids("c")},
		{"completed or failed", sp.InstanceQuery{RuntimeStatus: []sp.OrchestrationStatus{sp.StatusCompleted, sp.StatusFailed}}, ids("a", "x-d")},
		{"terminated (none)", sp.InstanceQuery{RuntimeStatus: []sp.OrchestrationStatus{sp.StatusTerminated}}, nil},
		{"status and time", sp.InstanceQuery{RuntimeStatus: []sp.OrchestrationStatus{sp.StatusCompleted, sp.StatusRunning},
			CreatedTimeFrom: base.Add(hour / 2)}, ids("b")},
		{"small pages", sp.InstanceQuery{PageSize: 1}, ids("a", "b", "c", "x-d")},
	}
	for _, tc := range cases {
		q := tc.q
		if q.InstanceIDPrefix == "" {
			q.InstanceIDPrefix = p
		}
		if got := s.queryAll(q); !slices.Equal(got, tc.want) {
			s.t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	res, err := s.hub.QueryOrchestrationStates(s.waitCtx(), sp.InstanceQuery{InstanceIDPrefix: p + "a", FetchInputsAndOutputs: true})
	if err != nil {
		s.t.Fatalf("QueryOrchestrationStates: %v", err)
	}
	if len(res.States) != 1 {
		s.t.Fatalf("query for %sa returned %d states", p, len(res.States))
	}
	st := res.States[0]
	if st.Input != fmt.Sprintf(`"input of %sa"`, p) || st.Output != `"done"` || st.RuntimeStatus != sp.StatusCompleted ||
		!st.CreatedTime.Equal(base) || st.Name != "Orch" {
		s.t.Errorf("queried row = %+v, want Completed with input, output and CreatedTime %v", st, base)
	}
}

// testQueryPaging: paging through many instances returns each exactly
// once.
func testQueryPaging(s *suite) {
	p := "page-" + newID()[:8] + "-"
	n := s.opts.PagingInstances
	base := sp.Now().Add(-time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	ctx := s.waitCtx()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				m := startMessage(fmt.Sprintf("%s%04d", p, i), "Orch", `null`)
				// Some share a timestamp so ties are broken by ID.
				m.Event.Timestamp = base.Add(time.Duration(i/3) * time.Millisecond)
				if err := s.hub.CreateInstance(ctx, m); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		s.t.Fatalf("CreateInstance: %v", err)
	}
	got := s.queryAll(sp.InstanceQuery{InstanceIDPrefix: p, PageSize: s.opts.PageSize})
	if len(got) != n {
		s.t.Errorf("paging returned %d instances, want %d", len(got), n)
	}
	for i, id := range got {
		if want := fmt.Sprintf("%s%04d", p, i); i < n && id != want {
			s.t.Errorf("instance %d is %s, want %s (missing or extra)", i, id, want)
			break
		}
	}
}

// testPurgeInstance: purge by ID removes row and history whatever the
// status; the ID is then free (Generation 0 again).
func testPurgeInstance(s *suite) {
	done, pending := uniqueID("purge-done"), uniqueID("purge-pending")
	s.createAt(done, sp.Now(), sp.StatusCompleted)
	s.create(pending, "Orch", `null`)
	for _, id := range []string{done, pending} {
		if err := s.hub.PurgeInstance(s.waitCtx(), id); err != nil {
			s.t.Fatalf("PurgeInstance(%s): %v", id, err)
		}
		if _, err := s.hub.GetOrchestrationState(s.waitCtx(), id, false); !errors.Is(err, sp.ErrInstanceNotFound) {
			s.t.Errorf("state after purge = %v, want ErrInstanceNotFound", err)
		}
		if _, err := s.hub.GetOrchestrationHistory(s.waitCtx(), id); !errors.Is(err, sp.ErrInstanceNotFound) {
			s.t.Errorf("history after purge = %v, want ErrInstanceNotFound", err)
		}
		if err := s.hub.PurgeInstance(s.waitCtx(), id); !errors.Is(err, sp.ErrInstanceNotFound) {
			s.t.Errorf("second purge = %v, want ErrInstanceNotFound", err)
		}
	}
	if got := s.queryAll(sp.InstanceQuery{InstanceIDPrefix: "purge-"}); len(got) != 0 {
		s.t.Errorf("query after purge returned %v", got)
	}
	s.create(done, "Orch", `null`)
	if st := s.state(done); st.Generation != 0 || st.RuntimeStatus != sp.StatusPending {
		s.t.Errorf("re-created after purge: generation %d status %v, want 0 Pending", st.Generation, st.RuntimeStatus)
	}
}

// testPurgeInstances: purge by filter deletes only terminal instances
// matching the filter and counts them.
func testPurgeInstances(s *suite) {
	p := "pf-" + newID()[:8] + "-"
	base := sp.Now().Add(-10 * time.Hour).Truncate(time.Second)
	rows := []struct {
		id     string
		status sp.OrchestrationStatus
	}{
		{p + "completed", sp.StatusCompleted},
		{p + "failed", sp.StatusFailed},
		{p + "terminated", sp.StatusTerminated},
		{p + "running", sp.StatusRunning},
		{p + "pending", sp.StatusPending},
	}
	for i, r := range rows {
		s.createAt(r.id, base.Add(time.Duration(i)*time.Hour), r.status)
	}
	steps := []struct {
		name   string
		f      sp.PurgeFilter
		want   int
		remain []string
	}{
		{"non-terminal status", sp.PurgeFilter{RuntimeStatus: []sp.OrchestrationStatus{sp.StatusRunning, sp.StatusPending}}, 0,
			[]string{"completed", "failed", "pending", "running", "terminated"}},
		{"failed only", sp.PurgeFilter{RuntimeStatus: []sp.OrchestrationStatus{sp.StatusFailed}}, 1,
			[]string{"completed", "pending", "running", "terminated"}},
		{"created to (inclusive)", sp.PurgeFilter{CreatedTimeTo: base}, 1,
			[]string{"pending", "running", "terminated"}},
		{"created from, future", sp.PurgeFilter{CreatedTimeFrom: sp.Now().Add(time.Hour)}, 0,
			[]string{"pending", "running", "terminated"}},
		{"everything", sp.PurgeFilter{}, 1, []string{"pending", "running"}},
	}
	for _, st := range steps {
		n, err := s.hub.PurgeInstances(s.waitCtx(), st.f)
		if err != nil {
			s.t.Fatalf("%s: PurgeInstances: %v", st.name, err)
		}
		if n != st.want {
			s.t.Errorf("%s: purged %d, want %d", st.name, n, st.want)
		}
		var want []string
		for _, x := range st.remain {
			want = append(want, p+x)
		}
		if got := s.queryAll(sp.InstanceQuery{InstanceIDPrefix: p}); !slices.Equal(got, want) {
			s.t.Errorf("%s: remaining %v, want %v", st.name, got, want)
		}
	}
}

// testLockContext: Lock* calls return ctx.Err() when their context ends.
func testLockContext(s *suite) {
	cancelled, cancel := context.WithCancel(s.ctx)
	cancel()
	if _, err := s.hub.LockNextOrchestrationWorkItem(cancelled); !errors.Is(err, context.Canceled) {
		s.t.Errorf("orchestration lock with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := s.hub.LockNextActivityWorkItem(cancelled); !errors.Is(err, context.Canceled) {
		s.t.Errorf("activity lock with a cancelled context = %v, want context.Canceled", err)
	}
	ctx, cancel2 := context.WithCancel(s.ctx)
	errc := make(chan error, 2)
	go func() { _, err := s.hub.LockNextOrchestrationWorkItem(ctx); errc <- err }()
	go func() { _, err := s.hub.LockNextActivityWorkItem(ctx); errc <- err }()
	time.Sleep(s.opts.QuietPeriod / 3) // let them block (not required for the check)
	cancel2()
	for range 2 {
		if err := s.waitErr(errc); !errors.Is(err, context.Canceled) {
			s.t.Errorf("lock after cancel = %v, want context.Canceled", err)
		}
	}
	dl, cancel3 := context.WithTimeout(s.ctx, s.opts.QuietPeriod/3)
	defer cancel3()
	if _, err := s.hub.LockNextActivityWorkItem(dl); !errors.Is(err, context.DeadlineExceeded) {
		s.t.Errorf("activity lock past its deadline = %v, want context.DeadlineExceeded", err)
	}
}

// waitErr receives from errc or fails after WaitTimeout.
func (s *suite) waitErr(errc <-chan error) error {
	s.t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(s.opts.WaitTimeout):
		s.t.Fatal("a Lock call did not return")
		return nil
	}
}

// testWakeOnWork: Lock* calls already waiting return the work that
// arrives.
func testWakeOnWork(s *suite) {
	id := uniqueID("wake")
	ctx := s.waitCtx()
	orch := make(chan *sp.OrchestrationWorkItem, 1)
	act := make(chan *sp.ActivityWorkItem, 1)
	errc := make(chan error, 2)
	go func() {
		wi, err := s.hub.LockNextOrchestrationWorkItem(ctx)
		if err != nil {
			errc <- err
			return
		}
		orch <- wi
	}()
	go func() {
		wi, err := s.hub.LockNextActivityWorkItem(ctx)
		if err != nil {
			errc <- err
			return
		}
		act <- wi
	}()
	time.Sleep(s.opts.QuietPeriod / 3) // let them block (not required for the check)
	s.create(id, "Orch", `null`)
	var wi *sp.OrchestrationWorkItem
	select {
	case wi = <-orch:
	case err := <-errc:
		s.t.Fatalf("waiting lock: %v", err)
	case <-ctx.Done():
		s.t.Fatal("the waiting orchestration lock did not return the new instance")
	}
	if wi.InstanceID != id {
		s.t.Fatalf("waiting lock returned %s, want %s", wi.InstanceID, id)
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), State: running(wi, ""),
		ActivityMessages: []*sp.TaskMessage{{Event: sp.NewTaskScheduledEvent(sp.Now(), 0, "Act", "", ""), Target: wi.NewMessages[0].Target}}})
	select {
	case awi := <-act:
		if awi.Message.Target.InstanceID != id {
			s.t.Errorf("waiting activity lock returned work for %s", awi.Message.Target.InstanceID)
		}
	case err := <-errc:
		s.t.Fatalf("waiting activity lock: %v", err)
	case <-ctx.Done():
		s.t.Fatal("the waiting activity lock did not return the new activity")
	}
}

// testStopUnblocks: Stop makes waiting and later Lock* calls return
// ErrTaskHubClosed.
func testStopUnblocks(s *suite) {
	ctx := s.waitCtx()
	errc := make(chan error, 2)
	go func() { _, err := s.hub.LockNextOrchestrationWorkItem(ctx); errc <- err }()
	go func() { _, err := s.hub.LockNextActivityWorkItem(ctx); errc <- err }()
	time.Sleep(s.opts.QuietPeriod / 3) // let them block (not required for the check)
	if err := s.hub.Stop(s.waitCtx()); err != nil {
		s.t.Fatalf("Stop: %v", err)
	}
	for range 2 {
		if err := s.waitErr(errc); !errors.Is(err, sp.ErrTaskHubClosed) {
			s.t.Errorf("waiting lock after Stop = %v, want ErrTaskHubClosed", err)
		}
	}
	if _, err := s.hub.LockNextOrchestrationWorkItem(ctx); !errors.Is(err, sp.ErrTaskHubClosed) {
		s.t.Errorf("orchestration lock after Stop = %v, want ErrTaskHubClosed", err)
	}
	if _, err := s.hub.LockNextActivityWorkItem(ctx); !errors.Is(err, sp.ErrTaskHubClosed) {
		s.t.Errorf("activity lock after Stop = %v, want ErrTaskHubClosed", err)
	}
	if err := s.hub.Stop(s.waitCtx()); err != nil {
		s.t.Errorf("second Stop: %v", err)
	}
}

// testDeleteTaskHub: deleting the hub deletes its instances;
// CreateIfNotExists makes it usable again.
func testDeleteTaskHub(s *suite) {
	id := uniqueID("deleted")
	s.create(id, "Orch", `null`)
	if err := s.hub.Stop(s.waitCtx()); err != nil {
		s.t.Fatalf("Stop: %v", err)
	}
	if err := s.hub.DeleteTaskHub(s.waitCtx()); err != nil {
		s.t.Fatalf("DeleteTaskHub: %v", err)
	}
	if err := s.hub.CreateIfNotExists(s.waitCtx()); err != nil {
		s.t.Fatalf("CreateIfNotExists after delete: %v", err)
	}
	if _, err := s.hub.GetOrchestrationState(s.waitCtx(), id, false); !errors.Is(err, sp.ErrInstanceNotFound) {
		s.t.Errorf("state after DeleteTaskHub = %v, want ErrInstanceNotFound", err)
	}
}
