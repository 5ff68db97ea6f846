package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vaxbook/vaxbook/internal/booking"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

func (s *Web) registerDay(r *httpx.Router) {
	s.page(r, "GET /staff/day", s.dayPage)
	s.page(r, "POST /staff/day/check-in", s.checkIn)
}

type dayRow struct {
	ID, Reference, Status, Vaccine string
	Dose                           int
	Time                           string
	// Name is shown to clinic staff of the site only.
	Name       string
	CanCheckIn bool
}

type dayView struct {
	Site  booking.Site
	Date  string
	Rows  []dayRow
	Names bool
	Sites []siteRow // an admin picks the site
	Done  string
	Prev  string
	Next  string
}

// daySite is the site whose day list p may see: a clinic user's own,
// or for an admin the one asked for.
func (s *Web) daySite(r *http.Request, p httpx.Principal, asked string) int64 {
	if p.Role == httpx.RoleClinic {
		return p.SiteID
	}
	id, _ := strconv.ParseInt(asked, 10, 64)
	return id
}

// dayPage lists the day's appointments at the site, in the site's time
// zone: reference, time, dose and status, with a check-in button. Clinic
// staff of the site see names; nobody else does.
func (s *Web) dayPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "day")
	if !ok {
		return
	}
	q := r.URL.Query()
	v := dayView{Done: q.Get("done")}
	siteID := s.daySite(r, p, q.Get("site"))
	if siteID == 0 {
		sites, err := s.listSites(r.Context())
		if err != nil {
			s.staffError(w, r, p, err)
			return
		}
		v.Sites = sites
		s.staffRender(w, r, http.StatusOK, "staff_day", p, "staff.day", v)
		return
	}
	site, err := s.cfg.Booking.Site(r.Context(), siteID)
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	v.Site = site
	loc := zoned(s.cfg.Clock.Now(), site.TimeZone).Location()
	day, err := time.ParseInLocation("2006-01-02", q.Get("date"), loc)
	if err != nil {
		y, m, d := s.cfg.Clock.Now().In(loc).Date()
		day = time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	v.Date = day.Format("2006-01-02")
	v.Prev, v.Next = day.AddDate(0, 0, -1).Format("2006-01-02"), day.AddDate(0, 0, 1).Format("2006-01-02")
	v.Names = p.Role == httpx.RoleClinic && p.SiteID == site.ID
	if v.Rows, err = s.dayRows(r, site, day, v.Names); err != nil {
		s.staffError(w, r, p, err)
		return
	}
	s.staffRender(w, r, http.StatusOK, "staff_day", p, "staff.day", v)
}

func (s *Web) dayRows(r *http.Request, site booking.Site, day time.Time, names bool) ([]dayRow, error) {
	ctx := r.Context()
	end := day.AddDate(0, 0, 1)
	rows, err := s.cfg.Booking.DB().Read.QueryContext(ctx, s.sq().Get("day_list"), site.ID, day.UnixMicro(), end.UnixMicro())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type raw struct {
		row    dayRow
		person int64
	}
	var list []raw
	for rows.Next() {
		var x raw
		var start int64
		if err := rows.Scan(&x.row.ID, &x.row.Reference, &x.person, &x.row.Status, &x.row.Dose, &x.row.Vaccine,
			&start); err != nil {
			return nil, err
		}
		t := time.UnixMicro(start).In(day.Location())
		x.row.Time = clockTime("en", t)
		now := s.cfg.Clock.Now()
		x.row.CanCheckIn = x.row.Status == booking.StatusBooked && !now.Before(t.Add(-booking.CheckInWindow))
		list = append(list, x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	out := make([]dayRow, 0, len(list))
	for _, x := range list {
		if names {
			who, err := s.cfg.Identity.Person(ctx, x.person)
			if err != nil {
				return nil, err
			}
			x.row.Name = who.GivenName + " " + who.FamilyName
		}
		out = append(out, x.row)
	}
	return out, nil
}

// checkIn is the same call as POST /v1/appointments/{id}:check-in: the
// service refuses an appointment at another site than the clinic user's.
func (s *Web) checkIn(w http.ResponseWriter, r *http.Request) {
	p, ok := s.staff(w, r, "day")
	if !ok {
		return
	}
	site := int64(0)
	if p.Role == httpx.RoleClinic {
		site = p.SiteID
	}
	d, err := s.cfg.Booking.CheckIn(r.Context(), booking.CheckInRequest{AppointmentID: r.PostFormValue("appointment"),
		SiteID: site, Actor: p.Actor()})
	if err != nil {
		s.staffError(w, r, p, err)
		return
	}
	back := "/staff/day?site=" + strconv.FormatInt(d.Site.ID, 10) + "&date=" + r.PostFormValue("date") +
		"&done=" + d.Appointment.Reference + "+checked+in"
	http.Redirect(w, r, back, http.StatusSeeOther)
}
