package searchapi

import (
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/geo"
	"github.com/vaxbook/vaxbook/internal/httpx"
)

var known = map[string]bool{"near": true, "lat": true, "lng": true, "radius_km": true, "from": true,
	"to": true, "vaccine": true, "dose": true, "limit": true, "cursor": true}

var cvx = regexp.MustCompile(`^[0-9]{1,3}$`)

// parseQuery turns the query string into a search, naming every parameter
// that is missing, malformed, repeated, unknown or out of range.
func parseQuery(v url.Values) (geo.Query, error) {
	bad := httpx.Fields{}
	for name, vals := range v {
		bad.Check(!known[name], name, "unknown parameter")
		bad.Check(known[name] && len(vals) > 1, name, "give it once")
	}
	var q geo.Query
	where(v, &q, bad)
	q.RadiusKm = number(v, "radius_km", geo.DefaultRadiusKm, 0, geo.MaxRadiusKm, bad)
	q.Limit = integer(v, "limit", geo.DefaultLimit, 1, geo.MaxLimit, bad)
	q.Dose = integer(v, "dose", 0, 1, 10, bad)
	if s := v.Get("vaccine"); s != "" {
		bad.Check(!cvx.MatchString(s), "vaccine", "must be a CVX code such as 207")
		q.Vaccine = s
	}
	q.From = timestamp(v, "from", bad)
	q.To = timestamp(v, "to", bad)
	bad.Check(!q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From), "to", "must be after from")
	q.Cursor = v.Get("cursor")
	bad.Check(len(q.Cursor) > 100, "cursor", "not a cursor from this search")
	if err := bad.Err(); err != nil {
		return q, err
	}
	if err := unknownZIP(v); err != nil {
		return q, err
	}
	return q, nil
}

func where(v url.Values, q *geo.Query, bad httpx.Fields) {
	near, hasLat, hasLng := v.Get("near"), v.Has("lat"), v.Has("lng")
	switch {
	case near != "" && (hasLat || hasLng):
		bad.Check(true, "near", "give either near or lat and lng, not both")
	case near != "":
		zip, ok := geo.ParseZIP(near)
		bad.Check(!ok, "near", "must be a 5-digit ZIP code (ZIP+4 is accepted)")
		if ok {
			q.Near, _ = geo.LookupZIP(zip)
		}
	case hasLat || hasLng:
		q.Near.Lat = number(v, "lat", math.NaN(), -90, 90, bad)
		q.Near.Lng = number(v, "lng", math.NaN(), -180, 180, bad)
	default:
		bad.Check(true, "near", "required: a ZIP code, or lat and lng")
	}
}

// unknownZIP explains a well-formed ZIP code we have no centroid for.
func unknownZIP(v url.Values) error {
	near := v.Get("near")
	if near == "" {
		return nil
	}
	if _, ok := geo.LookupZIP(near); ok {
		return nil
	}
	zip, _ := geo.ParseZIP(near)
	e := apperr.Invalid("near", "unknown ZIP code "+zip)
	e.Detail = "ZIP code " + zip + " has no known location (post-office-box and business ZIP codes have none); " +
		"try the ZIP code of a street address nearby, or lat and lng"
	return e
}

// number reads a float parameter in [lo, hi]; def when absent. NaN as def
// makes the parameter required.
func number(v url.Values, name string, def, lo, hi float64, bad httpx.Fields) float64 {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		bad.Check(math.IsNaN(def), name, "required")
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		bad.Check(true, name, "must be a number")
		return def
	}
	if f < lo || f > hi || (name == "radius_km" && f == 0) {
		bad.Check(true, name, "must be between "+trim(lo)+" and "+trim(hi))
	}
	return f
}

// integer reads a whole-number parameter in [lo, hi]; def when absent.
func integer(v url.Values, name string, def, lo, hi int, bad httpx.Fields) int {
	s := strings.TrimSpace(v.Get(name))
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	bad.Check(err != nil || n < lo || n > hi, name,
		"must be a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	return n
}

func trim(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func timestamp(v url.Values, name string, bad httpx.Fields) time.Time {
	s := v.Get(name)
	if s == "" {
		return time.Time{}
	}
	// An unescaped "+" in a query string arrives as a space.
	t, err := time.Parse(time.RFC3339, strings.ReplaceAll(s, " ", "+"))
	bad.Check(err != nil, name, "must be an RFC 3339 timestamp with an offset, such as 2027-01-04T09:00:00-05:00")
	return t
}
