package dashboard

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/funchost/funchost/bindings"
)

// entitiesView is the entity list: one page of ListEntities with each
// entity's state.
type entitiesView struct {
	Name     string // the entity-name filter
	Size     int
	Rows     []entityRow
	Next     string // link to the next page, "" on the last
	First    string // link to the first page, "" on it
	Filtered bool
	// Unsupported is set when the durable client serves no entities.
	Unsupported bool
}

// entityRow is one entity: its ID, last operation and state.
type entityRow struct {
	Name, Key string
	LastOp    string
	State     payload
	HasState  bool
}

// serveEntities lists durable entities, a page at a time, with the name
// filter and page size of the query (name, size, after).
func (h *Handler) serveEntities(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := &entitiesView{Name: strings.TrimSpace(q.Get("name")), Size: DefaultPageSize}
	if s := q.Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			h.render(w, r, http.StatusBadRequest, "error", &page{Title: "Invalid filter", View: "entities",
				Error: "The page size must be a whole number from 1 to 500, got " + strconv.Quote(s) + "."})
			return
		}
		v.Size = n
	}
	v.Filtered = v.Name != ""
	p := &page{Title: "Entities", View: "entities", Entities: v}
	ec := bindings.EntityClientOf(h.client)
	if ec == nil {
		v.Unsupported = true
		h.render(w, r, http.StatusOK, "entities", p)
		return
	}
	after := q.Get("after")
	res, err := ec.ListEntities(r.Context(), bindings.EntityQuery{Name: v.Name, PageSize: v.Size,
		ContinuationToken: after, FetchState: true})
	if err != nil {
		if after != "" {
			h.render(w, r, http.StatusBadRequest, "error", &page{Title: "Invalid page", View: "entities",
				Error: "The page link is not valid (any more); start again from the first page."})
			return
		}
		h.storeError(w, r, "", err)
		return
	}
	for _, e := range res.Entities {
		row := entityRow{Name: e.ID.Name, Key: e.ID.Key, LastOp: formatTime(e.LastOperationTime)}
		if len(e.State) > 0 {
			row.State, row.HasState = makePayload(string(e.State)), true
		}
		v.Rows = append(v.Rows, row)
	}
	if res.ContinuationToken != "" {
		v.Next = h.link(r, "/entities", "name", v.Name, "size", v.Size, "after", res.ContinuationToken)
	}
	if after != "" {
		v.First = h.link(r, "/entities", "name", v.Name, "size", v.Size)
	}
	h.render(w, r, http.StatusOK, "entities", p)
}
