package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/vaxbook/vaxbook/internal/clinic"
	"github.com/vaxbook/vaxbook/internal/httpapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/bookingapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/clinicapi"
)

// buildClinic builds the clinic operations (waitlist, no-shows, assisted
// bookings, reports), makes the dose-series and waitlist listeners of the
// booking transaction and returns the HTTP module. Check-in is served
// through bookingapi, which owns /v1/appointments/{id}:action. Call it
// after buildNotify, whose outbox sends the offers.
func (a *App) buildClinic(bookingMod *bookingapi.Module) (httpapi.Module, error) {
	svc, err := clinic.New(clinic.Config{DB: a.DB, Booking: a.Booking, People: a.Identity, Rules: a.Eligibility,
		Clock: a.cfg.Clock, Log: a.log, OfferTTL: a.cfg.Clinic.OfferTTL, NoShowGrace: a.cfg.Clinic.NoShowGrace,
		SuppressBelow: a.cfg.Clinic.SuppressBelow})
	if err != nil {
		return nil, err
	}
	if a.Outbox != nil {
		svc.SetOffers(a.Outbox)
	}
	a.Clinic = svc
	a.Booking.AddListener(a.Booking.SeriesListener())
	a.Booking.AddListener(svc)
	mod := &clinicapi.Module{Clinic: svc, Booking: a.Booking, Auth: a.Identity, Log: a.log}
	if bookingMod.Actions == nil {
		bookingMod.Actions = map[string]http.HandlerFunc{}
	}
	bookingMod.Actions["check-in"] = mod.CheckIn
	return mod, nil
}

// ClinicConfig tunes the clinic operations; zero values take the
// defaults of clinic.Config.
type ClinicConfig struct {
	// OfferTTL is how long a waitlist offer holds its seat (30 minutes).
	OfferTTL time.Duration
	// NoShowGrace is how long after a slot ends an appointment not checked
	// in becomes a no-show (2 hours).
	NoShowGrace time.Duration
	// SuppressBelow hides report counts below it (11).
	SuppressBelow int
}

// sweepClinic marks no-shows and ends stale offers, once per sweep tick.
func (a *App) sweepClinic(ctx context.Context) {
	if a.Clinic == nil {
		return
	}
	if _, err := a.Clinic.Sweep(ctx); err != nil && ctx.Err() == nil {
		a.log.WarnContext(ctx, "clinic sweep failed", slog.String("error", err.Error()))
	}
}
