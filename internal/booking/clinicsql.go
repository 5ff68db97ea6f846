package booking

import (
	_ "embed"
	"sync"

	"github.com/vaxbook/vaxbook/internal/store"
)

// clinic.sql holds the statements of the clinic operations, apart from
// queries.sql so that the two sets of work never edit one file.
//
//go:embed clinic.sql
var clinicSQL string

var clinicQueries sync.Map // store.Dialect -> *store.Queries

// cq returns the clinic statements for the service's engine.
func (s *Service) cq() *store.Queries {
	if q, ok := clinicQueries.Load(s.db.Dialect); ok {
		return q.(*store.Queries)
	}
	q, _ := clinicQueries.LoadOrStore(s.db.Dialect, store.ParseQueries(s.db.Dialect, "booking/clinic.sql", clinicSQL))
	return q.(*store.Queries)
}
