package audit

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/store"
)

// Query filters a search of the log. Zero fields match everything.
type Query struct {
	Subject string    // a reference such as "appointment:AB12"; exact
	Action  string    // exact
	From    time.Time // inclusive
	To      time.Time // exclusive
	// Before continues a previous page: only records with a lower seq.
	Before int64
	Limit  int // default 50, at most 500
}

// Page is one page of results, newest first.
type Page struct {
	Records []Record `json:"records"`
	// Next is the Before of the next page; 0 when this is the last.
	Next int64 `json:"next_cursor,omitempty"`
}

// Search lists records matching q, newest first. A subject is matched as
// one whole element of the subjects array.
func Search(ctx context.Context, db *store.DB, q Query) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	from, to, before := int64(math.MinInt64), int64(math.MaxInt64), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = q.From.UnixMicro()
	}
	if !q.To.IsZero() {
		to = q.To.UnixMicro()
	}
	if q.Before > 0 {
		before = q.Before
	}
	like := ""
	if q.Subject != "" {
		like = `%"` + escapeLike(q.Subject) + `"%`
	}
	rows, err := db.Read.QueryContext(ctx, queries(db.Dialect).Get("search"), from, to, before,
		q.Action, q.Action, like, like, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("search audit: %w", err)
	}
	defer rows.Close()
	var page Page
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return Page{}, fmt.Errorf("search audit: %w", err)
		}
		if len(page.Records) == limit {
			page.Next = page.Records[limit-1].Seq
			break
		}
		rec, err := e.Record()
		if err != nil {
			return Page{}, err
		}
		page.Records = append(page.Records, rec)
	}
	return page, rows.Err()
}

// escapeLike quotes LIKE's wildcards and the JSON escapes a subject would
// have inside the stored array.
func escapeLike(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) // as json.Marshal writes them
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
