// Package httpx holds what every HTTP handler package shares: RFC 9457
// problem responses, strict JSON decoding, authentication of callers and a
// router that remembers its routes for the OpenAPI coverage test.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strconv"

	"github.com/vaxbook/vaxbook/internal/apperr"
)

// ProblemBase prefixes every problem type URI.
const ProblemBase = "https://vaxbook.example/problems/"

type problemKind struct {
	status int
	title  string
}

// problems is the one table from problem names to HTTP statuses (API.md).
var problems = map[string]problemKind{
	"invalid-request":          {400, "The request is not valid"},
	"idempotency-key-required": {400, "An Idempotency-Key header is required"},
	"unauthenticated":          {401, "Sign in again"},
	"admission-required":       {403, "Admission from the waiting room is required"},
	"ineligible":               {403, "Not eligible under the current rules"},
	"outside-jurisdiction":     {403, "This site is outside the rules' jurisdiction"},
	"forbidden":                {403, "Not allowed"},
	"not-found":                {404, "Not found"},
	"method-not-allowed":       {405, "Method not allowed"},
	"slot-full":                {409, "That appointment time is no longer available"},
	"already-booked":           {409, "An appointment for this dose is already booked"},
	"idempotency-in-flight":    {409, "The same request is still being processed"},
	"conflict":                 {409, "The request conflicts with the current state"},
	"hold-expired":             {409, "The hold has expired"},
	"payload-too-large":        {413, "The request body is too large"},
	"unsupported-media-type":   {415, "Send application/json"},
	"idempotency-key-reuse":    {422, "The Idempotency-Key was used with another request"},
	"dose-interval":            {422, "That dose is outside the allowed interval"},
	"rate-limited":             {429, "Too many requests"},
	"internal":                 {500, "Something went wrong on our side"},
	"bookings-frozen":          {503, "Booking is paused"},
	"unavailable":              {503, "The service is temporarily unavailable"},
}

// StatusOf returns the HTTP status of a problem name (500 if unknown).
func StatusOf(name string) int {
	if k, ok := problems[name]; ok {
		return k.status
	}
	return http.StatusInternalServerError
}

// Problem writes err as application/problem+json. An error that carries no
// problem name is logged (without request details) and answered 500
// "internal", with no internals in the body.
func Problem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *apperr.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.Canceled) {
			// The client went away; nobody reads this answer.
			e = apperr.New("unavailable", "the request was cancelled")
		} else {
			if log != nil {
				log.ErrorContext(r.Context(), "request failed", slog.String("route", r.Pattern),
					slog.String("error", err.Error()))
			}
			e = apperr.New("internal", "the error was logged; nothing you sent caused it")
		}
	}
	WriteProblem(w, e)
}

// WriteProblem writes an apperr.Error as a problem body.
func WriteProblem(w http.ResponseWriter, e *apperr.Error) {
	kind, ok := problems[e.Name]
	if !ok {
		kind = problemKind{500, e.Name}
	}
	body := map[string]any{
		"type":   ProblemBase + e.Name,
		"title":  kind.title,
		"status": kind.status,
		"detail": e.Detail,
	}
	for k, v := range e.Extra {
		body[k] = v
	}
	if len(e.Fields) > 0 {
		names := make([]string, 0, len(e.Fields))
		for f := range e.Fields {
			names = append(names, f)
		}
		sort.Strings(names)
		list := make([]map[string]string, 0, len(names))
		for _, f := range names {
			list = append(list, map[string]string{"field": f, "message": e.Fields[f]})
		}
		body["errors"] = list
	}
	if ra, ok := e.Extra["retry_after_s"]; ok {
		w.Header().Set("Retry-After", toString(ra))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(kind.status)
	_ = json.NewEncoder(w).Encode(body)
}

func toString(v any) string {
	switch x := v.(type) {
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.Itoa(int(x + 0.999))
	case string:
		return x
	}
	return "1"
}

// JSON writes v with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
