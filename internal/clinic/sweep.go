package clinic

import (
	"context"
	"log/slog"
)

// SweepResult counts what one sweep did.
type SweepResult struct {
	NoShows     int
	OffersEnded int
}

// Sweep runs the clinic's periodic work: appointments not checked in by
// the end of their slot plus NoShowGrace become no-shows, and offers that
// ran out (or lost their hold) give their seats to the next person. The
// app's loop calls it; tests call it after moving a fake clock.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var r SweepResult
	var err error
	if r.NoShows, err = s.cfg.Booking.MarkNoShows(ctx, s.cfg.NoShowGrace); err != nil {
		return r, err
	}
	if r.OffersEnded, err = s.ExpireOffers(ctx); err != nil {
		return r, err
	}
	if r.NoShows > 0 || r.OffersEnded > 0 {
		s.log.InfoContext(ctx, "clinic sweep", slog.Int("no_shows", r.NoShows), slog.Int("offers_ended", r.OffersEnded))
	}
	return r, nil
}
