package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/vaxbook/vaxbook/internal/httpapi"
	"github.com/vaxbook/vaxbook/internal/httpapi/notifyapi"
	"github.com/vaxbook/vaxbook/internal/notify"
	"github.com/vaxbook/vaxbook/internal/store"
)

// buildNotify builds the notification outbox, makes it a listener of the
// booking transaction and returns its operators' module.
func (a *App) buildNotify(ctx context.Context) (httpapi.Module, error) {
	if err := notify.Migrate(ctx, a.DB); err != nil {
		return nil, err
	}
	sender := a.cfg.Mail
	if sender == nil {
		dir := "vaxbook.mail"
		if a.DB.Dialect == store.SQLite {
			dir = a.DB.Path + ".mail"
		}
		sender = &notify.Folder{Dir: dir}
	}
	o, err := notify.New(a.DB, notify.Options{Config: notify.Config{PublicURL: a.cfg.PublicURL, From: a.cfg.MailFrom},
		Source: notify.Services(a.Booking, a.Identity), Sender: sender, Log: a.log,
		Clock: a.cfg.Clock, Registry: a.Registry})
	if err != nil {
		return nil, err
	}
	a.Outbox = o
	a.Booking.AddListener(o)
	return &notifyapi.Module{Outbox: o, Auth: a.Identity, Log: a.log}, nil
}

// startNotify sends messages until ctx ends, then waits for those in
// flight.
func (a *App) startNotify(ctx context.Context) {
	if err := a.Outbox.Start(ctx); err != nil {
		a.log.ErrorContext(ctx, "notifications not started", slog.String("error", err.Error()))
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		<-ctx.Done()
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = a.Outbox.Stop(stopCtx)
	}()
}
