package failover

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// diagnoseStuck logs what the hub holds for instances that did not
// complete: their status and history, their raw History rows, and the
// hub's queues (message counts and the visible messages).
func diagnoseStuck(t *testing.T, conn, hub, base string, st map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stuck []string
	for id, s := range st {
		if s != "Completed" {
			stuck = append(stuck, id)
		}
	}
	sort.Strings(stuck)
	t.Logf("DIAGNOSIS: %d instances listed, %d not completed: %v", len(st), len(stuck), stuck)
	tables, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Logf("DIAGNOSIS: tables: %v", err)
		return
	}
	for i, id := range stuck {
		if i == 6 {
			break
		}
		code, body, _, err := call(ctx, "GET", base+"/runtime/webhooks/durabletask/instances/"+id+"?showHistory=true&showHistoryOutput=true&showInput=true", nil)
		t.Logf("DIAGNOSIS: %s status %d %v: %s", id, code, err, body)
		pager := tables.NewClient(hub + "History").NewListEntitiesPager(&aztables.ListEntitiesOptions{
			Filter: ptr(fmt.Sprintf("PartitionKey eq '%s'", id)),
			Select: ptr("RowKey,ExecutionId,EventType,EventId,TaskScheduledId,IsCheckpointComplete,Timestamp"),
		})
		var rows []string
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				rows = append(rows, err.Error())
				break
			}
			for _, e := range page.Entities {
				rows = append(rows, string(e))
			}
		}
		t.Logf("DIAGNOSIS: %s History rows:\n%s", id, strings.Join(rows, "\n"))
	}
	queues, err := azqueue.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Logf("DIAGNOSIS: queues: %v", err)
		return
	}
	for _, name := range queueNames(hub) {
		q := queues.NewQueueClient(name)
		props, err := q.GetProperties(ctx, nil)
		if err != nil {
			t.Logf("DIAGNOSIS: queue %s: %v", name, err)
			continue
		}
		n := int32(-1)
		if props.ApproximateMessagesCount != nil {
			n = *props.ApproximateMessagesCount
		}
		peek, err := q.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: ptr(int32(32))})
		var visible []string
		if err == nil {
			for _, m := range peek.Messages {
				text := ""
				if m.MessageText != nil {
					text = *m.MessageText
				}
				if len(text) > 300 {
					text = text[:300] + "…"
				}
				dc := int64(0)
				if m.DequeueCount != nil {
					dc = *m.DequeueCount
				}
				visible = append(visible, fmt.Sprintf("  dequeued %d times: %s", dc, text))
			}
		}
		t.Logf("DIAGNOSIS: queue %s: about %d messages, %d visible now:\n%s", name, n, len(visible), strings.Join(visible, "\n"))
	}
}

// queueNames returns the hub's queues: the work-item queue and the control
// queues.
func queueNames(hub string) []string {
	lower := strings.ToLower(hub)
	names := []string{lower + "-workitems"}
	for p := range partitionCount {
		names = append(names, fmt.Sprintf("%s-control-%02d", lower, p))
	}
	return names
}

// queuedMessages returns how many messages the hub's queues hold, visible
// or not.
func queuedMessages(ctx context.Context, conn, hub string) (int, error) {
	queues, err := azqueue.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, name := range queueNames(hub) {
		props, err := queues.NewQueueClient(name).GetProperties(ctx, nil)
		if err != nil {
			return 0, fmt.Errorf("queue %s: %w", name, err)
		}
		if props.ApproximateMessagesCount != nil {
			total += int(*props.ApproximateMessagesCount)
		}
	}
	return total, nil
}

// failStuck fails the test for instances that cannot finish any more
// (every queue is empty), telling apart instances whose history is
// complete but whose status row was never updated from those whose work
// was lost.
func failStuck(t *testing.T, ctx context.Context, conn, hub string, st map[string]string) {
	t.Helper()
	tables, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	var staleRow, lost []string
	for id, s := range st {
		if s == "Completed" {
			continue
		}
		pager := tables.NewClient(hub + "History").NewListEntitiesPager(&aztables.ListEntitiesOptions{
			Filter: ptr(fmt.Sprintf("PartitionKey eq '%s'", id)),
			Select: ptr("EventType"),
		})
		finished := false
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatalf("reading the history of %s: %v", id, err)
			}
			for _, e := range page.Entities {
				if strings.Contains(string(e), `"ExecutionCompleted"`) {
					finished = true
				}
			}
		}
		if finished {
			staleRow = append(staleRow, id+" ("+s+")")
		} else {
			lost = append(lost, id+" ("+s+")")
		}
	}
	sort.Strings(staleRow)
	sort.Strings(lost)
	if len(lost) > 0 {
		t.Fatalf("LOST WORK: every queue of the hub is empty, but %d instances are unfinished and their history has no ExecutionCompleted: %v (also %d with a stale status row: %v)",
			len(lost), lost, len(staleRow), staleRow)
	}
	t.Fatalf("STALE STATUS ROW: %d instances finished in history (ExecutionCompleted committed) while their status row "+
		"still says Pending/Running, and no message is left that could change it: %v. The engine must rewrite the row from history when "+
		"it replays a finished instance's redelivered messages (host/engine/workitem.go, finishedState).", len(staleRow), staleRow)
}
