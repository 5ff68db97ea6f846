// Package searchapi serves slot search and site details from the geo
// index, the read model that may lag the database by about a second.
package searchapi

import (
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

//go:embed openapi.json
var openapi []byte

// Module serves GET /v1/slots and GET /v1/sites/{id}.
type Module struct {
	index *geo.Index
	log   *slog.Logger
}

// New returns the module over a running index.
func New(index *geo.Index, log *slog.Logger) *Module {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Module{index: index, log: log}
}

// Register adds the routes.
func (m *Module) Register(r *httpx.Router) {
	r.HandleFunc("GET /v1/slots", m.slots)
	r.HandleFunc("GET /v1/sites/{id}", m.site)
}

// OpenAPI returns the module's part of the API document.
func (m *Module) OpenAPI() []byte { return openapi }

type siteRef struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	Address    string  `json:"address"`
	PostalCode string  `json:"postal_code"`
	Lat        float64 `json:"lat"`
	Lng        float64 `json:"lng"`
	TimeZone   string  `json:"time_zone"`
	DistanceKm float64 `json:"distance_km"`
}

type vaccine struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type slot struct {
	ID        int64   `json:"id"`
	Site      siteRef `json:"site"`
	Start     string  `json:"start"`
	End       string  `json:"end"`
	Vaccine   vaccine `json:"vaccine"`
	Dose      int     `json:"dose"`
	Capacity  int     `json:"capacity"`
	Remaining int     `json:"remaining"`
}

type slotsResponse struct {
	AsOf       string  `json:"as_of"`
	Slots      []slot  `json:"slots"`
	NextCursor *string `json:"next_cursor"`
}

func (m *Module) slots(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		httpx.Problem(w, r, m.log, err)
		return
	}
	res, err := m.index.Search(r.Context(), q)
	switch {
	case errors.Is(err, geo.ErrBadCursor):
		httpx.Problem(w, r, m.log, apperr.Invalid("cursor", "not a cursor from this search; start again without it"))
		return
	case errors.Is(err, geo.ErrNotReady):
		httpx.Problem(w, r, m.log, apperr.New("unavailable", "slot search is starting; try again in a second").
			With("retry_after_s", 1))
		return
	case err != nil:
		httpx.Problem(w, r, m.log, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=1")
	httpx.JSON(w, http.StatusOK, toResponse(res))
}

func toResponse(res geo.Result) slotsResponse {
	out := slotsResponse{AsOf: res.AsOf.UTC().Format(time.RFC3339Nano), Slots: make([]slot, 0, len(res.Hits))}
	for _, h := range res.Hits {
		loc := h.Site.Location
		out.Slots = append(out.Slots, slot{
			ID: h.ID,
			Site: siteRef{ID: h.Site.ID, Name: h.Site.Name, Address: h.Site.Address,
				PostalCode: h.Site.PostalCode, Lat: h.Site.Point.Lat, Lng: h.Site.Point.Lng,
				TimeZone: h.Site.TimeZone, DistanceKm: roundKm(h.DistanceKm)},
			Start:   h.Start.In(loc).Format(time.RFC3339),
			End:     h.End.In(loc).Format(time.RFC3339),
			Vaccine: vaccine{Code: h.VaccineCode, Name: h.Vaccine},
			Dose:    h.Dose, Capacity: h.Capacity, Remaining: h.Remaining,
		})
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	return out
}

func roundKm(d float64) float64 { return float64(int64(d*100+0.5)) / 100 }

type siteResponse struct {
	ID         int64   `json:"id"`
	Region     string  `json:"region"`
	Name       string  `json:"name"`
	Address    string  `json:"address"`
	City       string  `json:"city"`
	State      string  `json:"state"`
	PostalCode string  `json:"postal_code"`
	Lat        float64 `json:"lat"`
	Lng        float64 `json:"lng"`
	TimeZone   string  `json:"time_zone"`
	Phone      string  `json:"phone,omitempty"`
	URL        string  `json:"url,omitempty"`
}

func (m *Module) site(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		httpx.Problem(w, r, m.log, apperr.Invalid("id", "must be a positive integer"))
		return
	}
	s, ok, err := m.index.LookupSite(r.Context(), id)
	if err != nil {
		httpx.Problem(w, r, m.log, err)
		return
	}
	if !ok {
		httpx.Problem(w, r, m.log, apperr.NotFound("site"))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	httpx.JSON(w, http.StatusOK, siteResponse{ID: s.ID, Region: s.Region, Name: s.Name, Address: s.Address,
		City: s.City, State: s.State, PostalCode: s.PostalCode, Lat: s.Point.Lat, Lng: s.Point.Lng,
		TimeZone: s.TimeZone, Phone: s.Phone, URL: s.URL})
}
