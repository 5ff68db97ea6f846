package web

import (
	"context"
	_ "embed"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/httpx"
	"github.com/vaxbook/vaxbook/internal/store"
)

//go:embed staff_queries.sql
var staffSQL string

// staffQueries parses the console's queries once, for the engine open.
type staffQueries struct {
	once sync.Once
	q    *store.Queries
}

func (s *Web) sq() *store.Queries {
	s.staffQ.once.Do(func() {
		s.staffQ.q = store.ParseQueries(s.cfg.Booking.DB().Dialect, "web/staff_queries.sql", staffSQL)
	})
	return s.staffQ.q
}

func (s *Web) registerSites(r *httpx.Router) {
	s.page(r, "GET /staff/sites", s.sitesPage)
	s.page(r, "POST /staff/sites", s.createSite)
	s.page(r, "GET /staff/sites/{id}/generate", s.generatePage)
	s.page(r, "POST /staff/sites/{id}/generate", s.generate)
}

type siteRow struct {
	ID                            int64
	Region, Name, City, State, TZ string
}

func (s *Web) listSites(ctx context.Context) ([]siteRow, error) {
	rows, err := s.cfg.Booking.DB().Read.QueryContext(ctx, s.sq().Get("staff_sites"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []siteRow
	for rows.Next() {
		var x siteRow
		if err := rows.Scan(&x.ID, &x.Region, &x.Name, &x.City, &x.State, &x.TZ); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

type sitesView struct {
	Sites []siteRow
	Form  map[string]string
	Done  string
}

var siteFields = []string{"region", "region_name", "name", "address", "city", "state", "postal_code", "lat", "lng",
	"time_zone", "phone"}

func (s *Web) sitesPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "sites")
	if !ok {
		return
	}
	s.renderSites(w, r, p, http.StatusOK, map[string]string{"time_zone": "America/New_York"}, nil)
}

func (s *Web) renderSites(w http.ResponseWriter, r *http.Request, p httpx.Principal, status int,
	form map[string]string, errs map[string]string) {
	sites, err := s.listSites(r.Context())
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	pg := &Page{Title: "staff.sites", Lang: "en", Staff: true, StaffRole: p.Role, Errors: errs,
		Data: sitesView{Sites: sites, Form: form, Done: r.URL.Query().Get("done")}}
	s.views.render(w, r, status, "staff_sites", pg)
}

// createSite is the same call as POST /v1/admin/sites.
func (s *Web) createSite(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "sites")
	if !ok {
		return
	}
	form := map[string]string{}
	for _, f := range siteFields {
		form[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	errs := map[string]string{}
	lat, err := strconv.ParseFloat(form["lat"], 64)
	if err != nil {
		errs["lat"] = "staff.field_number"
	}
	lng, err := strconv.ParseFloat(form["lng"], 64)
	if err != nil {
		errs["lng"] = "staff.field_number"
	}
	if len(errs) > 0 {
		s.renderSites(w, r, p, http.StatusBadRequest, form, errs)
		return
	}
	site, err := s.cfg.Booking.CreateSite(r.Context(), p.Actor(), booking.NewSite{Region: form["region"],
		RegionName: form["region_name"], Name: form["name"], Address: form["address"], City: form["city"],
		State: form["state"], PostalCode: form["postal_code"], Lat: lat, Lng: lng, TimeZone: form["time_zone"],
		Phone: form["phone"]})
	var e *apperr.Error
	if err != nil && apperr.Is(err, "invalid-request") && asAppErr(err, &e) && len(e.Fields) > 0 {
		for f := range e.Fields {
			errs[f] = "staff.field_invalid"
		}
		s.renderSites(w, r, p, http.StatusBadRequest, form, errs)
		return
	}
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	done("/staff/sites", "site "+strconv.FormatInt(site.ID, 10)+" created: "+site.Name, w, r)
}

type generateView struct {
	Site booking.Site
	Form booking.Generate
}

func (s *Web) generatePage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "sites")
	if !ok {
		return
	}
	site, ok := s.siteOf(w, r, p)
	if !ok {
		return
	}
	today := s.cfg.Clock.Now().In(zoned(s.cfg.Clock.Now(), site.TimeZone).Location()).Format("2006-01-02")
	g := booking.Generate{From: today, To: today, Opens: "09:00", Closes: "17:00", IntervalMin: 15, Capacity: 4,
		Vaccine: "208", Dose: 1}
	s.staffRender(w, r, http.StatusOK, "staff_generate", p, "staff.generate_title", generateView{Site: site, Form: g})
}

func (s *Web) siteOf(w http.ResponseWriter, r *http.Request, p httpx.Principal) (booking.Site, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.staffError(w, r, p, apperr.NotFound("site"))
		return booking.Site{}, false
	}
	site, err := s.cfg.Booking.Site(r.Context(), id)
	if err != nil {
		s.staffError(w, r, p, err)
		return site, false
	}
	return site, true
}

// generate is the same call as POST /v1/admin/sites/{id}/slots:generate.
func (s *Web) generate(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "sites")
	if !ok {
		return
	}
	site, ok := s.siteOf(w, r, p)
	if !ok {
		return
	}
	num := func(name string) int {
		n, _ := strconv.Atoi(r.PostFormValue(name))
		return n
	}
	g := booking.Generate{From: r.PostFormValue("from"), To: r.PostFormValue("to"), Opens: r.PostFormValue("opens"),
		Closes: r.PostFormValue("closes"), IntervalMin: num("interval_min"), Capacity: num("capacity"),
		WalkInCapacity: num("walk_in_capacity"), Vaccine: r.PostFormValue("vaccine"), Dose: num("dose")}
	n, err := s.cfg.Booking.GenerateSlots(r.Context(), p.Actor(), site.ID, g)
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	done("/staff/sites", strconv.Itoa(n)+" slots generated at "+site.Name, w, r)
}
