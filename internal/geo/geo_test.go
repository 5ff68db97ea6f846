package geo_test

import (
	"math"
	"testing"

	"github.com/vaxbook/vaxbook/internal/geo"
)

func TestLookupZIP(t *testing.T) {
	t.Parallel()
	if n := geo.ZIPCount(); n != 33791 {
		t.Errorf("embedded ZIP centroids = %d, want 33791", n)
	}
	// Values from the shared CSV, rounded to the 1e-5 degrees kept.
	for zip, want := range map[string]geo.Point{
		"00601":      {Lat: 18.18056, Lng: -66.74996},
		"08332":      {Lat: 39.36622, Lng: -75.02685},
		"08332-3762": {Lat: 39.36622, Lng: -75.02685},
		"083323762":  {Lat: 39.36622, Lng: -75.02685},
		" 02114 ":    {Lat: 42.36365, Lng: -71.06689},
	} {
		got, ok := geo.LookupZIP(zip)
		if !ok || math.Abs(got.Lat-want.Lat) > 1e-5 || math.Abs(got.Lng-want.Lng) > 1e-5 {
			t.Errorf("LookupZIP(%q) = %v, %v; want %v", zip, got, ok, want)
		}
	}
	for _, zip := range []string{"8332", "01101", "99999", "0833a", "08332-", "08332-37", "", "123456"} {
		if p, ok := geo.LookupZIP(zip); ok {
			t.Errorf("LookupZIP(%q) = %v, want not found", zip, p)
		}
	}
}

func TestNormalizeZIP(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]struct {
		zip      string
		restored bool
	}{
		"08332": {"08332", false}, "08332-3762": {"08332", false}, "8332-3762": {"08332", true},
		"8015-385": {"08015", true}, "2114": {"02114", true}, "601": {"00601", true},
	} {
		zip, restored, ok := geo.NormalizeZIP(in)
		if !ok || zip != want.zip || restored != want.restored {
			t.Errorf("NormalizeZIP(%q) = %q, %v, %v; want %q, %v", in, zip, restored, ok, want.zip, want.restored)
		}
	}
	for _, in := range []string{"", "12", "abcde", "8332-37621", "123456"} {
		if zip, _, ok := geo.NormalizeZIP(in); ok {
			t.Errorf("NormalizeZIP(%q) = %q, want rejected", in, zip)
		}
	}
}

func TestDistanceKm(t *testing.T) {
	t.Parallel()
	boston := geo.Point{Lat: 42.3601, Lng: -71.0589}
	nyc := geo.Point{Lat: 40.7128, Lng: -74.0060}
	if d := geo.DistanceKm(boston, nyc); math.Abs(d-306.1) > 1 {
		t.Errorf("Boston-New York = %.1f km, want about 306", d)
	}
	if d := geo.DistanceKm(boston, boston); d != 0 {
		t.Errorf("distance to itself = %v", d)
	}
	// Antipodes: half the circumference, without NaN from rounding.
	if d := geo.DistanceKm(geo.Point{Lat: 0, Lng: 0}, geo.Point{Lat: 0, Lng: 180}); math.Abs(d-math.Pi*geo.EarthRadiusKm) > 1e-6 {
		t.Errorf("antipodes = %v", d)
	}
}
