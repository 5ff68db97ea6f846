package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/vaxbook/vaxbook/internal/geo"
)

// siteTimes is one site of the search result with its times.
type siteTimes struct {
	Name, Address string
	Distance      string
	Times         []slotTime
}

type slotTime struct {
	SlotID  int64
	Date    string
	Time    string
	Vaccine string
	Left    int
}

type slotsView struct {
	ZIP     string
	Sites   []siteTimes
	AsOf    string
	Action  string // the form each time posts to: a hold or a reschedule
	Notice  string
	Invalid bool
}

// slots lists appointment times near a ZIP code from the search index,
// the read model GET /v1/slots answers from. Its counts may lag; choosing
// a time is what takes the seat.
func (s *Web) slots(w http.ResponseWriter, r *http.Request) {
	p, ok := s.citizen(w, r)
	if !ok {
		return
	}
	j := s.readJourney(r)
	if !j.Eligible && j.Reschedule == "" {
		http.Redirect(w, r, "/book/result", http.StatusSeeOther)
		return
	}
	v := s.searchSlots(w, r, p.PostalCode, &j)
	v.Action = "/book/hold"
	if j.Reschedule != "" {
		v.Action = "/manage/reschedule"
	}
	s.views.render(w, r, http.StatusOK, "slots", &Page{Title: "slots.title", Data: v})
}

// searchSlots runs the search for the ZIP in the query (or the person's)
// and consumes the journey's one-time notice.
func (s *Web) searchSlots(w http.ResponseWriter, r *http.Request, fallbackZIP string, j *journey) slotsView {
	lang := requestLang(r)
	v := slotsView{ZIP: r.URL.Query().Get("zip"), Notice: j.Notice}
	if v.ZIP == "" {
		v.ZIP = j.ZIP
	}
	if v.ZIP == "" {
		v.ZIP = fallbackZIP
	}
	if j.Notice != "" || j.ZIP != v.ZIP {
		j.Notice, j.ZIP = "", v.ZIP
		s.writeJourney(w, *j)
	}
	zip, ok := geo.ParseZIP(v.ZIP)
	point, found := geo.LookupZIP(zip)
	if !ok || !found {
		v.Invalid = true
		return v
	}
	res, err := s.cfg.Search.Search(r.Context(), geo.Query{Near: point, Limit: 60})
	if err != nil {
		v.Notice = "slots.unavailable"
		return v
	}
	bySite := map[int64]int{}
	for _, h := range res.Hits {
		i, seen := bySite[h.Site.ID]
		if !seen {
			i = len(v.Sites)
			bySite[h.Site.ID] = i
			v.Sites = append(v.Sites, siteTimes{Name: h.Site.Name,
				Address:  fmt.Sprintf("%s, %s, %s %s", h.Site.Address, h.Site.City, h.Site.State, h.Site.PostalCode),
				Distance: distance(lang, h.DistanceKm)})
		}
		start := zoned(h.Start, h.Site.TimeZone)
		v.Sites[i].Times = append(v.Sites[i].Times, slotTime{SlotID: h.ID, Date: longDate(lang, start),
			Time: clockTime(lang, start), Vaccine: h.Vaccine, Left: h.Remaining})
	}
	if len(res.Hits) > 0 {
		v.AsOf = clockTime(lang, zoned(res.AsOf, res.Hits[0].Site.TimeZone))
	}
	return v
}

// distance shows miles first for a US audience, with kilometres.
func distance(lang string, km float64) string {
	mi := km / 1.609344
	if lang == "es" {
		return fmt.Sprintf("%.1f millas (%.1f km)", mi, km)
	}
	return fmt.Sprintf("%.1f miles (%.1f km)", mi, km)
}

func formSlotID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PostFormValue("slot_id"), 10, 64)
	return id
}
