package web

import (
	"context"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Metrics counts what the dashboard charts and no other package measures:
// bookings and 409 refusals, each by site. It is a booking.Listener (for
// bookings, counted in the booking's transaction) and a
// booking.RefusalObserver (for refusals, from the API and the pages).
type Metrics struct {
	booking   *booking.Service
	bookings  *prometheus.CounterVec
	conflicts *prometheus.CounterVec
	// sites caches slot -> site: a slot never moves to another site.
	sites sync.Map
}

func newMetrics(b *booking.Service, reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{booking: b,
		bookings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vaxbook_bookings_total",
			Help: "Appointments booked, by site id; rate() gives bookings per second."}, []string{"site"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vaxbook_booking_conflicts_total",
			Help: "Holds and bookings refused with 409 (slot-full, already-booked...), by site id."},
			[]string{"site"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.bookings, m.conflicts} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// OnEvent counts a booking. A transaction that rolls back after its
// listeners ran would still be counted; the booking transaction runs its
// listeners last, so that is rare and only skews a chart.
func (m *Metrics) OnEvent(ctx context.Context, tx *store.Tx, e booking.Event) error {
	if e.Kind != booking.EventBooked {
		return nil
	}
	site, err := m.siteOf(ctx, tx, e.SlotID)
	if err != nil {
		return err
	}
	m.bookings.WithLabelValues(site).Inc()
	return nil
}

func (m *Metrics) siteOf(ctx context.Context, tx *store.Tx, slotID int64) (string, error) {
	if v, ok := m.sites.Load(slotID); ok {
		return v.(string), nil
	}
	var d booking.Detail
	var err error
	if tx != nil {
		d, err = m.booking.SlotDetailInTx(ctx, tx, slotID)
	} else {
		d, err = m.booking.SlotDetail(ctx, slotID)
	}
	if err != nil {
		return "", err
	}
	site := strconv.FormatInt(d.Site.ID, 10)
	m.sites.Store(slotID, site)
	return site, nil
}

// conflict counts one 409 about slotID ("unknown" when the slot is not
// known, as for a booking by hold id).
func (m *Metrics) conflict(ctx context.Context, slotID int64) {
	site := "unknown"
	if slotID > 0 {
		if s, err := m.siteOf(ctx, nil, slotID); err == nil {
			site = s
		}
	}
	m.conflicts.WithLabelValues(site).Inc()
}

// Refused counts a refusal that is a 409 (slot-full, already-booked...)
// under the slot's site. It is the booking service's RefusalObserver, so a
// refusal is counted once whether the API or a page asked.
func (m *Metrics) Refused(ctx context.Context, slotID int64, err error) {
	if err != nil && httpx.StatusOf(apperr.NameOf(err)) == http.StatusConflict {
		m.conflict(ctx, slotID)
	}
}
